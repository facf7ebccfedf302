//! The tap API's framing: each frame is a 4-byte little-endian length, then that many bytes of
//! protobuf. The stream has no terminator and can end anywhere, so the decoder is incremental.

use bytes::{Buf, Bytes, BytesMut};
use prost::Message;

use chrono::{DateTime, Utc};

use super::wire::{self, Interner};
use crate::model::event::TapEvent;
use crate::proto::{tap, viz};

/// Frames larger than this are refused: no honest tap event comes near it, and trusting a corrupt
/// length would mean an unbounded allocation.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

const HEADER_BYTES: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error(
        "a tap frame claims {len} bytes, over the {MAX_FRAME_BYTES}-byte limit: the stream is \
         corrupt or is not a Linkerd tap stream"
    )]
    TooLarge { len: usize },
    #[error("the tap stream ended in the middle of a frame ({have} of {want} bytes received)")]
    Truncated { have: usize, want: usize },
    #[error("a {len}-byte tap frame is neither a tap event nor an API error: {reason}")]
    Undecodable { len: usize, reason: String },
}

/// What one frame held.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Event(Box<tap::TapEvent>),
    /// A `viz.ApiError`: the tap server's way of reporting an error mid-stream.
    ApiError(String),
}

/// Splits a byte stream into frames as chunks arrive.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: BytesMut,
}

impl FrameDecoder {
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete frame's payload, if one has arrived. A `TooLarge` error is final: the
    /// stream cannot be resynchronised after a bad length.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        let Some(header) = self.buf.get(..HEADER_BYTES) else {
            return Ok(None);
        };
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if len > MAX_FRAME_BYTES {
            return Err(FrameError::TooLarge { len });
        }
        if self.buf.len() < HEADER_BYTES + len {
            // Reserve what the frame needs so a big frame arrives in one buffer.
            self.buf.reserve(HEADER_BYTES + len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(HEADER_BYTES);
        Ok(Some(self.buf.split_to(len).freeze()))
    }

    /// Call at end of stream: an incomplete frame left over is an error.
    pub fn finish(&self) -> Result<(), FrameError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let want = self.buf.get(..HEADER_BYTES).map_or(HEADER_BYTES, |h| {
            HEADER_BYTES + u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize
        });
        Err(FrameError::Truncated {
            have: self.buf.len(),
            want,
        })
    }
}

/// Decodes one frame. Framing cannot tell an `ApiError` from a `TapEvent`, so a frame that fails
/// as an event but reads as an error is that error; so is one that "decodes" as an event with
/// nothing in it but reads as error text.
pub fn decode(frame: &[u8]) -> Result<Frame, FrameError> {
    match tap::TapEvent::decode(frame) {
        Ok(event) if !looks_empty(&event) => Ok(Frame::Event(Box::new(event))),
        Ok(event) => Ok(api_error(frame).map_or(Frame::Event(Box::new(event)), Frame::ApiError)),
        Err(err) => api_error(frame)
            .map(Frame::ApiError)
            .ok_or_else(|| FrameError::Undecodable {
                len: frame.len(),
                reason: err.to_string(),
            }),
    }
}

/// What [`decode_fast`] found in one frame.
#[allow(
    clippy::large_enum_variant,
    reason = "events are nearly every frame: boxing them would allocate once per event"
)]
#[derive(Debug, Clone, PartialEq)]
pub enum ModelFrame {
    Event(TapEvent),
    /// A `viz.ApiError`: the tap server's way of reporting an error mid-stream.
    ApiError(String),
}

/// Decodes one frame straight into the model, with [`decode`]'s rules: the direct decoder takes
/// every frame that is plainly an event; anything else (undecodable, empty-looking, unusual
/// encodings it leaves to prost) goes through [`decode`] and `wire::event`, so errors and
/// `ApiError` detection behave exactly as before.
pub fn decode_fast(
    interner: &mut Interner,
    frame: &[u8],
    arrived: DateTime<Utc>,
) -> Result<ModelFrame, FrameError> {
    match super::decode::event(interner, frame, arrived) {
        Ok(decoded) if !decoded.looks_empty => Ok(ModelFrame::Event(decoded.event)),
        _ => Ok(match decode(frame)? {
            Frame::Event(event) => ModelFrame::Event(wire::event(interner, *event, arrived)),
            Frame::ApiError(text) => ModelFrame::ApiError(text),
        }),
    }
}

