//! The `TapEvent.Http` part of the direct decoder: request init, response init and response end,
//! with their headers. Fields merge as prost merges them (a repeated message field merges, a
//! scalar or string is replaced, a oneof switching variant starts afresh), so odd but valid
//! input gives what `wire::event` would.

use crate::model::event::{
    Eos, Header, HeaderValue, HttpEvent, RequestInit, ResponseEnd, ResponseInit,
};
use crate::proto::{tap, viz};
use crate::source::wire::{Interner, duration, stream_id};

use super::reader::{Reader, Result, WireType, expect};

type StreamId = tap::tap_event::http::StreamId;

/// Which `TapEvent.Http` variant has been seen so far.
#[derive(Debug, Default)]
pub(super) enum State<'a> {
    /// The `http` message, with no event in it (yet).
    #[default]
    Empty,
    Request(Request<'a>),
    Response(Response<'a>),
    End(End<'a>),
}

#[derive(Debug, Default)]
pub(super) struct Request<'a> {
    id: Option<StreamId>,
    method: Option<Choice<'a>>,
    scheme: Option<Choice<'a>>,
    authority: &'a str,
    path: &'a str,
    headers: Vec<Header<'a>>,
}

#[derive(Debug, Default)]
pub(super) struct Response<'a> {
    id: Option<StreamId>,
    since_request_init: Option<prost_types::Duration>,
    http_status: u32,
    headers: Vec<Header<'a>>,
}

#[derive(Debug, Default)]
pub(super) struct End<'a> {
    id: Option<StreamId>,
    since_request_init: Option<prost_types::Duration>,
    since_response_init: Option<prost_types::Duration>,
    response_bytes: u64,
    eos: Option<viz::Eos>,
    trailers: Vec<Header<'a>>,
}

/// `viz.HttpMethod` / `viz.Scheme`: a registered enum value or free text.
#[derive(Clone, Copy, Debug)]
enum Choice<'a> {
    Registered(i32),
    Unregistered(&'a str),
}

/// Merges one `TapEvent.Http` message into `state`.
pub(super) fn merge<'a>(m: &mut Reader<'a>, state: &mut State<'a>) -> Result<()> {
    while let Some((field, wire)) = m.key()? {
        match field {
            1 => {
                expect(wire, WireType::Len)?;
                if !matches!(state, State::Request(_)) {
                    *state = State::Request(Request::default());
                }
                if let State::Request(r) = state {
                    request(&mut m.message()?, r)?;
                }
            }
            2 => {
                expect(wire, WireType::Len)?;
                if !matches!(state, State::Response(_)) {
                    *state = State::Response(Response::default());
                }
                if let State::Response(r) = state {
                    response(&mut m.message()?, r)?;
                }
            }
            3 => {
                expect(wire, WireType::Len)?;
                if !matches!(state, State::End(_)) {
                    *state = State::End(End::default());
                }
                if let State::End(e) = state {
                    end(&mut m.message()?, e)?;
                }
            }
            _ => m.skip(wire)?,
        }
    }
    Ok(())
}

fn request<'a>(m: &mut Reader<'a>, r: &mut Request<'a>) -> Result<()> {
    while let Some((field, wire)) = m.key()? {
        match field {
            1 => id(wire, m, r.id.get_or_insert_default())?,
            2 => choice(wire, m, &mut r.method)?,
            3 => choice(wire, m, &mut r.scheme)?,
            4 => {
                expect(wire, WireType::Len)?;
                r.authority = m.str()?;
            }
            5 => {
                expect(wire, WireType::Len)?;
                r.path = m.str()?;
            }
            6 => headers(wire, m, &mut r.headers)?,
            _ => m.skip(wire)?,
        }
    }
    Ok(())
}

fn response<'a>(m: &mut Reader<'a>, r: &mut Response<'a>) -> Result<()> {
    while let Some((field, wire)) = m.key()? {
        match field {
            1 => id(wire, m, r.id.get_or_insert_default())?,
            2 => since(wire, m, r.since_request_init.get_or_insert_default())?,
            3 => {
                expect(wire, WireType::Varint)?;
                r.http_status = m.varint()? as u32;
            }
            4 => headers(wire, m, &mut r.headers)?,
            _ => m.skip(wire)?,
        }
    }
    Ok(())
}

fn end<'a>(m: &mut Reader<'a>, e: &mut End<'a>) -> Result<()> {
    while let Some((field, wire)) = m.key()? {
        match field {
            1 => id(wire, m, e.id.get_or_insert_default())?,
            2 => since(wire, m, e.since_request_init.get_or_insert_default())?,
            3 => since(wire, m, e.since_response_init.get_or_insert_default())?,
            4 => {
                expect(wire, WireType::Varint)?;
                e.response_bytes = m.varint()?;
            }
            5 => {
                expect(wire, WireType::Len)?;
                let eos = e.eos.get_or_insert_default();
                let mut m = m.message()?;
                while let Some((field, wire)) = m.key()? {
                    match field {
                        1 | 2 => {
                            expect(wire, WireType::Varint)?;
                            let code = m.varint()? as u32;
                            eos.end = Some(if field == 1 {
                                viz::eos::End::GrpcStatusCode(code)
                            } else {
                                viz::eos::End::ResetErrorCode(code)
                            });
                        }
                        _ => m.skip(wire)?,
                    }
                }
            }
            6 => headers(wire, m, &mut e.trailers)?,
            _ => m.skip(wire)?,
        }
    }
    Ok(())
}

