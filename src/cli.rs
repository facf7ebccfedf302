//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::export::file::ExportFormat;
use crate::pipeline::headless::Output;
use crate::source::replay::Speed;

/// `meshtap --version`: the crate version and the git commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("MESHTAP_GIT_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "meshtap",
    version = VERSION,
    about = "Watch live Linkerd traffic: requests, routes and mTLS identities in one terminal UI",
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  meshtap demo                          # no cluster needed\n  meshtap deploy/web -n emojivoto       # the TUI on a real cluster\n  meshtap tap deploy/web -o json        # headless, like `linkerd viz tap`"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub tap: TapArgs,
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub ui: UiArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Stream taps to stdout without the UI (formats compatible with `linkerd viz tap`).
    Tap(HeadlessArgs),
    /// Run against a built-in simulated Sock Shop mesh served on 127.0.0.1.
    Demo(DemoArgs),
    /// Open an export (meshtap NDJSON, `linkerd viz tap -o json`, HAR or a recorded tap stream)
    /// offline, in the UI or headless with -o.
    Replay(ReplayArgs),
    /// Tap one linkerd2-proxy directly on its tap port (io.linkerd.proxy.tap.Tap, 4190), with mTLS
    /// as the tap identity: for proxy developers and in-cluster use.
    Proxy(ProxyArgs),
    /// Print the service map (who calls whom, with requests, RPS, success rate, p99 and TLS per
    /// edge) after tapping for a while, from the demo mesh, or from a replayed file: Graphviz
    /// DOT, a Mermaid flowchart or JSON.
    Map(MapArgs),
    /// Per-route figures from the proxies' own metrics (like `linkerd viz stat-outbound` and
    /// `stat-inbound`), from a Prometheus or, without one, the pods' admin /metrics scraped
    /// directly; beside them tap's exact latencies over the same window, and the destination
    /// proxies' authorization denials.
    Routes(RoutesArgs),
    /// Compare two captures (exports or recordings, anything `meshtap replay` reads) per route,
    /// client and server side: requests, success rate, p50/p95/p99 with whether each change is
    /// beyond noise; new and vanished routes, callers and status codes; identity and TLS changes.
    /// `--fail-on` makes it a CI gate.
    Diff(DiffArgs),
    /// Serve the session to an AI agent: a read-only Model Context Protocol server on
    /// stdin/stdout (tools: `list_requests`, `get_request`, `route_stats`, `identities`, `map`,
    /// `trace`, `tap_health`, `diff`), over a live tap, the demo mesh (--demo) or a capture (--replay).
    Mcp(McpArgs),
    /// Advice from observed traffic: `advise authz` prints the Linkerd Server,
    /// `MeshTLSAuthentication` and `AuthorizationPolicy` that allow exactly the clients seen.
    #[command(subcommand)]
    Advise(AdviseCommand),
    /// Check everything meshtap needs from a cluster (like `linkerd check`): kubeconfig, API
    /// server, the tap `APIService`, RBAC, the metrics API; exits 1 when a check fails.
    Check(CheckArgs),
    /// Print a shell completion script: `source <(meshtap completions bash)`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `meshtap man > meshtap.1`.
    Man,
    /// Print the k9s plugins (for k9s' plugins.yaml): Shift-T on a pod, deployment or namespace
    /// opens meshtap on it, in k9s' context and namespace.
    K9sPlugin,
}

/// `meshtap map [TARGET…] [--for D] [--demo | --replay FILE] -o dot|mermaid|json`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  meshtap map ns/emojivoto --for 30s -o dot | dot -Tsvg > map.svg\n  meshtap map --demo --for 5s -o mermaid\n  meshtap map --replay capture.ndjson -o json"
)]
pub struct MapArgs {
    #[command(flatten)]
    pub tap: TapArgs,
    /// How long to tap before printing (30s, 1m; default 10s); a replay is read to its end
    /// instead.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_map_duration)]
    pub duration: Option<Duration>,
    /// Tap the built-in simulated mesh (what `meshtap demo` shows) instead of a cluster.
    #[arg(long, conflicts_with = "replay")]
    pub demo: bool,
    /// Build the map from an export or recording (as `meshtap replay` reads) instead of a tap.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = crate::export::map::MapFormat::Dot)]
    pub output: crate::export::map::MapFormat,
    #[command(flatten)]
    pub session: SessionArgs,
}

