#!/usr/bin/env bash
# Issue 24 items 4, 6 and 8 in a real terminal, at 200×50 and 80×24: time in the filter language
# (`since=`, `until=`, `age`), a refused filter's error on the status line, the routes pane's
# error-rate sparkline (its legend; at 80 columns gone before any number, and a route's rule
# still shown), the request detail following a request in flight, and copy that arrives inside
# tmux. tmux runs with its default
# options (`set-clipboard external`, `allow-passthrough off`: OSC 52 from the pane goes nowhere),
# so `y` `⏎` must put the text in a tmux buffer and say so; with `set-clipboard on` tmux takes
# the OSC 52 itself; with no tmux to reach, the text lands in a private file.
#
# Usage: tests/time_tmux.sh            (builds nothing; set MESHTAP_BIN to test another binary)
# Every wait is bounded (E2E_TIMEOUT seconds, default 30); the tmux server is private.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/tmux_lib.sh
source "$ROOT/tests/tmux_lib.sh"
tmux_test_start time

NAME=time
fail() { ui_fail "[$SIZE] $1"; }
step() { echo "time [$SIZE]: $*"; }
ROW='[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})? +(in|out)[ ⇄]'

# Request rows on screen.
rows() { screen | grep -Ec -- "$ROW" || true; }

# Opens the filter prompt, emptied (it starts with the filter in force), and types $1.
prompt() {
    tm send-keys -t "$SESSION" /
    wait_for '^/' "the filter prompt"
    tm send-keys -t "$SESSION" C-u
    tm send-keys -t "$SESSION" -l "$1"
}

# Applies filter $1, which must validate; $2 is the pattern the status bar shows it as.
filter() {
    prompt "$1"
    wait_for " valid" "the filter to validate"
    tm send-keys -t "$SESSION" Enter
    wait_for "filter $2" "the active filter $1"
}

# Copies the selected request as curl (`y`, `⏎`) and waits for the popup to say $1.
copy_curl() {
    tm send-keys -t "$SESSION" y
    wait_for 'curl' "the copy menu"
    tm send-keys -t "$SESSION" Enter
    wait_for "$1" "the popup saying where the text went"
}

buffers() { tm list-buffers 2>/dev/null | wc -l; }

# meshtap in the pane, inside tmux: TMUX and TMUX_PANE are the pane's own ($2 replaces TMUX).
start_meshtap() {
    local tmux_var=${1:-\$TMUX}
    tm send-keys -t "$SESSION" "clear; cd '$WORK' && TMUX=$tmux_var '$BIN' demo --seed 1 2>'$WORK/stderr'; echo exit=\$?" Enter
    wait_for "$ROW" "request rows"
}

# Item 4: the routes pane's sparklines. At 200 columns both legends head their columns and a
# route with failures draws error bars; at 80 the error sparkline is the first column to go, the
# percentiles stay, and a route's first row keeps its rule number.
routes_pane() {
    step "item 4: the error-rate sparkline's legend beside RPS's; the rule number at 80 columns"
    tm send-keys -t "$SESSION" 2
    wait_for '^. Routes · ' "the routes pane"
    if ((cols >= 200)); then
        wait_for '│Route .*RPS last 20 s +Error % last 20 s' "both sparklines' legends"
    else
        wait_for '│Route .* P50 ' "the routes pane's header"
        screen | grep -q 'Error % last' && fail "the error sparkline did not give way at $SIZE"
        wait_for 'HTTPRoute.* rule [0-9] ' "a route's first row with its rule number"
    fi
    tm send-keys -t "$SESSION" 1
    wait_for '^. Requests ' "the requests pane"
}

# Item 4: a request in flight, opened in the detail, says so, and says when it finished. The
# tap is narrowed to front-end's POSTs to carts, where carts-timeouts' rule 0 holds some calls
# for 1.5–4 s (a slow carts-db; the 2 s route timeout cancels them below tap, so those never
# end in tap and expire after 60 s): `inflight and age>1s` keeps only those.
in_flight_detail() {
    step "item 4: the detail of a request in flight says so, then that it finished or expired"
    tm send-keys -t "$SESSION" "clear; cd '$WORK' && '$BIN' demo deploy/front-end -n sock-shop --to deploy/carts --method POST --seed 1 2>'$WORK/stderr'; echo exit=\$?" Enter
    wait_for '^. Requests ' "the requests pane"
    filter 'inflight and age>1s' 'inflight and age>1s'
    wait_for "$ROW.*POST" "a request in flight for more than a second"
    tm send-keys -t "$SESSION" Enter
    wait_for 'Request #[0-9]+ · in flight' "the detail saying the request is in flight"
    wait_for 'no response yet \(in flight\)' "the detail waiting for the response"
    local saved=$TIMEOUT
    # The store expires a request with no end after 60 s (OPEN_REQUEST_TTL).
    TIMEOUT=$((saved + 60))
    wait_for 'Request #[0-9]+ · (finished|expired)' "the detail saying the request finished or expired"
    TIMEOUT=$saved
    screen | grep -Eq 'status: [0-9]{3}|expired without a response' ||
        fail "the finished detail shows neither a status nor the expiry"
    tm send-keys -t "$SESSION" q
    wait_for '^exit=0$' "meshtap to exit with status 0"
}

