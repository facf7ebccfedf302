#!/usr/bin/env bash
# Replay rate, whole process (issue 12): on one generated raw recording (the demo mesh's traffic,
# realistic labels and headers), compares
#   (a) prost decoding every frame into linkerd2-proxy-api types (in-process),
#   (b) meshtap replay reading, decoding and joining it into a store, no output (in-process),
#   (c) `meshtap replay FILE --speed max -o ndjson > /dev/null`, the whole process,
# and prints (b) and (c) as ratios of (a)'s rate (>= 1.0 is the DESIGN.md target), plus (c)'s
# peak RSS. (a) and (b) come from `benches/replay.rs`; each figure is the best of three runs.
#
# Usage: scripts/replay_rate.sh      REPLAY_EVENTS=300000  MESHTAP_BIN=...  REPLAY_ARGS="--capacity 10000"
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${MESHTAP_BIN:-$ROOT/target/release/meshtap}
EVENTS=${REPLAY_EVENTS:-300000}
read -r -a EXTRA <<< "${REPLAY_ARGS:-}"
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
FILE=$DIR/tap.bin

cd "$ROOT"
if [[ -z ${MESHTAP_BIN:-} ]]; then
    cargo build --release --quiet --bin meshtap
fi
MESHTAP_REPLAY_BENCH_FILE=$FILE MESHTAP_REPLAY_BENCH_EVENTS=$EVENTS \
    cargo bench --quiet --bench replay > "$DIR/bench.txt"
cat "$DIR/bench.txt"

best=
for _ in 1 2 3; do
    start=$(date +%s.%N)
    /usr/bin/time -f %M -o "$DIR/rss" "$BIN" replay "$FILE" --speed max -o ndjson "${EXTRA[@]}" > /dev/null
    end=$(date +%s.%N)
    took=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')
    rss=$(cat "$DIR/rss")
    echo "whole process: ${took} s, peak RSS $((rss / 1024)) MiB"
    if [[ -z $best ]] || awk -v t="$took" -v b="$best" 'BEGIN { exit !(t < b) }'; then
        best=$took
    fi
done

prost=$(awk '$1 == "prost_decode_s" { print $2 }' "$DIR/bench.txt")
replay=$(awk '$1 == "replay_decode_join_s" { print $2 }' "$DIR/bench.txt")
echo "file: $(stat -c %s "$FILE") bytes"
awk -v p="$prost" -v r="$replay" -v w="$best" 'BEGIN {
    printf "(a) prost decode        %.3f s  1.00x\n", p
    printf "(b) replay decode+join  %.3f s  %.2fx\n", r, p / r
    printf "(c) whole process       %.3f s  %.2fx\n", w, p / w
}'