/// `meshtap advise …`.
#[derive(Debug, Subcommand)]
pub enum AdviseCommand {
    /// From the inbound side of the traffic seen (each server's workload and port, each
    /// client's mTLS identity), print per workload port a Server (policy.linkerd.io/v1beta3), a
    /// `MeshTLSAuthentication` and an `AuthorizationPolicy` (v1alpha1) allowing exactly the
    /// identities seen, a comment per client, and a warning (also on stderr) for each plaintext
    /// or unauthenticated client the policy would deny.
    Authz(AuthzArgs),
}

/// `meshtap advise authz [TARGET…] (--for D | --replay FILE|DIR) [--demo]`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  meshtap advise authz ns/emojivoto --for 5m > policy.yaml\n  meshtap advise authz --replay capture.ndjson | kubectl apply --dry-run=server -f -\n  meshtap advise authz --demo --for 10s"
)]
pub struct AuthzArgs {
    #[command(flatten)]
    pub tap: TapArgs,
    /// How long to tap (5m, 1h): a live run needs a bound; a replay is read to its end.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_map_duration)]
    pub duration: Option<Duration>,
    /// Tap the built-in simulated mesh (what `meshtap demo` shows) instead of a cluster.
    #[arg(long, conflicts_with = "replay")]
    pub demo: bool,
    /// Advise from an export or recording (as `meshtap replay` reads) instead of a tap.
    #[arg(long, value_name = "FILE|DIR")]
    pub replay: Option<PathBuf>,
    #[command(flatten)]
    pub session: SessionArgs,
}

/// `meshtap mcp [TARGET…] [--demo | --replay FILE|DIR]`.
#[derive(Debug, Args)]
#[command(
    after_help = "An agent starts it as its stdio server, e.g.:\n  {\"mcpServers\": {\"meshtap\": {\"command\": \"meshtap\", \"args\": [\"mcp\", \"deploy/web\", \"-n\", \"emojivoto\"]}}}\nNothing but MCP is written to stdout; messages go to stderr."
)]
pub struct McpArgs {
    #[command(flatten)]
    pub tap: TapArgs,
    /// Tap the built-in simulated mesh (what `meshtap demo` shows) instead of a cluster.
    #[arg(long, conflicts_with = "replay")]
    pub demo: bool,
    /// Serve an export or a recording (as `meshtap replay` reads) instead of a live tap.
    #[arg(long, value_name = "FILE|DIR")]
    pub replay: Option<PathBuf>,
    #[command(flatten)]
    pub session: SessionArgs,
}

/// `meshtap routes TARGET… [--window D] [--prometheus URL | --demo] -o table|json|wide`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  meshtap routes ns/sock-shop --demo -o json\n  meshtap routes deploy/web -n emojivoto --prometheus http://127.0.0.1:9090\n  meshtap routes ns/emojivoto --window 1m -o wide"
)]
pub struct RoutesArgs {
    #[command(flatten)]
    pub tap: TapArgs,
    /// The window the figures cover (10s, 1m; default 30s): Prometheus is asked for the increase
    /// over it; without Prometheus the pods are scraped at its start and end, and tap runs
    /// through it.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_map_duration)]
    pub window: Duration,
    /// Read the built-in simulated mesh (what `meshtap demo` serves) instead of a cluster.
    #[arg(long)]
    pub demo: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = RoutesFormat::Table)]
    pub output: RoutesFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoutesFormat {
    Table,
    Wide,
    Json,
}

