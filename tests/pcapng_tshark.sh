#!/usr/bin/env bash
# The pcapng export read by an independent implementation: Wireshark's tshark.
#
# Records a few seconds of the demo mesh (--seed fixed), replays the recording twice — once to
# `--export-format pcapng`, once to NDJSON — and checks that tshark's HTTP dissector finds every
# request of the NDJSON with the same method, host and path (as multisets), one response per
# request that had one, every secret header still `<redacted>`, and no expert warning or error
# (bad checksums, broken TCP sequence numbers, malformed packets).
#
# Usage: tests/pcapng_tshark.sh [MESHTAP_BIN]   (default target/debug/meshtap; build it first)
# Needs tshark and python3. Loopback only (the demo serves 127.0.0.1), bounded (timeout 120),
# cleans up its temporary directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-${MESHTAP_BIN:-$ROOT/target/debug/meshtap}}
[[ -x $BIN ]] || { echo "pcapng: $BIN is missing; run cargo build first" >&2; exit 1; }
command -v tshark >/dev/null || { echo "pcapng: tshark is not installed" >&2; exit 1; }
if [[ -z ${PCAPNG_INNER:-} ]]; then
    PCAPNG_INNER=1 exec timeout 120 bash "$0" "$BIN"
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "pcapng: $*" >&2; exit 1; }
# tshark warns on stderr when run as root; its verdicts are on stdout.
shark() { tshark -r "$WORK/capture.pcapng" "$@" 2>/dev/null; }

echo "== recording 3 s of the demo"
timeout -s INT 3 "$BIN" demo --seed 15 --record "$WORK/rec.bin" -o ndjson >/dev/null || true
[[ -s $WORK/rec.bin ]] || fail "the demo recorded nothing"

echo "== replaying it as pcapng and as NDJSON"
"$BIN" replay "$WORK/rec.bin" --speed max --export "$WORK/capture.pcapng" \
    --export-format pcapng -o ndjson >/dev/null
"$BIN" replay "$WORK/rec.bin" --speed max --export "$WORK/capture.ndjson" -o ndjson >/dev/null

# NDJSON: every request whose request headers were seen (an orphan has no request line), as
# method<TAB>authority<TAB>path; a missing method is written as GET, as Linkerd's text does.
python3 - "$WORK/capture.ndjson" >"$WORK/want.tsv" 3>"$WORK/want-responses" <<'EOF'
import json, os, sys
responses = 0
with open(sys.argv[1]) as f:
    next(f)  # the capture header
    for line in f:
        r = json.loads(line)
        if r["status"] is not None:
            responses += 1
        if r["path"] is None:
            continue
        print(f'{r["method"] or "GET"}\t{r["authority"]}\t{r["path"]}')
os.write(3, f"{responses}\n".encode())
EOF
sort -o "$WORK/want.tsv" "$WORK/want.tsv"

shark -Y http.request -T fields -e http.request.method -e http.host -e http.request.uri \
    | sort >"$WORK/got.tsv"
want=$(wc -l <"$WORK/want.tsv")
got=$(wc -l <"$WORK/got.tsv")
echo "requests: NDJSON $want, tshark $got"
((want > 0)) || fail "the NDJSON holds no request"
diff "$WORK/want.tsv" "$WORK/got.tsv" >"$WORK/diff" || {
    head -20 "$WORK/diff" >&2
    fail "tshark's requests differ from the NDJSON's (method, host, path)"
}

responses=$(shark -Y http.response | wc -l)
[[ $responses == "$(cat "$WORK/want-responses")" ]] ||
    fail "tshark found $responses responses, the NDJSON $(cat "$WORK/want-responses")"

secrets=$(shark -Y 'http.authorization || http.cookie' -T fields -e http.authorization \
    -e http.cookie | tr '\t' '\n' | sed '/^$/d')
[[ -n $secrets ]] || fail "the demo sent no authorization or cookie header to check"
if grep -v -x '<redacted>' <<<"$secrets"; then fail "a secret header left unredacted"; fi

problems=$(shark -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
    -Y '_ws.expert.severity >= warning || _ws.malformed' | wc -l)
((problems == 0)) || fail "$problems packets carry expert warnings or errors"

comments=$(shark -Y 'frame.comment contains "tap carries no bodies"' | wc -l)
((comments >= want)) || fail "request packets lack their comments ($comments)"
echo "pcapng: $got requests read back by tshark, all matching the NDJSON"
