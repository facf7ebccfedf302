//! `meshtap proxy ADDR`: one direct proxy tap, into the UI or headless like `meshtap tap`.

use std::process::ExitCode;

use tokio::sync::mpsc;

use crate::cli::ProxyArgs;
use crate::pipeline::outputs::Outputs;
use crate::pipeline::{self, Source};
use crate::session::{SOURCE_CHANNEL_BATCHES, SessionInfo};
use crate::source::proxy::{self, ProxyMatch, ProxySpec, TlsFiles, Transport};

pub async fn session(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    let sink = super::sink(args.output, &args.ui)?;
    let outputs = Outputs::open(&args.session)?;
    // A direct tap is matched to routes only when the controller is named.
    let headers = sink.wants_headers(&args.session, args.policy.policy_api.is_some());
    let spec = proxy_spec(&args, headers);
    // Unreadable certificates or a bad address are argument errors: report them before starting.
    let channel = spec.channel()?;
    let name = spec.display();
    let info = SessionInfo {
        clusters: Vec::new(),
        context: name.clone(),
        targets: vec![name],
        sampling: format!(
            "at most {} requests per 1-second window",
            proxy::window_limit(args.max_rps)
        ),
    };
    let (tx, rx) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
    let mut source = Source::new(rx, info);
    // A direct tap is attributed like a cluster's when the controller is named.
    source.policy = super::policy_controller(&args.policy, None, None)?
        .into_iter()
        .collect();
    let reconnect = !args.no_reconnect;
    source
        .tasks
        .push(tokio::spawn(proxy::tap(spec, channel, 0, reconnect, tx)));
    pipeline::run_session(source, sink, outputs).await
}

/// The spec `meshtap proxy` flags describe; `headers` asks the proxy to extract headers.
pub fn proxy_spec(args: &ProxyArgs, headers: bool) -> ProxySpec {
    let transport = match &args.ca {
        Some(ca) if !args.plaintext => Transport::Tls(TlsFiles {
            ca: ca.clone(),
            client: args.cert.clone().zip(args.key.clone()),
            server_name: args.server_name.clone(),
        }),
        _ => Transport::Plaintext,
    };
    ProxySpec {
        addr: args.addr.clone(),
        transport,
        matches: ProxyMatch {
            http: args.http.to_match(),
            to_ports: args.to_port,
            to_net: args.to_net,
            destination_labels: args.to_labels.clone(),
            route_labels: args.route_labels.clone(),
        },
        max_rps: args.max_rps,
        extract_headers: headers,
    }
}