fn looks_empty(event: &tap::TapEvent) -> bool {
    event.event.is_none() && event.proxy_direction == 0 && event.destination.is_none()
}

fn api_error(frame: &[u8]) -> Option<String> {
    let error = viz::ApiError::decode(frame).ok()?.error;
    // Linkerd's "no pods to tap" lists the skipped pods as `\t* NAME` lines: tabs and newlines
    // are part of its messages, other controls are not.
    let printable = !error.is_empty()
        && error
            .chars()
            .all(|c| !c.is_control() || c == '\n' || c == '\t');
    // A tab would print as an escape on a terminal; the list reads the same indented by spaces.
    printable.then(|| error.replace('\t', "  "))
}

/// Frames a message: the length as 4 little-endian bytes, then the encoded message.
pub fn encode(message: &impl Message) -> Bytes {
    let len = message.encoded_len();
    let mut buf = BytesMut::with_capacity(HEADER_BYTES + len);
    buf.extend_from_slice(&(len as u32).to_le_bytes());
    message.encode_raw(&mut buf);
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> tap::TapEvent {
        tap::TapEvent {
            proxy_direction: tap::tap_event::ProxyDirection::Outbound as i32,
            ..Default::default()
        }
    }

    #[test]
    fn frames_split_across_chunks_reassemble() {
        let mut bytes = encode(&event()).to_vec();
        bytes.extend_from_slice(&encode(&event()));
        let mut decoder = FrameDecoder::default();
        let mut frames = 0;
        for byte in bytes {
            decoder.push(&[byte]);
            while let Some(frame) = decoder.next_frame().expect("frame") {
                assert_eq!(decode(&frame), Ok(Frame::Event(Box::new(event()))));
                frames += 1;
            }
        }
        assert_eq!(frames, 2);
        assert_eq!(decoder.finish(), Ok(()));
    }

    #[test]
    fn an_oversized_length_is_refused_before_allocating() {
        let mut decoder = FrameDecoder::default();
        decoder.push(&u32::MAX.to_le_bytes());
        assert_eq!(
            decoder.next_frame(),
            Err(FrameError::TooLarge {
                len: u32::MAX as usize
            })
        );
    }

    #[test]
    fn a_truncated_frame_is_reported_at_end() {
        let mut decoder = FrameDecoder::default();
        decoder.push(&10u32.to_le_bytes());
        decoder.push(b"abc");
        assert_eq!(decoder.next_frame(), Ok(None));
        assert_eq!(
            decoder.finish(),
            Err(FrameError::Truncated { have: 7, want: 14 })
        );
    }

    #[test]
    fn api_error_frames_are_recognised() {
        let error = viz::ApiError {
            error: "no pods to tap for type=deployment name=nope\n".into(),
        };
        let frame = encode(&error);
        assert_eq!(
            decode(&frame[4..]),
            Ok(Frame::ApiError(
                "no pods to tap for type=deployment name=nope\n".into()
            ))
        );
    }

    #[test]
    fn linkerds_list_of_skipped_pods_is_its_error() {
        // The tap server's message when every pod is skipped, tabs and all.
        let error = viz::ApiError {
            error: "no pods to tap for deployment/web\n1 pods found with tap not enabled:\n\t* web-1\nrestart these pods to enable tap and make them valid tap targets\n".into(),
        };
        let frame = encode(&error);
        assert_eq!(
            decode(&frame[4..]),
            Ok(Frame::ApiError(
                "no pods to tap for deployment/web\n1 pods found with tap not enabled:\n  * web-1\nrestart these pods to enable tap and make them valid tap targets\n".into()
            ))
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let result = decode(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(matches!(
            result,
            Err(FrameError::Undecodable { len: 5, .. })
        ));
    }
}
