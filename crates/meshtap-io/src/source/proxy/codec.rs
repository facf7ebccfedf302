//! The `Observe` call without a second decoder: a tonic codec that encodes the request with prost
//! and hands each response message's raw bytes on untouched, so the proxy's events take the same
//! path from wire bytes to the model as the cluster source's frames
//! ([`frames::decode_fast`](crate::source::frames::decode_fast)).
//!
//! The proxy's `io.linkerd.proxy.tap.TapEvent` has viz's field numbers everywhere; only a header
//! value differs (`bytes value = 2` against viz's `string value_str = 2` / `bytes value_bin = 3`).
//! A value that is UTF-8 therefore reads as viz text already, and for the rare one that is not,
//! [`binary_values_as_viz`] renumbers it to `value_bin` in place before decoding again: text when
//! it is UTF-8, binary otherwise, as Linkerd's tap server translates them.

use std::ops::Range;

use bytes::{Buf as _, Bytes};
use chrono::{DateTime, Utc};
use http::uri::PathAndQuery;
use linkerd2_proxy_api::tap::ObserveRequest;
use prost::Message as _;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

use crate::model::event::TapEvent;
use crate::source::frames::{self, ModelFrame};
use crate::source::wire::Interner;

/// The proxy's tap method.
const OBSERVE_PATH: &str = "/io.linkerd.proxy.tap.Tap/Observe";

/// Starts one `Observe`; the stream yields each event's protobuf bytes.
pub async fn observe(
    channel: Channel,
    request: ObserveRequest,
) -> Result<tonic::Streaming<Bytes>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    // Keep the transport error as the status's source: its TLS cause is classified from it.
    grpc.ready()
        .await
        .map_err(|err| tonic::Status::from_error(err.into()))?;
    let response = grpc
        .server_streaming(
            tonic::Request::new(request),
            PathAndQuery::from_static(OBSERVE_PATH),
            ObserveCodec,
        )
        .await?;
    Ok(response.into_inner())
}

/// A proxy sent a message that is not a tap event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the proxy sent a {len}-byte message that is not a tap event: {reason}")]
pub struct Undecodable {
    pub len: usize,
    pub reason: String,
}

/// Decodes one `Observe` response message that arrived at `arrived`.
pub fn event(
    interner: &mut Interner,
    message: &[u8],
    arrived: DateTime<Utc>,
) -> Result<TapEvent, Undecodable> {
    let refused = match decode(interner, message, arrived) {
        Ok(event) => return Ok(event),
        Err(refused) => refused,
    };
    let mut renumbered = message.to_vec();
    if binary_values_as_viz(&mut renumbered) {
        decode(interner, &renumbered, arrived)
    } else {
        Err(refused)
    }
}

fn decode(
    interner: &mut Interner,
    message: &[u8],
    arrived: DateTime<Utc>,
) -> Result<TapEvent, Undecodable> {
    let len = message.len();
    match frames::decode_fast(interner, message, arrived) {
        Ok(ModelFrame::Event(event)) => Ok(event),
        // A proxy has no `ApiError`: text that reads as one is not an event either.
        Ok(ModelFrame::ApiError(text)) => Err(Undecodable {
            len,
            reason: format!("it reads as text: {text:?}"),
        }),
        Err(err) => Err(Undecodable {
            len,
            reason: err.to_string(),
        }),
    }
}

/// Where a `Headers` message sits: `TapEvent.http` (3) → `Http.request_init` (1) /
/// `response_init` (2) / `response_end` (3) → their `headers` (6) / `headers` (4) / `trailers` (6).
const HEADERS_OF_EVENT: [(u32, u32); 3] = [(1, 6), (2, 4), (3, 6)];
/// `TapEvent.http`, `Headers.headers`, `Header.value`.
const HTTP: u32 = 3;
const HEADER: u32 = 1;
const VALUE: u32 = 2;
/// The low seven bits of a key for field 3, wire type 2: viz's `value_bin`.
const VALUE_BIN_KEY: u8 = (3 << 3) | 2;

/// Renumbers every header value that is not UTF-8 from field 2 to field 3 (`value_bin`), in
/// place: both keys fit in the key's first byte, so no length changes. `false` when there was
/// none (or the bytes do not parse), so nothing would change.
fn binary_values_as_viz(message: &mut [u8]) -> bool {
    let mut keys = Vec::new();
    let whole = 0..message.len();
    for http in fields(message, whole, HTTP) {
        for (event, headers_field) in HEADERS_OF_EVENT {
            for event in fields(message, http.value.clone(), event) {
                for headers in fields(message, event.value, headers_field) {
                    for header in fields(message, headers.value, HEADER) {
                        for value in fields(message, header.value, VALUE) {
                            let bytes = message.get(value.value).unwrap_or_default();
                            if std::str::from_utf8(bytes).is_err() {
                                keys.push(value.key_at);
                            }
                        }
                    }
                }
            }
        }
    }
    for &at in &keys {
        if let Some(key) = message.get_mut(at) {
            *key = (*key & 0x80) | VALUE_BIN_KEY;
        }
    }
    !keys.is_empty()
}

