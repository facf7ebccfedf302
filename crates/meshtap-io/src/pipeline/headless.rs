//! Headless mode: stream what the sources deliver to stdout in one of the output formats, and
//! report connection changes on stderr, as `linkerd viz tap` does.

use std::future::Future;
use std::io::{self, Write};

use chrono::{DateTime, Utc};
use clap::ValueEnum;
use tokio::sync::mpsc;

mod tell;

use super::writer::WriterThread;
use crate::copy;
use crate::export::{linkerd_json, ndjson, text};
use crate::filter::Filter;
use crate::health::HealthBook;
use crate::model::event::TapEvent;
use crate::model::store::{Ingested, Store};
use crate::session::{Clock, Redactor, SourceMsg, StreamState};
use crate::terminal::escape;
use crate::trigger::run::Triggers;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// `linkerd viz tap`'s lines.
    Text,
    /// Text plus every label.
    Wide,
    /// `linkerd viz tap -o json`: one pretty-printed object per event (also `linkerd-json`).
    // One name with `--export-format json`; `linkerd-json` is an alias of both.
    #[value(alias = "linkerd-json")]
    Json,
    /// meshtap's schema: one joined request per line.
    Ndjson,
    /// One curl command per finished request (redacted unless --no-redact; no body: tap has none).
    Curl,
    /// One grpcurl command per finished gRPC request (others are skipped with a `#` line).
    Grpcurl,
}

impl Output {
    pub fn name(self) -> &'static str {
        match self {
            Output::Text => "text",
            Output::Wide => "wide",
            Output::Json => "json",
            Output::Ndjson => "ndjson",
            Output::Curl => "curl",
            Output::Grpcurl => "grpcurl",
        }
    }

    /// Whether the output is written per joined request (when it ends), not per event: only
    /// these can honour `--filter`, whose fields include the outcome.
    pub fn per_request(self) -> bool {
        matches!(self, Output::Ndjson | Output::Curl | Output::Grpcurl)
    }

    /// `--filter` with this output: refused where it cannot mean what it means in the UI.
    pub fn check_filter(self, filter: Option<&Filter>) -> Result<(), String> {
        match filter {
            Some(_) if !self.per_request() => Err(format!(
                "--filter needs joined requests: -o {} prints each event as it arrives, before the \
                 outcome the filter may ask about; use -o ndjson, curl or grpcurl",
                self.name()
            )),
            _ => Ok(()),
        }
    }

    /// Linkerd's CLI asks for headers only for JSON; meshtap's NDJSON and the commands want
    /// them too.
    pub fn wants_headers(self) -> bool {
        matches!(self, Output::Json) || self.per_request()
    }
}

/// How a headless run ended.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Permanent failures, one per failed stream.
    pub failures: Vec<String>,
    /// Ctrl-C (or the caller's `stop`) ended the run before the source did.
    pub interrupted: bool,
    /// The output went away (`meshtap tap … | head`): a normal way to stop.
    pub output_closed: bool,
    /// Effective sampling per target at the end ("deploy/web: seeing 95 of ~800 rps …"), for
    /// `--stats`.
    pub sampling: Vec<String>,
}

/// How the headless sink writes.
#[derive(Clone, Copy, Debug)]
pub struct Format<'a> {
    pub output: Output,
    /// Names each stream for messages on stderr.
    pub streams: &'a [String],
    pub redactor: &'a Redactor,
    /// The time requests expire by.
    pub clock: Clock,
    /// `--trigger`: sees each finished request; its firings are reported on `err`.
    pub triggers: Option<&'a Triggers>,
    /// `--filter`: the requests written (per-request outputs only, see [`Output::check_filter`]).
    pub filter: Option<&'a Filter>,
    /// Say on stderr, once per target, why its tap is silent or thin (off with `--quiet`).
    pub explain: bool,
}