/// `meshtap diff A B`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  meshtap diff before.ndjson after.ndjson\n  meshtap diff base.ndjson pr.ndjson -o markdown --fail-on 'p99>+20%,sr<-1%,new-plaintext'\n  meshtap diff rec/ --a-until -30m --b-from -30m      # one recording, two ranges\n\n--fail-on conditions (comma-separated; latency and success count only changes beyond noise):\n  p50|p95|p99>+N%  p50|p95|p99<-N%  sr<-N% (percentage points)  requests<-N%\n  new-plaintext  identity-changed  new-denials  new-routes  vanished-routes"
)]
pub struct DiffArgs {
    /// The capture before: an export or a recording (a --record-dir directory or a segment).
    #[arg(value_name = "A")]
    pub a: PathBuf,
    /// The capture after. Without it, A is compared with itself over the ranges given by
    /// --a-from/--a-until and --b-from/--b-until (a recording directory).
    #[arg(value_name = "B")]
    pub b: Option<PathBuf>,
    /// Recordings only: A starts at this time (RFC 3339, or relative to now: -15m).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true, value_parser = crate::pipeline::segments::time::parse_time)]
    pub a_from: Option<chrono::DateTime<chrono::Utc>>,
    /// Recordings only: A stops at this time.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true, value_parser = crate::pipeline::segments::time::parse_time)]
    pub a_until: Option<chrono::DateTime<chrono::Utc>>,
    /// Recordings only: B starts at this time.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true, value_parser = crate::pipeline::segments::time::parse_time)]
    pub b_from: Option<chrono::DateTime<chrono::Utc>>,
    /// Recordings only: B stops at this time.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true, value_parser = crate::pipeline::segments::time::parse_time)]
    pub b_until: Option<chrono::DateTime<chrono::Utc>>,
    /// Output format (markdown for a pull-request comment).
    #[arg(short, long, value_enum, default_value_t = DiffOutput::Text)]
    pub output: DiffOutput,
    /// Exit 1 when the diff meets any of these conditions, e.g. `p99>+20%,sr<-1%,new-plaintext`.
    #[arg(long, value_name = "EXPR", value_parser = parse_gate)]
    pub fail_on: Option<crate::diff::Gate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffOutput {
    Text,
    Json,
    Markdown,
}

fn parse_gate(text: &str) -> Result<crate::diff::Gate, String> {
    crate::diff::Gate::parse(text).map_err(|e| e.to_string())
}

/// `--for`: a duration such as 10s, 1m or 1h.
fn parse_map_duration(text: &str) -> Result<Duration, String> {
    crate::source::metrics::parse_window(text)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("expected a duration such as 10s, 1m or 1h, not {text:?}"))
}

/// `meshtap check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Targets and namespace are those you mean to tap: RBAC is checked for them
    /// (default: deployments in the namespace). `--context A,B` (or `--all-contexts`) checks
    /// each context.
    #[command(flatten)]
    pub tap: TapArgs,
    /// `table` (√/×/‼ lines) or `json` (Linkerd's extension check format).
    #[arg(short, long, value_enum, default_value_t = CheckOutput::Table)]
    pub output: CheckOutput,
    /// Also open a short tap of the first target (or the namespace) and wait for one event.
    #[arg(long)]
    pub tap_test: bool,
    /// Also check each target's pods (or the namespace's): whether Linkerd can tap them, and
    /// if not why and how to fix it (tap disabled, injected before viz, proxy not ready…).
    #[arg(long)]
    pub proxy: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckOutput {
    Table,
    Json,
}

