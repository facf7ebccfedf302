//! meshtap's own NDJSON: one joined request per line, in the schema of `capture::ndjson`.

use std::io;

use crate::capture::ndjson::RequestRecord;
use crate::model::request::Request;
use crate::session::Redactor;

/// Writes one request as one line.
pub fn write_request(
    out: &mut impl io::Write,
    request: &Request,
    redactor: &Redactor,
) -> io::Result<()> {
    // Terminal-safe: `-o ndjson` is often read on a terminal (same value, C1 and bidi escaped).
    crate::terminal::to_json_writer(&mut *out, &RequestRecord::new(request, redactor))
        .map_err(io::Error::other)?;
    out.write_all(b"\n")
}
