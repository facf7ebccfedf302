//! The session pipeline, the same for every mode:
//!
//! ```text
//! source (cluster | proxy | replay | demo) ─▶ bounded channel ─▶ tees (record) ─▶ one sink
//!                                                                          (UI | headless | map | advice)
//! ```
//!
//! A mode is only a choice of source and sink. The recording, the export at the end (with its
//! rescue file), `--stats`, the redactor, the clock and the stop signals (Ctrl-C, SIGTERM,
//! SIGHUP; see [`crate::shutdown`]) are wired here once, so a flag
//! means the same everywhere. Files and stdout are written on threads fed by bounded channels.

pub mod outputs;
pub mod ui;

pub use meshtap_io::pipeline::{headless, map, otlp, record, segments, writer};

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::cli::UiArgs;
use crate::model::store::Store;
use crate::session::{Clock, ClockKind, SessionInfo, SourceMsg, TapCommand};
use crate::shutdown::Shutdown;
use crate::trigger::hook::HookOutput;
use crate::trigger::run::Triggers;
use headless::Output;
use outputs::Outputs;
use writer::WriterThread;

/// How long a stopped session waits for stdout to take what is queued before giving up on a
/// reader that does not read.
pub const STDOUT_DRAIN: Duration = Duration::from_secs(1);

/// A started source: its channel and what the sinks need to know about it.
pub struct Source {
    pub rx: mpsc::Receiver<SourceMsg>,
    /// Where the UI's `:ns`, `:target`, `:to`, `:maxrps` go; `None` when the source can't change
    /// what it taps.
    pub commands: Option<mpsc::Sender<TapCommand>>,
    pub info: SessionInfo,
    /// Names of the streams, for messages on stderr.
    pub streams: Vec<String>,
    pub clock: ClockKind,
    /// Stopped when the session ends.
    pub tasks: Vec<JoinHandle<()>>,
    pub bytes: BytesRead,
    /// The policy controllers whose routes outbound requests are matched to (one per
    /// cluster); empty: no route attribution (`--no-policy`, a replay, a proxy without
    /// `--policy-api`).
    pub policy: Vec<meshtap_io::pipeline::attribute::Controller>,
}

/// What the source read, for `--stats`.
#[derive(Clone, Debug, Default)]
pub enum BytesRead {
    /// Counted as it arrives (a live tap).
    Counted(Arc<AtomicU64>),
    /// Known up front (a file's length).
    Known(u64),
    #[default]
    Unknown,
}

impl BytesRead {
    fn get(&self) -> Option<u64> {
        match self {
            BytesRead::Counted(n) => Some(n.load(Ordering::Relaxed)),
            BytesRead::Known(n) => Some(*n),
            BytesRead::Unknown => None,
        }
    }
}

impl Source {
    /// Puts route attribution between the source and whatever reads `rx` (a session, or a
    /// command reading the source itself, such as `meshtap routes`); once, and nothing without
    /// controllers. Must run inside the runtime.
    pub fn attribute_routes(&mut self) {
        let policy = std::mem::take(&mut self.policy);
        if policy.is_empty() {
            return;
        }
        let (_, closed) = mpsc::channel(1);
        let rx = std::mem::replace(&mut self.rx, closed);
        let (rx, task) = meshtap_io::pipeline::attribute::attach(rx, policy);
        self.rx = rx;
        self.tasks.push(task);
    }

    pub fn new(rx: mpsc::Receiver<SourceMsg>, info: SessionInfo) -> Self {
        let streams = info.targets.clone();
        Self {
            rx,
            commands: None,
            info,
            streams,
            clock: ClockKind::Wall,
            tasks: Vec::new(),
            bytes: BytesRead::Unknown,
            policy: Vec::new(),
        }
    }
}