fn id(wire: WireType, m: &mut Reader<'_>, id: &mut StreamId) -> Result<()> {
    expect(wire, WireType::Len)?;
    let mut m = m.message()?;
    while let Some((field, wire)) = m.key()? {
        match field {
            1 => {
                expect(wire, WireType::Varint)?;
                id.base = m.varint()? as u32;
            }
            2 => {
                expect(wire, WireType::Varint)?;
                id.stream = m.varint()?;
            }
            _ => m.skip(wire)?,
        }
    }
    Ok(())
}

fn since(wire: WireType, m: &mut Reader<'_>, d: &mut prost_types::Duration) -> Result<()> {
    expect(wire, WireType::Len)?;
    let mut m = m.message()?;
    while let Some((field, wire)) = m.key()? {
        match field {
            1 => {
                expect(wire, WireType::Varint)?;
                d.seconds = m.varint()?.cast_signed();
            }
            2 => {
                expect(wire, WireType::Varint)?;
                d.nanos = m.varint()? as i32;
            }
            _ => m.skip(wire)?,
        }
    }
    Ok(())
}

/// Merges a `viz.HttpMethod` or `viz.Scheme`: the last variant written wins.
fn choice<'a>(wire: WireType, m: &mut Reader<'a>, out: &mut Option<Choice<'a>>) -> Result<()> {
    expect(wire, WireType::Len)?;
    let mut m = m.message()?;
    while let Some((field, wire)) = m.key()? {
        match field {
            1 => {
                expect(wire, WireType::Varint)?;
                *out = Some(Choice::Registered(m.varint()? as i32));
            }
            2 => {
                expect(wire, WireType::Len)?;
                *out = Some(Choice::Unregistered(m.str()?));
            }
            _ => m.skip(wire)?,
        }
    }
    Ok(())
}

/// Appends a `viz.Headers`' headers. A header with no value is skipped, as `wire::event` does.
fn headers<'a>(wire: WireType, m: &mut Reader<'a>, out: &mut Vec<Header<'a>>) -> Result<()> {
    expect(wire, WireType::Len)?;
    let mut m = m.message()?;
    while let Some((field, wire)) = m.key()? {
        if field != 1 {
            m.skip(wire)?;
            continue;
        }
        expect(wire, WireType::Len)?;
        let mut h = m.message()?;
        let mut name = "";
        let mut value = None;
        while let Some((field, wire)) = h.key()? {
            match field {
                1 => {
                    expect(wire, WireType::Len)?;
                    name = h.str()?;
                }
                2 => {
                    expect(wire, WireType::Len)?;
                    value = Some(Ok(h.str()?));
                }
                3 => {
                    expect(wire, WireType::Len)?;
                    let span = h.span()?;
                    value = Some(Err(h.bytes(span)));
                }
                _ => h.skip(wire)?,
            }
        }
        if let Some(value) = value {
            out.push(Header {
                name,
                value: match value {
                    Ok(s) => HeaderValue::Str(s),
                    Err(b) => HeaderValue::Bin(b),
                },
            });
        }
    }
    Ok(())
}

impl State<'_> {
    /// The model event, `None` for an `http` message that carried no event.
    pub(super) fn finish(self, interner: &mut Interner) -> Option<HttpEvent> {
        Some(match self {
            State::Empty => return None,
            State::Request(r) => HttpEvent::RequestInit(RequestInit {
                id: stream_id(r.id),
                method: r.method.map(|m| match m {
                    Choice::Registered(n) => interner.text(
                        viz::http_method::Registered::try_from(n)
                            .unwrap_or(viz::http_method::Registered::Get)
                            .as_str_name(),
                    ),
                    Choice::Unregistered(s) => interner.text(s),
                }),
                scheme: r.scheme.map(|s| match s {
                    Choice::Registered(n) => interner.text(
                        viz::scheme::Registered::try_from(n)
                            .unwrap_or(viz::scheme::Registered::Http)
                            .as_str_name(),
                    ),
                    Choice::Unregistered(s) => interner.text(s),
                }),
                authority: interner.text(r.authority),
                path: r.path.into(),
                headers: interner.headers(&r.headers),
                matched_route: None,
            }),
            State::Response(r) => HttpEvent::ResponseInit(ResponseInit {
                id: stream_id(r.id),
                since_request_init: r.since_request_init.map(duration),
                http_status: r.http_status,
                headers: interner.headers(&r.headers),
            }),
            State::End(e) => HttpEvent::ResponseEnd(ResponseEnd {
                id: stream_id(e.id),
                since_request_init: e.since_request_init.map(duration),
                since_response_init: e.since_response_init.map(duration),
                response_bytes: e.response_bytes,
                eos: e.eos.and_then(|eos| match eos.end? {
                    viz::eos::End::GrpcStatusCode(code) => Some(Eos::Grpc(code)),
                    viz::eos::End::ResetErrorCode(code) => Some(Eos::Reset(code)),
                }),
                trailers: interner.headers(&e.trailers),
            }),
        })
    }
}
