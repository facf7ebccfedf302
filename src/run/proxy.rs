//! `meshtap proxy ADDR`: one direct proxy tap, in the UI or headless like `meshtap tap`.

use std::process::ExitCode;

use tokio::sync::mpsc;

use crate::cli::ProxyArgs;
use crate::export::file::CaptureHeader;
use crate::session::{SOURCE_CHANNEL_BATCHES, SessionInfo};
use crate::source::proxy::{self, ProxySpec};

pub async fn run(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    // Headers are asked for only where they are shown or kept, as `linkerd viz tap` does.
    let headers = args
        .output
        .is_none_or(|o| o.wants_headers() || args.export.export.is_some());
    let spec = ProxySpec::from_args(&args, headers);
    // Unreadable certificates or a bad address are argument errors: report them before starting.
    let channel = spec.channel()?;
    let name = spec.display();
    let sampling = format!(
        "at most {} requests per 1-second window",
        proxy::window_limit(args.max_rps)
    );
    let (tx, rx) = mpsc::channel(SOURCE_CHANNEL_BATCHES);
    let task = tokio::spawn(proxy::tap(spec, channel, 0, !args.no_reconnect, tx));
    let redactor = super::redactor(args.no_redact, &args.redact_header);
    let result = if let Some(output) = args.output {
        let header = CaptureHeader {
            targets: vec![name.clone()],
            context: name.clone(),
            sampling,
            ..CaptureHeader::default()
        };
        super::headless::write_headless(rx, output, &[name], &redactor, &args.export, header, false)
            .await
            .map(|(code, _)| code)
    } else {
        let info = SessionInfo {
            context: name.clone(),
            targets: vec![name],
            sampling,
        };
        super::ui::open(rx, None, info, &args.ui, &args.export, redactor).await
    };
    task.abort();
    result
}
