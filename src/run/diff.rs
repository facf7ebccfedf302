//! `meshtap diff A B`: each capture read to its end into a side of the diff, the two compared,
//! the report printed (text, JSON or Markdown), and `--fail-on` turned into the exit code.

use std::io::Write as _;
use std::process::ExitCode;

use super::load::Loaded;
use crate::cli::{DiffArgs, DiffOutput};
use crate::diff::{Side, compare, render};
use crate::pipeline::segments::read::Range;

pub async fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let b_path = args.b.clone().unwrap_or_else(|| args.a.clone());
    let a_range = Range {
        from: args.a_from,
        until: args.a_until,
    };
    let b_range = Range {
        from: args.b_from,
        until: args.b_until,
    };
    anyhow::ensure!(
        args.b.is_some() || a_range != b_range,
        "give a second capture B, or two ranges of one recording (--a-until/--b-from …)"
    );
    let a = side(&args.a, a_range).await?;
    let b = side(&b_path, b_range).await?;
    let diff = compare(&a, &b);
    let text = match args.output {
        DiffOutput::Text => escape_lines(&render::text(&diff)),
        DiffOutput::Markdown => escape_lines(&render::markdown(&diff)),
        DiffOutput::Json => {
            // Compact, through the escaping serializer: a captured name stays data.
            let mut json = Vec::new();
            crate::terminal::to_json_writer(&mut json, &diff)?;
            json.push(b'\n');
            String::from_utf8(json)?
        }
    };
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            anyhow::bail!("writing to stdout: {e}")
        }
        _ => {}
    }
    let Some(gate) = &args.fail_on else {
        return Ok(ExitCode::SUCCESS);
    };
    let breaches = gate.breaches(&diff);
    if breaches.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "meshtap: --fail-on {gate}: {} breach(es)",
        breaches.len()
    )?;
    for breach in breaches {
        writeln!(err, "  {}", crate::terminal::escape(&breach))?;
    }
    Ok(ExitCode::FAILURE)
}

/// One capture read into a side; its warnings go to stderr.
pub async fn side(path: &std::path::Path, range: Range) -> anyhow::Result<Side> {
    let (side, loaded) = read(path, range).await?;
    let name = crate::terminal::escape(&side.name).into_owned();
    for warning in &loaded.warnings {
        eprintln!(
            "meshtap: {name}: {} (skipped)",
            crate::terminal::escape(warning)
        );
    }
    if loaded.more_warnings > 0 {
        eprintln!("meshtap: {name}: {} more warnings", loaded.more_warnings);
    }
    nonempty(side, range)
}

/// One whole capture read into a side with nothing printed (the UI's `:diff`, where stderr is
/// the screen's): its warnings are left out.
pub async fn side_quietly(path: &std::path::Path) -> anyhow::Result<Side> {
    let (side, _) = read(path, Range::default()).await?;
    nonempty(side, Range::default())
}

async fn read(path: &std::path::Path, range: Range) -> anyhow::Result<(Side, Loaded)> {
    let mut side = Side::new(crate::source::replay::display_name(path));
    let loaded = super::load::load(path, range, |request| side.record(request)).await?;
    side.sampling.clone_from(&loaded.sampling);
    Ok((side, loaded))
}

fn nonempty(side: Side, range: Range) -> anyhow::Result<Side> {
    anyhow::ensure!(
        side.requests > 0,
        "{}: no finished request to compare{}",
        crate::terminal::escape(&side.name),
        if range == Range::default() {
            ""
        } else {
            " in the time range"
        }
    );
    Ok(side)
}

/// Every line through the one escaping rule: captured names reach the terminal as text.
fn escape_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(&crate::terminal::escape(line));
        out.push('\n');
    }
    out
}
