//! Parsing of typed values: HTTP statuses, gRPC codes, durations and byte counts. Done once at
//! parse time so matching only compares integers.

use crate::model::event::grpc_code_name;
use crate::units::{duration_unit_nanos, scaled, size_unit_bytes, split_number};

/// `200` → (200, 200); `5xx` → (500, 599).
pub(super) fn status(text: &str) -> Result<(u32, u32), String> {
    let bytes = text.as_bytes();
    if let [class @ b'1'..=b'9', x1, x2] = bytes
        && x1.eq_ignore_ascii_case(&b'x')
        && x2.eq_ignore_ascii_case(&b'x')
    {
        let lo = u32::from(class - b'0') * 100;
        return Ok((lo, lo + 99));
    }
    match text.parse::<u32>() {
        Ok(code) if (100..=999).contains(&code) => Ok((code, code)),
        _ => Err(format!(
            "expected an HTTP status like 200 or 5xx, found {text:?}"
        )),
    }
}

/// A gRPC code by number or by name, case-insensitively (`Unavailable`, `unavailable`, `14`).
pub(super) fn grpc(text: &str) -> Result<u32, String> {
    if let Ok(code) = text.parse::<u32>() {
        return Ok(code);
    }
    // The Go name is `Canceled`; people often write the British spelling.
    if text.eq_ignore_ascii_case("cancelled") {
        return Ok(1);
    }
    (0..=16)
        .find(|&code| grpc_code_name(code).is_some_and(|name| name.eq_ignore_ascii_case(text)))
        .ok_or_else(|| {
            format!("unknown gRPC status {text:?}: use a code number or a name like Unavailable")
        })
}

/// A duration with a unit (`100ms`, `1.5s`, `250µs`), in nanoseconds. `what` names the field in
/// errors ("latency", "duration").
pub(super) fn nanos(text: &str, what: &str) -> Result<u64, String> {
    let (number, unit) = split_number(text);
    if number.is_empty() {
        let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        return Err(format!(
            "expected {article} {what} like 100ms, found {text:?}"
        ));
    }
    if unit.is_empty() {
        return Err(format!("{what} needs a unit: {number}ms"));
    }
    let scale = duration_unit_nanos(unit)
        .ok_or_else(|| format!("unknown unit {unit:?} in {what}: use ns, us, ms, s, m, h or d"))?;
    scaled(number, scale).ok_or_else(|| format!("{what} {text:?} is too large"))
}

/// A byte count, optionally with a unit (`1500`, `1.5kb`, `2KiB`, `1M`): [`crate::units`] sizes.
pub(super) fn bytes(text: &str) -> Result<u64, String> {
    let (number, unit) = split_number(text);
    if number.is_empty() {
        return Err(format!(
            "expected a byte count like 1024 or 10kb, found {text:?}"
        ));
    }
    let scale = size_unit_bytes(unit).ok_or_else(|| {
        format!("unknown unit {unit:?} in bytes: use b, k, kb, ki, kib, m, mi, g, gi, t or ti")
    })?;
    scaled(number, scale).ok_or_else(|| format!("byte count {text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(status("5xx"), Ok((500, 599)));
        assert_eq!(status("2XX"), Ok((200, 299)));
        assert_eq!(status("404"), Ok((404, 404)));
        assert!(status("0xx").is_err());
        assert!(status("99").is_err());
        assert!(status("abc").is_err());
    }

    #[test]
    fn grpc_codes() {
        assert_eq!(grpc("unavailable"), Ok(14));
        assert_eq!(grpc("OK"), Ok(0));
        assert_eq!(grpc("Cancelled"), Ok(1));
        assert_eq!(grpc("7"), Ok(7));
        assert!(grpc("nope").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(nanos("100ms", "latency"), Ok(100_000_000));
        assert_eq!(nanos("1.5s", "latency"), Ok(1_500_000_000));
        assert_eq!(nanos("250µs", "latency"), Ok(250_000));
        assert_eq!(nanos(".5ms", "latency"), Ok(500_000));
        assert_eq!(
            nanos("100", "latency"),
            Err("latency needs a unit: 100ms".to_owned())
        );
        assert!(nanos("ms", "latency").is_err());
        assert!(nanos("1.2.3s", "latency").is_err());
        assert!(nanos("99999999999999999999s", "latency").is_err());
    }

    #[test]
    fn byte_counts() {
        assert_eq!(bytes("1500"), Ok(1500));
        assert_eq!(bytes("1.5kb"), Ok(1500));
        assert_eq!(bytes("2KiB"), Ok(2048));
        assert!(bytes("lots").is_err());
    }
}
