//! The `matched_route` object of an NDJSON record: what a request was matched to, written
//! beside tap's own `route` labels and read back on replay.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::event::Text;
use crate::model::policy::{
    BackendRef, GrpcRetryOn, MatchedRoute, ParentRef, RetryOn, RetryPolicy, RouteRef, RouteSource,
    RuleConfig, Timeouts,
};

/// `matched_route`: `source` says where it came from (`policy`, `profile`, `inbound`,
/// `template`); a template names no route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedRouteRecord {
    /// `HTTPRoute`, `GRPCRoute`, `ServiceProfile`, `default`; null for a template.
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The rule's index in its route (policy routes only).
    pub rule: Option<u32>,
    /// `name:port` of the Service the client addressed, or of the Server on the server side.
    pub parent: Option<String>,
    /// The Service whose endpoint served the request.
    pub backend: Option<String>,
    pub source: String,
    /// The backend's configured weight in the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_weight: Option<u32>,
    /// The sum of the rule's backend weights (what `backend_weight` is a share of).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_weight: Option<u32>,
    /// The rule's timeouts, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts_ms: Option<TimeoutsRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeoutsRecord {
    pub request: Option<u64>,
    pub response: Option<u64>,
    pub idle: Option<u64>,
}

/// A retry policy: `limit` retries on `on` (HTTP ranges like `500-599`, or gRPC status names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryRecord {
    pub limit: u32,
    pub on: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