/// Where the session's requests go.
pub enum Sink<'a> {
    Ui(&'a UiArgs),
    Headless(Output),
    /// `meshtap map`: the graph of what the source delivered, printed when it ends.
    Map(crate::export::map::MapFormat),
    /// `meshtap advise authz`: the Linkerd policy allowing the clients seen, printed when the
    /// source ends.
    Authz,
    /// `meshtap mcp`: the session served to an agent over stdio until the client leaves.
    Mcp(McpSink),
}

/// What `meshtap mcp` knows beyond the session: the sampling it asked for and its recordings.
#[derive(Clone, Debug, Default)]
pub struct McpSink {
    pub max_rps: Option<f32>,
    pub recordings: Vec<std::path::PathBuf>,
}

impl McpSink {
    fn params(
        self,
        info: &SessionInfo,
        clock: ClockKind,
        outputs: &Outputs,
        streams: &[String],
    ) -> crate::mcp::Params {
        crate::mcp::Params {
            info: info.clone(),
            clock: Clock::new(clock),
            redactor: outputs.redactor.clone(),
            streams: streams.to_vec(),
            max_rps: self.max_rps,
            recordings: self.recordings,
        }
    }
}

impl Sink<'_> {
    /// Whether the source should ask for headers: where they are shown or kept, as `linkerd
    /// viz tap` does, and wherever requests are matched to routes (`routes`): a rule can match
    /// on a header (catalogue-split's canary rule does), and without headers it is undecidable.
    pub fn wants_headers(&self, session: &crate::cli::SessionArgs, routes: bool) -> bool {
        let kept = session.export.export.is_some() || session.record.is_some();
        if routes {
            return true;
        }
        match self {
            // The UI and MCP's get_request show them (redacted).
            Sink::Ui(_) | Sink::Mcp(_) => true,
            Sink::Headless(output) => output.wants_headers() || kept,
            Sink::Map(_) | Sink::Authz => kept,
        }
    }
}

/// `--filter` means the same wherever it is accepted (in the UI it is the starting filter);
/// where it cannot, it is refused.
fn refused_filter(sink: &Sink<'_>, outputs: &Outputs) -> Option<String> {
    match sink {
        Sink::Headless(output) => output.check_filter(outputs.filter.as_ref()).err(),
        // The UI starts with it as its filter; the map is drawn from the requests it picks.
        Sink::Mcp(_) if outputs.filter.is_some() => Some(
            "--filter: meshtap mcp serves every request; give the filter to its list_requests tool"
                .to_owned(),
        ),
        Sink::Mcp(_) if outputs.triggers.is_some() => Some(
            "--trigger: meshtap mcp has no trigger output; record with --record-dir and replay \
             the window instead"
                .to_owned(),
        ),
        Sink::Ui(_) | Sink::Map(_) | Sink::Authz | Sink::Mcp(_) => None,
    }
}

/// The tees between the source and the sink: the OTLP exporter and the recordings. Each reads
/// the channel and passes it on, so the sink sees every message they do.
struct Tees {
    otlp: Option<JoinHandle<otlp::OtlpReport>>,
    recordings: Vec<JoinHandle<std::io::Result<u64>>>,
}

impl Tees {
    async fn attach(
        mut rx: mpsc::Receiver<SourceMsg>,
        outputs: &mut Outputs,
    ) -> anyhow::Result<(mpsc::Receiver<SourceMsg>, Self)> {
        // Connected first: a collector that refuses is a clear error before anything is consumed.
        let otlp = match outputs.otlp.take() {
            Some(plan) => {
                let (tee_rx, task) = plan.connect().await?.tee(rx);
                rx = tee_rx;
                Some(task)
            }
            None => None,
        };
        let mut recordings = Vec::new();
        for mut recording in [outputs.record.take(), outputs.record_dir.take()]
            .into_iter()
            .flatten()
        {
            // Everything was checked and the session starts: `--record FILE` takes its name.
            recording.start()?;
            let (tee_rx, task) = recording.tee(rx);
            rx = tee_rx;
            recordings.push(task);
        }
        Ok((rx, Self { otlp, recordings }))
    }