/// What to tap and how: the same flags as `linkerd viz tap`.
#[derive(Debug, Clone, Args)]
pub struct TapArgs {
    /// Resources to tap: deploy/web, po/web-123, ns/emojivoto, sts/…, ds/…, job/…, cronjob/…,
    /// rs/…, rc/…. Several may be given; each gets its own stream.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Namespace of the targets (default: the kubeconfig context's, then `default`).
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Only requests to this resource.
    #[arg(long, value_name = "RESOURCE")]
    pub to: Option<String>,
    /// Namespace of the --to resource.
    #[arg(long, value_name = "NS")]
    pub to_namespace: Option<String>,
    #[command(flatten)]
    pub http: HttpMatchArgs,
    /// Most requests per second to tap, split evenly over the target's pods.
    #[arg(long, default_value_t = 100.0, value_name = "N")]
    pub max_rps: f32,
    /// Label selector to narrow the target's pods (`app=web,tier!=db`).
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Kubeconfig context to use. Repeat it or list several (`--context east,west`) to tap
    /// every named cluster in one session, merged into one timeline.
    #[arg(long, value_name = "CONTEXT", value_delimiter = ',')]
    pub context: Vec<String>,
    /// Tap in every context of the kubeconfig.
    #[arg(long, conflicts_with = "context")]
    pub all_contexts: bool,
    /// Show a context's cluster under another name: CONTEXT=NAME (repeatable).
    #[arg(long, value_name = "CONTEXT=NAME", value_parser = parse_cluster_name)]
    pub cluster_name: Vec<(String, String)>,
    /// Path to the kubeconfig file (default: the files in KUBECONFIG merged as kubectl does,
    /// then ~/.kube/config, then the pod's service account).
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub kubeconfig: Option<PathBuf>,
    /// Act as this user (kubectl's --as): the API server checks RBAC for them.
    #[arg(long = "as", value_name = "USER")]
    pub impersonate: Option<String>,
    /// Act as a member of this group (repeatable), with --as.
    #[arg(long = "as-group", value_name = "GROUP")]
    pub impersonate_groups: Vec<String>,
    /// Do not reconnect when a stream ends or breaks.
    #[arg(long)]
    pub no_reconnect: bool,
    /// Linkerd viz's metrics API, HOST:PORT, for Prometheus-backed route figures and edges beside
    /// the live sample. Without it meshtap port-forwards to metrics-api in linkerd-viz itself.
    #[arg(long, value_name = "ADDR", conflicts_with = "no_metrics")]
    pub metrics_api: Option<String>,
    /// Do not ask Linkerd viz's metrics API, nor read the proxies' refusal counters (live
    /// sampled figures only).
    #[arg(long)]
    pub no_metrics: bool,
    /// A Prometheus scraping the proxies (http://HOST:PORT), for route figures (`meshtap
    /// routes`) and the refusals explain cites. Without it meshtap asks linkerd-viz's
    /// Prometheus through a port-forward, and when none runs reads the pods' proxy admin
    /// /metrics (port 4191) directly.
    #[arg(long, value_name = "URL", conflicts_with = "no_metrics")]
    pub prometheus: Option<String>,
    /// Window of the metrics API's figures (30s, 1m, 10m, 1h).
    #[arg(long, default_value = "1m", value_name = "DURATION", value_parser = parse_metrics_window)]
    pub metrics_window: Duration,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// Where outbound requests' routes come from: the policy controller's outbound policy API.
#[derive(Args, Debug, Clone, Default)]
pub struct PolicyArgs {
    /// The policy controller (Linkerd's outbound policy API, plaintext gRPC), HOST:PORT, whose
    /// HTTP and gRPC route rules outbound requests are matched to. Without it meshtap port-forwards to the
    /// linkerd-destination pod's port 8090 itself (`meshtap proxy`: no routes without it).
    #[arg(long, value_name = "ADDR", conflicts_with = "no_policy")]
    pub policy_api: Option<String>,
    /// Do not ask the policy controller: routes are service profile routes and path templates.
    #[arg(long)]
    pub no_policy: bool,
}

/// `--cluster-name`: `CONTEXT=NAME`, both non-empty.
fn parse_cluster_name(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((context, name)) if !context.is_empty() && !name.trim().is_empty() => {
            Ok((context.to_owned(), name.trim().to_owned()))
        }
        _ => Err(format!("expected CONTEXT=NAME, not {text:?}")),
    }
}

/// `--metrics-window`: a Prometheus duration of at least a second.
fn parse_metrics_window(text: &str) -> Result<Duration, String> {
    crate::source::metrics::parse_window(text)
        .filter(|d| d.as_secs() >= 1)
        .ok_or_else(|| format!("expected a duration such as 30s, 1m or 1h, not {text:?}"))
}

