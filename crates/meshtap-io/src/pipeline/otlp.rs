//! `--otlp-endpoint URL`: a tee of the session pipeline that joins the events passing through
//! into requests and streams each finished one as an OTLP span to an OpenTelemetry collector
//! over gRPC (`TraceService/Export`), so it works the same in every mode.
//!
//! The tap never waits for the collector: finished spans go into a bounded queue
//! ([`OTLP_QUEUE_SPANS`]) with `try_send`, and what does not fit is dropped and counted. A sender
//! task batches the queue ([`OTLP_BATCH_SPANS`] spans or every [`OTLP_FLUSH`]) and exports; a
//! failed export is counted and the channel reconnects by itself on the next one.
//!
//! Nor does the end of the session wait on it: when the stream ends (Ctrl-C, `q`, the end of a
//! replay) the sender gets one final flush of at most [`OTLP_FINAL_FLUSH`] for what is still
//! queued, and whatever the collector has not taken by then is counted as not sent.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::Span;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::export::otlp::{Batch, OTLP_BATCH_SPANS, span};
use crate::model::store::{Ingested, Store};
use crate::session::{SOURCE_CHANNEL_BATCHES, SourceMsg};

/// Finished spans waiting for the sender; beyond this they are dropped (and counted) rather than
/// slowing the tap.
pub const OTLP_QUEUE_SPANS: usize = 8192;
/// The longest a finished span waits in a partial batch.
pub const OTLP_FLUSH: Duration = Duration::from_secs(1);
/// One export call's limit: a collector that hangs costs a batch, not the session.
pub const OTLP_EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// All the end of a session gives the collector: the last batches, or a hanging collector's
/// export, are cut off after this.
pub const OTLP_FINAL_FLUSH: Duration = Duration::from_secs(3);
/// How long the first connection may take before the session refuses to start.
pub const OTLP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests the tee's own join ring holds: a request must end before this many newer ones
/// arrive to become a span (16,384 is 0.8 s at the demo's 20,000 rps; a few MiB).
const OTLP_JOIN_CAPACITY_REQUESTS: usize = 16_384;
/// How often the join table drops requests whose end never came (the store's TTL decides which).
const OTLP_EXPIRE_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// A checked `--otlp-endpoint`, not yet connected.
#[derive(Clone, Debug)]
pub struct OtlpPlan {
    url: String,
    endpoint: Endpoint,
    export_timeout: Duration,
}

impl OtlpPlan {
    /// Checks the URL's shape (before any source starts). An `https://` collector is reached over
    /// TLS, its certificate verified against the system's roots and `ca` (`--otlp-ca`, PEM).
    pub fn parse(url: &str, ca: Option<&Path>) -> anyhow::Result<Self> {
        let bad = |why: &str| {
            anyhow::anyhow!(
                "--otlp-endpoint {url:?}: {why}; expected an OTLP/gRPC URL such as \
                 http://localhost:4317"
            )
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(bad("the scheme must be http:// or https://"));
        }
        let mut endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|e| bad(&e.to_string()))?
            .connect_timeout(OTLP_CONNECT_TIMEOUT);
        if url.starts_with("https://") {
            let mut tls = ClientTlsConfig::new().with_native_roots();
            if let Some(ca) = ca {
                let pem = std::fs::read(ca).map_err(|e| {
                    anyhow::anyhow!("--otlp-ca {}: cannot read it: {e}", ca.display())
                })?;
                if !pem.windows(11).any(|w| w == b"-----BEGIN ") {
                    anyhow::bail!(
                        "--otlp-ca {}: not a PEM certificate (-----BEGIN CERTIFICATE-----)",
                        ca.display()
                    );
                }
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            endpoint = endpoint.tls_config(tls).map_err(|e| bad(&chain(&e)))?;
        } else if let Some(ca) = ca {
            anyhow::bail!(
                "--otlp-ca {} applies to an https:// collector, not {url}",
                ca.display()
            );
        }
        Ok(Self {
            url: url.to_owned(),
            endpoint,
            export_timeout: OTLP_EXPORT_TIMEOUT,
        })
    }

