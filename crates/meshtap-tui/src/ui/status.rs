//! The status bar: where the data comes from and how it flows (line 1), and what the view is
//! doing to it (line 2). Each line is built from parts fitted to the width (`fit`). The latest
//! message sits on line 2, an error above everything there but the mode; while a prompt covers
//! line 2 (`/`, `:`), the message moves up to line 1 above all but the context, so a refused
//! filter says why even at 80 columns.

mod fit;

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use crate::app::AppState;
use crate::app::state::{Gaps, Level};
use crate::session::{HttpMatch, StreamState};
use crate::ui::requests::group;
use fit::Part;

const SEP: &str = " │ ";

/// Events and requests per second, and the lag when batches pile up behind the UI.
fn throughput(state: &AppState) -> Vec<Span<'static>> {
    let (eps, rps) = state.rates.per_second();
    let mut spans = vec![Span::raw(format!("{eps:.0} ev/s {rps:.0} req/s"))];
    if state.backlog >= crate::session::SOURCE_CHANNEL_BATCHES / 2 {
        spans.push(Span::styled(
            format!(" lag: {} batches waiting", state.backlog),
            state.theme.warning,
        ));
    }
    spans
}

/// Requests held against the capacity, and what was evicted or expired.
fn held(state: &AppState) -> String {
    let stats = state.store.stats();
    let mut held = format!(
        "held {}/{}",
        group(state.store.len() as u64),
        group(state.store.capacity() as u64)
    );
    if stats.evicted_by_memory > 0 {
        // The byte bound is what is biting: say so, with what is held.
        let mib = state.store.held_bytes() / (1024 * 1024);
        let _ = write!(
            held,
            " ({mib} MiB) evicted {} ({} by --max-memory)",
            group(stats.evicted),
            group(stats.evicted_by_memory)
        );
    } else if stats.evicted > 0 {
        let _ = write!(held, " evicted {}", group(stats.evicted));
    }
    if stats.expired > 0 {
        let _ = write!(held, " expired {}", group(stats.expired));
    }
    if state.trigger_firings > 0 {
        let _ = write!(held, " triggers {}", state.trigger_firings);
    }
    held
}

/// Priority of the message part: above the streams and the throughput on line 1, above the
/// filter and the sort on line 2; an error also above a narrowed tap.
const MESSAGE_PRIORITY: u8 = 9;
const ERROR_PRIORITY: u8 = 11;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, now: DateTime<Utc>) {
    let width = usize::from(area.width);
    let mut source = source_parts(state, now);
    let mut view = view_parts(state);
    if let Some(message) = message_part(state, now) {
        if state.overlays.prompt().is_some() {
            // After the context, before the streams.
            source.insert(1, message);
        } else {
            view.push(message);
        }
    }
    let lines = vec![fit::fit(source, width), fit::fit(view, width)];
    frame.render_widget(Paragraph::new(lines).style(state.theme.status_bar), area);
}

/// Line 1: the context, the streams, the throughput, what is held, the sampling.
fn source_parts(state: &AppState, now: DateTime<Utc>) -> Vec<Part> {
    let theme = &state.theme;
    let mut parts = vec![Part::text(
        Part::KEEP,
        vec![Span::styled(
            format!(" {}", state.info.context),
            theme.title,
        )],
    )];
    let count = state.streams.len();
    let clusters = super::clusters::status_spans(state);
    let single = if clusters.is_some() { 0 } else { count };
    if let Some(spans) = clusters {
        let mut all = vec![Span::raw(SEP)];
        all.extend(spans);
        parts.push(Part::text(8, all));
    }
    let mut streams = Vec::new();
    for (i, stream) in state.streams.iter().enumerate().take(single) {
        let target = state.info.targets.get(i).map_or("", String::as_str);
        streams.push(Span::raw(if i == 0 { SEP } else { ", " }));
        // A direct proxy tap is its own context: name it once.
        if !target.is_empty() && target != state.info.context {
            streams.push(Span::raw(format!("{target} ")));
        }
        let gaps = state.gaps.get(i).copied().unwrap_or_default();
        let (text, style) = stream_state(stream, gaps, state, now);
        // With many streams only the troubled ones get their full story.
        let text = if count > 3 && matches!(stream, StreamState::Connected) {
            "ok".to_owned()
        } else {
            text
        };
        streams.push(Span::styled(text, style));
    }
    if !streams.is_empty() {
        parts.push(Part::text(8, streams));
    }
    let mut flow = vec![Span::raw(SEP)];
    flow.extend(throughput(state));
    parts.push(Part::whole(6, flow));
    parts.push(Part::whole(5, vec![Span::raw(SEP), Span::raw(held(state))]));
    let sampling = sampling(state, state.clock.now(now));
    if !sampling.is_empty() {
        parts.push(Part::text(2, vec![Span::raw(SEP), Span::raw(sampling)]));
    }
    parts
}

