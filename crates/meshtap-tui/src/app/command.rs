//! The `:` command line: `:ns NS`, `:target RES…`, `:to [RES]`, `:maxrps N`, `:export FILE [ARGS…]`,
//! `:filter EXPR`, `:tap [EXPR]`, `:trigger FILTER`, `:triggers [N]`, `:help`, `:q`.

use std::path::PathBuf;

/// A parsed command.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Namespace(String),
    Targets(Vec<String>),
    /// `None` clears `--to`.
    To(Option<String>),
    MaxRps(f32),
    Export {
        path: PathBuf,
        args: Vec<String>,
    },
    Filter(String),
    /// `:tap [EXPR]`: narrow the live tap itself (empty: capture everything again).
    Tap(String),
    /// `:trigger FILTER`: a flight-recorder trigger added live.
    Trigger(String),
    /// `:triggers [N]`: list the firings and jump to firing N's request (default: the latest).
    Triggers(Option<usize>),
    /// `:why`: per-pod tap health, why a target is silent or thin.
    Why,
    /// `:diff FILE`: the live capture compared with a saved one.
    Diff(PathBuf),
    Help,
    Quit,
}

/// Command names with their usage, for errors and completion hints.
pub const USAGE: &[(&str, &str)] = &[
    ("ns", ":ns NAMESPACE"),
    ("target", ":target RESOURCE…  (deploy/web, ns/shop)"),
    ("to", ":to [RESOURCE]  (no argument clears it)"),
    ("maxrps", ":maxrps N"),
    ("export", ":export FILE [ARGS…]"),
    ("filter", ":filter EXPR"),
    (
        "tap",
        ":tap [method= path~ authority= scheme= to=]  (narrows the capture; alone: all again)",
    ),
    ("trigger", ":trigger FILTER"),
    ("triggers", ":triggers [N]"),
    ("why", ":why  (why a tap is silent or thin, per pod)"),
    ("diff", ":diff FILE  (the live capture against a saved one)"),
    ("help", ":help"),
    ("q", ":q"),
];

/// Parses the text typed after `:`.
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let (name, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let args: Vec<&str> = rest.split_whitespace().collect();
    let usage = |name: &str| {
        USAGE
            .iter()
            .find(|(n, _)| *n == name)
            .map_or_else(String::new, |(_, u)| format!("usage: {u}"))
    };
    match name {
        "" => Err("empty command".to_owned()),
        "q" | "q!" | "quit" | "qa" => Ok(Command::Quit),
        "help" | "h" => Ok(Command::Help),
        "why" => Ok(Command::Why),
        "diff" => match args.as_slice() {
            [path] => Ok(Command::Diff(PathBuf::from(path))),
            _ => Err(usage("diff")),
        },
        "ns" | "namespace" => match args.as_slice() {
            [ns] => Ok(Command::Namespace((*ns).to_owned())),
            _ => Err(usage("ns")),
        },
        "target" | "targets" => {
            if args.is_empty() {
                Err(usage("target"))
            } else {
                Ok(Command::Targets(
                    args.iter().map(|a| (*a).to_owned()).collect(),
                ))
            }
        }
        "to" => match args.as_slice() {
            [] => Ok(Command::To(None)),
            [to] => Ok(Command::To(Some((*to).to_owned()))),
            _ => Err(usage("to")),
        },
        "maxrps" | "max-rps" => match args.as_slice() {
            [n] => match n.parse::<f32>() {
                Ok(rps) if rps.is_finite() && rps >= 0.0 => Ok(Command::MaxRps(rps)),
                _ => Err(format!("not a rate: {n:?}; {}", usage("maxrps"))),
            },
            _ => Err(usage("maxrps")),
        },
        "export" | "w" => match args.split_first() {
            Some((path, args)) => Ok(Command::Export {
                path: PathBuf::from(path),
                args: args.iter().map(|a| (*a).to_owned()).collect(),
            }),
            None => Err(usage("export")),
        },
        "filter" => Ok(Command::Filter(rest.to_owned())),
        "tap" => Ok(Command::Tap(rest.to_owned())),
        "trigger" if !rest.is_empty() => Ok(Command::Trigger(rest.to_owned())),
        "trigger" => Err(usage("trigger")),
        "triggers" => match args.as_slice() {
            [] => Ok(Command::Triggers(None)),
            [n] => n
                .parse()
                .map(|n| Command::Triggers(Some(n)))
                .map_err(|_| usage("triggers")),
            _ => Err(usage("triggers")),
        },
        other => Err(format!(
            "unknown command :{other} (try {})",
            USAGE
                .iter()
                .map(|(n, _)| format!(":{n}"))
                .collect::<Vec<_>>()
                .join(" ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(parse("q"), Ok(Command::Quit));
        assert_eq!(parse(" ns shop "), Ok(Command::Namespace("shop".into())));
        assert_eq!(
            parse("target deploy/a deploy/b"),
            Ok(Command::Targets(vec!["deploy/a".into(), "deploy/b".into()]))
        );
        assert_eq!(parse("to"), Ok(Command::To(None)));
        assert_eq!(
            parse("to deploy/y"),
            Ok(Command::To(Some("deploy/y".into())))
        );
        assert_eq!(parse("maxrps 2.5"), Ok(Command::MaxRps(2.5)));
        assert_eq!(parse("diff a.ndjson"), Ok(Command::Diff("a.ndjson".into())));
        assert!(parse("diff").is_err_and(|e| e.contains("usage: :diff FILE")));
        assert_eq!(
            parse("export out.json --format har"),
            Ok(Command::Export {
                path: "out.json".into(),
                args: vec!["--format".into(), "har".into()]
            })
        );
        assert_eq!(
            parse("filter status=5xx and ns=shop"),
            Ok(Command::Filter("status=5xx and ns=shop".into()))
        );
    }

    #[test]
    fn bad_commands_explain_themselves() {
        assert!(parse("maxrps fast").is_err_and(|e| e.contains("not a rate")));
        assert!(parse("maxrps -1").is_err());
        assert!(parse("ns").is_err_and(|e| e.contains("usage: :ns")));
        assert!(parse("launch").is_err_and(|e| e.contains("unknown command")));
        assert!(parse("").is_err());
    }
}
