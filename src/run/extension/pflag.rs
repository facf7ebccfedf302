//! Linkerd's side of the extension protocol is written in Go with pflag, and `linkerd check`
//! calls `linkerd-meshtap check` with every flag as `--NAME=VALUE`, exactly as pflag prints the
//! value: booleans as `--verbose=false`, durations as `--wait=5m0s`, a string array as
//! `--as-group=[a,b]` (always, `[]` when empty). This module reads that argv into the shape clap
//! parses, using clap's own description of the extension's flags, so the two never disagree.
//! Inside `check`, flags meshtap does not know are left out (Linkerd's EXTENSIONS.md asks
//! extensions to ignore them, so a newer Linkerd can add one) and named once on stderr.

use std::ffi::OsString;
use std::time::Duration;

use clap::{Arg, ArgAction, Command};

/// The subcommand whose unknown flags are ignored.
const LENIENT: &str = "check";

/// What [`normalize`] made of the argv.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Normalized {
    pub args: Vec<OsString>,
    /// Flags `check` was given that meshtap does not know, as written.
    pub ignored: Vec<String>,
}

/// Rewrites `args` (argv\[0\] first) for clap: a boolean flag with a value becomes the bare flag
/// (true) or nothing (false); `--as-group=[…]` becomes one `--as-group` per group; unknown
/// flags of `check` are dropped. Everything else passes unchanged, for clap to accept or refuse.
pub fn normalize(command: &Command, args: Vec<OsString>) -> Normalized {
    let mut out = Normalized::default();
    let mut args = args.into_iter();
    out.args.extend(args.next());
    let mut sub: Option<&Command> = None;
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str().map(str::to_owned) else {
            out.args.push(arg);
            continue;
        };
        if text == "--" {
            out.args.push(arg);
            out.args.extend(args.by_ref());
            break;
        }
        let lenient = sub.is_some_and(|s| s.get_name() == LENIENT);
        let flag = if let Some(long) = text.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            find(command, sub, |a| a.get_long() == Some(name))
                .map(|a| (a, value.map(str::to_owned), format!("--{name}")))
        } else if let Some(short) = text.strip_prefix('-').filter(|s| !s.is_empty()) {
            let mut chars = short.chars();
            let letter = chars.next();
            let rest = chars.as_str();
            let value = (!rest.is_empty()).then(|| rest.strip_prefix('=').unwrap_or(rest));
            letter
                .and_then(|c| find(command, sub, |a| a.get_short() == Some(c)))
                .map(|a| {
                    (
                        a,
                        value.map(str::to_owned),
                        format!("-{}", letter.unwrap_or('-')),
                    )
                })
        } else {
            // A positional: the first that names a subcommand opens it.
            if sub.is_none() {
                sub = command.find_subcommand(&text);
            }
            out.args.push(arg);
            continue;
        };
        let Some((def, value, spelled)) = flag else {
            if lenient {
                out.ignored.push(text);
            } else {
                out.args.push(arg);
            }
            continue;
        };
        if !def.get_action().takes_values() {
            match (def.get_action(), value.as_deref().map(go_bool)) {
                // `--verbose=false`: as if it were not given.
                (ArgAction::SetTrue, Some(Some(false))) => {}
                (ArgAction::SetTrue, Some(Some(true))) => out.args.push(spelled.into()),
                // Not a Go boolean: clap says what is wrong with it.
                _ => out.args.push(arg),
            }
            continue;
        }
        // The value follows as the next word when not given with `=` (`--as-group [a,b]` is
        // unusual but means the same); anything unreadable goes to clap as it came.
        let value = if let Some(value) = value {
            value
        } else {
            let Some(next) = args.next() else {
                out.args.push(arg);
                continue;
            };
            let Some(text) = next.to_str().map(str::to_owned) else {
                out.args.extend([arg, next]);
                continue;
            };
            text
        };
        let values = match def.get_long() {
            Some("as-group") => string_array(&value).unwrap_or_else(|| vec![value]),
            _ => vec![value],
        };
        // `--NAME=VALUE` even for a short flag: a value starting with `-` stays a value.
        let name = def.get_long().map_or(spelled, |long| format!("--{long}"));
        for value in values {
            out.args.push(format!("{name}={value}").into());
        }
    }
    out
}

/// The flag of the extension (or of the subcommand opened so far) that `wanted` picks.
fn find<'a>(
    command: &'a Command,
    sub: Option<&'a Command>,
    wanted: impl Fn(&Arg) -> bool,
) -> Option<&'a Arg> {
    sub.into_iter()
        .flat_map(Command::get_arguments)
        .chain(command.get_arguments())
        .find(|a| wanted(a))
}

/// A boolean as Go's `strconv.ParseBool` reads it.
pub fn go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// A pflag string array as it prints one: `[` + the values as one CSV record + `]`. `None`
/// when `text` is not in that shape (a plain group name).
pub fn string_array(text: &str) -> Option<Vec<String>> {
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    if inner.is_empty() {
        return Some(Vec::new());
    }
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = inner.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if at_start => quoted = true,
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
                continue;
            }
            c => field.push(c),
        }
        at_start = false;
    }
    if quoted {
        return None;
    }
    fields.push(field);
    Some(fields)
}

/// A duration as Go's `time.ParseDuration` reads it (`5m0s`, `1h30m`, `1.5s`, `300ms`, `0`):
/// what `linkerd check` passes as `--wait`.
pub fn go_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("expected a Go duration such as 5m0s, 30s or 1h, not {text:?}");
    let body = text.strip_prefix('+').unwrap_or(text);
    if body == "0" {
        return Ok(Duration::ZERO);
    }
    if body.is_empty() || body.starts_with('-') {
        return Err(bad());
    }
    let mut total = 0f64;
    let mut rest = body;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (number, tail) = rest.split_at(number_len);
        let number: f64 = number.parse().map_err(|_| bad())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let seconds = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * seconds;
        rest = tail;
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}
