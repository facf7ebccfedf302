//! Writes the text format: family headers and sample lines with label values escaped, so that
//! [`super::parse`] (and Prometheus) read back exactly what was written.

use std::fmt::Write as _;

use super::MetricType;

/// `# HELP` and `# TYPE` for a family.
pub fn header(out: &mut String, name: &str, kind: MetricType, help: &str) {
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {}", kind.as_str());
}

/// One sample line, labels in the order given.
pub fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (key, val)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push_str("=\"");
            escape_value(out, val);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    push_value(out, value);
    out.push('\n');
}

fn escape_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
}

/// Integers without a fraction (counters), `+Inf`/`-Inf`/`NaN` as Prometheus spells them.
pub fn push_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 && value.is_sign_positive() {
        let _ = write!(out, "{}", value as i64);
    } else {
        let _ = write!(out, "{value}");
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::parse;
    use super::*;

    #[test]
    fn writes_what_prometheus_expects() {
        let mut out = String::new();
        header(
            &mut out,
            "m_total",
            MetricType::Counter,
            "Counts \\ things\nhere.",
        );
        sample(&mut out, "m_total", &[("a", "x\"y\\z\n")], 3.0);
        sample(&mut out, "m_bucket", &[("le", "+Inf")], f64::INFINITY);
        sample(&mut out, "m_sum", &[], 0.25);
        assert_eq!(
            out,
            "# HELP m_total Counts \\\\ things\\nhere.\n# TYPE m_total counter\n\
             m_total{a=\"x\\\"y\\\\z\\n\"} 3\nm_bucket{le=\"+Inf\"} +Inf\nm_sum 0.25\n"
        );
    }

    proptest! {
        /// Whatever label values and numbers go in, the parser reads the same back.
        #[test]
        fn round_trips(
            values in proptest::collection::vec(any::<String>(), 0..4),
            value in prop_oneof![any::<f64>().prop_filter("not NaN", |v| !v.is_nan()), Just(f64::INFINITY)],
        ) {
            let keys = ["a", "b_2", "_c", "dd"];
            let labels: Vec<(&str, &str)> =
                keys.iter().copied().zip(values.iter().map(String::as_str)).collect();
            let mut out = String::new();
            sample(&mut out, "x:y_total", &labels, value);
            let exp = parse(&out).expect("parses what was written");
            let back = &exp.samples[0];
            let got: Vec<(&str, &str)> =
                back.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            prop_assert_eq!(got, labels);
            prop_assert_eq!(back.value.to_bits(), value.to_bits());
        }
    }
}
