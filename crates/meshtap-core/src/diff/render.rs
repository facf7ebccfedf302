//! A diff as text (a terminal, a log) or Markdown (a pull-request comment). JSON is the
//! serialized [`Diff`] itself. Captured names are written as they are; the caller escapes what
//! reaches a terminal, and Markdown cells are escaped here so a name cannot break the table.

use std::fmt::Write as _;

use super::compare::{Change, Diff, EdgeChangeKind, Presence, RouteDiff, RouteFigures};
use super::rank::{ProportionTest, RankTest};

fn kind_words(kind: EdgeChangeKind) -> &'static str {
    match kind {
        EdgeChangeKind::NewPlaintext => "new plaintext",
        EdgeChangeKind::IdentityChanged => "identity changed",
        EdgeChangeKind::NewDenials => "new denials",
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.2}%"))
}

fn p_value(p: f64) -> String {
    if p < 0.0001 {
        "p<0.0001".to_owned()
    } else {
        format!("p={p:.4}")
    }
}

fn verdict(beyond: bool) -> &'static str {
    if beyond {
        "beyond noise"
    } else {
        "within noise"
    }
}

fn rank_words(test: Option<RankTest>) -> String {
    match test {
        Some(t) => format!(
            "rank test {}, n={}/{}: {}",
            p_value(t.p_value),
            t.n_a,
            t.n_b,
            verdict(t.beyond_noise)
        ),
        None => "too few samples to test".to_owned(),
    }
}

fn proportion_words(test: Option<ProportionTest>) -> String {
    match test {
        Some(t) => format!(
            "z test {}, n={}/{}: {}",
            p_value(t.p_value),
            t.n_a,
            t.n_b,
            verdict(t.beyond_noise)
        ),
        None => "too few outcomes to test".to_owned(),
    }
}

fn change_words(name: &str, change: Option<Change>) -> String {
    match change {
        Some(c) => match c.percent {
            Some(p) => format!("{name} {:.1} → {:.1} ms ({p:+.1}%)", c.a_ms, c.b_ms),
            None => format!("{name} {:.1} → {:.1} ms", c.a_ms, c.b_ms),
        },
        None => format!("{name} –"),
    }
}

fn side_line(label: &str, s: &super::compare::SideSummary) -> String {
    let span = match (&s.first, &s.last) {
        (Some(first), Some(last)) => format!(", {first} – {last}"),
        _ => String::new(),
    };
    let sampling = if s.sampling.is_empty() {
        "sampling not recorded".to_owned()
    } else {
        format!("sampled: {}", s.sampling)
    };
    let overflow = if s.overflowed > 0 {
        format!(
            ", {} on routes past the table's bound not compared",
            s.overflowed
        )
    } else {
        String::new()
    };
    format!(
        "{label} {}: {} requests on {} routes{span} ({sampling}){overflow}",
        s.name, s.requests, s.routes
    )
}

/// What a line of the text report is, for a view to style it without reading its words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// A section heading or a route's first line.
    Heading,
    /// A change beyond noise, or an identity/TLS change.
    Notable,
    Plain,
}

/// The text report, one marked line at a time.
#[derive(Default)]
struct Lines(Vec<(Mark, String)>);

impl Lines {
    fn push(&mut self, mark: Mark, text: String) {
        self.0.push((mark, text));
    }

    fn plain(&mut self, text: String) {
        self.push(Mark::Plain, text);
    }
}