    /// Waits for each tee to drain; a recording or exporter that failed says why, once.
    /// Returns whether a recording failed (the session then exits with a failure).
    async fn finish(self) -> bool {
        let mut failed = false;
        for task in self.recordings {
            match task.await {
                Ok(Ok(_)) => {}
                Ok(Err(err)) => {
                    eprintln!("meshtap: the recording failed: {err}");
                    failed = true;
                }
                Err(err) => {
                    eprintln!("meshtap: the recorder stopped: {err}");
                    failed = true;
                }
            }
        }
        if let Some(task) = self.otlp {
            match task.await {
                Ok(report) => eprintln!("meshtap: {report}"),
                Err(err) => eprintln!("meshtap: the OTLP exporter stopped: {err}"),
            }
        }
        failed
    }
}

/// Runs a session to its end: until the source ends (headless), the user quits (UI) or Ctrl-C.
#[allow(
    clippy::too_many_lines,
    reason = "one sequence of stages, each a few lines; splitting it would scatter the session's order"
)]
pub async fn run_session(
    source: Source,
    sink: Sink<'_>,
    mut outputs: Outputs,
) -> anyhow::Result<ExitCode> {
    let Source {
        rx,
        commands,
        info,
        streams,
        clock,
        mut tasks,
        bytes,
        policy,
    } = source;
    // Refused before anything is read, so a wrong flag costs nothing.
    if let Some(refused) = refused_filter(&sink, &outputs) {
        for task in &tasks {
            task.abort();
        }
        anyhow::bail!(refused);
    }
    // From here a stop signal ends the session the way Ctrl-C does, outputs written.
    let shutdown = Shutdown::install()?;
    // Triggers start before the tees: a refusal there must not have placed a recording.
    let triggers = start_triggers(&mut outputs, &sink, &info)?;
    // Attribution first (unless the source already put it there): recordings, exports and
    // sinks all see each request's route.
    let rx = if policy.is_empty() {
        rx
    } else {
        let (rx, task) = meshtap_io::pipeline::attribute::attach(rx, policy);
        tasks.push(task);
        rx
    };
    let (rx, tees) = Tees::attach(rx, &mut outputs).await?;
    let mut store = Store::with_limits(outputs.capacity, outputs.max_memory);
    let mut sampling = Vec::new();
    let code = match sink {
        Sink::Ui(ui) => {
            let params = ui::Params {
                commands,
                info: info.clone(),
                clock,
                redactor: outputs.redactor.clone(),
                export: outputs.export.clone(),
                triggers: triggers.clone(),
                filter: outputs.filter.as_ref().map(ToString::to_string),
            };
            store = ui::open(rx, params, ui, store).await?;
            ExitCode::SUCCESS
        }
        Sink::Headless(output) => {
            let format = headless::Format {
                output,
                streams: &streams,
                redactor: &outputs.redactor,
                clock: Clock::new(clock),
                triggers: triggers.as_deref(),
                filter: outputs.filter.as_ref(),
                explain: !outputs.quiet,
            };
            headless_sink(
                rx,
                format,
                &mut store,
                &shutdown,
                outputs.stop_after,
                &mut sampling,
            )
            .await?
        }
        Sink::Map(_) | Sink::Authz => {
            let gather = map::Gather {
                streams: &streams,
                clock: Clock::new(clock),
                triggers: triggers.as_deref(),
                filter: outputs.filter.as_ref(),
            };
            let mut summary: Box<dyn map::Summary + Send> = match sink {
                Sink::Map(format) => Box::new(map::MapSummary::new(format)),
                _ => Box::new(map::AuthzSummary::new(&info.sampling)),
            };
            map::sink(
                rx,
                gather,
                summary.as_mut(),
                &mut store,
                shutdown.requested(),
            )
            .await?
        }
        Sink::Mcp(mcp) => {
            let params = mcp.params(&info, clock, &outputs, &streams);
            store = Box::pin(crate::mcp::serve(rx, params, store)).await?;
            ExitCode::SUCCESS
        }
    };
    if let Some(triggers) = triggers {
        // The windows still open are written with what there is; the writer is waited for.
        let (kept, fired, running) = tokio::task::spawn_blocking(move || {
            let fired = triggers.finish(&store);
            (store, fired, triggers.hand_over_hooks())
        })
        .await?;
        store = kept;
        for fired in fired {
            eprintln!("meshtap: {fired}");
        }
        if running > 0 {
            eprintln!(
                "meshtap: {running} --on-trigger command{} still running; not waited for \
                 (stopped at --on-trigger-timeout)",
                if running == 1 { " is" } else { "s are" }
            );
        }
    }
    for task in &tasks {
        task.abort();
    }
    let recording_failed = tees.finish().await;
    let code = if recording_failed {
        ExitCode::FAILURE
    } else {
        code
    };
    let stats = store.stats();
    let exported = match outputs.export.take() {
        Some(plan) => {
            outputs::export_at_end(plan, store, &info, outputs.redactor.clone(), clock).await
        }
        None => Ok(()),
    };
    if let Some(started) = outputs.stats {
        eprintln!("{}", started.report(stats, bytes.get()));
        print_sampling(&sampling);
    }
    exported.map(|()| code)
}

