"""meshtap's OTLP output read by an independent implementation: the OpenTelemetry project's
Python bindings (`opentelemetry-proto` from PyPI) and Google's protobuf runtime.

  otlp_check.py parse FILE EXPECTED   parse every line of an `--export-format otlp-json` file as
                                      an ExportTraceServiceRequest; EXPECTED spans in all
  otlp_check.py receive COUNT_FILE    an OTLP/gRPC TraceService on 127.0.0.1 (port chosen by the
                                      OS, printed on the first line of stdout) that writes the
                                      number of spans received so far to COUNT_FILE; it stops by
                                      itself after RECEIVE_MAX_SECONDS

Why the ids are rewritten before parsing: OTLP's JSON encoding is the proto3 JSON mapping with
exceptions, and one of them is that `traceId`, `spanId` and `parentSpanId` are hex strings, not
base64 as proto3 says for `bytes`. The OTLP specification tells receivers to decode those fields
as hex; protobuf's generic `json_format.Parse` knows nothing of OTLP, so this script does what an
OTLP receiver does: it turns the hex ids into base64 first, then lets protobuf parse the rest
strictly (enums as numbers, 64-bit integers as strings, unknown fields rejected). The parsed ids
are then compared with the hex text, so a wrong encoding cannot pass.
"""

import base64
import json
import sys
import threading
import time
from concurrent import futures

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as service

RECEIVE_MAX_SECONDS = 120
ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def hex_ids_to_base64(doc):
    """Rewrites OTLP's hex ids as proto3 JSON's base64, returning the hex seen per span."""
    seen = []
    for resource_spans in doc.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                ids = {}
                for field in ID_FIELDS:
                    text = span.get(field, "")
                    if text:
                        raw = bytes.fromhex(text)  # raises on anything but hex
                        span[field] = base64.b64encode(raw).decode()
                    ids[field] = text
                seen.append(ids)
    return seen


def check_span(span, ids, resource):
    assert len(span.trace_id) == 16 and any(span.trace_id), "trace id: 16 bytes, not all zero"
    assert len(span.span_id) == 8 and any(span.span_id), "span id: 8 bytes, not all zero"
    assert span.trace_id.hex() == ids["traceId"], (span.trace_id.hex(), ids)
    assert span.span_id.hex() == ids["spanId"], (span.span_id.hex(), ids)
    assert span.parent_span_id.hex() == ids["parentSpanId"], ids
    assert span.kind in (2, 3), f"SERVER or CLIENT, not {span.kind}"
    assert span.name, "every span is named"
    assert span.end_time_unix_nano >= span.start_time_unix_nano > 0
    keys = {kv.key for kv in span.attributes}
    assert "meshtap.direction" in keys, keys
    assert {kv.key for kv in resource.attributes} >= {"service.name"}


def parse(path, expected):
    spans = 0
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            doc = json.loads(line)
            ids = hex_ids_to_base64(doc)
            message = service.ExportTraceServiceRequest()
            json_format.Parse(json.dumps(doc), message)  # strict: unknown fields fail
            index = 0
            for resource_spans in message.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    assert scope_spans.scope.name == "meshtap"
                    for span in scope_spans.spans:
                        check_span(span, ids[index], resource_spans.resource)
                        index += 1
            assert index == len(ids), f"line {number}: {index} parsed, {len(ids)} in the text"
            spans += index
    assert spans == int(expected), f"{spans} spans parsed, {expected} expected"
    print(f"otlp-json: {spans} spans parsed by opentelemetry-proto")


def receive(count_path):
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as service_grpc

    lock = threading.Lock()
    total = [0]

    class Receiver(service_grpc.TraceServiceServicer):
        def Export(self, request, context):
            spans = sum(
                len(scope_spans.spans)
                for resource_spans in request.resource_spans
                for scope_spans in resource_spans.scope_spans
            )
            with lock:
                total[0] += spans
                with open(count_path, "w", encoding="utf-8") as out:
                    out.write(str(total[0]))
            return service.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    service_grpc.add_TraceServiceServicer_to_server(Receiver(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    # Bounded: the caller kills it sooner; this only guards against a forgotten process.
    time.sleep(RECEIVE_MAX_SECONDS)
    server.stop(0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["parse"] and len(sys.argv) == 4:
        parse(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["receive"] and len(sys.argv) == 3:
        receive(sys.argv[2])
    else:
        sys.exit(__doc__)
