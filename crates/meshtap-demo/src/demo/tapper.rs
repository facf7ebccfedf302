//! The simulated mesh behind the demo server: a [`TapApi`] that answers each tap like Linkerd's
//! tap server in front of the simulated proxies.
//!
//! Each accepted tap gets its own [`Session`] (seeded from `--seed` and the tap's ordinal, so the
//! first tap of a run is reproducible and later ones show fresh traffic) driven by a task that
//! advances the virtual clock one [`TICK_NS`] per wall-clock tick and sends that tick's frames as
//! one chunk. Backpressure: the task awaits room in a small bounded channel, so a slow client
//! slows the simulated clock instead of growing memory, and the sequence of events stays exactly
//! the seeded one. The task stops as soon as the receiver is dropped.

pub mod crossing;
pub mod plan;
mod session;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

pub use plan::{Condition, DEFAULT_MAX_RPS, Plan, per_pod_limit};
pub use session::{MAX_CATCH_UP_NS, Session, TICK_NS, WINDOW_NS, fresh_bases};

use super::api::{TapApi, TapReply};
use super::mesh::Mesh;
use super::proxy_metrics::ProxyMetrics;
use crate::proto::tap::TapByResourceRequest;

/// Chunks (one per tick) buffered between a tap's producer task and the HTTP body.
pub const CHANNEL_CHUNKS: usize = 8;

/// The simulated control plane's tap service.
#[derive(Debug)]
pub struct SimTapApi {
    mesh: Arc<Mesh>,
    seed: u64,
    rate: f64,
    taps: AtomicU64,
    /// Each simulated proxy's count of Observe calls, shared by all taps like a real proxy's.
    bases: Arc<[AtomicU32]>,
    /// The calls crossing to or from other clusters (`demo --clusters`).
    crossing: Option<Arc<dyn crossing::Crossing>>,
    /// The simulated proxies' counters, told of the refusals taps show.
    refusals: OnceLock<Arc<ProxyMetrics>>,
}

impl SimTapApi {
    /// A mesh generating `rate` requests per second across all workloads, seeded by `seed`.
    pub fn new(seed: u64, rate: f64) -> Self {
        Self::for_cluster(Mesh::demo(), seed, rate, None)
    }

    /// One cluster of `demo --clusters`: its own `mesh`, and the calls crossing to or from the
    /// other clusters.
    pub fn for_cluster(
        mesh: Mesh,
        seed: u64,
        rate: f64,
        crossing: Option<Arc<dyn crossing::Crossing>>,
    ) -> Self {
        let mesh = Arc::new(mesh);
        let bases = fresh_bases(&mesh);
        Self {
            mesh,
            seed,
            rate,
            taps: AtomicU64::new(0),
            bases,
            crossing,
            refusals: OnceLock::new(),
        }
    }

    /// From now on every tap tells `metrics` of the refusals it shows (the admin servers are
    /// started after this API, from its mesh). A second call is ignored.
    pub fn count_refusals_in(&self, metrics: Arc<ProxyMetrics>) {
        let _ = self.refusals.set(metrics);
    }

    pub fn mesh(&self) -> &Arc<Mesh> {
        &self.mesh
    }

    /// Validates `request` like Linkerd and returns the session that would serve it, at virtual
    /// time 0, without spawning anything: tests and benches drive it with [`Session::advance`].
    pub fn session(&self, request: &TapByResourceRequest) -> Result<Session, TapReply> {
        let plan = plan::plan(&self.mesh, request)?;
        let ordinal = self.taps.fetch_add(1, Ordering::Relaxed);
        let seed = self.seed ^ ordinal.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut session =
            Session::new(self.mesh.clone(), seed, self.rate, plan, self.bases.clone());
        if let Some(metrics) = self.refusals.get() {
            session = session.with_refusals(metrics.clone());
        }
        Ok(match &self.crossing {
            Some(crossing) => session.with_crossing(crossing.feed()),
            None => session,
        })
    }
}

impl TapApi for SimTapApi {
    fn tap(&self, _path: &str, request: TapByResourceRequest) -> TapReply {
        // The server has already checked that the path was built from this body.
        let session = match self.session(&request) {
            Ok(session) => session,
            Err(reply) => return reply,
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return TapReply::TapServerError {
                code: 500,
                error: "the simulated tap server has no async runtime".into(),
            };
        };
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        runtime.spawn(run(session, tx));
        TapReply::Stream(rx)
    }

    fn pods(&self, namespace: &str) -> Vec<serde_json::Value> {
        super::pods::mesh_pods(&self.mesh, namespace)
    }
}

/// Feeds one tap until its receiver goes away.
async fn run(mut session: Session, tx: mpsc::Sender<Bytes>) {
    let mut ticks = tokio::time::interval(Duration::from_nanos(TICK_NS));
    // After a stall, carry on at the normal pace rather than bursting to catch up.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut buf = BytesMut::new();
    loop {
        tokio::select! {
            () = tx.closed() => return,
            _ = ticks.tick() => {}
        }
        session.advance(session.step(TICK_NS), &mut buf);
        if buf.is_empty() {
            continue;
        }
        if tx.send(buf.split().freeze()).await.is_err() {
            return;
        }
    }
}
