#!/usr/bin/env bash
# End-to-end test of the real binary in a real terminal: tmux runs `meshtap demo --seed 1` at
# 160×48, the script types keys and reads the screen back with capture-pane at each step:
# rows arrive, `/status=5xx` filters, Enter opens a detail, `t` opens a trace's waterfall, `i` explains a request, `y` copies it as curl, F1 opens help, the map (pane 4)
# finds orders (F) and Enter narrows the requests to it, `q` quits, and the shell is usable (cooked
# mode, main screen) afterwards; `--filter` starts the UI filtered.
#
# Usage: tests/e2e_tmux.sh            (builds nothing; set MESHTAP_BIN to test another binary)
# Every wait is bounded (E2E_TIMEOUT seconds, default 30); the tmux server is private to this
# run (-L meshtap-e2e-PID) and is killed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/tmux_lib.sh
source "$ROOT/tests/tmux_lib.sh"
tmux_test_start e2e

NAME=e2e
fail() { ui_fail "$1"; }

step() { echo "e2e: $*"; }

# Waits for a 5xx row, and fails if any listed row is not 5xx (under filter $1).
only_5xx_rows() {
    wait_for "$ROW.* 5[0-9]{2} " "a 5xx row"
    if screen | grep -E -- "$ROW" | grep -Evq -- ' 5[0-9]{2} '; then
        fail "a row without a 5xx status is listed under $1"
    fi
}

ui_shell_start

step "start meshtap demo --seed 1"
tm send-keys -t "$SESSION" "cd '$WORK' && '$BIN' demo --seed 1 --trigger 'status>=500' --trigger-window 2s --trigger-dir '$WORK' 2>'$WORK/stderr'; echo exit=\$?" Enter
ROW='[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} +(in|out)[ ⇄]'
wait_for "$ROW" "request rows"
wait_for 'FOLLOWING' "the status bar"

step "filter /status=5xx"
ui_filter 'status=5xx'
only_5xx_rows "/status=5xx"

step "open a detail"
tm send-keys -t "$SESSION" Enter
wait_for 'Request #[0-9]+' "the detail title"
wait_for '- request' "the request node"
wait_for 'status: 5[0-9]{2}' "the 5xx status in the detail"
tm send-keys -t "$SESSION" Escape
wait_gone 'Request #[0-9]+' "the detail"

step "explain a request"
tm send-keys -t "$SESSION" i
wait_for 'Explain request #[0-9]+' "the explain view"
wait_for 'reported by' "the first topic"
tm send-keys -t "$SESSION" Escape
wait_gone 'Explain request #' "the explain view"

step "copy as curl"
tm send-keys -t "$SESSION" y
wait_for 'Copy request as' "the copy menu"
tm send-keys -t "$SESSION" Enter
wait_for 'Copied as curl' "the copy popup"
wait_for "curl -g --path-as-is" "the curl command"
tm send-keys -t "$SESSION" Escape
wait_gone 'Copied as curl' "the copy popup"

step "open help"
tm send-keys -t "$SESSION" F1
wait_for '┌ Help' "the help overlay"
wait_for 'Everywhere' "the generated key list"
tm send-keys -t "$SESSION" Escape
wait_gone '┌ Help' "the help overlay"

step "clear the filter"
tm send-keys -t "$SESSION" c
wait_gone 'filter status=5xx' "the active filter"

step "trace waterfall: a traced request, t shows its hops, Esc closes"
tm send-keys -t "$SESSION" /
wait_for '^/' "the filter prompt"
# The demo's apps propagate traceparent on some traces; an outbound hop's inbound twin carries
# the same header, so its trace has at least two requests.
tm send-keys -t "$SESSION" -l 'trace~* dir=out'
tm send-keys -t "$SESSION" Enter
wait_for 'filter trace~' "the trace filter in the status bar"
wait_for "$ROW" "a traced request"
tm send-keys -t "$SESSION" t
wait_for 'Trace [0-9a-f]{32} · ([2-9]|[1-9][0-9]+) requests' "a waterfall of two requests or more"
wait_for 'request · status · duration' "the waterfall's header row"
[[ $(screen | grep -Ec -- '│ *(in|out) [^│]* → [^│]*█') -ge 2 ]] || fail "fewer than two waterfall rows with bars"
tm send-keys -t "$SESSION" Escape
wait_gone 'Trace [0-9a-f]{32}' "the waterfall"
tm send-keys -t "$SESSION" c
wait_gone 'filter trace~' "the trace filter"

step "routes pane"
tm send-keys -t "$SESSION" 2
wait_for '┌ Routes' "the routes pane"
wait_for 'catalogue GET /catalogue' "a route row with a path template"
wait_for '[0-9.]+% +[0-9.]+(µs|ms|s) ' "success rate and latency columns"
tm send-keys -t "$SESSION" Enter
wait_for 'Status codes' "the route detail"
wait_for 'Slowest' "the route's slowest requests"
tm send-keys -t "$SESSION" Enter
wait_for 'request #[0-9]+ selected' "the jump to the slowest request"
wait_for "$ROW" "the requests pane after the jump"
tm send-keys -t "$SESSION" 2
tm send-keys -t "$SESSION" Escape
wait_gone 'Status codes' "the route detail"

