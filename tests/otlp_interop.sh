#!/usr/bin/env bash
# meshtap's OpenTelemetry output read by an independent implementation: the OpenTelemetry
# project's Python bindings (opentelemetry-proto) with protobuf and grpcio, from PyPI.
#
# 1. `meshtap demo --export F --export-format otlp-json`: every line of F parses strictly as an
#    ExportTraceServiceRequest (tests/otlp_check.py explains the hex-id step), and it holds as
#    many spans as meshtap says it exported.
# 2. `meshtap demo -o ndjson --otlp-endpoint http://127.0.0.1:PORT` against a Python OTLP/gRPC
#    receiver (port chosen by the OS): the spans it received are the spans meshtap says it sent,
#    and there are some.
#
# Usage: tests/otlp_interop.sh [MESHTAP_BIN]   (default target/debug/meshtap; build it first)
# Loopback only, bounded (timeout 180 on the whole run), cleans up its temporary directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-${MESHTAP_BIN:-$ROOT/target/debug/meshtap}}
[[ -x $BIN ]] || { echo "otlp: $BIN is missing; run cargo build first" >&2; exit 1; }
if [[ -z ${OTLP_INNER:-} ]]; then
    OTLP_INNER=1 exec timeout 180 bash "$0" "$BIN"
fi

WORK=$(mktemp -d)
RECEIVER_PID=
cleanup() {
    [[ -n $RECEIVER_PID ]] && kill "$RECEIVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== python venv with opentelemetry-proto, protobuf, grpcio"
python3 -m venv "$WORK/venv"
PY=$WORK/venv/bin/python
"$PY" -m pip install --quiet --disable-pip-version-check opentelemetry-proto protobuf grpcio
CHECK=$ROOT/tests/otlp_check.py

# Runs meshtap for 3 s, then stops it as Ctrl-C does; stderr to $WORK/$1.err.
run_for_3s() {
    local name=$1
    shift
    "$BIN" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    local pid=$!
    sleep 3
    kill -INT "$pid"
    wait "$pid" || { echo "otlp: meshtap $* failed:" >&2; cat "$WORK/$name.err" >&2; exit 1; }
}

echo "== otlp-json export parsed by opentelemetry-proto"
run_for_3s export demo --seed 7 --rate 300 -o ndjson \
    --export "$WORK/capture.otlp.json" --export-format otlp-json
exported=$(sed -n 's/^meshtap: exported \([0-9]*\) requests.*/\1/p' "$WORK/export.err")
[[ -n $exported && $exported -gt 0 ]] || { echo "otlp: no export count" >&2; cat "$WORK/export.err" >&2; exit 1; }
"$PY" "$CHECK" parse "$WORK/capture.otlp.json" "$exported"

echo "== --otlp-endpoint streams to a Python OTLP/gRPC receiver"
"$PY" -u "$CHECK" receive "$WORK/count" >"$WORK/port" &
RECEIVER_PID=$!
for _ in $(seq 100); do [[ -s $WORK/port ]] && break; sleep 0.1; done
PORT=$(head -n 1 "$WORK/port")
[[ $PORT =~ ^[0-9]+$ ]] || { echo "otlp: the receiver did not start" >&2; exit 1; }
run_for_3s stream demo --seed 7 --rate 300 -o ndjson --otlp-endpoint "http://127.0.0.1:$PORT"
sent=$(sed -n 's/^meshtap: otlp: \([0-9]*\) spans sent.*/\1/p' "$WORK/stream.err")
received=$(cat "$WORK/count" 2>/dev/null || echo 0)
echo "otlp: meshtap sent $sent spans, the receiver counted $received"
[[ -n $sent && $sent -gt 0 && $sent == "$received" ]] || {
    echo "otlp: sent ${sent:-?} != received $received" >&2
    cat "$WORK/stream.err" >&2
    exit 1
}
echo "otlp: interop passed"
