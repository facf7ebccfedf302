#!/usr/bin/env bash
# The keys a k9s user presses, in a real terminal at 200×50 and at 80×24 (issue 24, the UX walk's
# reproductions redone): `?` is help in every pane and opens at that pane's own section, the
# map's included; explain is `i` and the footer names it; `/` filters in the map too and finding
# a node is `F`; g/G/Home/End move in the identities pane; a sorted routes header keeps its
# first letter; the status line drops a stale "filter cleared" and ends cut text with `…`
# without cutting a number; `:export NAME.pcapng` writes pcapng; the map under a filter says so
# in its title and draws only what the filter lets through (item 9).
#
# Usage: tests/daily_tmux.sh            (builds nothing; set MESHTAP_BIN to test another binary)
# Every wait is bounded (E2E_TIMEOUT seconds, default 30); the tmux server is private.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/tmux_lib.sh
source "$ROOT/tests/tmux_lib.sh"
tmux_test_start daily

NAME=daily
fail() { ui_fail "[$SIZE] $1"; }
step() { echo "daily [$SIZE]: $*"; }
ROW='[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})? +(in|out)[ ⇄]'

# The status bar's two lines are the last two of the screen.
status_lines() { screen | grep -v '^$' | tail -n 2; }

# The filter the status bar shows, as text.
shown_filter() { screen | grep -Eo '│ filter [^│]*' | tail -n 1; }