    /// A shorter export limit than [`OTLP_EXPORT_TIMEOUT`] (tests of a collector that hangs).
    pub fn export_timeout(mut self, limit: Duration) -> Self {
        self.export_timeout = limit;
        self
    }

    /// Connects once, so a collector that is not there is a clear error at the start rather than
    /// a count at the end.
    pub async fn connect(self) -> anyhow::Result<OtlpExporter> {
        let channel = self.endpoint.connect().await.map_err(|e| {
            anyhow::anyhow!(
                "--otlp-endpoint {}: cannot connect to the OTLP collector: {} (is an OTLP/gRPC \
                 receiver listening there? the collector's default port is 4317)",
                self.url,
                chain(&e)
            )
        })?;
        Ok(OtlpExporter {
            url: self.url,
            client: TraceServiceClient::new(channel),
            export_timeout: self.export_timeout,
        })
    }
}

/// An error with its causes, on one line (tonic's transport error alone says only "transport
/// error").
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // hyper and tonic wrap an error in one of the same words; say it once.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A connected exporter, ready to tee.
pub struct OtlpExporter {
    url: String,
    client: TraceServiceClient<Channel>,
    export_timeout: Duration,
}

/// What the exporter did, said once when the session ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OtlpReport {
    pub url: String,
    pub sent: u64,
    pub batches: u64,
    /// Dropped because the queue was full (the collector was slower than the tap).
    pub dropped: u64,
    /// In batches the collector refused or that failed in transit.
    pub failed: u64,
    /// Spans the collector accepted the batch of but said it rejected (`partial_success`).
    pub rejected: u64,
    /// Still queued (or in an export) when the final flush ran out.
    pub unsent: u64,
    pub last_error: Option<String>,
}

impl std::fmt::Display for OtlpReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "otlp: {} spans sent to {} in {} batches; {} dropped (queue full), {} failed, {} \
             rejected by the collector",
            self.sent, self.url, self.batches, self.dropped, self.failed, self.rejected
        )?;
        if self.unsent > 0 {
            write!(
                f,
                "; {} not sent: the collector had not taken them {}s after the session ended",
                self.unsent,
                OTLP_FINAL_FLUSH.as_secs()
            )?;
        }
        if let Some(err) = &self.last_error {
            write!(f, "; last error: {err}")?;
        }
        Ok(())
    }
}

