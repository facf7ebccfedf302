//! OpenTelemetry: joined requests as OTLP spans, grouped by resource (the reporting proxy's
//! workload) into an `ExportTraceServiceRequest` — the message `--otlp-endpoint` sends and
//! `--export-format otlp-json` writes, one JSON document per batch, one per line.
//!
//! The JSON is OTLP's JSON encoding (the proto3 JSON mapping with OTLP's exceptions: trace and
//! span ids as hex, not base64; enums as numbers; 64-bit integers as strings), produced by the
//! `opentelemetry-proto` crate's serde mapping rather than by hand.

pub mod span;

use std::collections::BTreeMap;
use std::io;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

use crate::model::request::Request;

/// Spans per exported document (a JSON line, a gRPC export call): collectors commonly accept a
/// few MiB per request, and 512 spans of meshtap's attributes stay well under 1 MiB.
pub const OTLP_BATCH_SPANS: usize = 512;

/// The instrumentation scope every span is reported under.
pub const SCOPE_NAME: &str = "meshtap";

/// Groups spans by their resource, in a stable order.
#[derive(Debug, Default)]
pub struct Batch {
    by_resource: BTreeMap<Vec<(&'static str, String)>, Vec<Span>>,
    len: usize,
}

impl Batch {
    pub fn push(&mut self, request: &Request) {
        self.push_span(span::resource_attributes(request), span::span(request));
    }

    pub fn push_span(&mut self, resource: Vec<(&'static str, String)>, span: Span) {
        self.by_resource.entry(resource).or_default().push(span);
        self.len += 1;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The export message, leaving the batch empty.
    pub fn take(&mut self) -> ExportTraceServiceRequest {
        self.len = 0;
        let scope = InstrumentationScope {
            name: SCOPE_NAME.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            ..InstrumentationScope::default()
        };
        let resource_spans = std::mem::take(&mut self.by_resource)
            .into_iter()
            .map(|(attrs, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: attrs.iter().map(|(k, v)| span::text(k, v)).collect(),
                    ..Resource::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(scope.clone()),
                    spans,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            })
            .collect();
        ExportTraceServiceRequest { resource_spans }
    }
}

/// Writes `requests` as OTLP JSON, [`OTLP_BATCH_SPANS`] spans per line; returns the count.
pub fn write_json<'a>(
    out: &mut impl io::Write,
    requests: impl IntoIterator<Item = &'a Request>,
) -> io::Result<usize> {
    let mut batch = Batch::default();
    let mut written = 0;
    let flush = |batch: &mut Batch, out: &mut dyn io::Write| -> io::Result<()> {
        crate::terminal::to_json_writer(&mut *out, &batch.take()).map_err(io::Error::other)?;
        out.write_all(b"\n")
    };
    for request in requests {
        batch.push(request);
        written += 1;
        if batch.len() == OTLP_BATCH_SPANS {
            flush(&mut batch, out)?;
        }
    }
    if !batch.is_empty() {
        flush(&mut batch, out)?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests;
