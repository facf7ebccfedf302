//! Encoding one half of a [`Call`] as the tap events a Linkerd proxy (and the tap server's label
//! hydration) would produce, straight into length-prefixed frames.
//!
//! Label sets repeat for every request between the same pods, so each `EndpointMeta`/`RouteMeta`
//! field is encoded once per tap and appended as cached bytes; only the addresses and the `http`
//! event are encoded per event. Maps are written in sorted key order, so the bytes are as
//! deterministic as the events.

use std::collections::{BTreeMap, HashMap};

use bytes::{BufMut, Bytes, BytesMut};
use prost::encoding::{self, WireType};

pub use super::headers::path;
use super::headers::{grpc_message, headers, request_headers, response_headers};
use super::routes::{Protocol, ROUTES, Route, profile_name};
use super::{Call, Outcome, Side};
use crate::demo::mesh::{Mesh, PodId};
use crate::proto::tap::tap_event::{self, http};
use crate::proto::{net, viz};

/// Which of the three events of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    RequestInit,
    ResponseInit,
    ResponseEnd,
}

/// Which label set: the source or destination side as `Side`'s proxy reports it (the pod, and
/// for destinations the route, whose inbound policy route matters), or a route's profile labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Src(Side, PodId),
    Dst(Side, PodId, usize),
    Route(usize),
}

/// One label set, as a map (for `destinations` matching) and as an encoded field.
#[derive(Debug)]
struct Meta {
    labels: BTreeMap<String, String>,
    field: Bytes,
}

/// Per-tap cache of encoded label sets.
#[derive(Debug, Default)]
pub struct Metas {
    cache: HashMap<Key, Meta>,
}

impl Metas {
    fn get(&mut self, mesh: &Mesh, key: Key) -> &Meta {
        self.cache.entry(key).or_insert_with(|| {
            let (tag, labels) = build(mesh, key);
            Meta {
                field: meta_field(tag, &labels),
                labels,
            }
        })
    }

    /// The encoded field of one label set, as appended to events.
    pub fn field(&mut self, mesh: &Mesh, key: Key) -> Bytes {
        self.get(mesh, key).field.clone()
    }

    /// The destination labels the reporting proxy itself attaches (before the tap server
    /// hydrates anything): what a `destinations` match is evaluated against.
    pub fn destination_labels(
        &mut self,
        mesh: &Mesh,
        call: &Call,
        side: Side,
    ) -> &BTreeMap<String, String> {
        let key = Key::Dst(side, call.server, call.route);
        &self.get(mesh, key).labels
    }
}

fn build(mesh: &Mesh, key: Key) -> (u32, BTreeMap<String, String>) {
    match key {
        Key::Src(side, client) => {
            let mut labels = BTreeMap::new();
            mesh.hydrated_labels(client, &mut labels);
            let w = mesh.workload_of(client);
            match side {
                Side::Outbound => {
                    labels.insert("tls".into(), "loopback".into());
                }
                Side::Inbound if w.meshed => {
                    labels.insert("tls".into(), "true".into());
                    labels.insert("client_id".into(), w.identity());
                }
                Side::Inbound => {
                    labels.insert("tls".into(), "no_tls_from_remote".into());
                }
            }
            (5, labels)
        }
        Key::Dst(Side::Outbound, server, _) => (4, mesh.discovery_labels(server)),
        Key::Dst(Side::Inbound, server, route) => {
            let mut labels = mesh.inbound_policy_labels(server, ROUTES[route].policy_route);
            // The tap server hydrates the inbound destination from the pod IP.
            mesh.hydrated_labels(server, &mut labels);
            (4, labels)
        }
        Key::Route(route) => {
            let mut labels = BTreeMap::new();
            if ROUTES[route].profiled {
                labels.insert("route".into(), profile_name(&ROUTES[route]));
            }
            (7, labels)
        }
    }
}

/// A `map<string,string> labels = 1` message as field `tag`, entries in key order.
pub fn meta_field(tag: u32, labels: &BTreeMap<String, String>) -> Bytes {
    let entry_len = |k: &String, v: &String| {
        encoding::string::encoded_len(1, k) + encoding::string::encoded_len(2, v)
    };
    let inner: usize = labels
        .iter()
        .map(|(k, v)| {
            let n = entry_len(k, v);
            encoding::key_len(1) + encoding::encoded_len_varint(n as u64) + n
        })
        .sum();
    let mut buf = BytesMut::with_capacity(inner + 8);
    encoding::encode_key(tag, WireType::LengthDelimited, &mut buf);
    encoding::encode_varint(inner as u64, &mut buf);
    for (k, v) in labels {
        encoding::encode_key(1, WireType::LengthDelimited, &mut buf);
        encoding::encode_varint(entry_len(k, v) as u64, &mut buf);
        encoding::string::encode(1, k, &mut buf);
        encoding::string::encode(2, v, &mut buf);
    }
    buf.freeze()
}

/// The `:authority` a client uses for a route: the short Service name inside a namespace, the
/// namespaced name across namespaces, `svc.ns:port` for gRPC.
pub fn authority(mesh: &Mesh, route: &Route) -> String {
    let (Some(c), Some(s)) = (
        mesh.workload_named(route.client),
        mesh.workload_named(route.server),
    ) else {
        return String::new();
    };
    let (c, s) = (&mesh.workloads[c], &mesh.workloads[s]);
    let svc = s.service.unwrap_or(s.name);
    let port = s.service_port;
    if route.protocol == Protocol::Grpc {
        return format!("{svc}.{}:{port}", s.namespace);
    }
    let host = if c.namespace == s.namespace {
        svc.to_owned()
    } else {
        format!("{svc}.{}", s.namespace)
    };
    if port == 80 {
        host
    } else {
        format!("{host}:{port}")
    }
}

