//! The proxies' refusal counters as a live session reads them (`SourceMsg::Denials`): every
//! refusal counted, which workloads' proxies were read and over which span of time, and where
//! the figures came from. What a reading may say about one tapped request depends on that span:
//! a refusal that happened before a proxy's counters were first read, or after they were last
//! read, is not in them, and the reading must not claim it was not counted.

use chrono::{DateTime, Utc};

use super::Denial;

/// Where a reading's counts came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenialsOrigin {
    /// Each pod's admin `/metrics`, scraped directly, differenced against its first scrape.
    Scraped { pods: usize },
    /// `increase(…[seconds])` from a Prometheus (its address as the user would recognise it).
    Prometheus { addr: String, seconds: u64 },
}

/// A workload whose proxies' counters this reading covers, and from when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub namespace: String,
    /// The workload (`deployment`), as [`Denial::workload`] names it.
    pub workload: String,
    /// Refusals from this moment on are in the counts (the end of its first scrape).
    pub since: DateTime<Utc>,
}

/// One reading of the refusal counters of the pods that matter to a live session.
#[derive(Debug, Clone, PartialEq)]
pub struct DenialsReading {
    /// With several clusters (`--context A,B`), the cluster read; `None` with one.
    pub cluster: Option<String>,
    /// Every refusal counted, largest first ([`super::denials`]).
    pub denials: Vec<Denial>,
    /// The workloads read, each with when its counts begin.
    pub watched: Vec<Watched>,
    /// Refusals up to this moment are in the counts (the start of the last scrape, or what a
    /// Prometheus has surely scraped).
    pub until: DateTime<Utc>,
    pub origin: DenialsOrigin,
}

/// What a reading knows about one workload's refusals of one client.
#[derive(Debug, Clone, PartialEq)]
pub enum Counted<'a> {
    /// The workload's proxies are not read (not meshed, or outside what the session reads).
    NotRead,
    /// The request happened outside the span the counts cover: nothing can be said yet.
    NotYet,
    /// The counts cover the request; these refusals of this client (none: it was not refused
    /// by the proxy).
    Covered(Vec<&'a Denial>),
}

impl DenialsReading {
    /// The span the counts cover, in words: "since meshtap started (42 s)" or "in the last
    /// 60 s (prometheus http://…)".
    pub fn span(&self, watched: &Watched) -> String {
        match &self.origin {
            DenialsOrigin::Scraped { .. } => {
                let seconds = (self.until - watched.since).num_seconds().max(0);
                format!("since meshtap started ({seconds} s)")
            }
            DenialsOrigin::Prometheus { addr, seconds } => {
                format!("in the last {seconds} s ({addr})")
            }
        }
    }

    /// Where the figures came from, in words.
    pub fn describe(&self) -> String {
        match &self.origin {
            DenialsOrigin::Scraped { pods } => {
                format!("proxy /metrics of {pods} pods, scraped directly")
            }
            DenialsOrigin::Prometheus { addr, .. } => format!("prometheus {addr}"),
        }
    }

    /// The workload's entry, if its proxies are read.
    pub fn watched(&self, namespace: &str, workload: &str) -> Option<&Watched> {
        self.watched
            .iter()
            .find(|w| w.namespace == namespace && w.workload == workload)
    }

    /// The refusals `namespace/workload`'s proxies counted of the client whose identity starts
    /// with `client` (`sa.ns.serviceaccount.identity.`; `None`: any client), for a request that
    /// started at `started` and was answered at `answered`.
    pub fn counted(
        &self,
        namespace: &str,
        workload: &str,
        client: Option<&str>,
        started: DateTime<Utc>,
        answered: DateTime<Utc>,
    ) -> Counted<'_> {
        let Some(watched) = self.watched(namespace, workload) else {
            return Counted::NotRead;
        };
        if started < watched.since || answered > self.until {
            return Counted::NotYet;
        }
        Counted::Covered(self.of_client(namespace, workload, client))
    }

    /// Every refusal `namespace/workload` counted of `client` (see [`Self::counted`]),
    /// whenever the requests were made.
    pub fn of_client(&self, namespace: &str, workload: &str, client: Option<&str>) -> Vec<&Denial> {
        self.denials
            .iter()
            .filter(|d| {
                d.namespace == namespace
                    && d.workload == workload
                    && client.is_none_or(|c| d.client_id.starts_with(c))
            })
            .collect()
    }
}