/// `--trigger`'s runner, if asked for. In the UI the screen is the UI's: an `--on-trigger`
/// command's output goes to the log file or nowhere (headless: stderr).
fn start_triggers(
    outputs: &mut Outputs,
    sink: &Sink<'_>,
    info: &SessionInfo,
) -> anyhow::Result<Option<Arc<Triggers>>> {
    let Some(mut settings) = outputs.triggers.take() else {
        return Ok(None);
    };
    if let (Sink::Ui(_), Some(hook)) = (sink, settings.hook.as_mut()) {
        hook.output = outputs
            .log_file
            .clone()
            .map_or(HookOutput::Null, HookOutput::Log);
    }
    Ok(Some(Arc::new(Triggers::start(settings, info)?)))
}

/// The effective sampling per target, for `--stats` (headless only: the UI shows it live).
fn print_sampling(lines: &[String]) {
    for line in lines {
        eprintln!("sampling: {}", crate::terminal::escape(line));
    }
}

async fn headless_sink(
    rx: mpsc::Receiver<SourceMsg>,
    format: headless::Format<'_>,
    store: &mut Store,
    shutdown: &Shutdown,
    stop_after: Option<Duration>,
    sampling: &mut Vec<String>,
) -> anyhow::Result<ExitCode> {
    let stdout = WriterThread::spawn("stdout", std::io::BufWriter::new(std::io::stdout()))?;
    // `--for` ends the session the way Ctrl-C does: everything held is still written.
    let stop = async {
        match stop_after {
            Some(after) => {
                tokio::select! {
                    () = shutdown.requested() => {}
                    () = tokio::time::sleep(after) => {}
                }
            }
            None => shutdown.requested().await,
        }
    };
    let outcome =
        headless::print_stream(rx, format, store, &stdout, &mut std::io::stderr(), stop).await?;
    if outcome.interrupted {
        eprintln!("meshtap: stopping: writing what was captured (a second Ctrl-C quits at once)");
    }
    // Stopped by Ctrl-C: give stdout a moment, but never wait on a reader that doesn't read.
    let written = if outcome.interrupted {
        tokio::time::timeout(STDOUT_DRAIN, stdout.finish())
            .await
            .unwrap_or(Ok(0))
    } else {
        stdout.finish().await
    };
    match written {
        Ok(_) => {}
        // A closed stdout (`meshtap tap … | head`) is a normal way to stop.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(err) => anyhow::bail!("writing to stdout: {err}"),
    }
    let code = if outcome.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    *sampling = outcome.sampling;
    Ok(code)
}
