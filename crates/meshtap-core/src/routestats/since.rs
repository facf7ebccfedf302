//! The refusal counters of a live session's pods since it started, from repeated scrapes of
//! each pod's proxy admin `/metrics`: a pod's first scrape is its baseline, each later scrape is
//! differenced against it. A counter that went down means the proxy restarted (its counters
//! began again at zero): what was counted before is carried and the baseline becomes zero, so
//! nothing counted is lost, as `PromQL`'s `increase` treats a reset. Pure: times are passed in.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::reading::Watched;
use super::{AUTHZ_DENY, Delta, ROUTE_NOT_FOUND, Window, inbound::workload_name};
use crate::promtext::Exposition;

/// Pods remembered at most: twice what one round scrapes, so pods that went away during the
/// session still count what they refused, within a bound. The least recently read go first.
pub const MAX_TRACKED_PODS: usize = 400;

/// The two families read: who was refused for want of an authorization, and for want of a
/// route.
pub const DENIAL_FAMILIES: [&str; 2] = [AUTHZ_DENY, ROUTE_NOT_FOUND];

/// A series by family name and sorted labels.
type SeriesKey = (String, Vec<(String, String)>);

#[derive(Debug, Clone, Copy, Default)]
struct Series {
    base: f64,
    last: f64,
    /// Counted before the proxy's last restart.
    carried: f64,
}

impl Series {
    fn since_start(self) -> f64 {
        self.carried + self.last - self.base
    }
}

#[derive(Debug)]
struct Pod {
    labels: Vec<(String, String)>,
    /// (namespace, workload), as a [`super::Denial`] names them.
    workload: (String, String),
    /// The end of the baseline scrape: refusals after it are counted.
    since: DateTime<Utc>,
    series: BTreeMap<SeriesKey, Series>,
    /// The round it was last read in, for eviction.
    round: u64,
}

/// Every tracked pod's counters.
#[derive(Debug, Default)]
pub struct SinceStart {
    pods: BTreeMap<(String, String), Pod>,
    round: u64,
}

/// The deny series of `exposition`, by key.
fn deny_series(exposition: &Exposition) -> BTreeMap<SeriesKey, f64> {
    let mut out = BTreeMap::new();
    for sample in &exposition.samples {
        if DENIAL_FAMILIES.contains(&sample.name.as_str()) && sample.value.is_finite() {
            let mut labels = sample.labels.clone();
            labels.sort();
            out.insert((sample.name.clone(), labels), sample.value);
        }
    }
    out
}

impl SinceStart {
    /// A new round of scrapes begins (pods read in it are kept longest).
    pub fn next_round(&mut self) {
        self.round += 1;
    }

    /// One scrape of a pod, finished at `read_at`. `labels` are the pod's own (`namespace`,
    /// `pod`, `deployment`, …), added to every series as Linkerd's Prometheus adds them.
    pub fn observe(
        &mut self,
        labels: &[(String, String)],
        exposition: &Exposition,
        read_at: DateTime<Utc>,
    ) {
        let get = |name: &str| {
            labels
                .iter()
                .find(|(k, _)| k == name)
                .map_or("", |(_, v)| v.as_str())
        };
        let key = (get("namespace").to_owned(), get("pod").to_owned());
        let now = deny_series(exposition);
        let round = self.round;
        if let Some(pod) = self.pods.get_mut(&key) {
            pod.round = round;
            update(&mut pod.series, &now);
            return;
        }
        let workload = (
            key.0.clone(),
            workload_name(get("deployment"), get("pod")).to_owned(),
        );
        let series = now
            .into_iter()
            .map(|(k, v)| {
                let s = Series {
                    base: v,
                    last: v,
                    carried: 0.0,
                };
                (k, s)
            })
            .collect();
        self.pods.insert(
            key,
            Pod {
                labels: labels.to_vec(),
                workload,
                since: read_at,
                series,
                round,
            },
        );
        self.evict();
    }

    fn evict(&mut self) {
        while self.pods.len() > MAX_TRACKED_PODS {
            let oldest = self
                .pods
                .iter()
                .min_by_key(|(_, pod)| pod.round)
                .map(|(key, _)| key.clone());
            match oldest {
                Some(key) => self.pods.remove(&key),
                None => break,
            };
        }
    }

    /// Every series' increase since its pod's baseline, over `seconds`.
    pub fn window(&self, seconds: f64) -> Window {
        let mut window = Window::new(seconds);
        for pod in self.pods.values() {
            for ((name, labels), series) in &pod.series {
                let value = series.since_start();
                if !value.is_finite() || value <= 0.0 {
                    continue;
                }
                let mut all: BTreeMap<String, String> = labels.iter().cloned().collect();
                for (k, v) in &pod.labels {
                    all.insert(k.clone(), v.clone());
                }
                window.deltas.push(Delta {
                    name: name.clone(),
                    labels: all,
                    value,
                });
            }
        }
        window
    }

