//! `--fail-on`: the conditions under which a diff fails a CI job. A latency or success-rate
//! condition counts only changes beyond noise, so a gate does not flap on a sample's wobble.
//!
//! ```text
//! p99>+20%        a route's p99 rose more than 20 %      (p50, p95 likewise; `<-N%` for a drop)
//! sr<-1%          a route's success rate fell more than 1 percentage point
//! requests<-50%   a route's request count fell more than half
//! new-plaintext   an edge carries plaintext it did not
//! identity-changed, new-denials, new-routes, vanished-routes
//! ```

use std::fmt;

use super::compare::{Diff, EdgeChangeKind, Presence, RouteDiff};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Metric {
    P50,
    P95,
    P99,
    SuccessRate,
    Requests,
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::SuccessRate => "sr",
            Metric::Requests => "requests",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Condition {
    /// `metric > +limit` (rise) or `metric < -limit` (drop), `limit` in percent (points for sr).
    Threshold {
        metric: Metric,
        rise: bool,
        limit: f64,
    },
    Edge(EdgeChangeKind),
    Routes(Presence),
}

/// A parsed `--fail-on`: every condition, any of which fails the diff.
#[derive(Clone, Debug, PartialEq)]
pub struct Gate {
    text: String,
    conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--fail-on {text:?}: {why} (expected e.g. `p99>+20%`, `sr<-1%`, `requests<-50%`, \
     `new-plaintext`, `identity-changed`, `new-denials`, `new-routes`, `vanished-routes`)"
)]
pub struct GateError {
    text: String,
    why: String,
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Gate {
    /// Parses conditions separated by commas.
    pub fn parse(text: &str) -> Result<Self, GateError> {
        let error = |why: String| GateError {
            text: text.to_owned(),
            why,
        };
        let mut conditions = Vec::new();
        for part in text.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(error("an empty condition".to_owned()));
            }
            conditions.push(condition(part).map_err(error)?);
        }
        Ok(Self {
            text: text.to_owned(),
            conditions,
        })
    }

    /// Why `diff` fails this gate, one line per breach; empty when it passes.
    pub fn breaches(&self, diff: &Diff) -> Vec<String> {
        let mut out = Vec::new();
        for condition in &self.conditions {
            match *condition {
                Condition::Threshold {
                    metric,
                    rise,
                    limit,
                } => {
                    for route in &diff.routes {
                        if let Some((value, unit)) = breach(route, metric, rise, limit) {
                            out.push(format!(
                                "{}: {} {value:+.1}{unit} (limit {}{limit}{unit})",
                                route.label(),
                                metric.name(),
                                if rise { "+" } else { "-" },
                            ));
                        }
                    }
                }
                Condition::Edge(kind) => {
                    for edge in diff.edges.iter().filter(|e| e.kind == kind) {
                        out.push(format!(
                            "{} → {}: {}",
                            edge.client, edge.server, edge.detail
                        ));
                    }
                }
                Condition::Routes(presence) => {
                    for route in diff.routes.iter().filter(|r| r.presence == presence) {
                        let word = if presence == Presence::New {
                            "new"
                        } else {
                            "vanished"
                        };
                        out.push(format!("{}: {word} route", route.label()));
                    }
                }
            }
        }
        out
    }
}

/// The change of `metric` on `route` when it crosses the limit beyond noise.
fn breach(
    route: &RouteDiff,
    metric: Metric,
    rise: bool,
    limit: f64,
) -> Option<(f64, &'static str)> {
    let (value, unit, significant) = match metric {
        Metric::P50 | Metric::P95 | Metric::P99 => {
            let change = match metric {
                Metric::P50 => route.p50,
                Metric::P95 => route.p95,
                _ => route.p99,
            }?;
            let significant = route.latency_test.is_some_and(|t| t.beyond_noise);
            (change.percent?, "%", significant)
        }
        Metric::SuccessRate => {
            let significant = route.success_test.is_some_and(|t| t.beyond_noise);
            (route.success_rate_points?, " points", significant)
        }
        Metric::Requests => {
            let (a, b) = (route.a.as_ref()?.requests, route.b.as_ref()?.requests);
            // A count has no sampling noise to test; small routes are left out as the tests
            // leave them out.
            let enough = a.max(b) >= super::rank::MIN_SAMPLES as u64;
            ((b as f64 - a as f64) / a as f64 * 100.0, "%", enough)
        }
    };
    let crossed = if rise { value > limit } else { value < -limit };
    (significant && crossed).then_some((value, unit))
}

fn condition(part: &str) -> Result<Condition, String> {
    match part {
        "new-plaintext" => return Ok(Condition::Edge(EdgeChangeKind::NewPlaintext)),
        "identity-changed" => return Ok(Condition::Edge(EdgeChangeKind::IdentityChanged)),
        "new-denials" => return Ok(Condition::Edge(EdgeChangeKind::NewDenials)),
        "new-routes" => return Ok(Condition::Routes(Presence::New)),
        "vanished-routes" => return Ok(Condition::Routes(Presence::Vanished)),
        _ => {}
    }
    let Some(at) = part.find(['>', '<']) else {
        return Err(format!("{part:?} is not a condition"));
    };
    let (name, rest) = part.split_at(at);
    let metric = match name.trim() {
        "p50" => Metric::P50,
        "p95" => Metric::P95,
        "p99" => Metric::P99,
        "sr" => Metric::SuccessRate,
        "requests" => Metric::Requests,
        other => return Err(format!("unknown figure {other:?}")),
    };
    let rise = rest.starts_with('>');
    let number = rest[1..].trim();
    let number = number
        .strip_suffix('%')
        .ok_or_else(|| format!("{part:?}: the limit is a percentage such as +20%"))?;
    let limit: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{part:?}: {number:?} is not a number"))?;
    if !limit.is_finite() {
        return Err(format!("{part:?}: {number:?} is not a number"));
    }
    // `p99>+20%` and `p99>20%` mean the same; `p99>-20%` (a rise of at least minus 20 %) is
    // almost surely a typo, so the sign must agree with the direction when given.
    if (rise && limit < 0.0) || (!rise && limit > 0.0 && number.trim_start().starts_with('+')) {
        return Err(format!(
            "{part:?}: `>` takes a rise (+N%), `<` a drop (-N%)"
        ));
    }
    Ok(Condition::Threshold {
        metric,
        rise,
        limit: limit.abs(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_parse_and_bad_ones_say_why() {
        let gate = Gate::parse("p99>+20%, sr<-1%,new-plaintext").expect("parses");
        assert_eq!(
            gate.conditions,
            vec![
                Condition::Threshold {
                    metric: Metric::P99,
                    rise: true,
                    limit: 20.0
                },
                Condition::Threshold {
                    metric: Metric::SuccessRate,
                    rise: false,
                    limit: 1.0
                },
                Condition::Edge(EdgeChangeKind::NewPlaintext),
            ]
        );
        for (bad, says) in [
            ("p98>+1%", "unknown figure"),
            ("p99>+20", "percentage"),
            ("p99>-20%", "a rise"),
            ("fast", "not a condition"),
            ("p99>+20%,", "empty"),
            ("p99>+x%", "not a number"),
        ] {
            let err = Gate::parse(bad).expect_err(bad).to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