/// Line 2: following or paused, the sort, a narrowed tap, the view filter (the message part,
/// [`message_part`], is added by `render` to whichever line shows it).
fn view_parts(state: &AppState) -> Vec<Part> {
    let theme = &state.theme;
    let mut mode = vec![Span::raw(" ")];
    if state.view.paused_at.is_some() {
        let hidden = state.view.hidden_by_pause(&state.store);
        mode.push(Span::styled(
            format!(" PAUSED +{} ", group(hidden)),
            theme.paused,
        ));
    } else if state.view.following {
        mode.push(Span::styled("FOLLOWING", theme.following));
    } else {
        mode.push(Span::styled("LIVE (f: follow)", theme.dim));
    }
    let mut parts = vec![Part::whole(Part::KEEP, mode)];
    if state.view.sort != crate::app::view::SortKey::Time || state.view.descending {
        let arrow = if state.view.descending { "↓" } else { "↑" };
        parts.push(Part::whole(
            4,
            vec![Span::raw(format!(
                "{SEP}sort {} {arrow}",
                state.view.sort.name()
            ))],
        ));
    }
    if let Some(narrowed) = &state.narrowed {
        // Said for as long as it holds: what is not captured now is missing from the stats,
        // the recording and the export for good.
        // Above a message (not an error): it is true for as long as it is shown, a message
        // only once.
        parts.push(Part::text(
            10,
            vec![
                Span::raw(SEP),
                Span::styled(
                    format!(
                        "TAP NARROWED {}: nothing else is captured (:tap restores)",
                        describe_http(&narrowed.server, narrowed.to.as_deref())
                    ),
                    theme.warning,
                ),
            ],
        ));
    }
    if let Some(filter) = &state.filter {
        parts.push(Part::text(
            7,
            vec![
                Span::raw(SEP),
                Span::styled("filter ", theme.header),
                Span::raw(filter.text.clone()),
            ],
        ));
    }
    parts
}

/// The config warning, else the latest message, else why a tap is quiet: one part, its
/// priority by its level.
fn message_part(state: &AppState, now: DateTime<Utc>) -> Option<Part> {
    let theme = &state.theme;
    let (text, style, priority) = if let Some(warning) = state.warnings.first() {
        let more = state.warnings.len() - 1;
        let text = if more > 0 {
            format!("{warning} (+{more} more)")
        } else {
            warning.clone()
        };
        (format!("config: {text}"), theme.warning, MESSAGE_PRIORITY)
    } else if let Some(message) = &state.message {
        let (style, priority) = match message.level {
            Level::Info => (theme.text, MESSAGE_PRIORITY),
            Level::Warning => (theme.warning, MESSAGE_PRIORITY),
            Level::Error => (theme.error, ERROR_PRIORITY),
        };
        (message.text.clone(), style, priority)
    } else {
        // Tap health has its say when nothing more pressing does.
        let why = state.health.status_line(state.clock.now(now))?;
        (why, theme.warning, MESSAGE_PRIORITY)
    };
    Some(Part::text(
        priority,
        vec![Span::raw(SEP), Span::styled(text, style)],
    ))
}

/// Effective sampling once the targets' pods are known (the split and what arrives, beside the
/// metrics API's real rate; a target that needs a higher `--max-rps` first), else what the
/// session asked for.
fn sampling(state: &AppState, clock: DateTime<Utc>) -> String {
    let lines = state.health.sampling_lines(clock);
    lines
        .iter()
        .find(|line| line.ends_with("raise --max-rps"))
        .or(lines.first())
        .unwrap_or(&state.info.sampling)
        .clone()
}

fn stream_state(
    stream: &StreamState,
    gaps: Gaps,
    state: &AppState,
    now: DateTime<Utc>,
) -> (String, Style) {
    let theme = &state.theme;
    match stream {
        StreamState::Connecting => ("connecting…".to_owned(), theme.inflight),
        StreamState::Connected if gaps.count > 0 => (
            format!(
                "connected, {} gap{} (last {})",
                gaps.count,
                if gaps.count == 1 { "" } else { "s" },
                gaps.last
                    .map_or_else(String::new, |t| t.format("%H:%M:%S").to_string())
            ),
            theme.warning,
        ),
        StreamState::Connected => ("connected".to_owned(), theme.connected),
        StreamState::Reconnecting { after, error } => (
            format!(
                "reconnecting in {}s ({error})",
                gaps.retry_secs(*after, now)
            ),
            theme.warning,
        ),
        StreamState::Ended => ("ended".to_owned(), theme.dim),
        StreamState::Failed(error) => (format!("failed: {error}"), theme.error),
    }
}

/// `method=GET path=/api…` for what the tap server filters.
pub fn describe_http(http: &HttpMatch, to: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(m) = &http.method {
        parts.push(format!("method={m}"));
    }
    if let Some(p) = &http.path {
        parts.push(format!("path^={p}"));
    }
    if let Some(a) = &http.authority {
        parts.push(format!("authority={a}"));
    }
    if let Some(s) = &http.scheme {
        parts.push(format!("scheme={s}"));
    }
    if let Some(to) = to {
        parts.push(format!("to={to}"));
    }
    parts.join(" ")
}
