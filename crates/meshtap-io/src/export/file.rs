//! Exporting a capture to a file: the formats' bodies and the capture description they carry.
//! The file itself is written by `crate::files` (private, atomic, never replacing what exists
//! unless the user forces it).

use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{events, har, linkerd_json, ndjson, pcapng};
pub use crate::capture::TriggerRecord;
use crate::capture::ndjson::NDJSON_VERSION;
use crate::capture::{CaptureRecord, HeaderLine, rfc3339};
use crate::session::Redactor;

use crate::files;
use crate::model::request::Request;
use crate::session::SessionInfo;

/// The `format` of an NDJSON export's header line.
pub const NDJSON_FORMAT: &str = "meshtap-ndjson";
/// The `format` of the capture description inside a HAR export (`log._meshtap`).
pub const HAR_FORMAT: &str = "meshtap-har";
/// The `format` of the capture description in a pcapng export's section comment.
pub const PCAPNG_FORMAT: &str = "meshtap-pcapng";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// meshtap's schema: a header line, then one joined request per line.
    #[default]
    Ndjson,
    /// `linkerd viz tap -o json`'s event objects, byte for byte (also `linkerd-json`).
    // One name with `-o json`; `linkerd-json`, this format's former name, is an alias of both.
    #[value(name = "json", alias = "linkerd-json")]
    LinkerdJson,
    /// HAR 1.2, with meshtap's fields under `_meshtap`.
    Har,
    /// OpenTelemetry spans: OTLP JSON `ExportTraceServiceRequest` documents, one per line.
    OtlpJson,
    /// pcapng for Wireshark: each request as a synthetic TCP conversation carrying its headers
    /// as HTTP/1.1 text (no bodies: tap carries none).
    Pcapng,
}

/// File name endings and the format each stands for, longest first (`.otlp.json` before
/// `.json`).
const EXTENSIONS: [(&str, ExportFormat); 6] = [
    (".otlp.json", ExportFormat::OtlpJson),
    (".ndjson", ExportFormat::Ndjson),
    (".jsonl", ExportFormat::Ndjson),
    (".json", ExportFormat::LinkerdJson),
    (".har", ExportFormat::Har),
    (".pcapng", ExportFormat::Pcapng),
];

/// An export whose file name and asked format disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{path} names a {named} file but the format asked is {asked}: name it *{ending}, or leave the format out to write {named}"
)]
pub struct FormatMismatch {
    pub path: String,
    pub named: &'static str,
    pub asked: &'static str,
    pub ending: &'static str,
}