fn ms(d: Option<Duration>) -> Option<u64> {
    d.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl From<&MatchedRoute> for MatchedRouteRecord {
    fn from(m: &MatchedRoute) -> Self {
        let t = &m.config.timeouts;
        Self {
            kind: m.route.as_ref().map(|r| r.kind.to_string()),
            namespace: m
                .route
                .as_ref()
                .map(|r| r.namespace.to_string())
                .or_else(|| m.parent.as_ref().map(|p| p.namespace.to_string())),
            name: m.route.as_ref().map(|r| r.name.to_string()),
            rule: m.rule,
            parent: m.parent.as_ref().map(ToString::to_string),
            backend: m.backend.as_ref().map(|b| b.name.to_string()),
            source: m.source.as_str().to_owned(),
            backend_weight: m.backend.as_ref().and_then(|b| b.weight),
            rule_weight: m.rule_weight,
            timeouts_ms: (!t.is_empty()).then(|| TimeoutsRecord {
                request: ms(t.request),
                response: ms(t.response),
                idle: ms(t.idle),
            }),
            retry: m.config.retry.as_ref().map(|r| RetryRecord {
                limit: r.max_retries,
                on: match &r.on {
                    RetryOn::Statuses(ranges) => {
                        ranges.iter().map(|(a, b)| format!("{a}-{b}")).collect()
                    }
                    RetryOn::Grpc(on) => on.names().into_iter().map(str::to_owned).collect(),
                },
                timeout_ms: ms(r.timeout),
            }),
        }
    }
}

impl MatchedRouteRecord {
    /// The route back, for a policy match (the only kind replay cannot derive from labels);
    /// `None` for the others or an unknown `source`.
    pub fn policy_route(&self) -> Option<MatchedRoute> {
        if RouteSource::parse(&self.source)? != RouteSource::Policy {
            return None;
        }
        let namespace = Text::from(self.namespace.as_deref().unwrap_or(""));
        let parent = self.parent.as_deref().map(|p| {
            let (name, port) = match p.rsplit_once(':') {
                Some((name, port)) => (name, port.parse().ok()),
                None => (p, None),
            };
            ParentRef {
                kind: Text::from("Service"),
                namespace: namespace.clone(),
                name: Text::from(name),
                port,
            }
        });
        let kind = self.kind.as_deref().unwrap_or("default");
        let retry = self.retry.as_ref().map(|r| RetryPolicy {
            max_retries: r.limit,
            on: retry_on(&r.on),
            timeout: r.timeout_ms.map(Duration::from_millis),
        });
        let timeouts = self
            .timeouts_ms
            .map_or_else(Timeouts::default, |t| Timeouts {
                request: t.request.map(Duration::from_millis),
                response: t.response.map(Duration::from_millis),
                idle: t.idle.map(Duration::from_millis),
            });
        Some(MatchedRoute {
            source: RouteSource::Policy,
            route: Some(RouteRef {
                group: Text::from(match kind {
                    "HTTPRoute" | "GRPCRoute" => "gateway.networking.k8s.io",
                    _ => "",
                }),
                kind: Text::from(kind),
                namespace: namespace.clone(),
                name: Text::from(self.name.as_deref().unwrap_or("")),
            }),
            rule: self.rule,
            parent,
            backend: self.backend.as_deref().map(|b| BackendRef {
                namespace,
                name: Text::from(b),
                port: None,
                weight: self.backend_weight,
            }),
            rule_weight: self.rule_weight,
            config: RuleConfig { timeouts, retry },
        })
    }
}

/// `500-599` ranges, or gRPC status names.
fn retry_on(on: &[String]) -> RetryOn {
    let ranges: Vec<(u16, u16)> = on
        .iter()
        .filter_map(|r| {
            let (a, b) = r.split_once('-')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect();
    if !ranges.is_empty() {
        return RetryOn::Statuses(ranges);
    }
    let has = |name: &str| on.iter().any(|o| o == name);
    RetryOn::Grpc(GrpcRetryOn {
        cancelled: has("cancelled"),
        deadline_exceeded: has("deadline-exceeded"),
        resource_exhausted: has("resource-exhausted"),
        internal: has("internal"),
        unavailable: has("unavailable"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Text {
        Text::from(s)
    }

    #[test]
    fn a_policy_match_survives_the_file_and_others_stay_derived() {
        let matched = MatchedRoute {
            source: RouteSource::Policy,
            route: Some(RouteRef {
                group: text("gateway.networking.k8s.io"),
                kind: text("GRPCRoute"),
                namespace: text("emojivoto"),
                name: text("voting-retries"),
            }),
            rule: Some(0),
            parent: Some(ParentRef {
                kind: text("Service"),
                namespace: text("emojivoto"),
                name: text("voting-svc"),
                port: Some(8080),
            }),
            backend: Some(BackendRef {
                namespace: text("emojivoto"),
                name: text("voting-svc"),
                port: None,
                weight: Some(1),
            }),
            rule_weight: Some(1),
            config: RuleConfig {
                timeouts: Timeouts {
                    request: Some(Duration::from_secs(2)),
                    ..Timeouts::default()
                },
                retry: Some(RetryPolicy {
                    max_retries: 2,
                    on: RetryOn::Grpc(GrpcRetryOn {
                        unavailable: true,
                        ..GrpcRetryOn::default()
                    }),
                    timeout: None,
                }),
            },
        };
        let record = MatchedRouteRecord::from(&matched);
        let json = serde_json::to_value(&record).expect("serializes");
        assert_eq!(json["source"], "policy");
        assert_eq!(json["kind"], "GRPCRoute");
        assert_eq!(json["parent"], "voting-svc:8080");
        assert_eq!(json["backend"], "voting-svc");
        assert_eq!(json["retry"]["on"][0], "unavailable");
        assert_eq!(
            (&json["backend_weight"], &json["rule_weight"]),
            (&1.into(), &1.into())
        );
        let back: MatchedRouteRecord = serde_json::from_value(json).expect("parses");
        assert_eq!(back.policy_route(), Some(matched.clone()));
        assert_eq!(matched.weight_label().as_deref(), Some("1 of 1"));
        // A file from before rule_weight: the weight alone.
        let older = MatchedRouteRecord {
            rule_weight: None,
            ..back.clone()
        };
        let older = older.policy_route().expect("policy");
        assert_eq!(older.weight_label().as_deref(), Some("1"));
        let template = MatchedRouteRecord {
            source: "template".to_owned(),
            ..back
        };
        assert_eq!(template.policy_route(), None);
    }
}
