//! How a session is told to stop from outside. Ctrl-C (SIGINT), SIGTERM (`timeout`, a pod being
//! stopped, systemd) and SIGHUP (the terminal went away) all end it the same way: the sink stops,
//! then the export, the recordings and the trigger files are written and the demo's private
//! directory is removed. A second signal while that runs exits at once (status 130): the user has
//! chosen not to wait.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// Exit status after a second signal: 128 + SIGINT, as shells report an interrupted command.
pub const FORCED_EXIT: i32 = 130;

/// The stop signals of this process, counted.
#[derive(Clone, Debug)]
pub struct Shutdown {
    signals: watch::Receiver<u32>,
}

impl Shutdown {
    /// Starts listening (inside the runtime). From now on the signals no longer kill the process:
    /// the first asks the session to stop, the second exits.
    pub fn install() -> std::io::Result<Self> {
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let mut hangup = signal(SignalKind::hangup())?;
        let (tx, signals) = watch::channel(0u32);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                    _ = hangup.recv() => {}
                }
                let seen = *tx.borrow() + 1;
                if seen > 1 {
                    eprintln!(
                        "meshtap: stopped at once (a second signal); what was not yet written is lost"
                    );
                    std::process::exit(FORCED_EXIT);
                }
                tx.send_replace(seen);
            }
        });
        Ok(Self { signals })
    }

    /// Completes when the first stop signal has arrived (at once if it already has).
    pub async fn requested(&self) {
        let mut signals = self.signals.clone();
        // The sender lives as long as the listening task, i.e. the runtime.
        let _ = signals.wait_for(|seen| *seen > 0).await;
    }
}
