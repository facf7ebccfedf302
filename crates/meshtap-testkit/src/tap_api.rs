//! Tap APIs for the demo's real loopback server: one answering from a script (recording what it
//! was asked), and [`stream`], the chunked body every streaming fake sends.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use meshtap_demo::demo::api::{TapApi, TapReply};
use meshtap_proto::tap::TapByResourceRequest;
use tokio::sync::mpsc;

/// Chunks a streamed body holds in flight: the server reads as the client does, so a fake that
/// offers more waits (backpressure reaches it as it would a real tap server).
pub const STREAM_CHUNKS_IN_FLIGHT: usize = 8;

/// A 200 body sending `chunks` (already framed) from a task of its own, then ending; with `hang`,
/// kept open after the last chunk until the client goes away. Stops early when the client does.
/// Needs a tokio runtime.
pub fn stream<I>(chunks: I, hang: bool) -> TapReply
where
    I: IntoIterator<Item = Bytes>,
    I::IntoIter: Send + 'static,
{
    let (tx, rx) = mpsc::channel(STREAM_CHUNKS_IN_FLIGHT);
    let chunks = chunks.into_iter();
    tokio::spawn(async move {
        for chunk in chunks {
            if tx.send(chunk).await.is_err() {
                return;
            }
        }
        if hang {
            tx.closed().await;
        }
    });
    TapReply::Stream(rx)
}

/// What the scripted API answers, in order; the last one repeats.
#[derive(Clone, Debug)]
pub enum Script {
    /// Stream these raw body chunks, then end the body.
    Chunks(Vec<Bytes>),
    /// Stream these chunks and keep the body open until the client goes away.
    ChunksThenHang(Vec<Bytes>),
    LinkerdError(String),
    KubeStatus(u16, &'static str, String),
    TapServerError(u16, String),
}

/// A `TapApi` that records each request and answers from a script.
pub struct Scripted {
    script: Vec<Script>,
    pub seen: Mutex<Vec<(String, TapByResourceRequest)>>,
}

impl Scripted {
    /// # Panics
    /// When `script` is empty: there would be nothing to answer.
    pub fn new(script: Vec<Script>) -> Arc<Self> {
        assert!(!script.is_empty(), "a script answers at least once");
        Arc::new(Self {
            script,
            seen: Mutex::new(Vec::new()),
        })
    }

    /// Every request so far: its path and decoded body.
    ///
    /// # Panics
    /// When a tap call panicked while holding the record.
    pub fn seen(&self) -> Vec<(String, TapByResourceRequest)> {
        self.seen.lock().expect("lock").clone()
    }
}

impl TapApi for Scripted {
    fn tap(&self, path: &str, request: TapByResourceRequest) -> TapReply {
        let mut seen = self.seen.lock().expect("lock");
        let index = seen.len().min(self.script.len() - 1);
        seen.push((path.to_string(), request));
        match self.script[index].clone() {
            Script::Chunks(chunks) => stream(chunks, false),
            Script::ChunksThenHang(chunks) => stream(chunks, true),
            Script::LinkerdError(text) => TapReply::LinkerdError(text),
            Script::KubeStatus(code, reason, message) => TapReply::KubeStatus {
                code,
                reason: reason.to_string(),
                message,
            },
            Script::TapServerError(code, error) => TapReply::TapServerError { code, error },
        }
    }
}
