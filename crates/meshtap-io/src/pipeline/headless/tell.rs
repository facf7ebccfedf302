//! Tap health on stderr: when a target stays silent or thin (or its tap fails), its per-pod
//! causes and fixes, once per target.

use std::io::{self, Write};

use chrono::{DateTime, Utc};

use crate::health::HealthBook;
use crate::terminal::escape;

/// Writes every target whose trouble is due and not yet told, unless `explain` is off
/// (`--quiet`).
pub fn due(
    err: &mut impl Write,
    health: &mut HealthBook,
    explain: bool,
    now: DateTime<Utc>,
) -> io::Result<()> {
    if !explain {
        return Ok(());
    }
    for target in health.take_due(now) {
        let mut lines = target.lines().into_iter();
        if let Some(first) = lines.next() {
            writeln!(err, "meshtap: why: {}", escape(&first))?;
        }
        for line in lines {
            writeln!(err, "{}", escape(&line))?;
        }
    }
    Ok(())
}