pub fn address(ip: std::net::Ipv4Addr, port: u16) -> net::TcpAddress {
    net::TcpAddress {
        ip: Some(net::IpAddress {
            ip: Some(net::ip_address::Ip::Ipv4(u32::from(ip))),
        }),
        port: u32::from(port),
    }
}

fn duration(ns: u64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: (ns / 1_000_000_000).cast_signed(),
        nanos: (ns % 1_000_000_000) as i32,
    }
}

/// What one half of a call carries besides its `http` event: both addresses, the three encoded
/// label sets and the `:authority` the reporting proxy saw.
#[derive(Debug)]
pub struct Parts<'a> {
    pub src: net::TcpAddress,
    pub dst: net::TcpAddress,
    pub src_meta: Bytes,
    pub dst_meta: Bytes,
    pub route_meta: Bytes,
    pub authority: &'a str,
}

/// Appends one framed `TapEvent` for `phase` of `side` of `call` to `out`.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site, each argument a distinct piece"
)]
pub fn encode(
    out: &mut BytesMut,
    mesh: &Mesh,
    metas: &mut Metas,
    authorities: &[String],
    call: &Call,
    side: Side,
    phase: Phase,
    id: http::StreamId,
    with_headers: bool,
) {
    let client_ip = mesh.pods[call.client].ip;
    let server_ip = mesh.pods[call.server].ip;
    let port = mesh.workload_of(call.server).container_port;
    let src_port = match side {
        Side::Outbound => call.out_port,
        Side::Inbound => call.in_port,
    };
    let parts = Parts {
        src: address(client_ip, src_port),
        dst: address(server_ip, port),
        src_meta: metas.field(mesh, Key::Src(side, call.client)),
        dst_meta: metas.field(mesh, Key::Dst(side, call.server, call.route)),
        route_meta: metas.field(mesh, Key::Route(call.route)),
        authority: authorities.get(call.route).map_or("", String::as_str),
    };
    encode_parts(out, &parts, call, side, phase, id, with_headers);
}

/// Appends one framed `TapEvent` for `phase` of `side` of `call` to `out`, with the addresses,
/// labels and authority in `parts` (a local call's, or one crossing clusters).
pub fn encode_parts(
    out: &mut BytesMut,
    parts: &Parts<'_>,
    call: &Call,
    side: Side,
    phase: Phase,
    id: http::StreamId,
    with_headers: bool,
) {
    let timeline = call.timeline(side);
    let direction = match side {
        Side::Outbound => tap_event::ProxyDirection::Outbound,
        Side::Inbound => tap_event::ProxyDirection::Inbound,
    };
    let route = call.route();
    let event = match phase {
        Phase::RequestInit => {
            let authority = parts.authority.to_owned();
            let path = path(call);
            http::Event::RequestInit(http::RequestInit {
                id: Some(id),
                method: Some(viz::HttpMethod {
                    r#type: Some(viz::http_method::Type::Registered(route.method)),
                }),
                scheme: Some(viz::Scheme {
                    r#type: Some(viz::scheme::Type::Registered(
                        viz::scheme::Registered::Http as i32,
                    )),
                }),
                headers: with_headers.then(|| request_headers(call, &authority, &path)),
                authority,
                path,
            })
        }
        Phase::ResponseInit => http::Event::ResponseInit(http::ResponseInit {
            id: Some(id),
            since_request_init: Some(duration(timeline.response.unwrap_or(0))),
            http_status: call.http_status,
            headers: with_headers.then(|| response_headers(call, &path(call))),
        }),
        Phase::ResponseEnd => {
            let end = timeline.end.unwrap_or(0);
            let (eos, trailers) = match (call.outcome, call.grpc_status) {
                (Outcome::Reset { code, .. }, _) => {
                    (Some(viz::eos::End::ResetErrorCode(code)), None)
                }
                (_, Some(code)) => {
                    let mut t = vec![("grpc-status", code.to_string())];
                    if code != 0 {
                        t.push(("grpc-message", grpc_message(code).to_owned()));
                    }
                    (Some(viz::eos::End::GrpcStatusCode(code)), Some(headers(t)))
                }
                // A plain HTTP/1 end: the proxy still sends an (empty) eos.
                _ => (None, None),
            };
            http::Event::ResponseEnd(http::ResponseEnd {
                id: Some(id),
                since_request_init: Some(duration(end)),
                since_response_init: timeline.response.map(|r| duration(end.saturating_sub(r))),
                response_bytes: call.bytes,
                eos: Some(viz::Eos { end: eos }),
                trailers: trailers.filter(|_| with_headers),
            })
        }
    };
    let http = tap_event::Http { event: Some(event) };
    let Parts {
        src,
        dst,
        src_meta,
        dst_meta,
        route_meta,
        ..
    } = parts;
    let direction = direction as i32;
    let len = encoding::message::encoded_len(1, src)
        + encoding::message::encoded_len(2, dst)
        + encoding::message::encoded_len(3, &http)
        + dst_meta.len()
        + src_meta.len()
        + encoding::int32::encoded_len(6, &direction)
        + route_meta.len();
    out.reserve(4 + len);
    // An event is a few hundred bytes; the u32 length prefix cannot overflow.
    out.put_u32_le(len as u32);
    encoding::message::encode(1, src, out);
    encoding::message::encode(2, dst, out);
    encoding::message::encode(3, &http, out);
    out.put_slice(dst_meta);
    out.put_slice(src_meta);
    encoding::int32::encode(6, &direction, out);
    out.put_slice(route_meta);
}
