//! Headless mode: stream what the sources deliver to stdout in one of the output formats, and
//! report connection changes on stderr, as `linkerd viz tap` does.

use std::io::{self, Write};

use chrono::Utc;
use clap::ValueEnum;
use tokio::sync::mpsc;

use crate::export::{Redactor, linkerd_json, ndjson, text};
use crate::model::store::{Ingested, Store};
use crate::session::{SourceMsg, StreamState};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// `linkerd viz tap`'s lines.
    Text,
    /// Text plus every label.
    Wide,
    /// `linkerd viz tap -o json`: one pretty-printed object per event.
    Json,
    /// meshtap's schema: one joined request per line.
    Ndjson,
}

impl Output {
    /// Linkerd's CLI asks for headers only for JSON; meshtap's NDJSON wants them too.
    pub fn wants_headers(self) -> bool {
        matches!(self, Output::Json | Output::Ndjson)
    }
}

/// How a headless run ended.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Permanent failures, one per failed stream.
    pub failures: Vec<String>,
    /// What the run's store saw (for `--stats`).
    pub store: crate::model::store::StoreStats,
}

/// Writes everything received until every stream has ended and the channel closes.
/// `streams` names each stream for messages on stderr.
pub async fn run(
    mut rx: mpsc::Receiver<SourceMsg>,
    output: Output,
    streams: &[String],
    redactor: &Redactor,
    out: &mut (impl Write + Send),
    err: &mut (impl Write + Send),
) -> io::Result<Outcome> {
    let mut outcome = Outcome::default();
    // Every format joins requests too: NDJSON writes them, the others count them for `--stats`.
    let mut store = Store::new(crate::model::store::DEFAULT_CAPACITY_REQUESTS);
    let redact = |name: &str| redactor.is_sensitive(name);
    let name = |stream: usize| streams.get(stream).map_or("tap", String::as_str);
    // Requests expire by the stream's own clock: a replayed capture is dated in the past, and
    // the wall clock would expire every request still waiting for its next batch.
    let mut latest = None;
    while let Some(msg) = rx.recv().await {
        match msg {
            SourceMsg::Events(events) => {
                for event in events {
                    latest = latest.max(Some(event.arrived));
                    match output {
                        Output::Text | Output::Wide => {
                            writeln!(out, "{}", text::line(&event, output == Output::Wide))?;
                            store.ingest(event);
                        }
                        Output::Json => {
                            linkerd_json::write_event(out, &event, &redact)?;
                            store.ingest(event);
                        }
                        Output::Ndjson => {
                            if let Ingested::Finished(seq) = store.ingest(event)
                                && let Some(request) = store.get(seq)
                            {
                                ndjson::write_request(out, request, redactor)?;
                            }
                        }
                    }
                }
                let expired = store.expire(latest.unwrap_or_else(Utc::now));
                if output == Output::Ndjson {
                    for seq in expired {
                        if let Some(request) = store.get(seq) {
                            ndjson::write_request(out, request, redactor)?;
                        }
                    }
                }
                out.flush()?;
            }
            SourceMsg::State { stream, state } => match state {
                StreamState::Reconnecting { after, error } => {
                    writeln!(
                        err,
                        "meshtap: {}: {error}; reconnecting in {:.1}s (events in the gap are lost)",
                        name(stream),
                        after.as_secs_f64()
                    )?;
                }
                StreamState::Failed(error) => {
                    writeln!(err, "meshtap: {}: {error}", name(stream))?;
                    if let Some(hint) = error.kind.hint() {
                        writeln!(err, "  {hint}")?;
                    }
                    outcome.failures.push(error.message);
                }
                StreamState::Connecting | StreamState::Connected | StreamState::Ended => {}
            },
            SourceMsg::Warning { stream, message } => {
                writeln!(err, "meshtap: {}: {message} (skipped)", name(stream))?;
            }
            // Headless output is the tap stream only; metrics API figures are for the panes.
            SourceMsg::Metrics(_) => {}
        }
    }
    if output == Output::Ndjson {
        // The stream is over: requests still open will never finish; write what we know.
        let open: Vec<u64> = store
            .requests()
            .iter()
            .filter(|r| r.is_open())
            .map(|r| r.seq)
            .collect();
        for seq in open {
            if let Some(request) = store.get(seq) {
                ndjson::write_request(out, request, redactor)?;
            }
        }
    }
    out.flush()?;
    outcome.store = store.stats();
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone as _};

    use super::*;
    use crate::model::event::{
        Direction, Endpoint, Headers, HttpEvent, Labels, RequestInit, ResponseEnd, StreamId,
        TapEvent,
    };

    fn event(http: HttpEvent, arrived: DateTime<Utc>) -> TapEvent {
        TapEvent {
            arrived,
            source: Endpoint {
                addr: Some("10.0.0.1:4000".parse().expect("addr")),
                labels: Labels::default(),
            },
            destination: Endpoint::default(),
            direction: Direction::Outbound,
            route: Labels::default(),
            http: Some(http),
        }
    }

    #[tokio::test]
    async fn replayed_old_requests_are_not_expired_between_batches() {
        // A replayed capture is dated in the past: a request whose end comes in the next batch
        // must still be written once, finished, not split into an expired one and an orphan.
        let then = Utc
            .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
            .single()
            .expect("time");
        let id = StreamId { base: 1, stream: 7 };
        let init = RequestInit {
            id,
            method: Some("GET".into()),
            scheme: None,
            authority: "web".into(),
            path: "/".into(),
            headers: Headers::default(),
        };
        let end = ResponseEnd {
            id,
            since_request_init: None,
            since_response_init: None,
            response_bytes: 3,
            eos: None,
            trailers: Headers::default(),
        };
        let (tx, rx) = mpsc::channel(4);
        tx.send(SourceMsg::Events(vec![event(
            HttpEvent::RequestInit(init),
            then,
        )]))
        .await
        .expect("send");
        tx.send(SourceMsg::Events(vec![event(
            HttpEvent::ResponseEnd(end),
            then + chrono::Duration::milliseconds(5),
        )]))
        .await
        .expect("send");
        drop(tx);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        run(
            rx,
            Output::Ndjson,
            &[],
            &crate::export::Redactor::default(),
            &mut out,
            &mut err,
        )
        .await
        .expect("run");
        let text = String::from_utf8(out).expect("utf8");
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("\"phase\":\"done\""), "{text}");
    }
}
