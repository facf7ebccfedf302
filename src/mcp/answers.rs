//! What each tool answers, as JSON, from the held state: pure functions of it, bounded by the
//! caller's limit and capped by ours, every header value through the session's redactor, and
//! every answer saying how much of the traffic the sample is.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::owner::Held;
use crate::capture::ndjson::RequestRecord;
use crate::filter::Filter;
use crate::model::identities::IdentityTable;
use crate::model::map::MapGraph;
use crate::model::request::Request;
use crate::model::routes::{Grouping, RouteTable, Window};
use crate::session::redact::Redactor;

/// Most requests one `list_requests` returns, whatever the limit asked.
pub const MAX_LIST_REQUESTS: usize = 500;
/// Most rows `route_stats` and edges `identities` return.
pub const MAX_ROWS: usize = 500;
/// What an agent must not forget about tap data.
pub const SAMPLING_NOTE: &str = "Linkerd's tap samples: at most maxRps requests per second are \
    reported, split evenly over the target's pods, and meshtap holds at most --capacity of them. \
    These figures describe that sample, not all traffic.";

/// What the session says about its sampling, for every answer.
#[derive(Clone, Debug, Default)]
pub struct Sampling {
    /// `--max-rps` of a live or demo tap; `None` for a replay (the capture says, if anything).
    pub max_rps: Option<f32>,
    /// The session's own words (`max 100 rps split over 12 pods`), when known.
    pub description: String,
}

/// The `sampled` object every answer carries.
pub fn sampled(held: &Held, sampling: &Sampling) -> Value {
    let stats = held.store.stats();
    json!({
        "max_rps": sampling.max_rps,
        "description": sampling.description,
        "held_requests": held.store.len(),
        "requests_seen": stats.requests,
        "evicted": stats.evicted,
        "source_ended": held.ended,
        "note": SAMPLING_NOTE,
    })
}

/// Each target's tap health, in stream order: per pod what Linkerd's tap server does with it
/// (the verdict), why and the fix; the `maxRps` split; the sampled rate against the real one.
pub fn tap_health(held: &Held, sampling: &Sampling) -> Value {
    let mut attention = 0;
    let targets: Vec<Value> = (0..held.streams.len())
        .filter_map(|stream| {
            let health = held.health.assess(stream, held.now)?;
            attention += usize::from(health.needs_attention());
            let mut value = serde_json::to_value(&health).unwrap_or(Value::Null);
            if let Some(object) = value.as_object_mut() {
                object.insert(
                    "needs_attention".to_owned(),
                    json!(health.needs_attention()),
                );
                object.insert(
                    "sampling".to_owned(),
                    json!(held.health.sampling(stream, held.now)),
                );
            }
            Some(value)
        })
        .collect();
    let note = if targets.is_empty() {
        "No pod list yet: tap health needs a live tap (the targets' pods, listed once connected); \
         a replay has none."
    } else {
        "Per pod: tappable, or why Linkerd's tap shows nothing from it (not running, not \
         injected, tap disabled, injected before viz, proxy not ready, opaque ports only, a \
         long request pinning the window, silent), with the fix."
    };
    json!({
        "targets": targets,
        "needing_attention": attention,
        "note": note,
        "sampled": sampled(held, sampling),
    })
}

/// A request as the list shows it: meshtap's NDJSON record without headers, plus its `id`.
fn brief(request: &Request, redactor: &Redactor) -> Value {
    let mut record = RequestRecord::new(request, redactor);
    record.request_headers = None;
    record.response_headers = None;
    record.trailers.clear();
    with_id(request, &record)
}

fn with_id(request: &Request, record: &RequestRecord) -> Value {
    let mut value = serde_json::to_value(record).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.insert("id".to_owned(), json!(request.seq));
    }
    value
}

