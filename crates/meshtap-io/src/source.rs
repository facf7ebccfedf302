//! Sources of tap events. Wire types stop here: sources send owned `TapEvent`s in batches over a
//! bounded channel to the one task that owns all state.

pub mod backoff;
pub mod cluster;
pub mod decode;
pub mod denials_poll;
pub mod frames;
pub mod live;
pub mod metrics;
pub mod metrics_merge;
pub mod metrics_poll;
pub mod pods;
pub mod policy;
pub mod proxy;
pub mod proxy_metrics;
pub mod reconnect;
pub mod replay;
pub mod target;
pub mod wire;
