//! The requests pane: one row per request, drawn from the visible window only (never a walk over
//! everything held), with a "why is this empty" explanation instead of a blank screen.

use std::time::Duration;

use chrono::{DateTime, Utc};

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Wrap};

use crate::app::AppState;
use crate::app::theme::Theme;
use crate::model::event::grpc_code_name;
use crate::model::request::{Phase, Request, workload};
use crate::session::StreamState;

/// Requests slower than this (to response headers) are drawn with the `slow` style.
pub const SLOW_LATENCY: Duration = Duration::from_millis(500);
/// From this inner width the list shows milliseconds and bytes.
const WIDE_MIN_WIDTH: u16 = 120;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, focused: bool, now: DateTime<Utc>) {
    let theme = &state.theme;
    let rows = state.view.rows(&state.store);
    let title = format!(
        " Requests {}/{} {}",
        group(rows.len() as u64),
        group(state.store.len() as u64),
        super::sides::requests_title_tail(state)
    );
    let block = Block::bordered()
        .title(Span::styled(title, theme.title))
        .border_style(if focused {
            theme.border_focused
        } else {
            theme.border
        });
    if rows.is_empty() {
        let hint = Paragraph::new(empty_hint(state, now))
            .style(theme.dim)
            .wrap(Wrap { trim: true })
            .block(block);
        frame.render_widget(hint, area);
        return;
    }
    let wide = area.width >= WIDE_MIN_WIDTH;
    let height = usize::from(area.height.saturating_sub(3)).max(1);
    let (top, selected) = state.view.window(&rows, height);
    let cluster = super::clusters::column_width(state);
    let inner = area.width.saturating_sub(2);
    let mut widths = column_widths(inner.saturating_sub(cluster.map_or(0, |w| w + 1)), wide);
    let mut lines = Vec::with_capacity(height);
    for index in top..(top + height).min(rows.len()) {
        let Some(request) = rows.get(index).and_then(|seq| state.store.get(seq)) else {
            continue;
        };
        let paired = super::sides::paired(state, request);
        let row = row(request, theme, &widths, (cluster.is_some(), paired));
        lines.push(if Some(index) == selected {
            row.style(theme.selected)
        } else {
            row
        });
    }
    let mut header = vec![
        "time UTC",
        "dir",
        "source → destination",
        "method",
        "authority path",
    ];
    header.extend(["status", "latency"]);
    if wide {
        header.push("bytes");
    }
    header.push("tls");
    if let Some(width) = cluster {
        header.insert(1, "cluster");
        widths.insert(1, width);
    }
    let table = Table::new(lines, widths.iter().map(|w| Constraint::Length(*w)))
        .header(Row::new(header).style(theme.header))
        .block(block);
    frame.render_widget(table, area);
}

/// Column widths for an inner width: fixed columns first, the rest shared by the two text
/// columns so they can be truncated in the middle rather than cut off.
fn column_widths(inner: u16, wide: bool) -> Vec<u16> {
    let fixed: &[u16] = if wide {
        &[12, 4, 0, 6, 0, 11, 8, 7, 5]
    } else {
        &[8, 4, 0, 4, 0, 7, 7, 5]
    };
    let spacing = u16::try_from(fixed.len() - 1).unwrap_or(0);
    let rest = inner.saturating_sub(fixed.iter().sum::<u16>() + spacing);
    let route = if wide { rest * 3 / 7 } else { rest / 2 };
    let mut widths = fixed.to_vec();
    widths[2] = route;
    widths[4] = rest - route;
    widths
}

/// `cluster`: the cluster column is shown; `paired`: the other side of the call is held.
fn row(
    request: &Request,
    theme: &Theme,
    widths: &[u16],
    (cluster, paired): (bool, bool),
) -> Row<'static> {
    let wide = widths.len() == 9;
    let time = if wide {
        request.started.format("%H:%M:%S%.3f").to_string()
    } else {
        request.started.format("%H:%M:%S").to_string()
    };
    let route = fit(
        &[
            format!(
                "{} → {}",
                endpoint_name(&request.source),
                endpoint_name(&request.destination)
            ),
            format!(
                "{} → {}",
                short_name(&request.source),
                short_name(&request.destination)
            ),
        ],
        widths[2],
    );
    // The destination column already names the service, so a narrow column keeps the path.
    let target = fit(
        &[
            format!("{}{}", request.authority(), request.path()),
            request.path().to_owned(),
        ],
        widths[4],
    );
    let (status, status_style) = status(request, theme);
    let latency = request.latency().or_else(|| request.duration());
    let latency_style = match latency {
        Some(l) if l >= SLOW_LATENCY => theme.slow,
        _ => theme.text,
    };
    let (tls, tls_style) = tls_mark(request, theme);
    let mut cells = vec![
        Cell::from(time),
        Cell::from(super::sides::dir_cell(request, paired)),
        Cell::from(route),
        Cell::from(if request.init.is_some() {
            request.method().to_owned()
        } else {
            "?".to_owned()
        }),
        Cell::from(target),
        Cell::from(Span::styled(status, status_style)),
        Cell::from(Span::styled(
            latency.map(format_duration).unwrap_or_default(),
            latency_style,
        )),
    ];
    if wide {
        cells.push(Cell::from(
            request
                .response_bytes()
                .map(format_bytes)
                .unwrap_or_default(),
        ));
    }
    cells.push(Cell::from(Span::styled(tls, tls_style)));
    if cluster {
        cells.insert(1, super::clusters::cell(request));
    }
    Row::new(cells)
}