run_at() {
    SIZE=$1
    local cols=${1%x*} rows=${1#*x}
    # A fresh private server per size (the cleanup trap kills the last one).
    tm kill-server >/dev/null 2>&1 || true
    SOCKET="meshtap-daily-$$-$SIZE"
    tm -f /dev/null new-session -d -s "$SESSION" -x "$cols" -y "$rows" \
        "env -i HOME=$WORK PATH=$PATH TERM=xterm-256color XDG_CONFIG_HOME=$WORK/config PS1='e2e\$ ' bash --noprofile --norc"
    tm set-option -g status off >/dev/null
    tm set-option -g escape-time 0 >/dev/null
    wait_for '^e2e\$' "the shell prompt"
    rm -f "$WORK/all.pcapng" "$WORK/x.har"

    step "start meshtap demo --seed 1"
    tm send-keys -t "$SESSION" "cd '$WORK' && '$BIN' demo --seed 1 2>'$WORK/stderr'; echo exit=\$?" Enter
    wait_for "$ROW" "request rows"

    step "item 1: the footer names help and explain by their keys"
    wait_for '<\?> help' "the help hint"
    if ((cols >= 100)); then
        wait_for '<i> explain' "the explain hint"
    fi

    step "item 1: ? is help in the requests pane, at its section; i explains"
    tm send-keys -t "$SESSION" '?'
    wait_for '┌ Help' "the help overlay"
    wait_for 'Requests pane \(you are here\)' "the requests section first"
    tm send-keys -t "$SESSION" Escape
    wait_gone '┌ Help' "the help overlay"
    tm send-keys -t "$SESSION" i
    wait_for 'Explain request #[0-9]+' "the explain view"
    tm send-keys -t "$SESSION" Escape
    wait_gone 'Explain request #' "the explain view"

    step "item 8: a long filter ends with … and never cuts a number; 'filter cleared' goes under a new filter"
    local long='ns=sock-shop and method!=DELETE and lat<10s and not status=418 and path!=/nowhere/at/all/really'
    tm send-keys -t "$SESSION" /
    wait_for '^/' "the filter prompt"
    tm send-keys -t "$SESSION" -l "$long"
    tm send-keys -t "$SESSION" Enter
    wait_for 'filter ns=sock-shop' "the long filter in the status bar"
    if ((cols < ${#long} + 30)); then
        status_lines | tail -n 1 | grep -q '…$' || fail "the cut filter does not end with …: $(status_lines | tail -n 1)"
    fi
    if status_lines | head -n 1 | grep -Eq 'held [0-9,]*[0-9],?$|held [0-9,]+/$|held [0-9,]+/[0-9,]*,$'; then
        fail "the held count is cut mid-number: $(status_lines | head -n 1)"
    fi
    tm send-keys -t "$SESSION" c
    wait_for 'filter cleared' "the cleared message"
    tm send-keys -t "$SESSION" /
    wait_for '^/' "the filter prompt"
    tm send-keys -t "$SESSION" -l 'ns=sock-shop'
    tm send-keys -t "$SESSION" Enter
    wait_for 'filter ns=sock-shop' "the new filter"
    if screen | grep -q 'filter cleared'; then
        fail "'filter cleared' is still shown under a new filter"
    fi
    tm send-keys -t "$SESSION" c
    wait_gone 'filter ns=sock-shop' "the filter"

    step "item 1: g/G/Home/End move in the identities pane"
    tm send-keys -t "$SESSION" 3
    wait_for '┌ Identities' "the identities pane"
    tm send-keys -t "$SESSION" G e
    wait_for '│ filter ' "a filter from the last line"
    local last
    last=$(shown_filter)
    tm send-keys -t "$SESSION" c
    wait_gone '│ filter ' "the filter"
    tm send-keys -t "$SESSION" 3
    wait_for '┌ Identities' "the identities pane"
    tm send-keys -t "$SESSION" g e
    wait_for 'filter ns=' "a namespace filter from the first line"
    [[ $(shown_filter) != "$last" ]] || fail "g and G picked the same line ($last)"
    tm send-keys -t "$SESSION" c
    wait_gone '│ filter ' "the filter"
    tm send-keys -t "$SESSION" 3
    wait_for '┌ Identities' "the identities pane"
    tm send-keys -t "$SESSION" End Home e
    wait_for 'filter ns=' "Home back on the first line"
    tm send-keys -t "$SESSION" c
    wait_gone '│ filter ' "the filter"

    step "item 1: the map's help section; / filters in the map, F finds a node"
    tm send-keys -t "$SESSION" 4
    wait_for '┌ Map' "the map pane"
    tm send-keys -t "$SESSION" '?'
    wait_for 'Map pane \(you are here\)' "the map's own help section"
    wait_for 'Find a node by name' "the map's keys"
    tm send-keys -t "$SESSION" Escape
    wait_gone '┌ Help' "the help overlay"
    tm send-keys -t "$SESSION" /
    wait_for '^/' "the filter prompt in the map"
    tm send-keys -t "$SESSION" -l 'ns=sock-shop'
    wait_for '^/ns=sock-shop +valid' "the filter validating"
    tm send-keys -t "$SESSION" Enter
    wait_for 'filter ns=sock-shop' "the filter applied from the map"
    tm send-keys -t "$SESSION" F
    wait_for '^find node:' "the find prompt"
    tm send-keys -t "$SESSION" -l 'nowhere'
    tm send-keys -t "$SESSION" Enter
    wait_for 'no node on the map matches' "the miss"
    tm send-keys -t "$SESSION" 1
    wait_for "$ROW" "the requests again"
    if screen | grep -q 'no node on the map matches'; then
        fail "the map's miss stays after leaving the map"
    fi
    tm send-keys -t "$SESSION" c
    wait_gone 'filter ns=sock-shop' "the filter"

    step "item 9: the map under a filter says so, draws only what it lets through, no metrics-only edge"
    tm send-keys -t "$SESSION" 4
    wait_for '┌ Map' "the map pane"
    tm send-keys -t "$SESSION" /
    wait_for '^/' "the filter prompt in the map"
    tm send-keys -t "$SESSION" -l 'ns=emojivoto'
    tm send-keys -t "$SESSION" Enter
    wait_for '┌ Map · .*· filter ns=emojivoto' "the filter in the map's title"
    wait_for '\[web\]' "the emojivoto workloads"
    if screen | grep -q '─ sock-shop'; then
        fail "the sock-shop band is still drawn under ns=emojivoto"
    fi
    if screen | grep '┈' | grep -vq 'metrics API only'; then
        fail "a metrics-only edge is drawn under a filter: $(screen | grep '┈')"
    fi
    tm send-keys -t "$SESSION" c
    wait_gone 'filter ns=emojivoto' "the filter"
    wait_for '─ sock-shop' "the whole map again"

    step "item 2: a sorted routes header keeps its first letter"
    tm send-keys -t "$SESSION" 2
    wait_for '┌ Routes' "the routes pane"
    local presses=0
    until screen | grep -Eq 'Succes[▼▲]'; do
        ((presses < 12)) || fail "no Success sort after 12 presses of s"
        tm send-keys -t "$SESSION" s
        presses=$((presses + 1))
        sleep 0.3
    done
    if screen | grep -Eq '[^S]uccess[▼▲]'; then
        fail "the sorted header lost its first letter"
    fi

    step "item 5: :export NAME.pcapng writes pcapng; a contradicting --format is refused"
    tm send-keys -t "$SESSION" :
    wait_for '^:' "the command prompt"
    tm send-keys -t "$SESSION" -l "export $WORK/all.pcapng"
    tm send-keys -t "$SESSION" Enter
    wait_for 'exported [0-9]+ requests to .*\(pcapng\)' "the pcapng export"
    [[ $(od -An -tx1 -N4 "$WORK/all.pcapng" | tr -d ' ') == 0a0d0d0a ]] ||
        fail "all.pcapng does not start with a pcapng section header"
    tm send-keys -t "$SESSION" :
    wait_for '^:' "the command prompt"
    tm send-keys -t "$SESSION" -l "export $WORK/x.har --format ndjson"
    tm send-keys -t "$SESSION" Enter
    wait_for 'names a har file' "the refusal"
    [[ ! -e $WORK/x.har ]] || fail "x.har was written despite the refusal"

    tm send-keys -t "$SESSION" q
    wait_for '^exit=0$' "meshtap to exit with status 0"
}

run_at 200x50
run_at 80x24
echo "daily: PASS"
