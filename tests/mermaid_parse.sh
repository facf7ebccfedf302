#!/usr/bin/env bash
# `meshtap map -o mermaid` checked by an independent parser: mermaid's own (npm `mermaid`, run
# headless in Node with jsdom for its sanitiser). Parses the demo mesh's map and a capture whose
# workload and namespace names are hostile to Mermaid's syntax (quotes, brackets, pipes, `#`,
# `%%`, HTML, keywords); any parse error fails.
#
# Usage: tests/mermaid_parse.sh [MESHTAP_BIN]   (default target/debug/meshtap; build it first)
# Needs node (≥ 18) and npm with the registry reachable. Loopback only for meshtap itself;
# bounded (timeout 300 on the whole run); cleans up its temporary directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-${MESHTAP_BIN:-$ROOT/target/debug/meshtap}}
[[ -x $BIN ]] || { echo "mermaid: $BIN is missing; run cargo build first" >&2; exit 1; }
if [[ -z ${MERMAID_INNER:-} ]]; then
    MERMAID_INNER=1 exec timeout 300 bash "$0" "$BIN"
fi
command -v node >/dev/null && command -v npm >/dev/null || {
    echo "mermaid: node and npm are needed" >&2
    exit 1
}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "== npm install mermaid jsdom (temporary directory)"
(cd "$WORK" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund mermaid@11 jsdom@26 >/dev/null)
cp "$ROOT/tests/mermaid_parse.mjs" "$WORK/"

"$BIN" map --demo --for 3s -o mermaid >"$WORK/demo.mmd"
grep -q -- '-->' "$WORK/demo.mmd" || { echo "mermaid: the demo's map has no edge" >&2; exit 1; }
"$BIN" map --replay "$ROOT/tests/fixtures/map_hostile_names.ndjson" -o mermaid >"$WORK/hostile.mmd"

# A parser that accepted anything would prove nothing: a broken flowchart must fail.
printf 'flowchart LR\n  n0["a"] -->|"x| n1[b[c]\n' >"$WORK/broken.mmd"
if (cd "$WORK" && node mermaid_parse.mjs broken.mmd) >/dev/null 2>&1; then
    echo "mermaid: the parser accepted a broken flowchart" >&2
    exit 1
fi

(cd "$WORK" && node mermaid_parse.mjs demo.mmd hostile.mmd)
