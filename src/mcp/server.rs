//! The MCP handler: tools with JSON-schema'd arguments (rmcp derives the schemas), the capture
//! and its recordings as resources, two prompts. Every tool asks the owner task a question and
//! answers with structured JSON; bad arguments are JSON-RPC `invalid_params` errors, and the
//! server goes on answering.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, GetPromptRequestParams, GetPromptResponse, GetPromptResult, Implementation,
    ListPromptsResult, ListResourcesResult, PaginatedRequestParams, ProgressNotificationParam,
    Prompt, PromptArgument, PromptMessage, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, RequestMetaObject, Resource, ResourceContents, Role, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, Peer, RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::answers::{self, Sampling};
use super::owner::{Held, Query};
use crate::filter::Filter;
use crate::model::routes::{Grouping, Window};
use crate::session::redact::Redactor;

/// Requests `list_requests` returns when the caller gives no limit.
const DEFAULT_LIST_LIMIT: usize = 50;
/// Rows `route_stats` returns when the caller gives no limit.
const DEFAULT_ROWS: usize = 50;
/// Routes of a `diff` answer; the changed ones come first.
const MAX_DIFF_ROUTES: usize = 100;

/// What the handler knows about its session.
pub struct Context {
    pub sampling: Sampling,
    pub redactor: Redactor,
    pub context: String,
    pub targets: Vec<String>,
    /// `--record FILE` and `--record-dir DIR`, offered as resources.
    pub recordings: Vec<PathBuf>,
}

#[derive(Clone)]
pub struct MeshtapMcp {
    queries: mpsc::Sender<Query>,
    context: Arc<Context>,
    tool_router: ToolRouter<Self>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ListRequestsArgs {
    /// A filter in meshtap's filter language, e.g. `status>=500 ns=shop` or
    /// `latency>100ms dst.deploy=web` (the UI's `/` filter).
    pub filter: Option<String>,
    /// Most requests to return, newest first (default 50, at most 500).
    pub limit: Option<u32>,
    /// Only requests that started within this long before now (`30s`, `5m`, `1h`), or at or
    /// after this RFC 3339 time.
    pub since: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RequestIdArgs {
    /// The request's `id`, as `list_requests` gives it.
    pub id: u64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WindowArg {
    #[serde(rename = "10s")]
    Last10s,
    #[serde(rename = "1m")]
    Last1m,
    Capture,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupByArg {
    Route,
    Destination,
    SourceDestination,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RouteStatsArgs {
    /// Which stretch of time: `10s`, `1m` (default) or `capture` (everything held).
    pub window: Option<WindowArg>,
    /// Rows per `route` (default), per `destination` workload, or per `source_destination` pair.
    pub group_by: Option<GroupByArg>,
    /// Most rows, busiest first (default 50, at most 500).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct DiffArgs {
    /// The capture before: a meshtap export or recording (a path on this machine).
    pub a: String,
    /// The capture after.
    pub b: String,
}

fn invalid(message: impl Into<String>) -> ErrorData {
    ErrorData::invalid_params(message.into(), None)
}

fn answer(value: Value) -> CallToolResult {
    CallToolResult::structured(value)
}

/// `since`: a duration back from `now`, or an RFC 3339 time.
fn since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ErrorData> {
    if let Ok(duration) = crate::units::parse_duration(text) {
        let back = chrono::Duration::from_std(duration).map_err(|_| invalid("since: too long"))?;
        return Ok(now - back);
    }
    text.parse::<DateTime<Utc>>().map_err(|_| {
        invalid(format!(
            "since: expected a duration such as 5m or an RFC 3339 time, not {text:?}"
        ))
    })
}

impl MeshtapMcp {
    pub fn new(queries: mpsc::Sender<Query>, context: Context) -> Self {
        Self {
            queries,
            context: Arc::new(context),
            tool_router: Self::tool_router(),
        }
    }

    /// Runs `f` on the held state in the owner task and returns what it returns.
    async fn ask<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Held, &Context) -> T + Send + 'static,
    ) -> Result<T, ErrorData> {
        let (tx, rx) = oneshot::channel();
        let context = self.context.clone();
        let query: Query = Box::new(move |held| {
            let _ = tx.send(f(held, &context));
        });
        let gone = || ErrorData::internal_error("the session has ended", None);
        self.queries.send(query).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }
}

#[tool_router]
impl MeshtapMcp {
    #[tool(
        description = "List captured requests (newest first), optionally filtered with meshtap's filter language (status>=500, latency>100ms, ns=shop, dst.deploy=web, tls!=true, method=POST, path~/api, since=-5m, age<30s; relative times count back from the session clock: now live, the last event in a replay). Each has an id for get_request and trace. The result says how much of the traffic the tap sampled."
    )]
    async fn list_requests(
        &self,
        Parameters(args): Parameters<ListRequestsArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let filter = match args.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            Some(text) => Some(Filter::parse(text).map_err(|e| {
                invalid(format!(
                    "filter: {} at column {}",
                    e.message,
                    e.position + 1
                ))
            })?),
            None => None,
        };
        let limit = args.limit.map_or(DEFAULT_LIST_LIMIT, |l| l as usize);
        let since_text = args.since;
        let value = self
            .ask(move |held, ctx| {
                let since = since_text
                    .as_deref()
                    .map(|s| since(s, held.now))
                    .transpose()?;
                Ok::<_, ErrorData>(answers::list_requests(
                    held,
                    &ctx.sampling,
                    &ctx.redactor,
                    filter.as_ref(),
                    since,
                    limit,
                ))
            })
            .await??;
        Ok(answer(value))
    }