/// What a session keeps and writes, the same in every mode (UI or headless; tap, demo, replay,
/// proxy): how much it holds, what it redacts, what it records, exports and reports.
#[derive(Debug, Clone, Args)]
pub struct SessionArgs {
    /// Most requests held in memory; the oldest are evicted first.
    #[arg(long, default_value_t = crate::model::store::DEFAULT_CAPACITY_REQUESTS, value_name = "N")]
    pub capacity: usize,
    /// Most memory the held requests may take (512Mi, 1Gi, 2G, …: K/M/G are powers of 1000,
    /// Ki/Mi/Gi powers of 1024, as in Kubernetes); the oldest are evicted first.
    #[arg(long, default_value = "512MiB", value_name = "SIZE", value_parser = crate::units::parse_size)]
    pub max_memory: u64,
    /// Show, record and export sensitive header values (authorization, cookies) instead of
    /// `<redacted>`.
    #[arg(long)]
    pub no_redact: bool,
    /// Also redact this header (repeatable).
    #[arg(long, value_name = "NAME")]
    pub redact_header: Vec<String>,
    /// Record the tap events to FILE as they arrive (the tap API's framing: 4-byte length, then a
    /// `TapEvent`), redacted like every other output, for `meshtap replay FILE` and bug reports.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Keep the stream in DIR as rolling segment files (each frame with its arrival time, each
    /// segment indexed), deleting the oldest beyond --record-max; `meshtap replay DIR --from …`
    /// reads a time range back. The directory is created 0700.
    #[arg(long, value_name = "DIR")]
    pub record_dir: Option<PathBuf>,
    /// Disk budget of --record-dir (512Mi, 1Gi, 2G, …, sizes as for --max-memory); the directory
    /// holds at most this plus one segment (an eighth of it).
    #[arg(long, default_value = "1GiB", value_name = "SIZE", value_parser = crate::units::parse_size)]
    pub record_max: u64,
    /// Print what the session did to stderr when it ends (events, requests, bytes, rate, peak
    /// memory, evictions).
    #[arg(long)]
    pub stats: bool,
    /// Don't explain on stderr why a tap stays silent or thin (per-pod causes, printed once per
    /// target). The UI shows them in the status bar and `:why` whatever this says.
    #[arg(long)]
    pub quiet: bool,
    /// Stream every finished request as an OpenTelemetry span to the OTLP/gRPC collector at URL
    /// (e.g. `http://localhost:4317`), batched; when the collector is slower than the tap, spans
    /// are dropped and counted, never the tap slowed. Span ids join the application's traces
    /// when the requests carry traceparent or B3 headers.
    /// An `https://` endpoint is reached over TLS, its certificate checked against the system's
    /// roots.
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// Also trust this CA (PEM) for an `https://` `--otlp-endpoint` (a private collector).
    #[arg(long, value_name = "FILE", requires = "otlp_endpoint")]
    pub otlp_ca: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub export: ExportArgs,
    #[command(flatten)]
    pub triggers: TriggerArgs,
    /// Headless (-o ndjson|curl|grpcurl): write only the requests matching FILTER, in the UI's
    /// filter language (`status>=500 ns=shop`), with the same meaning as there. `meshtap map`
    /// draws only those (and leaves out the metrics API's edges, which no filter can ask about).
    #[arg(long, value_name = "FILTER", value_parser = parse_filter)]
    pub filter: Option<crate::filter::Filter>,
    /// Write logs here (`MESHTAP_LOG=debug` for more), in every mode; nothing is logged to the
    /// screen. Created 0600; a symlink at the name is refused.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

fn parse_filter(text: &str) -> Result<crate::filter::Filter, String> {
    crate::filter::Filter::parse(text)
        .map_err(|e| format!("{} at column {}", e.message, e.position + 1))
}

/// Flight-recorder triggers: the window around a matching request, written to a file.
#[derive(Debug, Clone, Args)]
pub struct TriggerArgs {
    /// When a finished request matches FILTER (the UI's filter language, e.g. `status>=500`),
    /// write the window around it (--trigger-window before and after) to a file in
    /// --trigger-dir. Repeatable. A storm writes one file per window.
    #[arg(long = "trigger", value_name = "FILTER", value_parser = parse_trigger)]
    pub triggers: Vec<crate::trigger::Trigger>,
    /// How much before and after the matching request a trigger file holds.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = parse_metrics_window)]
    pub trigger_window: Duration,
    /// Where trigger files go; created 0700 when missing, and refused at the start when files
    /// cannot be created in it.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub trigger_dir: PathBuf,
    /// Format of trigger files.
    #[arg(long, value_enum, default_value_t = ExportFormat::Ndjson, value_name = "FORMAT")]
    pub trigger_format: ExportFormat,
    /// Most trigger files one session writes.
    #[arg(long, default_value_t = crate::trigger::run::DEFAULT_MAX_FILES, value_name = "N")]
    pub trigger_max_files: usize,
    /// Run CMD (through `sh -c`) after each trigger file is written, with
    /// `MESHTAP_TRIGGER_FILE`, `MESHTAP_TRIGGER`, `MESHTAP_TRIGGER_MATCHES`,
    /// `MESHTAP_TRIGGER_REQUESTS` and `MESHTAP_TRIGGER_REQUEST_SEQ` in its environment (never in
    /// its text). It runs in its own process group and nothing waits for it: not the next
    /// trigger, not the end of the session. Its output goes to stderr (headless) or the log file
    /// (UI), never to stdout.
    #[arg(long, value_name = "CMD")]
    pub on_trigger: Option<String>,
    /// Stop an --on-trigger command (its whole process group) after this long, even after
    /// meshtap has exited.
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = parse_metrics_window)]
    pub on_trigger_timeout: Duration,
}

