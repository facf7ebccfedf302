//! Tap targets as users write them (`deploy/web`, `ns/emojivoto`) and the tap API request they
//! become: the URL path and the protobuf body, both built from one value so they always agree.

use std::fmt::Write as _;

use prost::Message;

use crate::proto::{tap, viz};
use crate::session::HttpMatch;

/// A Kubernetes resource in Linkerd's canonical form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Empty for a namespace target.
    pub namespace: String,
    /// Canonical singular type, e.g. `deployment`.
    pub kind: &'static str,
    /// May be empty: every resource of the type.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("invalid resource {0:?}: expected TYPE/NAME such as deploy/web or ns/emojivoto")]
    Shape(String),
    #[error(
        "unknown resource type {0:?}: use one of cronjob, daemonset, deployment, job, namespace, \
         pod, replicaset, replicationcontroller, statefulset (and service for --to)"
    )]
    Kind(String),
    #[error("{0} cannot be tapped directly; use it with --to")]
    NotATarget(&'static str),
}

/// (canonical name, accepted spellings besides canonical and plural).
const KINDS: [(&str, &[&str]); 10] = [
    ("cronjob", &["cj"]),
    ("daemonset", &["ds"]),
    ("deployment", &["deploy"]),
    ("job", &[]),
    ("namespace", &["ns"]),
    ("pod", &["po"]),
    ("replicaset", &["rs"]),
    ("replicationcontroller", &["rc"]),
    ("service", &["svc"]),
    ("statefulset", &["sts"]),
];

fn canonical_kind(friendly: &str) -> Result<&'static str, TargetError> {
    let lower = friendly.to_ascii_lowercase();
    KINDS
        .iter()
        .find(|(canonical, short)| {
            lower == *canonical
                || lower.strip_suffix('s') == Some(canonical)
                || short.contains(&lower.as_str())
        })
        .map(|(canonical, _)| *canonical)
        .ok_or_else(|| TargetError::Kind(friendly.to_string()))
}

impl Resource {
    /// Parses `TYPE/NAME` or `TYPE` in `namespace` (ignored for namespace resources).
    pub fn parse(text: &str, namespace: &str) -> Result<Self, TargetError> {
        let (kind, name) = match text.split('/').collect::<Vec<_>>()[..] {
            [kind] => (kind, ""),
            [kind, name] => (kind, name),
            _ => return Err(TargetError::Shape(text.to_string())),
        };
        if kind.is_empty() {
            return Err(TargetError::Shape(text.to_string()));
        }
        let kind = canonical_kind(kind)?;
        let namespace = if kind == "namespace" {
            String::new()
        } else {
            namespace.to_string()
        };
        Ok(Self {
            namespace,
            kind,
            name: name.to_string(),
        })
    }

    /// Like `parse`, but refuses types that can only be a `--to` destination.
    pub fn parse_target(text: &str, namespace: &str) -> Result<Self, TargetError> {
        let resource = Self::parse(text, namespace)?;
        if resource.kind == "service" {
            return Err(TargetError::NotATarget("a service"));
        }
        Ok(resource)
    }

    fn to_wire(&self) -> viz::Resource {
        viz::Resource {
            namespace: self.namespace.clone(),
            r#type: self.kind.to_string(),
            name: self.name.clone(),
        }
    }

    /// `deploy/web` style, for people.
    pub fn display(&self) -> String {
        let short = KINDS
            .iter()
            .find(|(c, _)| *c == self.kind)
            .and_then(|(_, s)| s.first().copied())
            .unwrap_or(self.kind);
        if self.name.is_empty() {
            short.to_string()
        } else {
            format!("{short}/{}", self.name)
        }
    }
}

/// Everything one tap stream asks the server for.
#[derive(Clone, Debug, PartialEq)]
pub struct TapSpec {
    pub target: Resource,
    pub label_selector: String,
    pub to: Option<Resource>,
    pub http: HttpMatch,
    pub max_rps: f32,
    /// Ask for headers and trailers (Linkerd's CLI does for `-o json`).
    pub extract_headers: bool,
}

