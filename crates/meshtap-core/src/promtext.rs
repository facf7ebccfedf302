//! The Prometheus text exposition format (version 0.0.4): what a linkerd2-proxy's admin
//! `/metrics` serves, what the demo's simulated proxies serve, and what meshtap reads when it
//! scrapes pods directly. [`parse`] reads it; [`write`] produces it.

pub mod parse;
pub mod write;

pub use parse::{ParseError, ParseErrorKind, parse};

/// A metric family's declared type (`# TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

impl MetricType {
    /// The keyword `# TYPE` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::Summary => "summary",
            Self::Untyped => "untyped",
        }
    }

    fn from_keyword(word: &str) -> Option<Self> {
        Some(match word {
            "counter" => Self::Counter,
            "gauge" => Self::Gauge,
            "histogram" => Self::Histogram,
            "summary" => Self::Summary,
            "untyped" => Self::Untyped,
            _ => return None,
        })
    }
}

/// One sample line: a series (name and labels, in the order written) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// Milliseconds since the Unix epoch, when the line carries one.
    pub timestamp_ms: Option<i64>,
}

impl Sample {
    /// The value of label `name`; a label that is absent reads as absent, not as "".
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A parsed exposition: every sample in order, and the families' declared types and help.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    pub types: Vec<(String, MetricType)>,
    pub help: Vec<(String, String)>,
}

impl Exposition {
    /// The declared type of family `name` (`Untyped` when undeclared).
    pub fn type_of(&self, name: &str) -> MetricType {
        self.types
            .iter()
            .find(|(n, _)| n == name)
            .map_or(MetricType::Untyped, |(_, t)| *t)
    }
}