step "identities pane"
tm send-keys -t "$SESSION" 3
wait_for '┌ Identities' "the identities pane"
wait_for '^│mTLS [0-9.]+% of' "the mTLS summary line"
wait_for 'from loadtest/deploy/load-generator +plaintext' "the plaintext edge from the unmeshed load generator"
tm send-keys -t "$SESSION" 1
wait_for "$ROW" "request rows again"

step "map pane: move to orders, Enter shows only its requests"
tm send-keys -t "$SESSION" 4
wait_for '┌ Map' "the map pane"
wait_for '\[front-end\]' "the front-end node"
wait_for '\(load-generator\)' "the unmeshed load generator, drawn apart"
tm send-keys -t "$SESSION" F
wait_for '^find node:' "the find prompt"
tm send-keys -t "$SESSION" -l 'orders'
tm send-keys -t "$SESSION" Enter
wait_for 'deploy/orders +sock-shop · meshed' "orders selected, its details in the panel"
wait_for '→ payment ' "orders' callees in the panel"
tm send-keys -t "$SESSION" Enter
wait_for 'filter .*src=sock-shop/orders( |$)' "the requests filtered to orders"
wait_for "$ROW.*orders" "orders' requests"
if screen | grep -E -- "$ROW" | grep -vq -- 'sock-shop/orders '; then
    fail "a request not to or from orders is listed after Enter on orders in the map"
fi
tm send-keys -t "$SESSION" c
wait_gone 'filter .*src=sock-shop/orders' "the map's filter"

step "a flight-recorder trigger fired; :triggers lists the firings, Enter jumps to a request"
wait_for 'triggers [1-9]' "a trigger firing counted in the status bar"
# A newer firing's own message can replace the jump's within the same second (windows keep
# closing while 5xx arrive), so the jump is tried a few times; it must be seen once.
jumped=
for _ in 1 2 3 4 5; do
    tm send-keys -t "$SESSION" :
    tm send-keys -t "$SESSION" -l "triggers"
    tm send-keys -t "$SESSION" Enter
    wait_for 'Trigger firings \([1-9]' "the list of firings"
    tm send-keys -t "$SESSION" Enter
    if seen_within 4 '[0-9]+/[0-9]+: trigger .status>=500. fired on request'; then
        jumped=yes
        break
    fi
done
[[ -n $jumped ]] || fail "Enter in the :triggers list never showed the firing with its request selected"

step "quit with q; the shell is usable"
ui_quit_to_shell
step "replay a capture and export it from the UI"
timeout 20 "$BIN" demo --seed 2 --rate 400 -o ndjson 2>/dev/null | head -n 300 >"$WORK/capture.ndjson" || true
[[ -s $WORK/capture.ndjson ]] || fail "meshtap demo -o ndjson wrote nothing"
tm send-keys -t "$SESSION" "clear; '$BIN' replay '$WORK/capture.ndjson' --export '$WORK/quit.ndjson' --record '$WORK/ui.rec' --stats 2>'$WORK/stderr'; echo exit=\$?" Enter
wait_for "replay .*capture.ndjson" "the replay session in the status bar"
wait_for "$ROW" "replayed rows"
tm send-keys -t "$SESSION" :
tm send-keys -t "$SESSION" -l "export $WORK/ui.har --format har"
tm send-keys -t "$SESSION" Enter
wait_for 'exported [0-9]+ requests to .*ui.har \(har\)' "the export message (written off the UI task)"
tm send-keys -t "$SESSION" q
wait_for '^exit=0$' "the replay to exit with status 0"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['log']['entries'], 'no entries'" "$WORK/ui.har" \
    || fail "the HAR export is not valid"
grep -q 'exported [0-9]* requests to .*quit.ndjson' "$WORK/stderr" || fail "--export at quit did not report"
[[ $(wc -l <"$WORK/quit.ndjson") -gt 1 ]] || fail "--export at quit wrote no requests"
grep -q '^requests joined' "$WORK/stderr" || fail "--stats printed nothing after the UI closed"
[[ $("$BIN" replay "$WORK/ui.rec" -o ndjson | wc -l) -gt 1 ]] || fail "the UI's --record does not replay"
: >"$WORK/stderr"

step "--filter is the UI's starting filter, and c clears it"
tm send-keys -t "$SESSION" "clear; '$BIN' demo --seed 3 --filter 'status=5xx' 2>'$WORK/stderr'; echo exit=\$?" Enter
wait_for 'filter status=5xx' "the starting filter in the status bar"
only_5xx_rows "--filter status=5xx"
tm send-keys -t "$SESSION" c
wait_gone 'filter status=5xx' "the starting filter"
tm send-keys -t "$SESSION" q
wait_for '^exit=0$' "the demo to exit with status 0"

if [[ -s $WORK/stderr ]]; then
    echo "e2e: note: meshtap wrote to stderr:" && cat "$WORK/stderr"
fi
step "PASS"
