//! The tap command that would catch a request again: `meshtap tap`, with the same words for
//! `linkerd viz tap` on a comment line.

use super::shell::quote;
use super::{Copied, CopyError};
use crate::model::event::Direction;
use crate::model::request::{Request, workload};

/// `meshtap tap TARGET -n NS [--to RES [--to-namespace NS]] [--method M] [--path P]`, a value
/// starting with `-` attached as `--flag=VALUE`.
///
/// The target is the source's workload when its proxy reports outbound traffic (an outbound
/// event, or an inbound one whose client presented an identity), with `--to` the destination;
/// otherwise the destination's workload, whose inbound side saw the request.
pub fn render(request: &Request) -> Result<Copied, CopyError> {
    let source_meshed = match request.direction() {
        Direction::Outbound => true,
        Direction::Inbound => request
            .source
            .labels
            .get("client_id")
            .is_some_and(|id| !id.is_empty()),
        Direction::Unknown => false,
    };
    let source = workload(&request.source).filter(|_| source_meshed);
    let destination = workload(&request.destination);
    let (target, to) = match (source, destination) {
        (Some(source), destination) => (source, destination),
        (None, Some(destination)) => (destination, None),
        (None, None) => return Err(CopyError::NoTarget),
    };
    let mut words = Vec::new();
    let mut push = |flag: &str, value: &str| {
        if flag.is_empty() {
            words.push(quote(value.as_bytes()));
        } else if value.starts_with('-') {
            // Attached, so that a captured `--on-trigger=…` stays the flag's value (clap and
            // Linkerd's pflag both read `--flag=VALUE`).
            words.push(format!("{flag}={}", quote(value.as_bytes())));
        } else {
            words.push(flag.to_owned());
            words.push(quote(value.as_bytes()));
        }
    };
    let (namespace, kind, name) = target;
    push("", &format!("{kind}/{name}"));
    if !namespace.is_empty() {
        push("-n", namespace);
    }
    if let Some((to_namespace, kind, name)) = to {
        push("--to", &format!("{kind}/{name}"));
        if !to_namespace.is_empty() && to_namespace != namespace {
            push("--to-namespace", to_namespace);
        }
    }
    let mut notes = Vec::new();
    if let Some(init) = &request.init {
        if let Some(method) = init.method.as_deref() {
            push("--method", method);
        }
        // Linkerd matches a path prefix, and never the query.
        let path = init
            .path
            .split_once('?')
            .map_or(&*init.path, |(path, _)| path);
        if !path.is_empty() {
            push("--path", path);
        }
        notes.push("--path matches a prefix: longer paths are caught too".to_owned());
    } else {
        notes.push("no method or path: the tap began after this request did".to_owned());
    }
    if source.is_some() && to.is_none() {
        notes.push("the destination names no workload: no --to".to_owned());
    }
    let args = words.join(" ");
    let text = format!("# linkerd viz tap {args}\nmeshtap tap {args}\n");
    Ok(Copied { text, notes })
}