fn parse_trigger(text: &str) -> Result<crate::trigger::Trigger, String> {
    crate::trigger::Trigger::parse(text).map_err(|e| e.to_string())
}

/// Writing the capture to a file when the session ends.
#[derive(Debug, Clone, Default, Args)]
pub struct ExportArgs {
    /// When the session ends (end of stream, --for, Ctrl-C, or quitting the UI), write every
    /// captured request (that --filter lets through, when given) to FILE, atomically. The
    /// format follows the name: .ndjson, .json (linkerd viz tap -o json), .har, .otlp.json,
    /// .pcapng.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    /// Format of --export (and `:export`) when the file name does not say; a name that says
    /// another format is refused [default: ndjson].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub export_format: Option<ExportFormat>,
    /// Let --export (and `demo --kubeconfig-out`) replace an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The export to replay, or `-` for stdin. The format is recognised from the content. A
    /// --record-dir directory or one of its segments replays on its recorded times.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Pace: a multiple of the original (2 = twice as fast, 0.5 = half) or `max`.
    #[arg(long, default_value = "max", value_name = "N|max")]
    pub speed: Speed,
    /// Segments (a --record-dir directory or one segment file) only: start at this time, RFC
    /// 3339 or relative to now (-15m, -2h).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true, value_parser = crate::pipeline::segments::time::parse_time)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Segments only: stop at this time (RFC 3339 or relative to now, like --from).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true, value_parser = crate::pipeline::segments::time::parse_time)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// `--until`'s former name, hidden and warned about: everywhere else `--to` is the
    /// destination resource (`tap --to deploy/web`, `:to`, the filter's `to=`).
    #[arg(long = "to", hide = true, value_name = "TIME", allow_hyphen_values = true, conflicts_with = "until", value_parser = crate::pipeline::segments::time::parse_time)]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// Headless: stream to stdout in this format instead of opening the UI.
    #[arg(short, long, value_enum)]
    pub output: Option<Output>,
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub ui: UiArgs,
}

/// The HTTP matches Linkerd applies itself (the tap server, or a proxy).
#[derive(Debug, Clone, Default, Args)]
pub struct HttpMatchArgs {
    /// Only requests with this HTTP method.
    #[arg(long)]
    pub method: Option<String>,
    /// Only requests whose path starts with this prefix.
    #[arg(long)]
    pub path: Option<String>,
    /// Only requests with exactly this :authority.
    #[arg(long)]
    pub authority: Option<String>,
    /// Only requests with this scheme.
    #[arg(long)]
    pub scheme: Option<String>,
}

impl HttpMatchArgs {
    pub fn to_match(&self) -> crate::session::HttpMatch {
        crate::session::HttpMatch {
            method: self.method.clone(),
            path: self.path.clone(),
            authority: self.authority.clone(),
            scheme: self.scheme.clone(),
        }
    }
}

/// Options of the terminal UI.
#[derive(Debug, Clone, Args)]
pub struct UiArgs {
    /// Keymap and theme overrides (default: `$XDG_CONFIG_HOME/meshtap/meshtap.conf`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// No colours (also when `NO_COLOR` is set).
    #[arg(long)]
    pub no_color: bool,
}

