//! The session: the vocabulary every part of meshtap shares (what sources send, stream states and
//! their error kinds, tap commands, what is known about the session, the clock, the redactor),
//! above the model and below every source, sink and screen.

pub mod clock;
pub mod error;
pub mod msg;
pub mod redact;

pub use clock::{Clock, ClockKind};
pub use error::{ErrorKind, StreamError};
pub use msg::{
    BATCH_MAX_EVENTS, HttpMatch, SOURCE_CHANNEL_BATCHES, SessionInfo, SourceMsg, StreamState,
    TapCommand,
};
pub use redact::{REDACTED, Redactor, SENSITIVE_HEADERS};