/// How often triggers are polled when no events arrive, so a window closes on a quiet stream.
pub const TRIGGER_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// Formats everything received until every stream has ended and the channel closes, or `stop`
/// completes. Formatting happens here; the bytes go to `out`, a writer thread, so a slow reader
/// of stdout never blocks the runtime and `stop` is heard at once. Requests are joined in
/// `store`; connection changes go to `err`.
pub async fn print_stream(
    mut rx: mpsc::Receiver<SourceMsg>,
    format: Format<'_>,
    store: &mut Store,
    out: &WriterThread,
    err: &mut (impl Write + Send),
    stop: impl Future<Output = ()>,
) -> io::Result<Outcome> {
    let Format {
        output,
        streams,
        redactor,
        mut clock,
        triggers,
        filter,
        explain,
    } = format;
    let mut health = HealthBook::default();
    let sink = RequestSink {
        output,
        redactor,
        filter,
    };
    let mut poll = tokio::time::interval(TRIGGER_POLL);
    let mut outcome = Outcome::default();
    let mut stop = std::pin::pin!(stop);
    let name = |stream: usize| streams.get(stream).map_or("tap", String::as_str);
    loop {
        let msg = tokio::select! {
            msg = rx.recv() => msg,
            () = &mut stop => {
                outcome.interrupted = true;
                break;
            }
            _ = poll.tick(), if triggers.is_some() || explain => {
                let now = clock.now(Utc::now());
                report_triggers(err, triggers, store, &[], now)?;
                tell::due(err, &mut health, explain, now)?;
                continue;
            }
        };
        let Some(msg) = msg else { break };
        let mut buf = Vec::new();
        match msg {
            SourceMsg::Events(events) => {
                clock.observe(&events);
                let now = clock.now(Utc::now());
                health.observe(&events, now);
                let finished = write_events(&mut buf, events, sink, store, now)?;
                report_triggers(err, triggers, store, &finished, now)?;
                let expired = store.expire(now);
                sink.write_all(&mut buf, store, &expired, now)?;
            }
            SourceMsg::State { stream, state } => {
                health.state(stream, &state, clock.now(Utc::now()));
                report_state(err, name(stream), state, &mut outcome)?;
            }
            SourceMsg::Warning { stream, message } => {
                writeln!(
                    err,
                    "meshtap: {}: {} (skipped)",
                    escape(name(stream)),
                    escape(&message)
                )?;
            }
            SourceMsg::Notice(text) => writeln!(err, "meshtap: {}", escape(&text))?,
            // Headless output is the tap stream only; the metrics API's figures give the real
            // rate beside the sampled one (`--stats`).
            SourceMsg::Metrics(snapshot) => health.metrics(&snapshot),
            SourceMsg::Pods(list) => health.pods(*list),
            // Read only for explain, which headless output does not give.
            SourceMsg::Denials(_) => {}
        }
        tell::due(err, &mut health, explain, clock.now(Utc::now()))?;
        tokio::select! {
            sent = out.send(buf) => if sent.is_err() {
                outcome.output_closed = true;
                return Ok(outcome);
            },
            () = &mut stop => {
                outcome.interrupted = true;
                break;
            }
        }
    }
    outcome.sampling = health.sampling_lines(clock.now(Utc::now()));
    if output.per_request() && !outcome.interrupted {
        // The stream is over: requests still open will never finish; write what we know.
        let open: Vec<u64> = store
            .requests()
            .iter()
            .filter(|r| r.is_open())
            .map(|r| r.seq)
            .collect();
        let mut buf = Vec::new();
        sink.write_all(&mut buf, store, &open, clock.now(Utc::now()))?;
        outcome.output_closed = out.send(buf).await.is_err();
    }
    Ok(outcome)
}

/// Writes one batch in the output format, joining every event into `store` on the way.
/// Returns the requests that finished. `now` is the session clock's, for the filter.
fn write_events(
    buf: &mut Vec<u8>,
    events: Vec<TapEvent>,
    sink: RequestSink<'_>,
    store: &mut Store,
    now: DateTime<Utc>,
) -> io::Result<Vec<u64>> {
    let redact = |name: &str| sink.redactor.is_sensitive(name);
    let mut finished = Vec::new();
    for event in events {
        match sink.output {
            Output::Text | Output::Wide => {
                // With several clusters each line says whose it is; json stays Linkerd's own.
                if let Some(cluster) = &event.cluster {
                    write!(buf, "[{}] ", escape(&cluster.to_string()))?;
                }
                writeln!(buf, "{}", text::line(&event, sink.output == Output::Wide))?;
            }
            Output::Json => linkerd_json::write_event(buf, &event, &redact)?,
            Output::Ndjson | Output::Curl | Output::Grpcurl => {}
        }
        if let Ingested::Finished(seq) = store.ingest(event) {
            finished.push(seq);
            sink.write_all(buf, store, &[seq], now)?;
        }
    }
    Ok(finished)
}