/// The first candidate that fits `width`, else the last one truncated in the middle.
fn fit(candidates: &[String], width: u16) -> String {
    candidates
        .iter()
        .find(|c| c.chars().count() <= usize::from(width))
        .cloned()
        .unwrap_or_else(|| truncate_middle(candidates.last().map_or("", String::as_str), width))
}

/// The workload name alone, else the IP, else `?`.
fn short_name(endpoint: &crate::model::event::Endpoint) -> String {
    match workload(endpoint) {
        Some((_, _, name)) => name.to_owned(),
        None => endpoint_name(endpoint),
    }
}

/// `ns/name` of the workload, else `ns/svc/name` of the service (a mirrored service behind a
/// multicluster gateway has no pod labels), else the IP, else `?`.
pub fn endpoint_name(endpoint: &crate::model::event::Endpoint) -> String {
    let labels = &endpoint.labels;
    let namespaced = |ns: &str, name: &str| match ns {
        "" => name.to_owned(),
        ns => format!("{ns}/{name}"),
    };
    match (workload(endpoint), labels.get("service")) {
        (Some((ns, _, name)), _) => namespaced(ns, name),
        (None, Some(service)) => namespaced(
            labels.get("namespace").unwrap_or(""),
            &format!("svc/{service}"),
        ),
        (None, None) => endpoint
            .addr
            .map_or_else(|| "?".to_owned(), |a| a.ip().to_string()),
    }
}

/// The status cell: HTTP status, gRPC status name, `RST n`, `…` in flight, `expired`.
pub fn status(request: &Request, theme: &Theme) -> (String, Style) {
    let class = |request: &Request| match (request.success(), request.http_status()) {
        (Some(false), _) => theme.status_server_err,
        (_, Some(s)) if s >= 400 => theme.status_client_err,
        _ => theme.status_ok,
    };
    match request.phase() {
        Phase::Waiting => ("…".to_owned(), theme.inflight),
        Phase::Streaming => (
            format!("{} …", request.http_status().unwrap_or_default()),
            theme.inflight,
        ),
        Phase::Expired => ("expired".to_owned(), theme.expired),
        Phase::Superseded => ("superseded".to_owned(), theme.expired),
        Phase::Done => {
            if let Some(code) = request.reset_code() {
                (format!("RST {code}"), theme.status_server_err)
            } else if let Some(code) = request.grpc_status() {
                let name =
                    grpc_code_name(code).map_or_else(|| format!("grpc {code}"), str::to_owned);
                (name, class(request))
            } else if let Some(s) = request.http_status() {
                (s.to_string(), class(request))
            } else {
                ("no resp".to_owned(), theme.status_server_err)
            }
        }
    }
}

fn tls_mark(request: &Request, theme: &Theme) -> (&'static str, Style) {
    match request.identity().1 {
        "true" => ("mTLS", theme.tls_ok),
        "loopback" => ("lo", theme.dim),
        "" => ("?", theme.dim),
        _ => ("plain", theme.tls_plain),
    }
}

/// Why the list is empty, in words.
pub fn empty_hint(state: &AppState, now: DateTime<Utc>) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let help_key = state
        .keymap
        .key_for(
            crate::app::keymap::Context::Global,
            &crate::app::Action::Help,
        )
        .map_or_else(|| "?".to_owned(), |k| k.to_string());
    if let Some(filter) = &state.filter
        && !state.store.is_empty()
    {
        lines.push(Line::from(format!(
            "No request matches the filter `{}` ({} held). Press / to change it or c to clear it.",
            filter.text,
            group(state.store.len() as u64)
        )));
    } else if let (Some(_), false) = (state.side.clause(), state.store.is_empty()) {
        lines.push(Line::from(format!(
            "No request on the {} ({} held). Press D for the other views.",
            state.side.label(),
            group(state.store.len() as u64)
        )));
    } else if state.view.paused_at.is_some() && !state.store.is_empty() {
        lines.push(Line::from(
            "Paused before any request arrived. Press f to follow live.",
        ));
    } else {
        lines.push(Line::from(stream_hint(state, now)));
        // Why, per pod, when meshtap can tell.
        let troubled: Vec<_> = state
            .health_now(now)
            .into_iter()
            .filter(crate::health::TargetHealth::needs_attention)
            .collect();
        if !troubled.is_empty() {
            lines.push(Line::from(""));
            lines.extend(crate::ui::why::lines(&troubled, &state.theme));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(format!("Press {help_key} for help, q to quit.")));
    lines
}

