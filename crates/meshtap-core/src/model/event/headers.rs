//! Header lists, stored compactly. A list is a shared *shape* (its names, and the values that
//! repeat across requests) plus one packed byte string with the values seen rarely (request ids,
//! tokens, cookies). A list whose values all repeat is shared whole and costs a request nothing;
//! otherwise it costs one small allocation plus its rare values' bytes. The source's interner
//! decides what is shared; this module only stores and reads.

use std::fmt;
use std::sync::Arc;

use super::Text;

/// One header, as callers read it from a [`Headers`] or hand it to be stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: &'a str,
    pub value: HeaderValue<'a>,
}

impl<'a> Header<'a> {
    /// A header with a text value.
    pub fn str(name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            value: HeaderValue::Str(value),
        }
    }
}

/// A header value: text, or bytes that are not UTF-8 (`-bin` headers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderValue<'a> {
    Str(&'a str),
    Bin(&'a [u8]),
}

impl<'a> HeaderValue<'a> {
    pub fn as_bytes(self) -> &'a [u8] {
        match self {
            HeaderValue::Str(s) => s.as_bytes(),
            HeaderValue::Bin(b) => b,
        }
    }
}

/// Where one header of a shape keeps its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    /// A value that repeats across requests, shared with them.
    Shared { name: Text, value: Text },
    /// A text value packed in the list's own bytes.
    Str(Text),
    /// A binary value packed in the list's own bytes.
    Bin(Text),
}

impl Slot {
    pub fn name(&self) -> &str {
        match self {
            Slot::Shared { name, .. } | Slot::Str(name) | Slot::Bin(name) => name,
        }
    }
}

/// The names of a header list in order, with the values it shares.
#[derive(Debug, PartialEq, Eq)]
pub struct Shape(Box<[Slot]>);

impl Shape {
    pub fn new(slots: Vec<Slot>) -> Self {
        Self(slots.into_boxed_slice())
    }

    pub fn slots(&self) -> &[Slot] {
        &self.0
    }
}

#[derive(Debug)]
struct List {
    shape: Arc<Shape>,
    /// The unshared values in slot order, each as a LEB128 length and its bytes.
    tail: Box<[u8]>,
}

/// A request's, response's or end's header list. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Headers(Option<Arc<List>>);

impl Headers {
    /// A list of `shape` whose unshared slots take `values`, in order.
    pub fn new<'v>(shape: Arc<Shape>, values: impl IntoIterator<Item = &'v [u8]>) -> Self {
        if shape.0.is_empty() {
            return Self::default();
        }
        let mut tail = Vec::new();
        for value in values {
            let mut len = value.len();
            loop {
                // Seven bits per byte, the high bit saying more follow.
                let byte = (len & 0x7f) as u8;
                len >>= 7;
                if len == 0 {
                    tail.push(byte);
                    break;
                }
                tail.push(byte | 0x80);
            }
            tail.extend_from_slice(value);
        }
        Self(Some(Arc::new(List {
            shape,
            tail: tail.into_boxed_slice(),
        })))
    }

    /// The shape, `None` for an empty list.
    pub fn shape(&self) -> Option<&Arc<Shape>> {
        self.0.as_ref().map(|l| &l.shape)
    }

    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |l| l.shape.0.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> HeadersIter<'_> {
        match &self.0 {
            Some(list) => HeadersIter {
                slots: list.shape.0.iter(),
                tail: &list.tail,
            },
            None => HeadersIter {
                slots: [].iter(),
                tail: &[],
            },
        }
    }

    /// Heap bytes this list holds for its request alone: the list and its packed values when it
    /// has any. A fully shared list and its shape belong to the interner, not to a request.
    pub fn heap_bytes(&self) -> usize {
        /// An `Arc`'s allocation: two reference counts before the value.
        const ARC_COUNTS_BYTES: usize = 2 * std::mem::size_of::<usize>();
        match &self.0 {
            Some(list) if !list.tail.is_empty() => {
                ARC_COUNTS_BYTES + std::mem::size_of::<List>() + list.tail.len()
            }
            _ => 0,
        }
    }
}