    #[tool(
        description = "One captured request in full: method, path, status, timings, both endpoints' labels, identities and TLS, headers (sensitive values redacted), the detail tree meshtap's UI shows, and `explain`: plain-word statements about mesh, identity, TLS, policy, route and outcome, each citing the labels it rests on."
    )]
    async fn get_request(
        &self,
        Parameters(RequestIdArgs { id }): Parameters<RequestIdArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let value = self
            .ask(move |held, ctx| answers::get_request(held, &ctx.sampling, &ctx.redactor, id))
            .await?
            .ok_or_else(|| invalid(format!("no request {id} is held (evicted, or never seen)")))?;
        Ok(answer(value))
    }

    #[tool(
        description = "Per-route figures as the proxies routed the requests (client and server side): requests, RPS, success rate, p50/p95/p99/max latency, over the last 10s, 1m or the whole capture; grouped by route, destination workload, or source and destination."
    )]
    async fn route_stats(
        &self,
        Parameters(args): Parameters<RouteStatsArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let window = match args.window {
            Some(WindowArg::Last10s) => Window::Last10s,
            None | Some(WindowArg::Last1m) => Window::Last1m,
            Some(WindowArg::Capture) => Window::Capture,
        };
        let grouping = match args.group_by {
            None | Some(GroupByArg::Route) => Grouping::Route,
            Some(GroupByArg::Destination) => Grouping::Destination,
            Some(GroupByArg::SourceDestination) => Grouping::SourceDestination,
        };
        let limit = args.limit.map_or(DEFAULT_ROWS, |l| l as usize);
        let value = self
            .ask(move |held, ctx| {
                answers::route_stats(held, &ctx.sampling, window, grouping, limit)
            })
            .await?;
        Ok(answer(value))
    }

    #[tool(
        description = "Who talks to whom with which mTLS identities: per edge the requests, the share on mTLS, the identity Linkerd reported, plaintext and denied requests, and what should worry (plaintext between meshed workloads, identity mismatches, unauthenticated clients allowed, policy denials)."
    )]
    async fn identities(&self) -> Result<CallToolResult, ErrorData> {
        let value = self
            .ask(|held, ctx| answers::identities(held, &ctx.sampling))
            .await?;
        Ok(answer(value))
    }

    #[tool(
        description = "The service map: workloads and the edges between them with requests, RPS, success rate, p99 and TLS per edge (what `meshtap map -o json` prints)."
    )]
    async fn map(&self) -> Result<CallToolResult, ErrorData> {
        let value = self
            .ask(|held, ctx| answers::map(held, &ctx.sampling))
            .await?;
        Ok(answer(value))
    }

    #[tool(
        description = "Why a tap is silent or thin: per target and per pod, what Linkerd's tap server does with the pod (tappable, not running, not injected, tap disabled, injected before viz, proxy not ready, opaque ports only, a long request pinning the window, silent), the cause and the fix, how maxRps is split over the tapped pods, and the sampled rate beside the real one. Live sessions only: a replay has no pods."
    )]
    async fn tap_health(&self) -> Result<CallToolResult, ErrorData> {
        let value = self
            .ask(|held, ctx| answers::tap_health(held, &ctx.sampling))
            .await?;
        Ok(answer(value))
    }

    #[tool(
        description = "Every captured request of the same distributed trace as request `id` (traceparent or B3 headers), oldest first."
    )]
    async fn trace(
        &self,
        Parameters(RequestIdArgs { id }): Parameters<RequestIdArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let value = self
            .ask(move |held, ctx| answers::trace(held, &ctx.sampling, &ctx.redactor, id))
            .await?
            .map_err(invalid)?;
        Ok(answer(value))
    }

    #[tool(
        description = "Compare two saved captures (meshtap exports or recordings, paths on this machine) per route: requests, success rate, p50/p95/p99 with whether each change is beyond noise (rank test, counts stated), new and vanished routes, callers and status codes, and identity/TLS changes (new plaintext edges, changed identities, new denials). Sends progress notifications while reading."
    )]
    async fn diff(
        &self,
        Parameters(DiffArgs { a, b }): Parameters<DiffArgs>,
        meta: RequestMetaObject,
        client: Peer<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let token = meta.get_progress_token();
        let progress = |step: f64, message: String| {
            let client = client.clone();
            let token = token.clone();
            async move {
                if let Some(token) = token {
                    let param = ProgressNotificationParam::new(token, step)
                        .with_total(3.0)
                        .with_message(message);
                    let _ = client.notify_progress(param).await;
                }
            }
        };
        let range = crate::pipeline::segments::read::Range::default();
        progress(0.0, format!("reading {a}")).await;
        let before = crate::run::diff_side(std::path::Path::new(&a), range)
            .await
            .map_err(|e| invalid(format!("a: {e:#}")))?;
        progress(1.0, format!("reading {b}")).await;
        let after = crate::run::diff_side(std::path::Path::new(&b), range)
            .await
            .map_err(|e| invalid(format!("b: {e:#}")))?;
        progress(2.0, "comparing".to_owned()).await;
        let mut diff = crate::diff::compare(&before, &after);
        let routes = diff.routes.len();
        diff.routes.truncate(MAX_DIFF_ROUTES);
        let mut value = serde_json::to_value(&diff)
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        value["routes_total"] = json!(routes);
        value["sampled"] = json!({
            "a": diff.a.sampling,
            "b": diff.b.sampling,
            "note": answers::SAMPLING_NOTE,
        });
        progress(3.0, "done".to_owned()).await;
        Ok(answer(value))
    }
}

