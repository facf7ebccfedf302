//! The trace waterfall (`t`): one row per captured request of a trace, oldest first — who called
//! whom, the path, the status and the latency, and a bar placed on the trace's time axis.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::app::trace::TraceState;
use crate::model::request::{Request, workload};
use crate::ui::layout;
use crate::ui::requests::{endpoint_name, format_duration, status, truncate_middle};
use crate::ui::theme::Theme;

/// Columns of a row before its bar: direction, edge, path, status, latency.
const LABEL_SHARE_PERCENT: u16 = 60;

fn offset(request: &Request, start: DateTime<Utc>) -> Duration {
    (request.started - start).to_std().unwrap_or_default()
}

/// Where a bar starts and how long it is, in cells of a `width`-cell axis spanning `total`.
pub fn bar(start: Duration, length: Duration, total: Duration, width: u16) -> (u16, u16) {
    if width == 0 {
        return (0, 0);
    }
    let total = total.as_nanos().max(1);
    let cells = u128::from(width);
    let from = (start.as_nanos() * cells / total).min(cells - 1);
    let len = (length.as_nanos() * cells).div_ceil(total).max(1);
    let len = len.min(cells - from);
    (from as u16, len as u16)
}

pub fn render(frame: &mut Frame, area: Rect, trace: &TraceState, theme: &Theme) {
    let popup = layout::centered(area, 92, 70);
    let inner_width = popup.width.saturating_sub(2);
    let label_width = inner_width * LABEL_SHARE_PERCENT / 100;
    let bar_width = inner_width.saturating_sub(label_width + 1);
    let start = trace.requests.first().map(|r| r.started);
    let total = trace
        .requests
        .iter()
        .map(|r| offset(r, start.unwrap_or(r.started)) + r.duration().unwrap_or_default())
        .max()
        .unwrap_or_default();
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!(
                "{:<width$}",
                "request · status · duration",
                width = usize::from(label_width)
            ),
            theme.header,
        ),
        Span::raw(" "),
        Span::styled(axis(total, bar_width), theme.header),
    ])];
    // Rows past the popup's height scroll so the highlighted one stays in sight.
    let visible = usize::from(popup.height.saturating_sub(3)).max(1);
    let skip = (trace.selected + 1).saturating_sub(visible);
    for (index, request) in trace.requests.iter().enumerate().skip(skip) {
        let (status_text, status_style) = status(request, theme);
        let latency = request.duration().map(format_duration).unwrap_or_default();
        let tail = format!(" {status_text} {latency:>6}");
        let room = label_width.saturating_sub(u16::try_from(tail.chars().count()).unwrap_or(0));
        let label = truncate_middle(&format!("{} {}", edge(request), request.path()), room);
        let pad =
            usize::from(label_width).saturating_sub(label.chars().count() + tail.chars().count());
        let (from, len) = bar(
            offset(request, start.unwrap_or(request.started)),
            request.duration().unwrap_or_default(),
            total,
            bar_width,
        );
        let row_style = if index == trace.selected {
            theme.selected
        } else {
            theme.text
        };
        let bar_style = if request.success() == Some(false) {
            theme.status_server_err
        } else {
            theme.status_ok
        };
        lines.push(Line::from(vec![
            Span::styled(label, row_style),
            Span::raw(" ".repeat(pad)),
            Span::styled(tail, status_style),
            Span::raw(" "),
            Span::raw(" ".repeat(usize::from(from))),
            Span::styled("█".repeat(usize::from(len)), bar_style),
        ]));
    }
    if trace.more > 0 {
        lines.push(Line::from(Span::styled(
            format!("… and {} more requests of this trace", trace.more),
            theme.dim,
        )));
    }
    let title = format!(
        " Trace {} · {} requests ",
        trace.trace_id,
        trace.requests.len() + trace.more
    );
    let block = Block::bordered()
        .title(Span::styled(title, theme.title))
        .title_bottom(
            Line::from(" j/k: move · Enter: detail · Esc: close · t: gather again ")
                .right_aligned(),
        )
        .border_style(theme.border_focused);
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

/// `out front-end → catalogue`: namespaces only when the two ends' differ.
fn edge(request: &Request) -> String {
    let ns = |e: &crate::model::event::Endpoint| e.labels.get("namespace").map(str::to_owned);
    let (from, to) = (&request.source, &request.destination);
    let name = |e| match workload(e) {
        Some((_, _, name)) if ns(from) == ns(to) => name.to_owned(),
        _ => endpoint_name(e),
    };
    format!(
        "{} {} → {}",
        request.direction.short(),
        name(from),
        name(to)
    )
}

/// `0` at the left, the trace's span at the right.
fn axis(total: Duration, width: u16) -> String {
    let end = format_duration(total);
    let width = usize::from(width);
    if width < end.len() + 2 {
        return " ".repeat(width);
    }
    format!("0{end:>w$}", w = width - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_sit_on_the_time_axis() {
        let ms = Duration::from_millis;
        assert_eq!(bar(ms(0), ms(100), ms(100), 10), (0, 10));
        assert_eq!(bar(ms(50), ms(50), ms(100), 10), (5, 5));
        // Never zero cells, never past the end.
        assert_eq!(bar(ms(99), ms(0), ms(100), 10), (9, 1));
        assert_eq!(bar(ms(100), ms(10), ms(100), 10), (9, 1));
        assert_eq!(bar(ms(0), ms(0), ms(0), 10), (0, 1));
        assert_eq!(bar(ms(0), ms(5), ms(5), 0), (0, 0));
    }
}
