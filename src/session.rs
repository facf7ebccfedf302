//! The session: the vocabulary every part of meshtap shares (what sources send, stream states and
//! their error kinds, tap commands, what is known about the session, metrics figures, the clock),
//! with no dependency on any source, sink or screen.

pub mod error;
pub mod figures;
pub mod msg;
pub mod size;

pub use error::{ErrorKind, StreamError};
pub use figures::{MetricsSnapshot, NamespacedRoute};
pub use msg::{
    BATCH_MAX_EVENTS, HttpMatch, SOURCE_CHANNEL_BATCHES, SessionInfo, SourceMsg, StreamState,
    TapCommand,
};
