//! The proxies' own metrics over a window, read the two ways Linkerd's tools read them: from a
//! Prometheus (`--prometheus URL`, or linkerd-viz's through a port-forward), queried as `linkerd
//! viz stat-outbound`/`stat-inbound` query it; or, when no Prometheus answers, by scraping each
//! target pod's proxy admin `/metrics` (port 4191) through a port-forward, as `linkerd
//! diagnostics proxy-metrics` does, twice, and differencing. Both produce a
//! [`crate::routestats::Window`].

pub mod http;
pub mod prometheus;
pub mod scrape;

use crate::routestats::Window;

/// Where the window's figures came from, for the output to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricsOrigin {
    /// A Prometheus at this address.
    Prometheus(String),
    /// The pods' admin endpoints, scraped directly (this many pods).
    Scraped { pods: usize },
}

impl MetricsOrigin {
    pub fn describe(&self) -> String {
        match self {
            MetricsOrigin::Prometheus(addr) => format!("prometheus {addr}"),
            MetricsOrigin::Scraped { pods } => {
                format!("proxy /metrics of {pods} pods, scraped directly")
            }
        }
    }
}

/// A window of figures and where they came from.
#[derive(Debug, Clone)]
pub struct ProxyWindow {
    pub origin: MetricsOrigin,
    pub window: Window,
    /// Pods that could not be scraped, with why (direct path only).
    pub unreachable: Vec<(String, String)>,
}

impl ProxyWindow {
    /// The part of a scraped window that `pods` produced (several targets share one round of
    /// scrapes).
    pub fn only(&self, pods: &[scrape::MeshedPod]) -> Self {
        let names: std::collections::BTreeSet<(&str, &str)> = pods
            .iter()
            .map(|p| (p.namespace.as_str(), p.name.as_str()))
            .collect();
        let mut window = Window::new(self.window.seconds);
        window.deltas = self
            .window
            .deltas
            .iter()
            .filter(|d| names.contains(&(d.label("namespace"), d.label("pod"))))
            .cloned()
            .collect();
        Self {
            origin: MetricsOrigin::Scraped { pods: pods.len() },
            window,
            unreachable: self
                .unreachable
                .iter()
                .filter(|(pod, _)| {
                    pods.iter()
                        .any(|p| *pod == format!("{}/{}", p.namespace, p.name))
                })
                .cloned()
                .collect(),
        }
    }
}
