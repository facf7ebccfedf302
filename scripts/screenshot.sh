#!/usr/bin/env bash
# Draws the README's picture: `meshtap demo --seed 7` in a private tmux at 160×36, the screen read
# back with its colours (capture-pane -e) once the list has filled and a request's detail is open,
# and turned into SVG by scripts/ansi2svg.py. Then checks the SVG: it parses, has one text row per
# terminal row, and shows the tab bar and request rows.
#
# Usage: scripts/screenshot.sh [OUT]    draw into OUT (default assets/demo.svg)
#        scripts/screenshot.sh --check  draw into a temporary file and fail unless it has the shape
#                                       of the committed assets/demo.svg (what CI runs: the live
#                                       screen differs from run to run, its shape must not)
# MESHTAP_BIN picks the binary (default target/debug/meshtap); nothing is built here.
# Every wait is bounded (E2E_TIMEOUT seconds, default 30); the tmux server is private to this run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMMITTED=$ROOT/assets/demo.svg
CHECK=
if [[ ${1:-} == --check ]]; then
    CHECK=$COMMITTED
    OUT=
else
    OUT=${1:-$COMMITTED}
fi
COLS=160
ROWS=36
# shellcheck source=tests/tmux_lib.sh
source "$ROOT/tests/tmux_lib.sh"
tmux_test_start screenshot
fail() {
    echo "screenshot: FAIL: $1" >&2
    screen >&2 || true
    exit 1
}

# No shell and no user config: the window is exactly COLS×ROWS and shows only meshtap.
tm -f /dev/null new-session -d -s "$SESSION" -x "$COLS" -y "$ROWS" \
    "env -i HOME=$WORK PATH=$PATH TERM=xterm-256color XDG_CONFIG_HOME=$WORK/config '$BIN' demo --seed 7 2>'$WORK/stderr'"
tm set-option -g status off >/dev/null
# A request row: its time (milliseconds only when the list is wide) and direction.
ROW='[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})? +(in|out) '
wait_for "$ROW" "request rows"
# Let the list fill (at most TIMEOUT seconds), then pause so the picture is one moment.
deadline=$((SECONDS + TIMEOUT))
while (($(screen | grep -Ec -- "$ROW") < 24)) && ((SECONDS < deadline)); do
    sleep 0.2
done
tm send-keys -t "$SESSION" k Enter
wait_for 'Request #[0-9]+' "the request detail"
tm capture-pane -e -p -t "$SESSION" >"$WORK/screen.ansi"
[[ -z ${SCREENSHOT_KEEP:-} ]] || cp "$WORK/screen.ansi" "$SCREENSHOT_KEEP"
tm send-keys -t "$SESSION" q

tmp=$WORK/demo.svg
python3 "$ROOT/scripts/ansi2svg.py" "$COLS" "$ROWS" <"$WORK/screen.ansi" >"$tmp"
# The picture must parse, hold one text row per terminal row, the tab bar and request rows; with
# --check, the committed picture must too, at the same size.
python3 - "$ROWS" "$tmp" ${CHECK:+"$CHECK"} <<'PY' || fail "the SVG does not hold the screen"
import re, sys, xml.etree.ElementTree as ET

def shape(path):
    root = ET.parse(path).getroot()
    rows = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert len(rows) == int(sys.argv[1]), f"{path}: {len(rows)} text rows"
    assert "1 Requests" in rows[0], f"{path}: no tab bar in {rows[0]!r}"
    listed = [r for r in rows if re.search(r"\d\d:\d\d:\d\d(\.\d{3})? +(in|out) ", r)]
    assert len(listed) >= 5, f"{path}: {len(listed)} request rows"
    return root.get("width"), root.get("height"), len(rows)

drawn = shape(sys.argv[2])
if len(sys.argv) > 3:
    committed = shape(sys.argv[3])
    assert drawn == committed, f"drawn {drawn} but {sys.argv[3]} is {committed}: run scripts/screenshot.sh"
PY
if [[ -n $CHECK ]]; then
    echo "screenshot: drawn again; $CHECK has its shape (${COLS}×${ROWS})"
else
    cp "$tmp" "$OUT"
    echo "screenshot: $OUT (${COLS}×${ROWS})"
fi
