//! The generated Linkerd tap API messages. Only `source/` and the demo server name these types.

#[allow(clippy::all, clippy::pedantic, reason = "generated code")]
pub mod linkerd2 {
    pub mod common {
        pub mod net {
            include!(concat!(env!("OUT_DIR"), "/linkerd2.common.net.rs"));
        }
    }
    pub mod viz {
        include!(concat!(env!("OUT_DIR"), "/linkerd2.viz.rs"));
    }
    pub mod tap {
        include!(concat!(env!("OUT_DIR"), "/linkerd2.tap.rs"));
    }
}

pub use linkerd2::{common::net, tap, viz};