/// One length-delimited field: where its key starts and where its value lies in the message.
struct Field {
    key_at: usize,
    value: Range<usize>,
}

/// The length-delimited occurrences of field `number` in the message at `range`; empty when the
/// bytes do not parse (the decoder reports those).
fn fields(message: &[u8], range: Range<usize>, number: u32) -> Vec<Field> {
    let start = range.start;
    let Some(mut buf) = message.get(range) else {
        return Vec::new();
    };
    let total = buf.len();
    let mut found = Vec::new();
    while buf.has_remaining() {
        let key_at = start + total - buf.remaining();
        // A length delimiter is a varint: prost's public reader for one reads keys as well.
        let Ok(key) = prost::decode_length_delimiter(&mut buf) else {
            return Vec::new();
        };
        let skip = match key & 7 {
            0 => match prost::decode_length_delimiter(&mut buf) {
                Ok(_) => 0,
                Err(_) => return Vec::new(),
            },
            1 => 8,
            2 => match prost::decode_length_delimiter(&mut buf) {
                Ok(len) => len,
                Err(_) => return Vec::new(),
            },
            5 => 4,
            // Groups: no tap message has them; leave such bytes to the decoder.
            _ => return Vec::new(),
        };
        if skip > buf.remaining() {
            return Vec::new();
        }
        let value_at = start + total - buf.remaining();
        if key & 7 == 2 && key >> 3 == number as usize {
            found.push(Field {
                key_at,
                value: value_at..value_at + skip,
            });
        }
        buf.advance(skip);
    }
    found
}

/// Encodes `ObserveRequest`s with prost and passes response messages through as bytes.
#[derive(Debug, Clone, Copy, Default)]
struct ObserveCodec;

impl Codec for ObserveCodec {
    type Encode = ObserveRequest;
    type Decode = Bytes;
    type Encoder = ObserveCodec;
    type Decoder = ObserveCodec;

    fn encoder(&mut self) -> Self::Encoder {
        *self
    }

    fn decoder(&mut self) -> Self::Decoder {
        *self
    }
}

impl Encoder for ObserveCodec {
    type Item = ObserveRequest;
    type Error = tonic::Status;

    fn encode(&mut self, item: ObserveRequest, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        item.encode(dst)
            .map_err(|err| tonic::Status::internal(format!("encoding the Observe request: {err}")))
    }
}

impl Decoder for ObserveCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Self::Error> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

#[cfg(test)]
mod tests {
    use linkerd2_proxy_api::http_types;
    use linkerd2_proxy_api::tap::tap_event;

    use super::*;
    use crate::model::event::{HeaderValue, HttpEvent};

    fn request_with_headers(values: &[&[u8]]) -> Vec<u8> {
        let headers = http_types::Headers {
            headers: values
                .iter()
                .map(|v| http_types::headers::Header {
                    name: "x-h".into(),
                    value: v.to_vec(),
                })
                .collect(),
        };
        let init = tap_event::http::RequestInit {
            path: "/p".into(),
            headers: Some(headers),
            ..Default::default()
        };
        linkerd2_proxy_api::tap::TapEvent {
            proxy_direction: tap_event::ProxyDirection::Inbound as i32,
            event: Some(tap_event::Event::Http(tap_event::Http {
                event: Some(tap_event::http::Event::RequestInit(init)),
            })),
            ..Default::default()
        }
        .encode_to_vec()
    }

    fn header_values(event: &TapEvent) -> Vec<HeaderValue<'_>> {
        match &event.http {
            Some(HttpEvent::RequestInit(init)) => init.headers.iter().map(|h| h.value).collect(),
            other => panic!("not a request: {other:?}"),
        }
    }

    #[test]
    fn header_bytes_become_text_or_binary() {
        let mut interner = Interner::default();
        let bytes = request_with_headers(&[b"caf\xc3\xa9", &[0xff, 0x00], b"plain"]);
        let event = event(&mut interner, &bytes, Utc::now()).expect("event");
        assert_eq!(
            header_values(&event),
            [
                HeaderValue::Str("café"),
                HeaderValue::Bin(&[0xff, 0x00]),
                HeaderValue::Str("plain"),
            ]
        );
    }

    #[test]
    fn only_binary_values_are_renumbered() {
        let mut text = request_with_headers(&[b"text"]);
        let before = text.clone();
        assert!(!binary_values_as_viz(&mut text));
        assert_eq!(text, before);
        let mut binary = request_with_headers(&[&[0xc3]]);
        assert!(binary_values_as_viz(&mut binary));
        assert!(
            !binary_values_as_viz(&mut binary),
            "a second pass finds none"
        );
    }

    #[test]
    fn garbage_is_undecodable_not_a_panic() {
        let mut interner = Interner::default();
        let err = event(&mut interner, &[0xff, 0xff, 0xff, 0xff, 0x0f], Utc::now());
        assert!(matches!(err, Err(Undecodable { len: 5, .. })), "{err:?}");
    }
}
