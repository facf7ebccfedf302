#!/usr/bin/env bash
# Load soak: `meshtap demo --rate 20000` in the TUI (in a private tmux server, 200×50) for a
# bounded time, loopback only. Every 2 s it samples the process's RSS from /proc/PID/status;
# every few seconds it presses `?` and checks the help overlay appears (and `Escape` removes it),
# timing the answer. At the end it prints RSS over time, when the store filled (the status bar's
# "evicted" counter appears), and whether RSS stayed flat from then on.
#
# Usage: scripts/soak.sh                         (needs `cargo build --release` first)
#   SOAK_SECONDS=60  SOAK_RATE=20000  SOAK_CAPACITY=100000  SOAK_KEY_EVERY=6  MESHTAP_BIN=...
#   SOAK_FLAT_PCT=10   RSS may rise at most this much (or 8 MiB, whichever is more) after the fill
#   SOAK_ENV="MALLOC_ARENA_MAX=2"   extra environment for meshtap (e.g. to compare allocator settings)
# Exit status: 0 when the UI answered every key and RSS stayed flat after the fill, 1 otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${MESHTAP_BIN:-$ROOT/target/release/meshtap}
SECONDS_TOTAL=${SOAK_SECONDS:-60}
RATE=${SOAK_RATE:-20000}
CAPACITY=${SOAK_CAPACITY:-100000}
KEY_EVERY=${SOAK_KEY_EVERY:-6}
FLAT_PCT=${SOAK_FLAT_PCT:-10}
SOCKET="meshtap-soak-$$"
SESSION=soak
WORK=$(mktemp -d)

tm() { tmux -L "$SOCKET" "$@"; }
cleanup() {
    tm kill-server >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v tmux >/dev/null || { echo "soak: tmux is not installed" >&2; exit 1; }
[[ -x $BIN ]] || { echo "soak: $BIN is missing; run cargo build --release first" >&2; exit 1; }
((SECONDS_TOTAL > 0 && SECONDS_TOTAL <= 3600)) || { echo "soak: SOAK_SECONDS must be 1..3600" >&2; exit 1; }

screen() { tm capture-pane -p -t "$SESSION"; }

# The tap's own sampling would otherwise cap the stream at Linkerd's default 100 rps.
tm -f /dev/null new-session -d -s "$SESSION" -x 200 -y 50 \
    "exec env ${SOAK_ENV:-} '$BIN' demo --rate $RATE --max-rps $RATE --capacity $CAPACITY 2>'$WORK/stderr'"
tm set-option -t "$SESSION" remain-on-exit on >/dev/null
# `exec` above makes the pane's process meshtap itself.
PID=$(tm list-panes -t "$SESSION" -F '#{pane_pid}')
[[ $(cat "/proc/$PID/comm" 2>/dev/null) == meshtap* ]] || sleep 0.5

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status" 2>/dev/null || echo 0; }
alive() { [[ -d /proc/$PID ]] && [[ $(tm display-message -p -t "$SESSION" '#{pane_dead}') == 0 ]]; }

# Presses `?` and waits (at most 2 s) for the help overlay, then `Escape` and waits for it to go.
# Prints the round trip in milliseconds, or "timeout".
probe() {
    local start end
    start=$(date +%s%N)
    tm send-keys -t "$SESSION" '?'
    for _ in $(seq 1 200); do
        if screen | grep -q '┌ Help'; then
            end=$(date +%s%N)
            tm send-keys -t "$SESSION" Escape
            for _ in $(seq 1 200); do
                screen | grep -q '┌ Help' || { echo $(((end - start) / 1000000)); return; }
                sleep 0.01
            done
            echo timeout
            return
        fi
        sleep 0.01
    done
    echo timeout
}

echo "soak: meshtap demo --rate $RATE --max-rps $RATE --capacity $CAPACITY for ${SECONDS_TOTAL}s (pid $PID)"
printf '%6s %10s %8s %s\n' "t(s)" "RSS(MiB)" "key(ms)" "status"
START=$SECONDS
FILLED_AT=""
NEXT_KEY=$KEY_EVERY
FAILED_KEYS=0
SAMPLES=()
while ((SECONDS - START < SECONDS_TOTAL)); do
    sleep 2
    alive || { echo "soak: FAIL: meshtap exited"; cat "$WORK/stderr"; exit 1; }
    t=$((SECONDS - START))
    rss=$(rss_kib)
    status=$(screen | grep -Eo '[0-9,]+ ev/s [0-9,]+ req/s.*' | head -1 | tr -s ' ' || true)
    if [[ -z $FILLED_AT ]] && screen | grep -q 'evicted'; then
        FILLED_AT=$t
    fi
    key="-"
    if ((t >= NEXT_KEY)); then
        key=$(probe)
        [[ $key == timeout ]] && FAILED_KEYS=$((FAILED_KEYS + 1))
        NEXT_KEY=$((t + KEY_EVERY))
    fi
    SAMPLES+=("$t:$rss")
    printf '%6d %10.1f %8s %s\n' "$t" "$(echo "$rss / 1024" | bc -l)" "$key" "${status:0:80}"
done

PEAK=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status")
echo "soak: peak RSS $((PEAK / 1024)) MiB; keys unanswered within 2 s: $FAILED_KEYS"
if [[ -z $FILLED_AT ]]; then
    echo "soak: the store never filled (no evictions shown) in ${SECONDS_TOTAL}s: flatness not judged"
    ((FAILED_KEYS == 0))
    exit
fi
# Flatness: from the first sample a few seconds after the fill (the ring's last growth step and
# the allocator settle) to the end, RSS may not rise beyond the allowance.
SETTLE=$((FILLED_AT + 4))
BASE=""
LAST=0
for s in "${SAMPLES[@]}"; do
    t=${s%%:*}
    r=${s##*:}
    if ((t >= SETTLE)); then
        [[ -z $BASE ]] && BASE=$r
        LAST=$r
    fi
done
if [[ -z $BASE ]]; then
    echo "soak: the store filled at ${FILLED_AT}s, too late to judge flatness; run longer"
    ((FAILED_KEYS == 0))
    exit
fi
ALLOW=$((BASE * FLAT_PCT / 100))
((ALLOW < 8192)) && ALLOW=8192
GROWTH=$((LAST - BASE))
echo "soak: store filled at ${FILLED_AT}s; RSS from ${SETTLE}s: $((BASE / 1024)) MiB -> $((LAST / 1024)) MiB (growth $((GROWTH / 1024)) MiB, allowed $((ALLOW / 1024)) MiB)"
if ((GROWTH <= ALLOW && FAILED_KEYS == 0)); then
    echo "soak: PASS: memory flat after the store filled, every key answered"
else
    echo "soak: FAIL"
    exit 1
fi