const CAPTURE_URI: &str = "meshtap://capture";
const REQUESTS_URI: &str = "meshtap://capture/requests.ndjson";
const RECORDING_URI: &str = "meshtap://recording/";
/// Requests in the `requests.ndjson` resource: the newest, redacted.
const RESOURCE_REQUESTS: usize = 1_000;

#[tool_handler(router = self.tool_router)]
impl ServerHandler for MeshtapMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(Implementation::new("meshtap", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "meshtap: read-only access to live (or recorded) Linkerd tap traffic. Start with \
             route_stats or list_requests (filter e.g. status>=500), open one with get_request, \
             follow trace, check identities for TLS/identity problems, ask tap_health why a \
             target is quiet, compare saved captures with diff. Tap samples traffic (maxRps): every answer says how much.",
        )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let mut resources = vec![
            Resource::new(CAPTURE_URI, "capture")
                .with_description("The session: context, targets, streams, sampling, counts")
                .with_mime_type("application/json"),
            Resource::new(REQUESTS_URI, "requests.ndjson")
                .with_description(
                    "The newest held requests (at most 1000), meshtap NDJSON, redacted",
                )
                .with_mime_type("application/x-ndjson"),
        ];
        for (i, path) in self.context.recordings.iter().enumerate() {
            resources.push(
                Resource::new(format!("{RECORDING_URI}{i}"), path.display().to_string())
                    .with_description("A recording of this session (path, size, segments)")
                    .with_mime_type("application/json"),
            );
        }
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri.clone();
        let text = if uri == CAPTURE_URI {
            let value = self
                .ask(|held, ctx| answers::capture(held, &ctx.sampling, &ctx.context, &ctx.targets))
                .await?;
            value.to_string()
        } else if uri == REQUESTS_URI {
            self.ask(|held, ctx| answers::requests_ndjson(held, &ctx.redactor, RESOURCE_REQUESTS))
                .await?
        } else if let Some(path) = uri
            .strip_prefix(RECORDING_URI)
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| self.context.recordings.get(i))
        {
            answers::recording(path).to_string()
        } else {
            return Err(ErrorData::resource_not_found(
                format!("no resource {uri}"),
                None,
            ));
        };
        Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri)]).into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let namespace = PromptArgument::new("namespace")
            .with_description("Only this namespace (optional)")
            .with_required(false);
        let before = PromptArgument::new("before")
            .with_description("Path of the capture before")
            .with_required(true);
        let after = PromptArgument::new("after")
            .with_description("Path of the capture after")
            .with_required(true);
        Ok(ListPromptsResult::with_all_items(vec![
            Prompt::new(
                "find_errors",
                Some("Find the failing requests in the capture and explain why they fail"),
                Some(vec![namespace]),
            ),
            Prompt::new(
                "latency_regression",
                Some(
                    "Compare two captures and explain which routes got slower, and whether beyond noise",
                ),
                Some(vec![before, after]),
            ),
        ]))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let arg = |name: &str| {
            request
                .arguments
                .as_ref()
                .and_then(|a| a.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let text = match request.name.as_str() {
            "find_errors" => {
                let scope = arg("namespace").map_or_else(String::new, |ns| format!(" ns={ns}"));
                format!(
                    "Call route_stats (window capture) to see which routes fail, then \
                     list_requests with filter \"status>=500{scope}\" (and \"grpc-status!=0{scope}\"), \
                     open a few with get_request and read their explain statements. Say which \
                     routes fail, how often, since when, and why, remembering the data is a \
                     sample (see `sampled`)."
                )
            }
            "latency_regression" => {
                let (Some(before), Some(after)) = (arg("before"), arg("after")) else {
                    return Err(invalid("latency_regression needs `before` and `after`"));
                };
                format!(
                    "Call diff with a={before:?} and b={after:?}. Report the routes whose \
                     latency change is beyond noise (latency_test.beyond_noise), with p50/p95/p99 \
                     before and after and the sample counts, then any new plaintext edges, \
                     identity changes or new denials."
                )
            }
            other => return Err(invalid(format!("no prompt {other:?}"))),
        };
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]).into())
    }
}