/// Builds a list that shares nothing (tests, fixtures); sources share through their interner.
impl<'a> FromIterator<Header<'a>> for Headers {
    fn from_iter<I: IntoIterator<Item = Header<'a>>>(iter: I) -> Self {
        let headers: Vec<Header<'a>> = iter.into_iter().collect();
        let slots = headers
            .iter()
            .map(|h| match h.value {
                HeaderValue::Str(_) => Slot::Str(h.name.into()),
                HeaderValue::Bin(_) => Slot::Bin(h.name.into()),
            })
            .collect();
        Self::new(
            Arc::new(Shape::new(slots)),
            headers.iter().map(|h| h.value.as_bytes()),
        )
    }
}

impl<'a> From<Vec<Header<'a>>> for Headers {
    fn from(headers: Vec<Header<'a>>) -> Self {
        headers.into_iter().collect()
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = Header<'a>;
    type IntoIter = HeadersIter<'a>;

    fn into_iter(self) -> HeadersIter<'a> {
        self.iter()
    }
}

/// The headers of a list, in order.
#[derive(Clone, Debug)]
pub struct HeadersIter<'a> {
    slots: std::slice::Iter<'a, Slot>,
    tail: &'a [u8],
}

/// The first packed value of `tail` and what follows it. Only `Headers::new` writes tails, so
/// they are well formed; a short one would end the list rather than panic.
fn split_packed(mut tail: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len = 0usize;
    let mut shift = 0u32;
    loop {
        let (&byte, rest) = tail.split_first()?;
        tail = rest;
        len |= usize::from(byte & 0x7f).checked_shl(shift)?;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    tail.split_at_checked(len)
}

impl<'a> Iterator for HeadersIter<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        let slot = self.slots.next()?;
        let value = match slot {
            Slot::Shared { value, .. } => HeaderValue::Str(value),
            Slot::Str(_) => {
                let bytes = self.packed_bytes()?;
                // Written from a `&str`, so valid; shown as bytes if it somehow were not.
                std::str::from_utf8(bytes).map_or(HeaderValue::Bin(bytes), HeaderValue::Str)
            }
            Slot::Bin(_) => HeaderValue::Bin(self.packed_bytes()?),
        };
        Some(Header {
            name: slot.name(),
            value,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.slots.size_hint()
    }
}

impl<'a> HeadersIter<'a> {
    fn packed_bytes(&mut self) -> Option<&'a [u8]> {
        let (value, rest) = split_packed(self.tail)?;
        self.tail = rest;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use Header as H;

    #[test]
    fn a_list_reads_back_in_order_with_shared_and_packed_values() {
        let long = "x".repeat(300);
        let shape = Arc::new(Shape::new(vec![
            Slot::Shared {
                name: "content-type".into(),
                value: "application/json".into(),
            },
            Slot::Str("x-request-id".into()),
            Slot::Bin("trace-bin".into()),
            Slot::Str("cookie".into()),
        ]));
        let headers = Headers::new(shape, [b"abc".as_slice(), &[0xff, 0], long.as_bytes()]);
        let read: Vec<Header<'_>> = headers.iter().collect();
        assert_eq!(
            read,
            [
                H::str("content-type", "application/json"),
                H::str("x-request-id", "abc"),
                Header {
                    name: "trace-bin",
                    value: HeaderValue::Bin(&[0xff, 0]),
                },
                H::str("cookie", &long),
            ]
        );
        assert_eq!(headers.len(), 4);
        // The list and its packed bytes: 3 + 2 + 300 value bytes and 1 + 1 + 2 length bytes.
        assert_eq!(headers.heap_bytes(), 16 + std::mem::size_of::<List>() + 309);
    }

    #[test]
    fn equality_is_by_content_and_a_shared_list_costs_nothing() {
        let built: Headers = vec![H::str("a", "1"), H::str("b", "2")].into();
        let shared = Headers::new(
            Arc::new(Shape::new(vec![
                Slot::Shared {
                    name: "a".into(),
                    value: "1".into(),
                },
                Slot::Shared {
                    name: "b".into(),
                    value: "2".into(),
                },
            ])),
            [],
        );
        assert_eq!(built, shared);
        assert_eq!(shared.heap_bytes(), 0);
        assert_ne!(built, vec![H::str("a", "1")].into());
        assert!(Headers::default().is_empty());
        assert_eq!(Headers::default(), Vec::new().into());
        assert_eq!(format!("{:?}", Headers::default()), "[]");
    }
}
