//! A window of counter increases: one [`Delta`] per series, with the labels the proxy gave it
//! plus the pod's own (`namespace`, `pod`, `deployment`), as Linkerd's Prometheus attaches them.

use std::collections::BTreeMap;

use crate::promtext::Exposition;

/// How much one series grew over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Delta {
    /// A label's value; absent labels read as "" (as in `PromQL`).
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }
}

/// Increases over `seconds`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    pub seconds: f64,
    pub deltas: Vec<Delta>,
}

/// A series by name and sorted labels.
type SeriesKey<'a> = (&'a str, Vec<(String, String)>);

/// Counters and the parts of histograms that only grow.
fn is_cumulative(name: &str) -> bool {
    ["_total", "_bucket", "_count", "_sum"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

impl Window {
    pub fn new(seconds: f64) -> Self {
        Self {
            seconds,
            deltas: Vec::new(),
        }
    }

    /// Adds the increases between two scrapes of one pod, each series tagged with `pod_labels`.
    /// A series missing from `before` began inside the window (counters start at zero); one that
    /// went down was reset (the proxy restarted), so its whole new value counts, as `PromQL`'s
    /// `increase` treats a reset. Only `families` are kept.
    pub fn add_scrapes(
        &mut self,
        pod_labels: &[(String, String)],
        before: Option<&Exposition>,
        after: &Exposition,
        families: &[String],
    ) {
        let key = |labels: &[(String, String)]| {
            let mut sorted: Vec<(String, String)> = labels.to_vec();
            sorted.sort();
            sorted
        };
        let mut earlier: BTreeMap<SeriesKey<'_>, f64> = BTreeMap::new();
        if let Some(before) = before {
            for sample in &before.samples {
                earlier.insert((sample.name.as_str(), key(&sample.labels)), sample.value);
            }
        }
        for sample in &after.samples {
            if !is_cumulative(&sample.name) || !families.contains(&sample.name) {
                continue;
            }
            let was = earlier
                .get(&(sample.name.as_str(), key(&sample.labels)))
                .copied();
            let value = match was {
                Some(was) if sample.value >= was => sample.value - was,
                _ => sample.value,
            };
            if !value.is_finite() || value <= 0.0 {
                continue;
            }
            let mut labels: BTreeMap<String, String> = sample.labels.iter().cloned().collect();
            for (k, v) in pod_labels {
                labels.insert(k.clone(), v.clone());
            }
            self.deltas.push(Delta {
                name: sample.name.clone(),
                labels,
                value,
            });
        }
    }

    /// The deltas of family `name`.
    pub fn family<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Delta> + 'a {
        self.deltas.iter().filter(move |d| d.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promtext::parse;

    #[test]
    fn differences_new_and_reset_series() {
        let before = parse("a_total{x=\"1\"} 10\na_total{x=\"2\"} 50\ng 3\n").expect("parses");
        let after = parse("a_total{x=\"1\"} 14\na_total{x=\"2\"} 5\na_total{x=\"3\"} 2\ng 9\n")
            .expect("parses");
        let mut w = Window::new(10.0);
        let pod = [("pod".to_owned(), "p-1".to_owned())];
        let families = ["a_total".to_owned(), "g".to_owned()];
        w.add_scrapes(&pod, Some(&before), &after, &families);
        let got: Vec<(&str, f64)> = w.deltas.iter().map(|d| (d.label("x"), d.value)).collect();
        // x=1 grew by 4, x=2 was reset (its new value counts), x=3 is new; the gauge is skipped.
        assert_eq!(got, [("1", 4.0), ("2", 5.0), ("3", 2.0)]);
        assert!(w.deltas.iter().all(|d| d.label("pod") == "p-1"));
    }

    #[test]
    fn unchanged_series_add_nothing() {
        let text = "a_total{x=\"1\"} 10\n";
        let exp = parse(text).expect("parses");
        let mut w = Window::new(10.0);
        w.add_scrapes(&[], Some(&exp), &exp, &["a_total".to_owned()]);
        assert!(w.deltas.is_empty());
    }
}
