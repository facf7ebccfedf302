//! `meshtap advise authz`: a gathering session (like `map`: a cluster or the demo for `--for`,
//! or a replay to its end) whose summary is the Linkerd policy allowing the clients seen
//! (core `advise`); the YAML goes to stdout, each client it would deny to stderr too.

use std::process::ExitCode;

use super::map::{Gathered, gather};
use crate::cli::AuthzArgs;
use crate::pipeline::Sink;

pub async fn authz(args: AuthzArgs) -> anyhow::Result<ExitCode> {
    let spec = Gathered {
        tap: args.tap,
        session: args.session,
        demo: args.demo,
        replay: args.replay,
        // Policy from a few seconds of traffic would deny every rarer client: no default.
        duration: args.duration,
        timed: args.duration.is_some(),
    };
    Box::pin(gather(spec, Sink::Authz)).await
}