/// Hands the finished requests to the triggers and reports each firing on `err`, one line.
pub(super) fn report_triggers(
    err: &mut impl Write,
    triggers: Option<&Triggers>,
    store: &Store,
    finished: &[u64],
    now: chrono::DateTime<Utc>,
) -> io::Result<()> {
    let Some(triggers) = triggers else {
        return Ok(());
    };
    for request in finished.iter().filter_map(|seq| store.get(*seq)) {
        triggers.finished(request, now);
    }
    for fired in triggers.poll(store, now) {
        writeln!(err, "meshtap: {}", escape(&fired.to_string()))?;
    }
    Ok(())
}

/// How the per-request outputs write a request (the event outputs write nothing here).
#[derive(Clone, Copy)]
struct RequestSink<'a> {
    output: Output,
    redactor: &'a Redactor,
    filter: Option<&'a Filter>,
}

impl RequestSink<'_> {
    fn write_all(
        self,
        buf: &mut Vec<u8>,
        store: &Store,
        seqs: &[u64],
        now: DateTime<Utc>,
    ) -> io::Result<()> {
        let requests = seqs.iter().filter_map(|seq| store.get(*seq));
        for request in requests.filter(|r| self.filter.is_none_or(|f| f.matches(r, now))) {
            let format = match self.output {
                Output::Ndjson => {
                    ndjson::write_request(buf, request, self.redactor)?;
                    continue;
                }
                Output::Curl => copy::Format::Curl,
                Output::Grpcurl => copy::Format::Grpcurl,
                Output::Text | Output::Wide | Output::Json => return Ok(()),
            };
            let secrets = copy::Secrets {
                redactor: self.redactor,
                reveal: false,
            };
            match copy::render(format, request, secrets) {
                Ok(copied) => writeln!(buf, "{}", copied.text)?,
                // A `#` line keeps the output a script that runs only the commands.
                Err(e) => writeln!(buf, "# request {} not copied: {e}\n", request.seq)?,
            }
        }
        Ok(())
    }
}

/// Connection changes on stderr, as `linkerd viz tap` reports them.
pub(super) fn report_state(
    err: &mut impl Write,
    name: &str,
    state: StreamState,
    outcome: &mut Outcome,
) -> io::Result<()> {
    match state {
        StreamState::Reconnecting { after, error } => writeln!(
            err,
            "meshtap: {}: {}; reconnecting in {:.1}s (events in the gap are lost)",
            escape(name),
            escape(&error.to_string()),
            after.as_secs_f64()
        ),
        StreamState::Failed(error) => {
            writeln!(
                err,
                "meshtap: {}: {}",
                escape(name),
                escape(&error.to_string())
            )?;
            if let Some(hint) = error.kind.hint() {
                writeln!(err, "  {hint}")?;
            }
            outcome.failures.push(error.message);
            Ok(())
        }
        StreamState::Connecting | StreamState::Connected | StreamState::Ended => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::model::event::{Headers, HttpEvent, RequestInit, ResponseEnd, StreamId};
    use crate::model::store::fixtures::event;
    use crate::session::ClockKind;

    /// Output the test can read back after the writer thread is done with it.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    async fn run_to_string(
        rx: mpsc::Receiver<SourceMsg>,
        output: Output,
        clock: ClockKind,
    ) -> String {
        let shared = Shared::default();
        let writer = WriterThread::spawn("test", shared.clone()).expect("writer");
        let mut store = Store::default();
        let format = Format {
            output,
            streams: &[],
            redactor: &Redactor::default(),
            clock: Clock::new(clock),
            triggers: None,
            filter: None,
            explain: true,
        };
        print_stream(
            rx,
            format,
            &mut store,
            &writer,
            &mut Vec::new(),
            std::future::pending(),
        )
        .await
        .expect("run");
        writer.finish().await.expect("finish");
        let bytes = shared.0.lock().expect("lock").clone();
        String::from_utf8(bytes).expect("utf8")
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
            matched_route: None,
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
        let text = run_to_string(rx, Output::Ndjson, ClockKind::Event).await;
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("\"phase\":\"done\""), "{text}");
    }
}