run_at() {
    SIZE=$1
    local cols=${1%x*} rows=${1#*x}
    tm kill-server >/dev/null 2>&1 || true
    SOCKET="meshtap-time-$$-$SIZE"
    # No user config: tmux's defaults, which is what the copy test is about. The shell keeps
    # TMUX and TMUX_PANE (env -i drops everything else).
    tm -f /dev/null new-session -d -s "$SESSION" -x "$cols" -y "$rows" \
        "env -i HOME=$WORK PATH=$PATH TERM=xterm-256color TMUX=\"\$TMUX\" TMUX_PANE=\"\$TMUX_PANE\" XDG_CONFIG_HOME=$WORK/config PS1='e2e\$ ' bash --noprofile --norc"
    tm set-option -g status off >/dev/null
    tm set-option -g escape-time 0 >/dev/null
    wait_for '^e2e\$' "the shell prompt"
    [[ $(tm show -gv set-clipboard) == external && $(tm show -gv allow-passthrough) == off ]] ||
        fail "tmux does not run with its default clipboard options"

    start_meshtap

    step "item 4: since=-1m keeps the live rows, until=-1h keeps none, age<10m all"
    filter 'since=-1m' 'since=-1m'
    wait_for "$ROW" "rows started in the last minute"
    filter 'until=-1h' 'until=-1h'
    wait_gone "$ROW" "every row (none started an hour before the demo)"
    filter 'age>=1h or age<10m' 'age>=1h or age<10m'
    wait_for "$ROW" "the rows again"
    step "item 8: a refused filter says why, at every width, on the line the prompt leaves"
    prompt 'path~carts and method=POST and latency>2s and since=noon'
    tm send-keys -t "$SESSION" Enter
    wait_for '│ filter: expected a time like' "the parse error of a bad time"
    # Cut with … if at all, and never inside a number.
    screen | grep -E '│ filter: expected' | grep -Eqv '[0-9]…' ||
        fail "the refused filter's message is cut inside a number: $(screen | grep -E '│ filter:')"
    # Each Escape is waited out: Escape and the next key sent together read as Alt+key.
    tm send-keys -t "$SESSION" Escape
    wait_gone '^/since=noon' "the prompt"
    tm send-keys -t "$SESSION" c
    wait_gone '│ filter ' "the filter"

    step "item 6: tmux's defaults: y ⏎ fills a tmux buffer and says how to reach the clipboard"
    tm delete-buffer >/dev/null 2>&1 || true
    ((10#$(buffers) == 0)) || tm delete-buffer -b "$(tm list-buffers -F '#{buffer_name}' | head -n 1)"
    copy_curl 'copied to a tmux buffer'
    wait_for 'set-clipboard on' "the hint to enable the clipboard"
    tm show-buffer | grep -q '^curl ' || fail "the tmux buffer does not hold the curl command: $(tm show-buffer | head -c 200)"
    tm send-keys -t "$SESSION" Escape
    wait_gone 'Copied as' "the popup"

    step "item 6: set-clipboard on: tmux takes meshtap's OSC 52 into a buffer itself"
    tm set-option -g set-clipboard on
    local before
    before=$(buffers)
    copy_curl 'clipboard \(set-clipboard on\)'
    local deadline=$((SECONDS + TIMEOUT))
    until (($(buffers) > before)); do
        ((SECONDS < deadline)) || fail "tmux made no buffer from the OSC 52 sequence"
        sleep 0.2
    done
    tm show-buffer | grep -q '^curl ' || fail "tmux's buffer is not the curl command"
    tm send-keys -t "$SESSION" Escape
    wait_gone 'Copied as' "the popup"
    tm set-option -g set-clipboard external

    step "item 6: allow-passthrough on: a buffer, and the sequence passes through"
    tm set-option -g allow-passthrough on
    copy_curl 'clipboard \(passthrough\)'
    tm send-keys -t "$SESSION" Escape
    wait_gone 'Copied as' "the popup"
    tm set-option -g allow-passthrough off

    routes_pane

    tm send-keys -t "$SESSION" q
    wait_for '^exit=0$' "meshtap to exit with status 0"

    in_flight_detail

    if [[ $SIZE == 200x50 ]]; then
        step "item 6: no tmux to reach: a private file, and the popup names it"
        start_meshtap /nonexistent/meshtap-no-tmux,1,0
        copy_curl 'copied to /[^ ]*copied.txt'
        local file
        file=$(screen | grep -Eo '/[^ │]*meshtap-copy-[^ │/]*/copied\.txt' | head -n 1)
        [[ -n $file && -f $file ]] || fail "the file named in the popup is missing ($file)"
        [[ $(stat -c %a "$file") == 600 ]] || fail "$file is not 0600"
        grep -q '^curl ' "$file" || fail "$file does not hold the curl command"
        rm -rf "$(dirname "$file")"
        tm send-keys -t "$SESSION" Escape
        wait_gone 'Copied as' "the popup"
        tm send-keys -t "$SESSION" q
        wait_for '^exit=0$' "meshtap to exit with status 0"
    fi
}

run_at 200x50
run_at 80x24
echo "time: PASS"
