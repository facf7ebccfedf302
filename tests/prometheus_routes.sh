#!/usr/bin/env bash
# A real Prometheus (Debian's package) scrapes the demo's simulated proxies through the file_sd
# target list `demo --serve --file-sd` writes; `meshtap routes --prometheus` pointed at it must
# give the route figures `meshtap routes` gets by scraping the pods directly over the same window.
# The two windows are the same 20 s but not the same instants (Prometheus samples each target
# every second and `increase` extrapolates to the window's ends), so figures are compared within
# what that allows: rates within 15 %, success rates within 3 points, backend shares within
# 5 points, the same p50 bucket. Bounded: every wait has a count and a time limit.
set -euo pipefail
meshtap=${1:-target/debug/meshtap}
command -v prometheus >/dev/null || { echo "prometheus_routes: prometheus is not installed" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

"$meshtap" demo --serve --rate 300 --kubeconfig-out "$work/kubeconfig" --file-sd "$work/targets.json" \
  >"$work/demo.out" 2>"$work/demo.err" &
pids+=($!)
for _ in $(seq 1 100); do [[ -s $work/targets.json ]] && break; sleep 0.1; done
[[ -s $work/targets.json ]] || { echo "prometheus_routes: the demo wrote no target list" >&2; cat "$work/demo.err" >&2; exit 1; }

port=$(free_port)
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: linkerd-proxy
    file_sd_configs:
      - files: ["$work/targets.json"]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn >"$work/prom.log" 2>&1 &
pids+=($!)
url="http://127.0.0.1:$port"
targets=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/targets.json")
up=0
for _ in $(seq 1 60); do
  up=$(curl -sf "$url/api/v1/query?query=sum(up)" | python3 -c 'import json,sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(int(float(r[0]["value"][1])) if r else 0)
except Exception:
    print(0)') || up=0
  [[ $up -ge $targets ]] && break
  sleep 0.5
done
[[ $up -ge $targets ]] || { echo "prometheus_routes: $up of $targets targets up" >&2; cat "$work/prom.log" >&2; exit 1; }
echo "prometheus_routes: prometheus scrapes $up simulated proxies"

# Both windows cover the same 20 s: the direct path scrapes at its start and end, the
# Prometheus path asks for increase(...[20s]) at its end.
window=20s
"$meshtap" routes ns/sock-shop ns/emojivoto --kubeconfig "$work/kubeconfig" --window $window -o json \
  >"$work/direct.json" 2>"$work/direct.err" &
direct=$!
"$meshtap" routes ns/sock-shop ns/emojivoto --kubeconfig "$work/kubeconfig" --prometheus "$url" \
  --window $window -o json >"$work/prom.json" 2>"$work/prom.err" &
viaprom=$!
wait $direct || { cat "$work/direct.err" >&2; exit 1; }
wait $viaprom || { cat "$work/prom.err" >&2; exit 1; }

python3 - "$work/direct.json" "$work/prom.json" <<'PY'
import json, sys
direct, prom = (json.load(open(p)) for p in sys.argv[1:3])
failures, compared = [], 0
for d, p in zip(direct["targets"], prom["targets"]):
    assert "scraped directly" in d["metrics"], d["metrics"]
    assert p["metrics"].startswith("prometheus http://127.0.0.1:"), p["metrics"]
    key = lambda r: (r["name"], r["parent"]["namespace"], r["parent"]["name"], r["parent"]["port"], r["route"])
    prows = {key(r): r for r in p["outbound"]}
    for r in d["outbound"]:
        if r["requests"] < 60:
            continue
        compared += 1
        q = prows.get(key(r))
        if q is None:
            failures.append(f"{key(r)}: missing from the Prometheus path"); continue
        if abs(q["rps"] - r["rps"]) > 0.15 * r["rps"]:
            failures.append(f"{key(r)}: rps {r['rps']} direct vs {q['rps']} prometheus")
        if abs((q["success_rate"] or 0) - (r["success_rate"] or 0)) > 0.03:
            failures.append(f"{key(r)}: success {r['success_rate']} vs {q['success_rate']}")
        if (q["latency_p50"] or {}).get("le_ms") != (r["latency_p50"] or {}).get("le_ms"):
            failures.append(f"{key(r)}: p50 {r['latency_p50']} vs {q['latency_p50']}")
        qb = {b["name"]: b for b in q["backends"]}
        for b in r["backends"]:
            share = (qb.get(b["name"]) or {}).get("share")
            if share is None or abs(share - b["share"]) > 0.05:
                failures.append(f"{key(r)}: backend {b['name']} share {b['share']} vs {share}")
    pin = {(r["name"], r["server"], r["port"], r["route"]): r for r in p["inbound"]}
    for r in d["inbound"]:
        if r["requests"] < 60:
            continue
        compared += 1
        q = pin.get((r["name"], r["server"], r["port"], r["route"]))
        if q is None or abs(q["rps"] - r["rps"]) > 0.15 * r["rps"]:
            failures.append(f"inbound {r['server']} {r['route']}: {r['rps']} vs {q and q['rps']}")
if compared < 8:
    failures.append(f"only {compared} rows had enough requests to compare")
for f in failures:
    print("prometheus_routes:", f, file=sys.stderr)
print(f"prometheus_routes: {compared} rows compared, {len(failures)} differ")
sys.exit(1 if failures else 0)
PY
