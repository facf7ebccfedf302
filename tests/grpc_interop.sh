#!/usr/bin/env bash
# Interoperability of `meshtap proxy` with an independent gRPC implementation: Python's grpcio.
#
# A virtual environment gets grpcio + grpcio-tools from PyPI; grpc_tools.protoc generates a Tap
# server from the .proto files shipped inside the linkerd2-proxy-api crate (not from meshtap's
# code); a tiny Python server on 127.0.0.1 (port chosen by the OS) records each ObserveRequest and
# answers two windows of events, then fails the third Observe. meshtap's text output must be the
# exact `linkerd viz tap` lines for those events, its request must carry the flags, and the
# failure must end the run (--no-reconnect).
#
# Usage: tests/grpc_interop.sh [MESHTAP_BIN]   (default target/debug/meshtap; build it first)
# Loopback only, bounded (timeout 120 on the whole run), cleans up its temporary directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-${MESHTAP_BIN:-$ROOT/target/debug/meshtap}}
[[ -x $BIN ]] || { echo "interop: $BIN is missing; run cargo build first" >&2; exit 1; }
if [[ -z ${INTEROP_INNER:-} ]]; then
    INTEROP_INNER=1 exec timeout 120 bash "$0" "$BIN"
fi

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
PROTO=$(ls -d "$CARGO_HOME"/registry/src/*/linkerd2-proxy-api-0.20.0/proto 2>/dev/null | head -n 1)
[[ -n $PROTO && -f $PROTO/tap.proto ]] || {
    echo "interop: linkerd2-proxy-api-0.20.0/proto not found under $CARGO_HOME/registry" >&2
    exit 1
}

echo "== python venv with grpcio-tools"
python3 -m venv "$WORK/venv"
PY=$WORK/venv/bin/python
"$PY" -m pip install --quiet --disable-pip-version-check grpcio grpcio-tools

echo "== generating a Tap server from $PROTO"
mkdir -p "$WORK/gen"
"$PY" -m grpc_tools.protoc -I "$PROTO" --python_out="$WORK/gen" --grpc_python_out="$WORK/gen" \
    tap.proto net.proto http_types.proto

cat >"$WORK/server.py" <<'PY'
"""A Tap server written against grpcio's generated code only."""
import sys
from concurrent import futures

import grpc
from google.protobuf import text_format

import http_types_pb2 as http_types
import net_pb2 as net
import tap_pb2 as tap
import tap_pb2_grpc as tap_grpc

record_path = sys.argv[1]


def addr(a, b, c, d, port):
    return net.TcpAddress(ip=net.IPAddress(ipv4=(a << 24) | (b << 16) | (c << 8) | d), port=port)


def base_event():
    ev = tap.TapEvent(
        source=addr(10, 1, 2, 3, 40000),
        destination=addr(10, 4, 5, 6, 8080),
        proxy_direction=tap.TapEvent.INBOUND,
    )
    ev.source_meta.labels["tls"] = "true"
    ev.source_meta.labels["client_id"] = "web.test.serviceaccount.identity.linkerd.cluster.local"
    ev.destination_meta.labels["pod"] = "api-0"
    return ev


def http_event(**kwargs):
    ev = base_event()
    ev.http.CopyFrom(tap.TapEvent.Http(**kwargs))
    return ev


class Tap(tap_grpc.TapServicer):
    def __init__(self):
        self.calls = 0

    def Observe(self, request, context):
        with open(record_path, "a") as f:
            f.write("--- observe %d\n" % self.calls)
            f.write(text_format.MessageToString(request))
        base = self.calls
        self.calls += 1
        if base >= 2:
            context.abort(grpc.StatusCode.UNAVAILABLE, "interop: done")
        sid = tap.TapEvent.Http.StreamId(base=base, stream=0)
        get = http_types.HttpMethod(registered=http_types.HttpMethod.GET)
        headers = http_types.Headers(headers=[
            http_types.Headers.Header(name="x-text", value=b"hello"),
            http_types.Headers.Header(name="x-bin", value=b"\xff\x00"),
        ])
        yield http_event(request_init=tap.TapEvent.Http.RequestInit(
            id=sid, method=get, authority="api.test:8080",
            path="/api/one" if base == 0 else "/api/two", headers=headers))
        init = tap.TapEvent.Http.ResponseInit(id=sid, http_status=200 if base == 0 else 503)
        init.since_request_init.FromMicroseconds(1500)
        yield http_event(response_init=init)
        end = tap.TapEvent.Http.ResponseEnd(id=sid, response_bytes=42 if base == 0 else 0)
        end.since_request_init.FromMicroseconds(1750)
        end.since_response_init.FromMicroseconds(250)
        if base == 0:
            end.eos.grpc_status_code = 0
        else:
            end.eos.reset_error_code = 8
        yield http_event(response_end=end)


server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
tap_grpc.add_TapServicer_to_server(Tap(), server)
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(port, flush=True)
server.wait_for_termination()
PY

echo "== starting the Python tap server"
PYTHONPATH="$WORK/gen" "$PY" "$WORK/server.py" "$WORK/requests.txt" >"$WORK/port" 2>"$WORK/server.err" &
SERVER_PID=$!
PORT=
for _ in $(seq 1 100); do
    PORT=$(head -n 1 "$WORK/port" 2>/dev/null || true)
    [[ -n $PORT ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.err" >&2; exit 1; }
    sleep 0.1
done
[[ -n $PORT ]] || { echo "interop: the Python server printed no port" >&2; exit 1; }
echo "   listening on 127.0.0.1:$PORT"

echo "== meshtap proxy 127.0.0.1:$PORT"
set +e
timeout 60 "$BIN" proxy "127.0.0.1:$PORT" --plaintext -o text --no-reconnect \
    --max-rps 7 --method GET --path /api >"$WORK/out.txt" 2>"$WORK/err.txt"
CODE=$?
set -e

fail() {
    echo "interop: $1" >&2
    echo "--- stdout" >&2; cat "$WORK/out.txt" >&2
    echo "--- stderr" >&2; cat "$WORK/err.txt" >&2
    echo "--- requests" >&2; cat "$WORK/requests.txt" >&2 || true
    exit 1
}

COMMON='proxy=in  src=10.1.2.3:40000 dst=10.4.5.6:8080 tls=true'
cat >"$WORK/want.txt" <<EOF
req id=0:0 $COMMON :method=GET :authority=api.test:8080 :path=/api/one
rsp id=0:0 $COMMON :status=200 latency=1500µs
end id=0:0 $COMMON grpc-status=OK duration=250µs response-length=42B
req id=1:0 $COMMON :method=GET :authority=api.test:8080 :path=/api/two
rsp id=1:0 $COMMON :status=503 latency=1500µs
end id=1:0 $COMMON reset-error=8 duration=250µs response-length=0B
EOF
diff -u "$WORK/want.txt" "$WORK/out.txt" >&2 || fail "output lines differ"
[[ $CODE -eq 1 ]] || fail "expected exit code 1 after the failed third Observe, got $CODE"
grep -q 'interop: done' "$WORK/err.txt" || fail "the server's UNAVAILABLE message was not reported"

# Three Observe calls (one per window), each as the flags asked; no headers for -o text.
[[ $(grep -c '^--- observe' "$WORK/requests.txt") -eq 3 ]] || fail "expected 3 Observe calls"
for want in 'limit: 7' 'registered: GET' 'prefix: "/api"'; do
    [[ $(grep -cF "$want" "$WORK/requests.txt") -eq 3 ]] || fail "every request should carry: $want"
done
! grep -q 'extract' "$WORK/requests.txt" || fail "-o text must not ask for headers"

echo "interop: ok (grpcio $("$PY" -c 'import grpc; print(grpc.__version__)'))"
