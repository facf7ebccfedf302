//! Whether the outcome counts as a failure by Linkerd's rule: HTTP 5xx, a reset stream, or a
//! gRPC status the proxy classifies as a failure (`Request::success`).

use super::{Statement, Topic};
use crate::model::event::{Eos, grpc_code_name};
use crate::model::request::{Request, is_grpc_failure};

pub(super) fn outcome(request: &Request, out: &mut Vec<Statement>) {
    let status = request.http_status();
    let status_cite = status.map(|s| format!("status={s}"));
    let (text, cites): (String, Vec<String>) = match request.eos() {
        Some(Eos::Reset(code)) => (
            format!("The stream was reset (HTTP/2 error code {code}): Linkerd counts it as a failure."),
            vec![format!("reset_code={code}")],
        ),
        Some(Eos::Grpc(code)) => {
            let name = grpc_code_name(code).map_or_else(|| format!("Code({code})"), str::to_owned);
            let verdict = if is_grpc_failure(code) {
                "a failure"
            } else if code == 0 {
                "a success"
            } else {
                "not a failure: current proxies count only Unknown, DeadlineExceeded, Internal, \
                 Unavailable and DataLoss (older ones counted every status but OK)"
            };
            let mut cites = vec![format!("grpc_status={code}")];
            cites.extend(status_cite.clone());
            let http = match status {
                Some(s) if s >= 500 => format!("; the HTTP status {s} is a failure too"),
                _ => String::new(),
            };
            (format!("gRPC status {name}: {verdict}{http}."), cites)
        }
        None if request.end.is_some() => match status {
            Some(s) if s >= 500 => (format!("HTTP {s}: a server error, which Linkerd counts as a failure."), vec![format!("status={s}")]),
            Some(s) => (format!("HTTP {s}: below 500, so Linkerd counts it as a success."), vec![format!("status={s}")]),
            None => ("The stream ended without a response status.".to_owned(), vec!["status (absent)".to_owned()]),
        },
        None => match (status, request.expired) {
            (Some(s), _) if s >= 500 => (format!("HTTP {s}: a failure, whatever the end brings."), vec![format!("status={s}")]),
            _ if request.superseded => (
                "A newer request took its stream id before its end arrived: its outcome is unknown."
                    .to_owned(),
                vec!["phase=superseded".to_owned()],
            ),
            (_, true) => (
                "No end arrived in time: meshtap counts the request as failed.".to_owned(),
                vec!["phase=expired".to_owned()],
            ),
            _ => (
                "Not finished: the outcome is not known yet.".to_owned(),
                vec![format!("phase={}", if status.is_some() { "streaming" } else { "waiting" })],
            ),
        },
    };
    out.push(Statement::new(Topic::Outcome, text, cites));
}