#[derive(Debug, Args)]
pub struct HeadlessArgs {
    #[command(flatten)]
    pub tap: TapArgs,
    #[command(flatten)]
    pub session: SessionArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Stop after DURATION (30s, 1m) as Ctrl-C would: the output is flushed and --export and
    /// --record are written (as `meshtap map --for`).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_map_duration)]
    pub duration: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub tap: TapArgs,
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub ui: UiArgs,
    /// Seed of the simulation: the same seed gives the same traffic.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated requests per second across the whole mesh.
    #[arg(long, default_value_t = 50.0)]
    pub rate: f64,
    /// Only serve the simulated control plane (for kubectl or another meshtap) until Ctrl-C.
    /// It taps nothing itself, so what shapes a tap's output is refused beside it.
    #[arg(
        long,
        conflicts_with_all = ["output", "targets", "record", "record_dir", "stats", "export", "triggers", "otlp_endpoint"]
    )]
    pub serve: bool,
    /// Address to serve on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Where to write the demo's kubeconfig (default: a temporary file).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig_out: Option<PathBuf>,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    pub plain_http: bool,
    /// With --serve: write a Prometheus `file_sd_configs` target list of the simulated proxies'
    /// admin servers (`/metrics` on loopback), labelled as linkerd-viz's Prometheus labels them.
    #[arg(
        long,
        value_name = "FILE",
        requires = "serve",
        conflicts_with = "clusters"
    )]
    pub file_sd: Option<PathBuf>,
    /// Start the control plane broken in one way, for `meshtap check` to find.
    #[arg(long = "break", value_enum, value_name = "WHAT")]
    pub broken: Option<crate::demo::checks::Break>,
    /// Simulate Linkerd multicluster: one control plane per named cluster (1 to 8 DNS labels,
    /// e.g. east,west) and one kubeconfig with a context per cluster; the first cluster's
    /// front-end calls the Services the others export (catalogue-west, …) through their gateways.
    #[arg(
        long,
        value_name = "NAMES",
        value_parser = crate::demo::multicluster::ClusterNames::parse,
        conflicts_with = "broken"
    )]
    pub clusters: Option<crate::demo::multicluster::ClusterNames>,
    /// Headless: stream to stdout in this format instead of opening the UI.
    #[arg(short, long, value_enum)]
    pub output: Option<Output>,
}

/// `meshtap proxy ADDR`: a direct tap of one proxy.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "A proxy serves its tap only to the identity in its LINKERD2_PROXY_TAP_SVC_NAME \
                  (default tap.linkerd-viz.serviceaccount.identity.linkerd.cluster.local), over mTLS.\n\
                  Example: meshtap proxy 10.42.0.7:4190 --ca ca.pem --cert tap.pem --key tap-key.pem \
                  --server-name web.emojivoto.serviceaccount.identity.linkerd.cluster.local -o text"
)]
pub struct ProxyArgs {
    /// The proxy's tap address, HOST:PORT (a pod IP and port 4190 in a cluster).
    #[arg(value_name = "ADDR")]
    pub addr: String,
    /// Trust root (PEM) that issued the proxy's certificate: the mesh's trust anchor.
    #[arg(long, value_name = "FILE", required_unless_present = "plaintext")]
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM) carrying the tap identity.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// The pod's identity, such as web.emojivoto.serviceaccount.identity.linkerd.cluster.local:
    /// a proxy terminates TLS on its tap port only for this server name. Required when ADDR is
    /// an IP address (default: the host of ADDR).
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// Speak plaintext gRPC: only for tests and port-forwards to a tap endpoint you terminate
    /// yourself (a real proxy refuses it with `no_tls_from_remote`).
    #[arg(long, conflicts_with_all = ["ca", "cert", "key", "server_name"])]
    pub plaintext: bool,
    #[command(flatten)]
    pub http: HttpMatchArgs,
    /// Only requests to this destination port, or range LO-HI.
    #[arg(long, value_name = "PORT[-PORT]")]
    pub to_port: Option<crate::source::proxy::request::PortRange>,
    /// Only requests to this destination network (IP or CIDR, such as 10.42.0.0/16).
    #[arg(long, value_name = "IP[/PREFIX]")]
    pub to_net: Option<crate::source::proxy::request::Netmask>,
    /// Only requests whose destination has this label (repeatable), such as deployment=web.
    #[arg(long = "to-label", value_name = "KEY=VALUE", value_parser = crate::source::proxy::request::parse_label)]
    pub to_labels: Vec<(String, String)>,
    /// Only requests with this route label (repeatable), such as route=GET /books.
    #[arg(long = "route-label", value_name = "KEY=VALUE", value_parser = crate::source::proxy::request::parse_label)]
    pub route_labels: Vec<(String, String)>,
    /// Most requests per second to tap: the Observe limit of each 1-second window.
    #[arg(long, default_value_t = 100.0, value_name = "N")]
    pub max_rps: f32,
    /// Do not reconnect when the tap breaks.
    #[arg(long)]
    pub no_reconnect: bool,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub ui: UiArgs,
    /// Headless: stream to stdout in this format instead of opening the UI.
    #[arg(short, long, value_enum)]
    pub output: Option<Output>,
}