    /// The workloads read, each since the latest baseline of its pods: only from then on is
    /// every pod of it counted.
    pub fn watched(&self) -> Vec<Watched> {
        let mut out: BTreeMap<&(String, String), DateTime<Utc>> = BTreeMap::new();
        for pod in self.pods.values() {
            let since = out.entry(&pod.workload).or_insert(pod.since);
            *since = (*since).max(pod.since);
        }
        out.into_iter()
            .map(|((namespace, workload), since)| Watched {
                namespace: namespace.clone(),
                workload: workload.clone(),
                since,
            })
            .collect()
    }
}

/// Brings a pod's series up to `now`'s values. One series that went down means the proxy
/// restarted: every series then carries what it had counted and starts again from zero (a
/// series missing after a restart has not been counted again yet).
fn update(series: &mut BTreeMap<SeriesKey, Series>, now: &BTreeMap<SeriesKey, f64>) {
    let restarted = series
        .iter()
        .any(|(key, s)| now.get(key).is_some_and(|v| *v < s.last));
    if restarted {
        for s in series.values_mut() {
            s.carried += s.last - s.base;
            s.base = 0.0;
            s.last = 0.0;
        }
    }
    for (key, value) in now {
        // A series first seen after the baseline began after it, from zero.
        let s = series.entry(key.clone()).or_default();
        s.last = *value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promtext::parse;
    use crate::routestats::denials;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).expect("time")
    }

    fn pod(name: &str) -> Vec<(String, String)> {
        [
            ("namespace", "shop"),
            ("deployment", "payment"),
            ("pod", name),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec()
    }

    fn deny(orders: u32, web: u32) -> Exposition {
        parse(&format!(
            "inbound_http_authz_deny_total{{srv_name=\"payment-http\",client_id=\"orders.shop\"}} {orders}\n\
             inbound_http_authz_deny_total{{srv_name=\"payment-http\",client_id=\"web.shop\"}} {web}\n\
             inbound_http_authz_allow_total{{srv_name=\"payment-http\"}} 900\n"
        ))
        .expect("parses")
    }

    fn counts(since: &SinceStart) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = denials(&since.window(30.0))
            .into_iter()
            .map(|d| (d.client_id, d.count))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn the_first_scrape_is_the_baseline_and_later_ones_count_from_it() {
        let mut s = SinceStart::default();
        s.observe(&pod("payment-1"), &deny(40, 7), at(1));
        // What was counted before meshtap started is not the session's.
        assert!(s.window(0.0).deltas.is_empty());
        s.next_round();
        s.observe(&pod("payment-1"), &deny(43, 7), at(11));
        assert_eq!(counts(&s), [("orders.shop".to_owned(), 3.0)]);
        // Only the deny families are kept.
        assert!(s.window(10.0).deltas.iter().all(|d| d.name == AUTHZ_DENY));
        assert_eq!(s.watched()[0].since, at(1));
        assert_eq!(s.watched()[0].workload, "payment");
    }

    #[test]
    fn a_restarted_proxy_keeps_what_was_counted_and_counts_again_from_zero() {
        let mut s = SinceStart::default();
        s.observe(&pod("payment-1"), &deny(40, 7), at(1));
        s.observe(&pod("payment-1"), &deny(45, 9), at(11));
        // The proxy restarted: orders' counter is 2 (below 45), web's is gone for now.
        s.observe(
            &pod("payment-1"),
            &parse("inbound_http_authz_deny_total{srv_name=\"payment-http\",client_id=\"orders.shop\"} 2\n")
                .expect("parses"),
            at(21),
        );
        assert_eq!(
            counts(&s),
            [
                ("orders.shop".to_owned(), 7.0),
                ("web.shop".to_owned(), 2.0)
            ]
        );
        s.observe(&pod("payment-1"), &deny(3, 1), at(31));
        assert_eq!(
            counts(&s),
            [
                ("orders.shop".to_owned(), 8.0),
                ("web.shop".to_owned(), 3.0)
            ]
        );
    }

    #[test]
    fn a_new_series_counts_from_zero_and_a_later_pod_from_its_own_baseline() {
        let mut s = SinceStart::default();
        s.observe(
            &pod("payment-1"),
            &parse("inbound_http_route_not_found_total{srv_name=\"payment-http\",client_id=\"orders.shop\"} 0\n")
                .expect("parses"),
            at(1),
        );
        s.observe(&pod("payment-1"), &deny(2, 0), at(11));
        s.observe(&pod("payment-2"), &deny(50, 50), at(12));
        assert_eq!(counts(&s), [("orders.shop".to_owned(), 2.0)]);
        // The workload is wholly counted only from its latest pod's baseline.
        assert_eq!(s.watched()[0].since, at(12));
    }

    #[test]
    fn pods_are_bounded_and_the_least_recently_read_go() {
        let mut s = SinceStart::default();
        for i in 0..=MAX_TRACKED_PODS {
            s.next_round();
            s.observe(&pod(&format!("p-{i}")), &deny(1, 1), at(1));
        }
        assert_eq!(s.pods.len(), MAX_TRACKED_PODS);
        assert!(!s.pods.contains_key(&("shop".to_owned(), "p-0".to_owned())));
    }
}
