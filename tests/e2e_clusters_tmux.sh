#!/usr/bin/env bash
# End-to-end test of several clusters in one session, in a real terminal: tmux runs
# `meshtap demo --clusters east,west` at 160×48 and reads the screen back at each step: the
# requests pane has a cluster column with rows from both clusters and the status bar each
# cluster's streams, `/cluster=west` leaves only west's rows, a call from east through west's
# gateway opens with its crossing and its other side in west, `q` quits and the shell is usable.
#
# Usage: tests/e2e_clusters_tmux.sh   (builds nothing; set MESHTAP_BIN to test another binary)
# Every wait is bounded (E2E_TIMEOUT seconds, default 30); the tmux server is private to this
# run (-L meshtap-e2e-clusters-PID) and is killed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/tmux_lib.sh
source "$ROOT/tests/tmux_lib.sh"
tmux_test_start e2e-clusters

NAME=e2e-clusters
fail() { ui_fail "$1"; }

step() { echo "e2e-clusters: $*"; }

# Whether the screen matches $1 within $2 seconds (a bounded wait that may come back empty).
appears() {
    local deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        screen | grep -Eq -- "$1" && return 0
        sleep 0.2
    done
    return 1
}

ui_shell_start

step "start meshtap demo --clusters east,west"
tm send-keys -t "$SESSION" "cd '$WORK' && '$BIN' demo --clusters east,west 2>'$WORK/stderr'; echo exit=\$?" Enter
# A request row: its time (to the second: the detail pane narrows the list), cluster, direction.
ROW='[0-9]{2}:[0-9]{2}:[0-9]{2}[.0-9]* +(east|west) +(in|out)[ ⇄]'
wait_for '│time UTC +cluster +dir ' "the cluster column"
wait_for '[0-9]{2}:[0-9]{2}:[0-9]{2}[.0-9]* +east +(in|out)[ ⇄]' "a row from east"
wait_for '[0-9]{2}:[0-9]{2}:[0-9]{2}[.0-9]* +west +(in|out)[ ⇄]' "a row from west"
wait_for 'east ok, west ok' "each cluster's streams in the status bar"

step "filter /cluster=west: only west's rows"
ui_filter 'cluster=west'
wait_for "$ROW" "west's rows"
if screen | grep -E -- "$ROW" | grep -Evq -- ' west +(in|out)[ ⇄]'; then
    fail "a row from another cluster is listed under cluster=west"
fi
tm send-keys -t "$SESSION" c
wait_gone 'filter cluster=west' "the cluster filter"

step "open east's call to catalogue-west: it leaves through the gateway, its other side is in west"
# The filter language has no mirrored-service field: east's outbound calls whose server is the
# gateway and whose authority is catalogue's are the calls to catalogue-west.
FILTER='cluster=east and dir=out and id~linkerd-gateway and authority~catalogue'
ui_filter "$FILTER"
wait_for '[0-9]{2}:[0-9]{2}:[0-9]{2}[.0-9]* +east +out[ ⇄]' "east's calls through the gateway"
# The link is drawn only when exactly one request on the other side fits (concurrent calls to
# the same path leave it unsaid, and the first calls may have crossed before west's tap was up),
# so every call looked at must show its crossing, and one of the last few its other side.
TRIES=8
linked=no
tm send-keys -t "$SESSION" G
for ((try = 1; try <= TRIES; try++)); do
    tm send-keys -t "$SESSION" Enter
    wait_for 'Request #[0-9]+' "the detail title"
    wait_for 'cluster: east' "the cluster in the detail"
    wait_for 'crossing: leaves (for cluster west|the cluster through the multicluster gateway)' \
        "the crossing line"
    if appears 'other side: #[0-9]+ in west, in catalogue' 3; then
        linked=yes
        echo "e2e-clusters: linked on call $try of the last $TRIES"
        break
    fi
    tm send-keys -t "$SESSION" Escape
    wait_gone 'Request #[0-9]+' "the detail"
    tm send-keys -t "$SESSION" k
done
[[ $linked == yes ]] || fail "none of the last $TRIES calls to catalogue-west names its other side in west"
tm send-keys -t "$SESSION" Escape
wait_gone 'Request #[0-9]+' "the detail"

step "quit with q; the shell is usable"
ui_quit_to_shell

if [[ -s $WORK/stderr ]]; then
    echo "e2e-clusters: note: meshtap wrote to stderr:" && cat "$WORK/stderr"
fi
step "PASS"
