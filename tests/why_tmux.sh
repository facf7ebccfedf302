#!/usr/bin/env bash
# Tap health in the real terminal UI (issue 25): `meshtap demo deploy/opaque-db deploy/wide -n
# troubled` taps one target that stays silent (its only port is opaque) and one with a pod whose
# proxy is not ready. The empty pane shows the per-pod table, the status bar says the one-line
# reason with a pointer to :why, `:why` opens the table, Esc closes it, q exits 0.
#
# Usage: tests/why_tmux.sh     (set MESHTAP_BIN to test another binary)
# Every wait is bounded (E2E_TIMEOUT seconds, default 30); the tmux server is private to this
# run and is killed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/tmux_lib.sh
source "$ROOT/tests/tmux_lib.sh"
tmux_test_start why

NAME=why
fail() { ui_fail "$1"; }
step() { echo "why: $*"; }

ui_shell_start

step "start meshtap demo on a silent troubled target"
tm send-keys -t "$SESSION" "cd '$WORK' && '$BIN' demo deploy/opaque-db -n troubled 2>'$WORK/stderr'; echo exit=\$?" Enter
wait_for 'connected' "the tap to connect"

step "the empty pane explains the silence per pod"
wait_for 'opaque-db-[a-z0-9]+-[a-z0-9]+ +opaque ports only' "the silent pod in the empty pane"
wait_for 'is in config\.linkerd\.io/opaque-ports' "the cause in the empty pane"

step "the status bar says why in one line"
wait_for 'deploy/opaque-db: 1 of 1 pods need attention \(opaque port 5432\).* — :why' "the status-bar reason"

step ":why opens the table"
tm send-keys -t "$SESSION" ':why' Enter
wait_for 'Why tap is quiet: per-pod tap health' "the :why view"
wait_for 'fix: nothing to tap here' "the fix in the :why view"
tm send-keys -t "$SESSION" Escape
wait_gone 'Why tap is quiet' "the :why view"

step ":target deploy/wide: a pod whose proxy is not ready, and the split of maxRps"
tm send-keys -t "$SESSION" ':target deploy/wide' Enter
wait_for 'deploy/wide: 1 of 20 pods need attention \(proxy not ready\)' "the wide target's reason"
tm send-keys -t "$SESSION" ':why' Enter
wait_for 'wide-[a-z0-9]+-[a-z0-9]+ +proxy not ready' "the not-ready pod in :why"
wait_for 'split over 20 pod\(s\): 5 rps each' "the per-pod share in :why"
tm send-keys -t "$SESSION" Escape
wait_gone 'Why tap is quiet' "the :why view"

ui_quit_to_shell
echo "why: the status bar, the empty pane and :why explain quiet taps per pod: ok"