/// The newest requests matching `filter` and started at or after `since`, newest first.
pub fn list_requests(
    held: &Held,
    sampling: &Sampling,
    redactor: &Redactor,
    filter: Option<&Filter>,
    since: Option<DateTime<Utc>>,
    limit: usize,
) -> Value {
    let limit = limit.min(MAX_LIST_REQUESTS);
    let mut matched = 0usize;
    let mut out = Vec::new();
    for request in held.store.requests().iter().rev() {
        if since.is_some_and(|s| request.started < s) {
            continue;
        }
        if filter.is_none_or(|f| f.matches(request, held.now)) {
            matched += 1;
            if out.len() < limit {
                out.push(brief(request, redactor));
            }
        }
    }
    json!({
        "sampled": sampled(held, sampling),
        "matched": matched,
        "returned": out.len(),
        "truncated": matched > out.len(),
        "requests": out,
    })
}

/// One request in full: its record with (redacted) headers, the detail tree the UI shows, and
/// what `explain` says about it.
pub fn get_request(
    held: &Held,
    sampling: &Sampling,
    redactor: &Redactor,
    id: u64,
) -> Option<Value> {
    let request = held.store.get(id)?;
    let record = RequestRecord::new(request, redactor);
    let detail: Vec<Value> = crate::app::detail::nodes(request, redactor, false)
        .iter()
        .map(node_json)
        .collect();
    let denials = held.denials.for_request(request);
    let explain: Vec<Value> = crate::explain::explain_with(request, denials)
        .into_iter()
        .map(|s| json!({ "topic": s.topic.title(), "text": s.text, "cites": s.cites }))
        .collect();
    Some(json!({
        "sampled": sampled(held, sampling),
        "request": with_id(request, &record),
        "detail": detail,
        "explain": explain,
    }))
}

fn node_json(node: &crate::app::detail::Node) -> Value {
    let mut value = json!({ "key": node.key, "value": node.value });
    if node.redacted {
        value["redacted"] = json!(true);
    }
    if !node.children.is_empty() {
        value["children"] = Value::Array(node.children.iter().map(node_json).collect());
    }
    value
}

/// Per-route figures over `window`, busiest first.
pub fn route_stats(
    held: &Held,
    sampling: &Sampling,
    window: Window,
    grouping: Grouping,
    limit: usize,
) -> Value {
    let table = RouteTable::rebuild(grouping, held.store.requests());
    let mut rows = table.rows(held.now, window);
    rows.sort_by(|a, b| {
        b.summary
            .requests
            .cmp(&a.summary.requests)
            .then_with(|| a.key.cmp(&b.key))
    });
    let total = rows.len();
    let ms = |us: Option<u64>| us.map(|us| us as f64 / 1_000.0);
    let rows: Vec<Value> = rows
        .iter()
        .take(limit.min(MAX_ROWS))
        .map(|row| {
            let s = &row.summary;
            json!({
                "direction": row.key.direction.short(),
                "namespace": row.key.namespace.as_ref(),
                "route": row.key.label(),
                "requests": s.requests,
                "rps": s.rps,
                "success_rate": s.success_rate,
                "p50_ms": ms(s.p50_us),
                "p95_ms": ms(s.p95_us),
                "p99_ms": ms(s.p99_us),
                "max_ms": ms(s.max_us),
            })
        })
        .collect();
    json!({
        "sampled": sampled(held, sampling),
        "window": window.label(),
        "group_by": grouping.label(),
        "routes": total,
        "returned": rows.len(),
        "rows": rows,
    })
}

/// Who talks to whom, with which identities and TLS, and what should worry.
pub fn identities(held: &Held, sampling: &Sampling) -> Value {
    let table = IdentityTable::rebuild(held.store.requests().iter().filter(|r| !r.is_open()));
    let meshed = table.meshed();
    let summary = table.summary();
    let edges: Vec<Value> = table
        .edges()
        .iter()
        .take(MAX_ROWS)
        .map(|edge| {
            let (client, server) = edge.key.client_server();
            let concerns: Vec<String> = IdentityTable::concerns(edge, &meshed)
                .iter()
                .map(|c| c.describe(edge))
                .collect();
            json!({
                "direction": edge.key.direction.short(),
                "client": format!("{}/{}", client.namespace, client.name),
                "server": format!("{}/{}", server.namespace, server.name),
                "requests": edge.requests,
                "mtls": edge.mtls(),
                "plaintext": edge.plaintext(),
                "tls": edge.dominant_tls().describe(),
                "identity": edge.identity.as_deref(),
                "identity_changed": edge.identity_changed,
                "identity_mismatches": edge.identity_mismatches,
                "denied": edge.denied,
                "concerns": concerns,
            })
        })
        .collect();
    json!({
        "sampled": sampled(held, sampling),
        "requests": summary.requests,
        "mtls_requests": summary.mtls,
        "identities": summary.identities,
        "plaintext_edges": summary.plaintext_edges,
        "edges_with_concerns": summary.edges_with_concerns,
        "edges": edges,
    })
}