fn stream_hint(state: &AppState, now: DateTime<Utc>) -> String {
    let targets = if state.info.targets.is_empty() {
        "the targets".to_owned()
    } else {
        state.info.targets.join(", ")
    };
    if let Some(error) = state.streams.iter().find_map(|s| match s {
        StreamState::Failed(e) => Some(e),
        _ => None,
    }) {
        return match error.kind.hint() {
            Some(hint) => format!("The tap of {targets} failed. {hint} It said: {error}"),
            None => format!("The tap of {targets} failed: {error}"),
        };
    }
    if let Some((i, after, error)) = state.streams.iter().enumerate().find_map(|(i, s)| match s {
        StreamState::Reconnecting { after, error } => Some((i, after, error)),
        _ => None,
    }) {
        let gaps = state.gaps.get(i).copied().unwrap_or_default();
        return format!(
            "No data: reconnecting in {}s after: {error}",
            gaps.retry_secs(*after, now)
        );
    }
    if state.streams.contains(&StreamState::Connecting) {
        // A direct proxy tap is its own context: name it once.
        return if state.info.targets == [state.info.context.as_str()] {
            format!("Connecting to {targets}…")
        } else {
            format!("Connecting to {} to tap {targets}…", state.info.context)
        };
    }
    if state.source_closed || state.streams.iter().all(|s| *s == StreamState::Ended) {
        return "The stream ended without any request.".to_owned();
    }
    format!(
        "Connected, no traffic yet: the pods of {targets} have not handled a request since the tap started. Send some traffic, or check that the pods are meshed (`linkerd check --proxy`)."
    )
}

/// Shortens `text` to `width` characters by replacing its middle with `…`, keeping both ends
/// (the service and the last path segment are the informative parts).
pub fn truncate_middle(text: &str, width: u16) -> String {
    let width = usize::from(width);
    let count = text.chars().count();
    if count <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let keep = width - 1;
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let mut out: String = text.chars().take(head).collect();
    out.push('…');
    out.extend(text.chars().skip(count - tail));
    out
}

pub use crate::app::detail::format_duration;

/// `512B`, `1.5K`, `12M`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["K", "M", "G", "T"];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    let mut value = bytes as f64 / 1024.0;
    for unit in UNITS {
        if value < 1024.0 {
            return if value < 10.0 {
                format!("{value:.1}{unit}")
            } else {
                format!("{value:.0}{unit}")
            };
        }
        value /= 1024.0;
    }
    format!("{value:.0}P")
}

/// `12,345` (shared with the headless outputs: one spelling of counts everywhere).
pub use crate::units::group;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(format_duration(Duration::from_micros(850)), "850µs");
        assert_eq!(format_duration(Duration::from_micros(4_210)), "4.2ms");
        assert_eq!(format_duration(Duration::from_millis(120)), "120ms");
        assert_eq!(format_duration(Duration::from_millis(1_250)), "1.25s");
        assert_eq!(format_bytes(512), "512B");
        assert_eq!(format_bytes(1536), "1.5K");
        assert_eq!(format_bytes(12 * 1024 * 1024), "12M");
        assert_eq!(group(0), "0");
        assert_eq!(truncate_middle("abcdefghij", 5), "ab…ij");
        assert_eq!(truncate_middle("abc", 5), "abc");
        assert_eq!(truncate_middle("abc", 0), "");
        assert_eq!(column_widths(78, false).iter().sum::<u16>() + 7, 78);
        assert_eq!(group(1_234_567), "1,234,567");
    }

    #[test]
    fn an_endpoint_is_named_by_workload_then_service_then_address() {
        use crate::model::event::{Endpoint, Labels};
        let endpoint = |labels: &[(&str, &str)]| Endpoint {
            addr: "192.0.2.11:4143".parse().ok(),
            labels: labels.iter().copied().collect::<Labels>(),
        };
        let mirrored = [("service", "catalogue-west"), ("namespace", "sock-shop")];
        assert_eq!(
            endpoint_name(&endpoint(&mirrored)),
            "sock-shop/svc/catalogue-west"
        );
        let pod = [("deployment", "catalogue"), ("namespace", "sock-shop")];
        let both: Vec<_> = pod.iter().chain(&mirrored[..1]).copied().collect();
        assert_eq!(endpoint_name(&endpoint(&both)), "sock-shop/catalogue");
        assert_eq!(endpoint_name(&endpoint(&[])), "192.0.2.11");
    }
}
