//! Shared by the `meshtap proxy` tests: the demo's simulated proxies with client files, the spec
//! a command line gives, and runners that report what the source sent.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::time::Duration;

use clap::Parser as _;
use meshtap::cli::{Cli, Command};
use meshtap::demo::proxy_tap::{ClientFiles, ProxyTaps};
use meshtap::model::event::TapEvent;
use meshtap::session::{SourceMsg, StreamError, StreamState};
use meshtap::source::proxy::{self, ProxySpec};
use tokio::sync::mpsc;

/// A generous bound so a broken server fails the test instead of hanging it; never a threshold.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Fixture {
    pub taps: ProxyTaps,
    pub files: ClientFiles,
    _dir: tempfile::TempDir,
}

pub async fn fixture(rate: f64) -> Fixture {
    let taps = ProxyTaps::spawn(7, rate).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = taps.write_client_files(dir.path()).unwrap();
    Fixture {
        taps,
        files,
        _dir: dir,
    }
}

impl Fixture {
    /// `meshtap proxy ADDR --ca … --cert … --key … --server-name IDENTITY EXTRA…` for the first
    /// front-end pod, as in a cluster (by IP, naming the pod's identity); a flag in `extra`
    /// replaces the default one.
    pub fn spec(&self, extra: &[&str]) -> ProxySpec {
        let proxy = self.taps.find("front-end").unwrap();
        let addr = proxy.addr.to_string();
        let defaults = [
            ("--ca", self.files.ca.to_str().unwrap()),
            ("--cert", self.files.cert.to_str().unwrap()),
            ("--key", self.files.key.to_str().unwrap()),
            ("--server-name", proxy.identity.as_str()),
        ];
        let mut argv = vec!["meshtap", "proxy", &addr];
        for (flag, value) in defaults {
            if !extra.contains(&flag) {
                argv.extend_from_slice(&[flag, value]);
            }
        }
        argv.extend_from_slice(extra);
        parse(&argv)
    }
}

pub fn parse(argv: &[&str]) -> ProxySpec {
    let cli = Cli::try_parse_from(argv).unwrap();
    let Some(Command::Proxy(args)) = cli.command else {
        panic!("not a proxy command");
    };
    meshtap::proxy_spec(&args, args.output.is_none())
}

/// Runs the tap until `enough` says stop or the stream fails; returns the events and the
/// final failure, if any.
pub async fn collect(
    spec: ProxySpec,
    reconnect: bool,
    mut enough: impl FnMut(&[TapEvent]) -> bool,
) -> (Vec<TapEvent>, Option<StreamError>) {
    let channel = spec.channel().unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let task = tokio::spawn(proxy::tap(spec, channel, 0, reconnect, tx));
    let mut events = Vec::new();
    let mut failure = None;
    let run = async {
        while let Some(msg) = rx.recv().await {
            match msg {
                SourceMsg::Events(batch) => {
                    events.extend(batch);
                    if enough(&events) {
                        break;
                    }
                }
                SourceMsg::State {
                    state: StreamState::Failed(error),
                    ..
                } => {
                    failure = Some(error);
                    break;
                }
                _ => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, run).await.unwrap();
    task.abort();
    (events, failure)
}

/// Runs the tap (reconnecting as the UI does) until the proxy accepted the first Observe;
/// returns the state that says why not otherwise: `Failed`, or `Reconnecting` for a failure
/// that is retried.
pub async fn connect(spec: ProxySpec) -> Option<StreamState> {
    let channel = spec.channel().unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let task = tokio::spawn(proxy::tap(spec, channel, 0, true, tx));
    let wait = async {
        while let Some(msg) = rx.recv().await {
            match msg {
                SourceMsg::State {
                    state: StreamState::Connected,
                    ..
                } => return None,
                SourceMsg::State {
                    state: state @ (StreamState::Failed(_) | StreamState::Reconnecting { .. }),
                    ..
                } => return Some(state),
                _ => {}
            }
        }
        panic!("the source ended without a state");
    };
    let result = tokio::time::timeout(PATIENCE, wait).await.unwrap();
    task.abort();
    result
}