type Queued = (Vec<(&'static str, String)>, Span);

impl OtlpExporter {
    /// Forwards everything from `rx`; every request that finishes on its way becomes a span.
    /// The task ends with the source, after a last flush, and reports what it did.
    pub fn tee(
        self,
        mut rx: mpsc::Receiver<SourceMsg>,
    ) -> (mpsc::Receiver<SourceMsg>, JoinHandle<OtlpReport>) {
        let (tx, out) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
        let (spans, queue) = mpsc::channel::<Queued>(OTLP_QUEUE_SPANS);
        let counts = Arc::new(Counts::default());
        let OtlpExporter {
            url,
            client,
            export_timeout,
        } = self;
        let report = Arc::new(Mutex::new(OtlpReport {
            url,
            ..OtlpReport::default()
        }));
        let mut sender = tokio::spawn(send(client, queue, report.clone(), export_timeout));
        let counts_here = counts.clone();
        let task = tokio::spawn(async move {
            let mut store = Store::new(OTLP_JOIN_CAPACITY_REQUESTS);
            let mut expired_at = None;
            while let Some(msg) = rx.recv().await {
                if let SourceMsg::Events(events) = &msg {
                    join(&mut store, events, &spans, &counts_here);
                    // Requests whose end never comes must not pin the join table.
                    if let Some(now) = events.last().map(|e| e.arrived)
                        && expired_at.is_none_or(|at| now - at >= OTLP_EXPIRE_EVERY)
                    {
                        store.expire(now);
                        expired_at = Some(now);
                    }
                }
                if tx.send(msg).await.is_err() {
                    break;
                }
            }
            drop(spans);
            // One bounded final flush; a collector that hangs costs this much and no more.
            if tokio::time::timeout(OTLP_FINAL_FLUSH, &mut sender)
                .await
                .is_err()
            {
                sender.abort();
            }
            let mut report = lock(&report).clone();
            report.dropped = counts.dropped.load(Ordering::Relaxed);
            let queued = counts.queued.load(Ordering::Relaxed);
            report.unsent = queued.saturating_sub(report.sent + report.failed);
            report
        });
        (out, task)
    }
}

/// Spans put in the queue, and those that did not fit.
#[derive(Debug, Default)]
struct Counts {
    queued: AtomicU64,
    dropped: AtomicU64,
}

/// The report, even if a panic elsewhere poisoned its lock (it holds plain counts).
fn lock(report: &Mutex<OtlpReport>) -> std::sync::MutexGuard<'_, OtlpReport> {
    report
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Joins a batch of events and queues a span for each request that finished.
fn join(
    store: &mut Store,
    events: &[crate::model::event::TapEvent],
    spans: &mpsc::Sender<Queued>,
    counts: &Counts,
) {
    for event in events {
        if let Ingested::Finished(seq) = store.ingest(event.clone())
            && let Some(request) = store.get(seq)
        {
            let queued = (span::resource_attributes(request), span::span(request));
            match spans.try_send(queued) {
                Ok(()) => counts.queued.fetch_add(1, Ordering::Relaxed),
                Err(_) => counts.dropped.fetch_add(1, Ordering::Relaxed),
            };
        }
    }
}

/// Batches the queue and exports it until the queue closes; then flushes what is left. The
/// counts go to `report` as they happen, so a sender stopped at the final flush's limit has
/// still said what it did.
async fn send(
    mut client: TraceServiceClient<Channel>,
    mut queue: mpsc::Receiver<Queued>,
    report: Arc<Mutex<OtlpReport>>,
    limit: Duration,
) {
    let mut batch = Batch::default();
    let mut tick = tokio::time::interval(OTLP_FLUSH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            item = queue.recv() => match item {
                Some((resource, span)) => {
                    batch.push_span(resource, span);
                    if batch.len() >= OTLP_BATCH_SPANS {
                        export(&mut client, &mut batch, &report, limit).await;
                    }
                }
                None => break,
            },
            _ = tick.tick() => {
                if !batch.is_empty() {
                    export(&mut client, &mut batch, &report, limit).await;
                }
            }
        }
    }
    if !batch.is_empty() {
        export(&mut client, &mut batch, &report, limit).await;
    }
}

async fn export(
    client: &mut TraceServiceClient<Channel>,
    batch: &mut Batch,
    report: &Mutex<OtlpReport>,
    limit: Duration,
) {
    let spans = batch.len() as u64;
    let request = batch.take();
    let outcome = tokio::time::timeout(limit, client.export(request)).await;
    let mut report = lock(report);
    match outcome {
        Ok(Ok(response)) => {
            report.sent += spans;
            report.batches += 1;
            if let Some(partial) = response.into_inner().partial_success {
                report.rejected += u64::try_from(partial.rejected_spans).unwrap_or_default();
                if !partial.error_message.is_empty() {
                    report.last_error = Some(partial.error_message);
                }
            }
        }
        Ok(Err(status)) => {
            tracing::warn!(%status, "the OTLP collector refused a batch of {spans} spans");
            report.failed += spans;
            report.last_error = Some(format!("{}: {}", status.code(), status.message()));
        }
        Err(_) => {
            tracing::warn!("an OTLP export of {spans} spans timed out");
            report.failed += spans;
            report.last_error = Some(format!("an export timed out after {limit:?}"));
        }
    }
}

#[cfg(test)]
mod tests;
