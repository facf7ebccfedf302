//! `meshtap mcp`: the session served to an AI agent as a read-only Model Context Protocol server
//! on stdin/stdout (rmcp; the handshake revision 2025-11-25). It is a sink of the session
//! pipeline like the UI: the source, the recordings, the export at the end and `--stats` are the
//! pipeline's; the store is owned by one task that ingests and answers the tools' queries.

pub mod answers;
pub mod owner;
pub mod server;

use std::path::PathBuf;

use rmcp::ServiceExt as _;
use tokio::sync::mpsc;

use crate::model::store::Store;
use crate::session::redact::Redactor;
use crate::session::{Clock, SessionInfo, SourceMsg};
use answers::Sampling;

/// What the MCP sink needs from the session.
pub struct Params {
    pub info: SessionInfo,
    pub clock: Clock,
    pub redactor: Redactor,
    pub streams: Vec<String>,
    /// `--max-rps` of a live or demo tap.
    pub max_rps: Option<f32>,
    pub recordings: Vec<PathBuf>,
}

/// Serves MCP on stdio until the client closes it, then hands back the store.
pub async fn serve(
    rx: mpsc::Receiver<SourceMsg>,
    params: Params,
    store: Store,
) -> anyhow::Result<Store> {
    let (queries, queue) = mpsc::channel(owner::QUEUE_QUERIES);
    let streams = params.streams.clone();
    let clock = params.clock;
    let owner = tokio::spawn(async move { owner::own(rx, queue, store, clock, &streams).await });
    let context = server::Context {
        sampling: Sampling {
            max_rps: params.max_rps,
            description: params.info.sampling.clone(),
        },
        redactor: params.redactor,
        context: params.info.context.clone(),
        targets: params.info.targets.clone(),
        recordings: params.recordings,
    };
    let handler = server::MeshtapMcp::new(queries, context);
    let running = handler
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow::anyhow!("MCP handshake on stdio failed: {e}"))?;
    // Returns when the client closes stdin (or the transport breaks); the handler and with it the
    // query sender are dropped, so the owner stops and gives the store back.
    let _ = running.waiting().await;
    Ok(owner.await?)
}