/// The latest reading of each cluster, as a session's consumers keep them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Readings {
    latest: Vec<DenialsReading>,
    /// Counts the readings taken in: views built from them rebuild when it moves.
    pub generation: u64,
}

impl Readings {
    /// `reading` replaces the last of its cluster.
    pub fn update(&mut self, reading: DenialsReading) {
        self.latest.retain(|r| r.cluster != reading.cluster);
        self.latest.push(reading);
        self.generation += 1;
    }

    /// Every cluster's latest reading.
    pub fn iter(&self) -> impl Iterator<Item = &DenialsReading> {
        self.latest.iter()
    }

    /// The reading of `cluster` (`None` with one cluster); `None` before a first reading.
    pub fn of(&self, cluster: Option<&str>) -> Option<&DenialsReading> {
        self.latest
            .iter()
            .find(|r| r.cluster.is_none() || r.cluster.as_deref() == cluster)
    }

    /// The reading that can speak for `request` (the one of its cluster).
    pub fn for_request(&self, request: &crate::model::request::Request) -> Option<&DenialsReading> {
        self.of(request
            .cluster
            .as_ref()
            .map(crate::model::event::ClusterName::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routestats::DenialKind;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).expect("time")
    }

    fn reading() -> DenialsReading {
        let denial = |client: &str, count| Denial {
            kind: DenialKind::Unauthorized,
            namespace: "shop".to_owned(),
            workload: "payment".to_owned(),
            srv_kind: "server".to_owned(),
            srv_name: "payment-http".to_owned(),
            route_kind: "HTTPRoute".to_owned(),
            route_name: "refunds".to_owned(),
            target_port: "8080".to_owned(),
            client_id: client.to_owned(),
            count,
        };
        DenialsReading {
            cluster: None,
            denials: vec![
                denial(
                    "orders.shop.serviceaccount.identity.linkerd.cluster.local",
                    3.0,
                ),
                denial(
                    "web.shop.serviceaccount.identity.linkerd.cluster.local",
                    1.0,
                ),
            ],
            watched: vec![Watched {
                namespace: "shop".to_owned(),
                workload: "payment".to_owned(),
                since: at(10),
            }],
            until: at(40),
            origin: DenialsOrigin::Scraped { pods: 4 },
        }
    }

    #[test]
    fn only_requests_inside_the_span_are_answered() {
        let r = reading();
        let orders = Some("orders.shop.serviceaccount.identity.");
        let Counted::Covered(found) = r.counted("shop", "payment", orders, at(12), at(13)) else {
            panic!("inside the span");
        };
        assert_eq!(found.len(), 1);
        assert!((found[0].count - 3.0).abs() < f64::EPSILON);
        // Before the first scrape, or answered after the last: the counts may not hold it.
        assert_eq!(
            r.counted("shop", "payment", orders, at(9), at(12)),
            Counted::NotYet
        );
        assert_eq!(
            r.counted("shop", "payment", orders, at(39), at(41)),
            Counted::NotYet
        );
        assert_eq!(
            r.counted("shop", "carts", orders, at(12), at(13)),
            Counted::NotRead
        );
        let other = Some("user.shop.serviceaccount.identity.");
        assert_eq!(
            r.counted("shop", "payment", other, at(12), at(13)),
            Counted::Covered(Vec::new())
        );
        assert_eq!(r.of_client("shop", "payment", None).len(), 2);
    }

    #[test]
    fn the_span_is_said_as_the_origin_measures_it() {
        let mut r = reading();
        let w = r.watched[0].clone();
        assert_eq!(r.span(&w), "since meshtap started (30 s)");
        r.origin = DenialsOrigin::Prometheus {
            addr: "http://127.0.0.1:9090".to_owned(),
            seconds: 60,
        };
        assert_eq!(r.span(&w), "in the last 60 s (http://127.0.0.1:9090)");
    }
}
