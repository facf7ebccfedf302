#!/usr/bin/env bash
# Each meshed call counted once where the user counts calls (issue 24, item 3), in a real
# terminal at 200×50 and 80×24: the titles say "both sides" by default and `⇄` marks calls both
# proxies reported; `D` cycles the client's side (outbound rows only; the identities pane then
# counts the map's edges) and the server's side (inbound rows only) and back; the detail names
# the other side and `o` selects it.
#
# Usage: tests/sides_tmux.sh            (builds nothing; set MESHTAP_BIN to test another binary)
# Every wait is bounded (E2E_TIMEOUT seconds, default 30); the tmux server is private.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/tmux_lib.sh
source "$ROOT/tests/tmux_lib.sh"
tmux_test_start sides

NAME=sides
fail() { ui_fail "[$SIZE] $1"; }
step() { echo "sides [$SIZE]: $*"; }
ROW='[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})? +'

# The request rows on screen, by direction ("out" or "in").
rows_of() { screen | grep -Ec "│$ROW$1" || true; }

# A number the title shows: $1 is an extended regex with one group of digits.
title_number() { screen | sed -nE "s/.*$1.*/\\1/p" | head -n 1; }

run_at() {
    SIZE=$1
    local cols=${1%x*} rows=${1#*x}
    tm kill-server >/dev/null 2>&1 || true
    SOCKET="meshtap-sides-$$-$SIZE"
    tm -f /dev/null new-session -d -s "$SESSION" -x "$cols" -y "$rows" \
        "env -i HOME=$WORK PATH=$PATH TERM=xterm-256color XDG_CONFIG_HOME=$WORK/config PS1='e2e\$ ' bash --noprofile --norc"
    tm set-option -g status off >/dev/null
    tm set-option -g escape-time 0 >/dev/null
    wait_for '^e2e\$' "the shell prompt"

    step "start meshtap demo --seed 1: both sides by default, ⇄ on calls both proxies saw"
    tm send-keys -t "$SESSION" "cd '$WORK' && '$BIN' demo --seed 1 2>'$WORK/stderr'; echo exit=\$?" Enter
    wait_for "$ROW" "request rows"
    wait_for 'Requests [0-9,]+/[0-9,]+ · both sides · ⇄ seen by both proxies' "the both-sides title"
    wait_for "$ROW(out⇄|in ⇄)" "a row marked ⇄"

    step "D: the client's side lists outbound requests only"
    tm send-keys -t "$SESSION" D
    wait_for 'Requests [0-9,]+/[0-9,]+ · client side' "the client-side title"
    wait_for 'client side: outbound only' "the status line saying what the view is"
    # The list follows the newest request: give the old rows a moment to be redrawn.
    seen_within 5 "│${ROW}in " && fail "an inbound row in the client's view"
    (($(rows_of out) > 0)) || fail "no outbound row in the client's view"

    step "the client's side: the identities pane counts the map's edges"
    tm send-keys -t "$SESSION" 3
    wait_for 'Identities · client side · [0-9]+ edges' "the identities title"
    local ids map tries=0
    while :; do
        tm send-keys -t "$SESSION" 3
        wait_for 'Identities · client side' "the identities pane"
        ids=$(title_number 'Identities · client side · ([0-9]+) edges')
        tm send-keys -t "$SESSION" 4
        wait_for '┌ Map · .* client side' "the map in the client's view"
        map=$(title_number '┌ Map · [^·]* · [0-9]+ nodes, ([0-9]+) edges')
        # Folded namespaces merge edges: only an unfolded map can be compared edge for edge.
        screen | grep -q 'folded to fit' && { step "map folded at this size: not compared"; break; }
        [[ -n $ids && $ids == "$map" ]] && break
        # The demo keeps streaming; a new edge may arrive between the two reads.
        ((tries < 10)) || fail "identities $ids edges vs map $map edges in the client's view"
        tries=$((tries + 1))
        sleep 1
    done
    step "client side: identities $ids edges, map $map edges"

    step "D: the server's side lists inbound requests only"
    tm send-keys -t "$SESSION" 1
    tm send-keys -t "$SESSION" D
    wait_for 'Requests [0-9,]+/[0-9,]+ · server side' "the server-side title"
    seen_within 5 "│${ROW}out" && fail "an outbound row in the server's view"
    (($(rows_of in) > 0)) || fail "no inbound row in the server's view"
    tm send-keys -t "$SESSION" 2
    wait_for 'Routes · server side' "the routes title in the server's view"

    step "D: both sides again"
    tm send-keys -t "$SESSION" 1
    tm send-keys -t "$SESSION" D
    wait_for 'Requests [0-9,]+/[0-9,]+ · both sides' "the both-sides title"

    step "the detail names the other side; o selects it"
    tm send-keys -t "$SESSION" Space
    local moves=0
    while :; do
        tm send-keys -t "$SESSION" Enter
        wait_for 'Request #[0-9]+' "the request detail"
        seen_within 2 'other side: #[0-9]+' && break
        ((moves < 30)) || fail "no request with another side among the last 30"
        tm send-keys -t "$SESSION" Escape
        wait_gone '┌ Request #' "the detail"
        tm send-keys -t "$SESSION" k
        moves=$((moves + 1))
    done
    local other
    other=$(screen | sed -nE 's/.*other side: #([0-9]+).*/\1/p' | head -n 1)
    tm send-keys -t "$SESSION" o
    wait_for "Request #$other " "the other side's detail"

    tm send-keys -t "$SESSION" q
    wait_for '^exit=0$' "meshtap to exit with status 0"
}

run_at 200x50
run_at 80x24
echo "sides: PASS"