impl TapSpec {
    /// The request body, field for field as Linkerd's CLI builds it: a top-level `all` of the
    /// destination then scheme, method, authority and path matches; an always-present extract.
    pub fn request(&self) -> tap::TapByResourceRequest {
        use tap::tap_by_resource_request::{Extract, Match, extract, r#match};
        let http = |m: r#match::http::Match| Match {
            r#match: Some(r#match::Match::Http(r#match::Http { r#match: Some(m) })),
        };
        let mut matches = Vec::new();
        if let Some(to) = &self.to {
            matches.push(Match {
                r#match: Some(r#match::Match::Destinations(viz::ResourceSelection {
                    resource: Some(to.to_wire()),
                    label_selector: String::new(),
                })),
            });
        }
        let fields = [
            (
                &self.http.scheme,
                r#match::http::Match::Scheme as fn(String) -> _,
            ),
            (&self.http.method, r#match::http::Match::Method),
            (&self.http.authority, r#match::http::Match::Authority),
            (&self.http.path, r#match::http::Match::Path),
        ];
        for (value, make) in fields {
            if let Some(value) = value.as_ref().filter(|v| !v.is_empty()) {
                matches.push(http(make(value.clone())));
            }
        }
        let extract = Extract {
            extract: self
                .extract_headers
                .then_some(extract::Extract::Http(extract::Http {
                    extract: Some(extract::http::Extract::Headers(extract::http::Headers {})),
                })),
        };
        tap::TapByResourceRequest {
            target: Some(viz::ResourceSelection {
                resource: Some(self.target.to_wire()),
                label_selector: self.label_selector.clone(),
            }),
            r#match: Some(Match {
                r#match: Some(r#match::Match::All(r#match::Seq { matches })),
            }),
            max_rps: self.max_rps,
            extract: Some(extract),
        }
    }

    pub fn body(&self) -> Vec<u8> {
        self.request().encode_to_vec()
    }

    /// The aggregated API path for this target.
    pub fn path(&self) -> String {
        url_path(&self.target)
    }
}

/// `/apis/tap.linkerd.io/v1alpha1/watch/namespaces/{ns}/{type}s/{name}/tap`, or
/// `.../watch/namespaces/{name}/tap` for a namespace.
pub fn url_path(target: &Resource) -> String {
    const BASE: &str = "/apis/tap.linkerd.io/v1alpha1/watch/namespaces";
    if target.kind == "namespace" {
        format!("{BASE}/{}/tap", escape(&target.name))
    } else {
        format!(
            "{BASE}/{}/{}s/{}/tap",
            escape(&target.namespace),
            target.kind,
            escape(&target.name)
        )
    }
}

/// Percent-escapes a path segment (everything outside RFC 3986's unreserved set and sub-delims
/// that Go's `url.PathEscape` leaves alone).
fn escape(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'-' | b'.' | b'_' | b'~' | b'$' | b'&' | b'+' | b'=' | b':' | b'@'
            );
        if keep {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn friendly_names_become_canonical() {
        for (text, kind) in [
            ("deploy/web", "deployment"),
            ("deployment/web", "deployment"),
            ("deployments/web", "deployment"),
            ("po/web-1", "pod"),
            ("sts/db", "statefulset"),
            ("ds/agent", "daemonset"),
            ("job/x", "job"),
            ("cronjob/x", "cronjob"),
            ("rs/x", "replicaset"),
            ("rc/x", "replicationcontroller"),
            ("svc/x", "service"),
        ] {
            assert_eq!(
                Resource::parse(text, "ns1").map(|r| r.kind),
                Ok(kind),
                "{text}"
            );
        }
    }

    #[test]
    fn namespace_targets_ignore_the_namespace_flag() {
        let r = Resource::parse("ns/emojivoto", "default").expect("parse");
        assert_eq!(r.namespace, "");
        assert_eq!(r.name, "emojivoto");
        let spec = spec(r);
        assert_eq!(
            spec.path(),
            "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/emojivoto/tap"
        );
    }

    #[test]
    fn bad_targets_are_explained() {
        assert!(matches!(
            Resource::parse("a/b/c", "x"),
            Err(TargetError::Shape(_))
        ));
        assert!(matches!(
            Resource::parse("widget/x", "x"),
            Err(TargetError::Kind(_))
        ));
        assert!(matches!(
            Resource::parse_target("svc/web", "x"),
            Err(TargetError::NotATarget(_))
        ));
    }

    fn spec(target: Resource) -> TapSpec {
        TapSpec {
            target,
            label_selector: String::new(),
            to: None,
            http: HttpMatch::default(),
            max_rps: 0.0,
            extract_headers: false,
        }
    }

    #[test]
    fn path_escapes_segments() {
        let r = Resource::parse("deploy/we b", "my ns").expect("parse");
        assert_eq!(
            spec(r).path(),
            "/apis/tap.linkerd.io/v1alpha1/watch/namespaces/my%20ns/deployments/we%20b/tap"
        );
    }
}