impl ExportFormat {
    /// The format a file name asks for by its ending (`capture.har`), if it names one.
    pub fn from_path(path: &Path) -> Option<ExportFormat> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        EXTENSIONS
            .iter()
            .find(|(ending, _)| name.ends_with(ending) && name.len() > ending.len())
            .map(|(_, format)| *format)
    }

    /// The ending a file of this format is named with.
    pub fn ending(self) -> &'static str {
        EXTENSIONS
            .iter()
            .find(|(_, format)| *format == self)
            .map_or(".ndjson", |(ending, _)| ending)
    }

    /// The format to write `path` in: the one `asked` (`--export-format`, `:export --format`),
    /// else the one its name ends with, else NDJSON. A name that says another format than the
    /// one asked is refused: `x.har` holding NDJSON fools every tool that opens it.
    pub fn resolve(path: &Path, asked: Option<ExportFormat>) -> Result<Self, FormatMismatch> {
        match (Self::from_path(path), asked) {
            (Some(named), Some(asked)) if named != asked => Err(FormatMismatch {
                path: path.display().to_string(),
                named: named.name(),
                asked: asked.name(),
                ending: asked.ending(),
            }),
            (Some(named), _) => Ok(named),
            (None, Some(asked)) => Ok(asked),
            (None, None) => Ok(ExportFormat::Ndjson),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Ndjson => "ndjson",
            ExportFormat::LinkerdJson => "json",
            ExportFormat::Har => "har",
            ExportFormat::OtlpJson => "otlp-json",
            ExportFormat::Pcapng => "pcapng",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportOptions {
    pub format: ExportFormat,
    /// The requests given are the filtered view (the header then records the filter).
    pub filtered: bool,
    /// Replace an existing file.
    pub force: bool,
    pub redactor: Redactor,
}

/// What the caller knows about the capture as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureHeader {
    pub targets: Vec<String>,
    pub context: String,
    pub sampling: String,
    /// The active client-side filter expression; recorded only for a filtered export.
    pub filter: Option<String>,
    /// When capturing began and ended; taken from the requests when `None`.
    pub started: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
    /// Requests pushed out of memory before the export (they are not in the file).
    pub evicted: u64,
    /// The trigger that wrote this file (`--trigger`), if one did.
    pub trigger: Option<TriggerRecord>,
}

impl CaptureHeader {
    pub fn from_session(session: &SessionInfo) -> Self {
        Self {
            targets: session.targets.clone(),
            context: session.context.clone(),
            sampling: session.sampling.clone(),
            ..Self::default()
        }
    }
}

/// The capture description written at the head of a file of `format`.
pub fn capture_record(
    format: &str,
    header: &CaptureHeader,
    requests: &[&Request],
    options: &ExportOptions,
) -> CaptureRecord {
    let started = header
        .started
        .or_else(|| requests.iter().map(|r| r.started).min());
    let ended = header.ended.or_else(|| {
        requests
            .iter()
            .map(|r| r.ended_at.unwrap_or(r.started))
            .max()
    });
    CaptureRecord {
        format: format.to_string(),
        version: NDJSON_VERSION,
        meshtap_version: env!("CARGO_PKG_VERSION").to_string(),
        targets: header.targets.clone(),
        context: header.context.clone(),
        filter: header.filter.clone().filter(|_| options.filtered),
        sampling: header.sampling.clone(),
        started: started.map(rfc3339),
        ended: ended.map(rfc3339),
        requests: requests.len() as u64,
        evicted: header.evicted,
        never_ended: requests.iter().filter(|r| r.end.is_none()).count() as u64,
        // `authorization` is always sensitive when redaction is on.
        redacted: options.redactor.is_sensitive("authorization"),
        trigger: header.trigger.clone(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportReport {
    /// Requests written.
    pub written: usize,
    pub path: PathBuf,
    pub format: ExportFormat,
}

/// Why an export failed. In every case nothing was left at the target path and the capture in
/// memory is untouched, so the user can retry elsewhere.
pub use crate::files::FileError as ExportError;

/// Writes `requests` to `path` in the chosen format, atomically and privately (`crate::files`).
pub fn export<'a>(
    path: &Path,
    requests: impl IntoIterator<Item = &'a Request>,
    header: &CaptureHeader,
    options: &ExportOptions,
) -> Result<ExportReport, ExportError> {
    // Checked before the requests are gathered, so a bad path costs nothing.
    files::check_writable(path, options.force)?;
    let requests: Vec<&Request> = requests.into_iter().collect();
    let written = files::write_atomic(path, options.force, |out| {
        write_body(out, &requests, header, options)
    })?;
    Ok(ExportReport {
        written,
        path: path.to_path_buf(),
        format: options.format,
    })
}

fn write_body(
    out: &mut impl io::Write,
    requests: &[&Request],
    header: &CaptureHeader,
    options: &ExportOptions,
) -> io::Result<usize> {
    let redactor = &options.redactor;
    match options.format {
        ExportFormat::Ndjson => {
            let line = HeaderLine {
                meshtap_capture: capture_record(NDJSON_FORMAT, header, requests, options),
            };
            crate::terminal::to_json_writer(&mut *out, &line).map_err(io::Error::other)?;
            out.write_all(b"\n")?;
            for request in requests {
                ndjson::write_request(out, request, redactor)?;
            }
            Ok(requests.len())
        }
        ExportFormat::LinkerdJson => {
            let redact = |name: &str| redactor.is_sensitive(name);
            for event in events::stream_of(requests.iter().copied()) {
                linkerd_json::write_event(out, &event, &redact)?;
            }
            Ok(requests.len())
        }
        ExportFormat::Har => {
            let capture = capture_record(HAR_FORMAT, header, requests, options);
            har::write(out, requests.iter().copied(), redactor, Some(&capture))
        }
        // Spans carry no header values (only the ids read from the trace headers), so there is
        // nothing to redact.
        ExportFormat::OtlpJson => super::otlp::write_json(out, requests.iter().copied()),
        ExportFormat::Pcapng => {
            let capture = capture_record(PCAPNG_FORMAT, header, requests, options);
            pcapng::write(out, requests.iter().copied(), redactor, Some(&capture))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_name_picks_the_format_and_a_contradiction_is_refused() {
        let resolve = |name: &str, asked| ExportFormat::resolve(Path::new(name), asked);
        assert_eq!(resolve("all.pcapng", None), Ok(ExportFormat::Pcapng));
        assert_eq!(resolve("dir/x.HAR", None), Ok(ExportFormat::Har));
        assert_eq!(resolve("t.otlp.json", None), Ok(ExportFormat::OtlpJson));
        assert_eq!(resolve("t.json", None), Ok(ExportFormat::LinkerdJson));
        assert_eq!(resolve("t.ndjson", None), Ok(ExportFormat::Ndjson));
        assert_eq!(resolve("capture", None), Ok(ExportFormat::Ndjson));
        assert_eq!(
            resolve(".har", None),
            Ok(ExportFormat::Ndjson),
            "a hidden file, no ending"
        );
        // A name without a known ending takes the format asked.
        assert_eq!(
            resolve("capture.out", Some(ExportFormat::Har)),
            Ok(ExportFormat::Har)
        );
        assert_eq!(
            resolve("x.har", Some(ExportFormat::Har)),
            Ok(ExportFormat::Har)
        );
        let refused = resolve("x.har", Some(ExportFormat::Ndjson)).expect_err("mismatch");
        assert_eq!(
            refused.to_string(),
            "x.har names a har file but the format asked is ndjson: name it *.ndjson, or leave the format out to write har"
        );
        for (ending, format) in EXTENSIONS {
            assert_eq!(
                ExportFormat::from_path(Path::new(&format!("f{ending}"))),
                Some(format)
            );
        }
    }
}
