#!/usr/bin/env bash
# Replay rate, whole process (issue 12): on one generated raw recording (the demo mesh's traffic,
# realistic labels and headers), compares
#   (a) prost decoding every frame into linkerd2-proxy-api types (in-process),
#   (b) meshtap replay reading, decoding and joining it into a store, no output (in-process),
#   (c) `meshtap replay FILE --speed max -o ndjson > /dev/null`, the whole process,
#   (d) the live path: `meshtap tap deploy/web -o ndjson > /dev/null` against a plain-HTTP demo
#       control plane on loopback (the bench binary's serve mode) that streams the same file,
#       the whole process,
# and prints (b), (c) and (d) as ratios of (a)'s rate (>= 1.0 is the target), plus
# (c)'s and (d)'s peak RSS. (a) and (b) come from `benches/replay.rs`; each figure is the best of
# three runs.
#
# Usage: scripts/replay_rate.sh      REPLAY_EVENTS=300000  MESHTAP_BIN=...  REPLAY_ARGS="--capacity 10000"
#   REPLAY_PROFILE=bench   build meshtap with that cargo profile instead of release (the bench
#                          profile has no LTO: minutes instead of the release build's ~20)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROFILE=${REPLAY_PROFILE:-release}
# Cargo puts both the release and the bench profile's binaries in target/release.
BIN=${MESHTAP_BIN:-$ROOT/target/release/meshtap}
EVENTS=${REPLAY_EVENTS:-300000}
read -r -a EXTRA <<< "${REPLAY_ARGS:-}"
DIR=$(mktemp -d)
SERVER=
cleanup() {
    [[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT
FILE=$DIR/tap.bin

cd "$ROOT"
if [[ -z ${MESHTAP_BIN:-} ]]; then
    cargo build --profile "$PROFILE" --quiet --bin meshtap
fi
MESHTAP_REPLAY_BENCH_FILE=$FILE MESHTAP_REPLAY_BENCH_EVENTS=$EVENTS \
    cargo bench --quiet --bench replay > "$DIR/bench.txt"
cat "$DIR/bench.txt"

# Runs "$@" three times; prints each run and sets BEST to the fastest wall time.
best_of_three() {
    BEST=
    for _ in 1 2 3; do
        start=$(date +%s.%N)
        /usr/bin/time -f %M -o "$DIR/rss" "$@" > /dev/null
        end=$(date +%s.%N)
        took=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')
        echo "  ${took} s, peak RSS $(($(cat "$DIR/rss") / 1024)) MiB"
        if [[ -z $BEST ]] || awk -v t="$took" -v b="$BEST" 'BEGIN { exit !(t < b) }'; then
            BEST=$took
        fi
    done
}

echo "(c) replay, whole process:"
best_of_three "$BIN" replay "$FILE" --speed max -o ndjson "${EXTRA[@]}"
replay_whole=$BEST

echo "(d) live tap over loopback HTTP, whole process:"
# The bench binary itself (not cargo) in the background, so its pid is the server's.
SERVE_BIN=$(cargo bench --no-run --bench replay 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p')
[[ -x $SERVE_BIN ]] || { echo "replay_rate: cannot find the replay bench binary" >&2; exit 1; }
MESHTAP_REPLAY_BENCH_FILE=$FILE MESHTAP_REPLAY_BENCH_SERVE=$DIR/kubeconfig "$SERVE_BIN" &
SERVER=$!
for _ in $(seq 600); do
    [[ -s $DIR/kubeconfig ]] && break
    sleep 0.5
done
[[ -s $DIR/kubeconfig ]] || { echo "replay_rate: the tap server did not start" >&2; exit 1; }
best_of_three "$BIN" tap deploy/web -n sock-shop --kubeconfig "$DIR/kubeconfig" --no-reconnect \
    --no-metrics --max-rps 1000000 -o ndjson "${EXTRA[@]}"
live_whole=$BEST

prost=$(awk '$1 == "prost_decode_s" { print $2 }' "$DIR/bench.txt")
replay=$(awk '$1 == "replay_decode_join_s" { print $2 }' "$DIR/bench.txt")
echo "file: $(stat -c %s "$FILE") bytes"
awk -v p="$prost" -v r="$replay" -v w="$replay_whole" -v l="$live_whole" 'BEGIN {
    printf "(a) prost decode        %.3f s  1.00x\n", p
    printf "(b) replay decode+join  %.3f s  %.2fx\n", r, p / r
    printf "(c) replay, whole       %.3f s  %.2fx\n", w, p / w
    printf "(d) live tap, whole     %.3f s  %.2fx\n", l, p / l
}'