/// The plain-text report.
pub fn text(diff: &Diff) -> String {
    let mut out = String::new();
    for (_, line) in lines(diff) {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// The plain-text report as marked lines (empty strings between sections).
pub fn lines(diff: &Diff) -> Vec<(Mark, String)> {
    let mut out = Lines::default();
    out.plain(side_line("A", &diff.a));
    out.plain(side_line("B", &diff.b));
    out.plain(format!(
        "Changes are beyond noise when a two-sided test gives p < {} with at least {} samples a side.",
        diff.alpha, diff.min_samples
    ));
    let changed: Vec<&RouteDiff> = diff.routes.iter().filter(|r| r.changed()).collect();
    out.plain(String::new());
    out.push(
        Mark::Heading,
        format!("Routes changed: {} of {}", changed.len(), diff.routes.len()),
    );
    for route in changed {
        route_lines(route, &mut out);
    }
    out.plain(String::new());
    out.push(
        Mark::Heading,
        format!("Identity and TLS changes: {}", diff.edges.len()),
    );
    for edge in &diff.edges {
        out.push(
            Mark::Notable,
            format!(
                "! {}: {} → {} ({}): {}",
                kind_words(edge.kind),
                edge.client,
                edge.server,
                edge.direction,
                edge.detail
            ),
        );
    }
    out.0
}

/// One changed route: its name, then its figures, each test's line marked when beyond noise.
fn route_lines(route: &RouteDiff, out: &mut Lines) {
    let mark = match route.presence {
        Presence::Both => "~",
        Presence::New => "+",
        Presence::Vanished => "-",
    };
    out.push(
        Mark::Heading,
        format!("{mark} {} ({})", route.label(), route.namespace),
    );
    let (a, b) = (route.a.as_ref(), route.b.as_ref());
    match route.presence {
        Presence::New => return out.plain(format!("    new: {}", figures_words(b))),
        Presence::Vanished => return out.plain(format!("    vanished: {}", figures_words(a))),
        Presence::Both => {}
    }
    let beyond = |yes: bool| if yes { Mark::Notable } else { Mark::Plain };
    out.plain(format!(
        "    requests {} → {}",
        a.map_or(0, |f| f.requests),
        b.map_or(0, |f| f.requests)
    ));
    let points = route
        .success_rate_points
        .map_or_else(String::new, |p| format!(" ({p:+.2} points)"));
    out.push(
        beyond(route.success_test.is_some_and(|t| t.beyond_noise)),
        format!(
            "    success  {} → {}{points}; {}",
            pct(a.and_then(|f| f.success_rate)),
            pct(b.and_then(|f| f.success_rate)),
            proportion_words(route.success_test)
        ),
    );
    out.push(
        beyond(route.latency_test.is_some_and(|t| t.beyond_noise)),
        format!(
            "    latency  {}, {}, {}; {}",
            change_words("p50", route.p50),
            change_words("p95", route.p95),
            change_words("p99", route.p99),
            rank_words(route.latency_test)
        ),
    );
    for (label, new, gone) in [
        ("statuses", &route.new_statuses, &route.vanished_statuses),
        ("callers ", &route.new_callers, &route.vanished_callers),
    ] {
        if !new.is_empty() || !gone.is_empty() {
            out.plain(format!(
                "    {label} new: {}; vanished: {}",
                list(new),
                list(gone)
            ));
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

fn figures_words(f: Option<&RouteFigures>) -> String {
    match f {
        Some(f) => format!(
            "{} requests, success {}, p50 {} ms, p99 {} ms",
            f.requests,
            pct(f.success_rate),
            ms(f.p50_ms),
            ms(f.p99_ms)
        ),
        None => "–".to_owned(),
    }
}

/// `text` safe inside a Markdown table cell: the characters that would end the cell, start
/// markup or HTML are backslash-escaped (`CommonMark` allows it for any ASCII punctuation), and
/// line breaks become spaces.
pub fn md_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '!' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn md_change(change: Option<Change>) -> String {
    match change {
        Some(Change {
            a_ms,
            b_ms,
            percent: Some(p),
        }) => format!("{a_ms:.1} → {b_ms:.1} ms ({p:+.1}%)"),
        Some(c) => format!("{:.1} → {:.1} ms", c.a_ms, c.b_ms),
        None => "–".to_owned(),
    }
}

fn md_route_row(out: &mut String, route: &RouteDiff) {
    let (a, b) = (route.a.as_ref(), route.b.as_ref());
    let requests = format!(
        "{} → {}",
        a.map_or_else(|| "–".to_owned(), |f| f.requests.to_string()),
        b.map_or_else(|| "–".to_owned(), |f| f.requests.to_string())
    );
    let success = format!(
        "{} → {}",
        pct(a.and_then(|f| f.success_rate)),
        pct(b.and_then(|f| f.success_rate))
    );
    let noise = match route.presence {
        Presence::New => "**new route**".to_owned(),
        Presence::Vanished => "**vanished**".to_owned(),
        Presence::Both => {
            let mut words = Vec::new();
            match route.latency_test {
                Some(t) if t.beyond_noise => words.push(format!(
                    "**latency beyond noise** ({}, n={}/{})",
                    p_value(t.p_value),
                    t.n_a,
                    t.n_b
                )),
                Some(t) => words.push(format!("latency within noise (n={}/{})", t.n_a, t.n_b)),
                None => words.push("too few samples".to_owned()),
            }
            if let Some(t) = route.success_test.filter(|t| t.beyond_noise) {
                words.push(format!("**success beyond noise** ({})", p_value(t.p_value)));
            }
            for (what, items) in [
                ("new status", &route.new_statuses),
                ("vanished status", &route.vanished_statuses),
                ("new caller", &route.new_callers),
                ("vanished caller", &route.vanished_callers),
            ] {
                if !items.is_empty() {
                    words.push(format!("{what}: {}", md_cell(&items.join(", "))));
                }
            }
            words.join("; ")
        }
    };
    let _ = writeln!(
        out,
        "| {} | {} | {requests} | {success} | {} | {} | {} | {noise} |",
        md_cell(&format!("{} {}", route.peer, route.route)),
        if route.direction == "inbound" {
            "in"
        } else {
            "out"
        },
        md_change(route.p50),
        md_change(route.p95),
        md_change(route.p99),
    );
}

const MD_HEADER: &str = "| Route | Side | Requests | Success | p50 | p95 | p99 | Verdict |\n\
                         |---|---|--:|--:|--:|--:|--:|---|\n";

/// The Markdown report, for a pull-request comment: the changed routes and the identity and
/// TLS changes as tables, the unchanged routes folded away.
pub fn markdown(diff: &Diff) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### meshtap diff: {} → {}\n",
        md_cell(&diff.a.name),
        md_cell(&diff.b.name)
    );
    let _ = writeln!(out, "- {}", md_cell(&side_line("A", &diff.a)));
    let _ = writeln!(out, "- {}", md_cell(&side_line("B", &diff.b)));
    let _ = writeln!(
        out,
        "- beyond noise: two-sided p < {} (Mann-Whitney rank test on latency, z test on success), at least {} samples a side\n",
        diff.alpha, diff.min_samples
    );
    let (changed, same): (Vec<&RouteDiff>, Vec<&RouteDiff>) =
        diff.routes.iter().partition(|r| r.changed());
    let _ = writeln!(
        out,
        "**Routes changed: {} of {}**\n",
        changed.len(),
        diff.routes.len()
    );
    if !changed.is_empty() {
        out.push_str(MD_HEADER);
        for route in &changed {
            md_route_row(&mut out, route);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "**Identity and TLS changes: {}**\n", diff.edges.len());
    if !diff.edges.is_empty() {
        out.push_str("| Change | Client | Server | Detail |\n|---|---|---|---|\n");
        for edge in &diff.edges {
            let _ = writeln!(
                out,
                "| **{}** | {} | {} | {} |",
                kind_words(edge.kind),
                md_cell(&edge.client),
                md_cell(&edge.server),
                md_cell(&edge.detail)
            );
        }
        out.push('\n');
    }
    if !same.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} routes within noise</summary>\n",
            same.len()
        );
        out.push_str(MD_HEADER);
        for route in &same {
            md_route_row(&mut out, route);
        }
        out.push_str("\n</details>\n");
    }
    out
}