/// The service map as `meshtap map -o json` prints it.
pub fn map(held: &Held, sampling: &Sampling) -> Value {
    let mut graph = MapGraph::new();
    let mut span: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for request in held.store.requests().iter().filter(|r| !r.is_open()) {
        graph.record(request);
        let at = request.started;
        span = Some(span.map_or((at, at), |(a, b)| (a.min(at), b.max(at))));
    }
    let (first, last) = span.unwrap_or((held.now, held.now));
    let figures = graph.all_figures(last, Window::Capture);
    let seconds = (last - first).num_milliseconds() as f64 / 1_000.0;
    let text = crate::export::map::render(
        &graph,
        &figures,
        &[],
        seconds,
        crate::export::map::MapFormat::Json,
    );
    let map: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    json!({ "sampled": sampled(held, sampling), "map": map })
}

/// Every held request of the trace request `id` belongs to, oldest first.
pub fn trace(
    held: &Held,
    sampling: &Sampling,
    redactor: &Redactor,
    id: u64,
) -> Result<Value, String> {
    if held.store.get(id).is_none() {
        return Err(format!("no request {id} is held (evicted, or never seen)"));
    }
    let Some(trace) = crate::app::trace::TraceState::gather(&held.store, id) else {
        return Err(format!(
            "request {id} carries no trace header (traceparent, b3, x-b3-traceid, grpc-trace-bin)"
        ));
    };
    let requests: Vec<Value> = trace.requests.iter().map(|r| brief(r, redactor)).collect();
    Ok(json!({
        "sampled": sampled(held, sampling),
        "trace_id": String::from_utf8_lossy(&trace.trace_id.hex()),
        "requests": requests,
        "more": trace.more,
    }))
}

/// The capture as a resource: the session, its streams and counts.
pub fn capture(held: &Held, sampling: &Sampling, context: &str, targets: &[String]) -> Value {
    let streams: Vec<Value> = held
        .streams
        .iter()
        .map(|(name, state)| json!({ "name": name, "state": state }))
        .collect();
    json!({
        "sampled": sampled(held, sampling),
        "context": context,
        "targets": targets,
        "streams": streams,
        "warnings": held.warnings,
        "now": crate::capture::rfc3339(held.now),
    })
}

/// The newest `n` held requests as meshtap NDJSON (redacted), oldest first.
pub fn requests_ndjson(held: &Held, redactor: &Redactor, n: usize) -> String {
    let requests = held.store.requests();
    let skip = requests.len().saturating_sub(n);
    let mut out = String::new();
    for request in requests.iter().skip(skip) {
        if let Ok(line) = serde_json::to_string(&RequestRecord::new(request, redactor)) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// A recording as a resource: where it is, how big, and (a directory) its segments.
pub fn recording(path: &std::path::Path) -> Value {
    let bytes = std::fs::metadata(path).map(|m| m.len()).ok();
    let segments: Vec<Value> = crate::pipeline::segments::list(path)
        .map(|list| {
            list.into_iter()
                .map(|(seq, segment)| {
                    let size = std::fs::metadata(&segment).map(|m| m.len()).ok();
                    json!({ "seq": seq, "path": segment.display().to_string(), "bytes": size })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "path": path.display().to_string(),
        "bytes": bytes,
        "segments": segments,
        "replay": format!("meshtap replay {}", path.display()),
    })
}
