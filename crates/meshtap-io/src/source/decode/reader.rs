//! Protobuf wire primitives over a borrowed buffer. Every rule here mirrors prost's decoder, so a
//! frame the direct decoder accepts is one prost would accept too: varints of at most ten bytes,
//! keys that fit in 32 bits with a non-zero field number, known wire types only, and every length
//! checked against what is left before it is used. Groups are refused (the caller falls back to
//! prost, which can skip them).

/// Why the bytes could not be walked. Details do not matter: the caller retries with prost,
/// which produces the message the user sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

pub type Result<T> = std::result::Result<T, Malformed>;

/// The wire types a key can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireType {
    Varint,
    Fixed64,
    Len,
    Fixed32,
}

/// A cursor over one message's bytes. Spans it hands out are offsets into the frame it was
/// created over, so nested readers and the label scratch can all refer to one buffer.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    frame: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    pub fn new(frame: &'a [u8]) -> Self {
        Self {
            frame,
            pos: 0,
            end: frame.len(),
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.end
    }

    fn byte(&mut self) -> Result<u8> {
        if self.pos >= self.end {
            return Err(Malformed);
        }
        let b = self.frame.get(self.pos).copied().ok_or(Malformed)?;
        self.pos += 1;
        Ok(b)
    }

    /// A base-128 varint. Like prost: at most ten bytes, and the tenth may only carry one bit.
    #[inline]
    pub fn varint(&mut self) -> Result<u64> {
        // Most varints (keys, lengths, small numbers) are one byte: skip the loop for them.
        if self.pos < self.end
            && let Some(&b) = self.frame.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        let mut value = 0u64;
        for count in 0..10 {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << (count * 7);
            if b < 0x80 {
                if count == 9 && b >= 2 {
                    return Err(Malformed);
                }
                return Ok(value);
            }
        }
        Err(Malformed)
    }

    /// The next field's number and wire type, or `None` at the end of the message.
    #[inline]
    pub fn key(&mut self) -> Result<Option<(u32, WireType)>> {
        if self.is_empty() {
            return Ok(None);
        }
        let key = u32::try_from(self.varint()?).map_err(|_| Malformed)?;
        let wire = match key & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Len,
            5 => WireType::Fixed32,
            // 3 and 4 are groups; 6 and 7 are not wire types at all.
            _ => return Err(Malformed),
        };
        let field = key >> 3;
        if field == 0 {
            return Err(Malformed);
        }
        Ok(Some((field, wire)))
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<(usize, usize)> {
        if n > self.end - self.pos {
            return Err(Malformed);
        }
        let start = self.pos;
        self.pos += n;
        Ok((start, self.pos))
    }

    /// A length-delimited field's bytes, as a span of the frame.
    #[inline]
    pub fn span(&mut self) -> Result<(usize, usize)> {
        let len = self.varint()?;
        // A length beyond what is left is refused before anything is sized by it.
        let len = usize::try_from(len).map_err(|_| Malformed)?;
        self.take(len)
    }

    /// A length-delimited field read as a nested message.
    #[inline]
    pub fn message(&mut self) -> Result<Reader<'a>> {
        let (start, end) = self.span()?;
        Ok(Reader {
            frame: self.frame,
            pos: start,
            end,
        })
    }

    #[inline]
    pub fn bytes(&self, (start, end): (usize, usize)) -> &'a [u8] {
        self.frame.get(start..end).unwrap_or_default()
    }

    /// A string field, validated as prost does.
    #[inline]
    pub fn str(&mut self) -> Result<&'a str> {
        let span = self.span()?;
        std::str::from_utf8(self.bytes(span)).map_err(|_| Malformed)
    }

    pub fn fixed32(&mut self) -> Result<u32> {
        let span = self.take(4)?;
        let b: [u8; 4] = self.bytes(span).try_into().map_err(|_| Malformed)?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn fixed64(&mut self) -> Result<u64> {
        let span = self.take(8)?;
        let b: [u8; 8] = self.bytes(span).try_into().map_err(|_| Malformed)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Skips a field this decoder does not know, as prost does (groups excepted).
    pub fn skip(&mut self, wire: WireType) -> Result<()> {
        match wire {
            WireType::Varint => self.varint().map(drop),
            WireType::Fixed64 => self.take(8).map(drop),
            WireType::Len => self.span().map(drop),
            WireType::Fixed32 => self.take(4).map(drop),
        }
    }
}

/// Refuses a known field that arrived with the wrong wire type, as prost does.
#[inline]
pub fn expect(got: WireType, want: WireType) -> Result<()> {
    if got == want { Ok(()) } else { Err(Malformed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_follow_prost_limits() {
        assert_eq!(Reader::new(&[0x96, 0x01]).varint(), Ok(150));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&max).varint(), Ok(u64::MAX));
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(Reader::new(&over).varint(), Err(Malformed));
        assert_eq!(Reader::new(&[0x80]).varint(), Err(Malformed));
    }

    #[test]
    fn lengths_are_checked_against_what_is_left() {
        assert_eq!(Reader::new(&[0x05, 1, 2]).span(), Err(Malformed));
        let huge = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&huge).span(), Err(Malformed));
    }

    #[test]
    fn groups_field_zero_and_bad_wire_types_are_refused() {
        assert_eq!(Reader::new(&[0x0b]).key(), Err(Malformed));
        assert_eq!(Reader::new(&[0x0c]).key(), Err(Malformed));
        assert_eq!(Reader::new(&[0x0e]).key(), Err(Malformed));
        assert_eq!(Reader::new(&[0x02]).key(), Err(Malformed));
        assert_eq!(Reader::new(&[0x0d]).key(), Ok(Some((1, WireType::Fixed32))));
    }
}
