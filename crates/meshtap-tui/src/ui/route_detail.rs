//! The route detail view (Enter on a route): status code breakdown, a latency histogram, and the
//! slowest and the most recent failing requests, selectable by seq so the shell can jump to them
//! in the requests pane. Covers the whole capture: that is what the samples cover.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use crate::app::route_detail::RouteDetailState;
use crate::app::theme::Theme;
use crate::model::event::{Eos, grpc_code_name};
use crate::model::routes::{RouteKey, RouteStats, RouteTable, Sample, Window, stats::KEPT_SAMPLES};
use crate::ui::routes::format::{bytes, count, latency, percent};
use crate::ui::routes::success_style;

mod policy;

pub struct RouteDetail<'a> {
    table: &'a RouteTable,
    key: &'a RouteKey,
    state: &'a RouteDetailState,
    now: DateTime<Utc>,
    theme: &'a Theme,
    focused: bool,
}

impl<'a> RouteDetail<'a> {
    pub fn new(
        table: &'a RouteTable,
        key: &'a RouteKey,
        state: &'a RouteDetailState,
        now: DateTime<Utc>,
        theme: &'a Theme,
    ) -> Self {
        Self {
            table,
            key,
            state,
            now,
            theme,
            focused: true,
        }
    }

    #[must_use]
    pub fn focused(mut self, focused: bool) -> Self {
        self.focused = focused;
        self
    }
}

impl Widget for RouteDetail<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = self.theme;
        let mut title = format!(" {} {} ", self.key.direction.short(), self.key.label());
        if !self.key.namespace.is_empty() {
            let _ = write!(title, "· {} ", self.key.namespace);
        }
        title.push_str("· whole capture ");
        let border = if self.focused {
            theme.border_focused
        } else {
            theme.border
        };
        let block = Block::bordered()
            .border_style(border)
            .title(Line::styled(title, theme.title))
            .title_bottom(
                Line::from(" Esc: back · j/k: select · Enter: show in requests ").right_aligned(),
            );
        let inner = block.inner(area);
        block.render(area, buf);
        let Some(stats) = self.table.get(self.key) else {
            Paragraph::new("This route is no longer in the table.")
                .style(theme.dim)
                .render(inner, buf);
            return;
        };
        let samples = (KEPT_SAMPLES + 1) as u16;
        // A policy route says first what it is and what its rule configures.
        let policy = self
            .table
            .matched(self.key)
            .map(|m| policy::lines(self.key, m, theme))
            .unwrap_or_default();
        let [policy_area, summary, rest] = Layout::vertical([
            Constraint::Length(u16::try_from(policy.len()).unwrap_or(0)),
            Constraint::Length(2),
            Constraint::Min(0),
        ])
        .areas(inner);
        Paragraph::new(policy).render(policy_area, buf);
        Paragraph::new(summary_line(stats, self.now, self.table.started(), theme))
            .wrap(Wrap { trim: true })
            .render(summary, buf);
        let columns =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).spacing(2);
        let [codes_column, hist_column] = columns.areas(rest);
        // The histogram may use what the sample lists leave; then the lists move up under the
        // taller of the two blocks, so a tall terminal leaves its blank space at the bottom.
        let room = rest.height.saturating_sub(samples + 1).max(3);
        let status = status_lines(stats, codes_column.width, theme);
        let hist = histogram_lines(stats, hist_column.width, room, theme);
        let top_height = u16::try_from(status.len().max(hist.len()))
            .unwrap_or(u16::MAX)
            .min(room);
        let [top, _, bottom, _] = Layout::vertical([
            Constraint::Length(top_height),
            Constraint::Length(1),
            Constraint::Length(samples),
            Constraint::Min(0),
        ])
        .areas(rest);
        let [codes, hist_area] = columns.areas(top);
        Paragraph::new(status).render(codes, buf);
        Paragraph::new(hist).render(hist_area, buf);

        let [slow, failing] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .spacing(2)
                .areas(bottom);
        let selected = self.state.selected();
        let slow_lines = sample_lines("Slowest", stats.slowest.iter(), Some(selected), theme);
        Paragraph::new(slow_lines).render(slow, buf);
        let offset = stats.slowest.len();
        let fail_lines = sample_lines(
            "Recent failures",
            stats.recent_failures(),
            selected.checked_sub(offset),
            theme,
        );
        Paragraph::new(fail_lines).render(failing, buf);
    }
}

fn summary_line(
    stats: &RouteStats,
    now: DateTime<Utc>,
    started: Option<DateTime<Utc>>,
    theme: &Theme,
) -> Line<'static> {
    let Some(mut scratch) = crate::model::routes::stats::latency_scratch() else {
        return Line::default();
    };
    let s = stats.summary(now, Window::Capture, started, &mut scratch);
    let dash = || "-".to_owned();
    let mut spans = vec![
        Span::styled(format!("{} requests", count(s.requests)), theme.text),
        Span::styled(" · ", theme.dim),
        Span::styled(
            format!("{} success", s.success_rate.map_or_else(dash, percent)),
            success_style(s.success_rate, theme),
        ),
    ];
    for (name, value) in [
        ("p50", s.p50_us),
        ("p95", s.p95_us),
        ("p99", s.p99_us),
        ("max", s.max_us),
    ] {
        spans.push(Span::styled(" · ", theme.dim));
        spans.push(Span::styled(
            format!("{name} {}", value.map_or_else(dash, latency)),
            theme.text,
        ));
    }
    spans.push(Span::styled(" · ", theme.dim));
    spans.push(Span::styled(bytes(s.bytes), theme.text));
    Line::from(spans)
}

fn status_style(code: u32, theme: &Theme) -> Style {
    match code {
        500.. => theme.status_server_err,
        400..500 => theme.status_client_err,
        _ => theme.status_ok,
    }
}

fn status_lines(stats: &RouteStats, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let total = stats.requests.max(1) as f64;
    // Beside the list the column is narrow: the label gives way before the numbers do.
    let label_width = usize::from(width.saturating_sub(13)).clamp(10, 22);
    let row = |label: String, n: u64, style: Style| {
        Line::from(vec![
            Span::styled(format!("{label:<label_width$.label_width$}"), style),
            Span::styled(format!("{:>6}", count(n)), theme.text),
            Span::styled(format!("{:>7}", percent(n as f64 / total)), theme.dim),
        ])
    };
    let mut lines = vec![Line::styled("Status codes", theme.header)];
    let mut codes = stats.statuses.clone();
    codes.sort_unstable();
    for (code, n) in codes {
        lines.push(row(format!("HTTP {code}"), n, status_style(code, theme)));
    }
    if stats.other_statuses > 0 {
        lines.push(row(
            "HTTP other".to_owned(),
            stats.other_statuses,
            theme.dim,
        ));
    }
    for (code, &n) in stats.grpc.iter().enumerate().filter(|(_, n)| **n > 0) {
        let code = code as u32;
        let style = if crate::model::request::is_grpc_failure(code) {
            theme.status_server_err
        } else {
            theme.text
        };
        lines.push(row(
            format!("gRPC {}", grpc_code_name(code).unwrap_or("?")),
            n,
            style,
        ));
    }
    if stats.grpc_other > 0 {
        lines.push(row("gRPC other".to_owned(), stats.grpc_other, theme.dim));
    }
    if stats.resets > 0 {
        lines.push(row(
            "stream reset".to_owned(),
            stats.resets,
            theme.status_server_err,
        ));
    }
    if stats.no_response > 0 {
        lines.push(row(
            "no response".to_owned(),
            stats.no_response,
            theme.status_server_err,
        ));
    }
    lines
}

/// Bins of a 1-2-5 series (upper edge in µs, count) covering every recorded latency, merged in
/// pairs until at most `max_bins` remain.
pub fn latency_bins(hist: &Histogram<u64>, max_bins: usize) -> Vec<(u64, u64)> {
    if hist.is_empty() || max_bins == 0 {
        return Vec::new();
    }
    let (low, high) = (hist.min_nz().min(hist.max()), hist.max());
    let mut edge = 1;
    while edge < low {
        edge = next_edge(edge);
    }
    let mut bins = vec![(edge, 0)];
    while edge < high {
        edge = next_edge(edge);
        bins.push((edge, 0));
    }
    for value in hist.iter_recorded() {
        // The lowest equivalent puts a value recorded exactly on an edge in the bin it closes.
        let v = hist.lowest_equivalent(value.value_iterated_to()).min(high);
        let index = bins
            .iter()
            .position(|(upper, _)| v <= *upper)
            .unwrap_or(bins.len() - 1);
        bins[index].1 += value.count_at_value();
    }
    while bins.len() > max_bins {
        bins = bins
            .chunks(2)
            .map(|pair| (pair[pair.len() - 1].0, pair.iter().map(|b| b.1).sum()))
            .collect();
    }
    bins
}

fn next_edge(edge: u64) -> u64 {
    let decade = 10_u64.pow(edge.ilog10());
    match edge / decade {
        1 => 2 * decade,
        2 => 5 * decade,
        _ => 10 * decade,
    }
}

fn histogram_lines(
    stats: &RouteStats,
    width: u16,
    height: u16,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled("Latency (to response headers)", theme.header)];
    let Some(hist) = stats.latency().filter(|h| !h.is_empty()) else {
        lines.push(Line::styled("no latencies recorded", theme.dim));
        return lines;
    };
    let bins = latency_bins(hist, usize::from(height.saturating_sub(1)));
    let tallest = bins.iter().map(|b| b.1).max().unwrap_or(1).max(1);
    let p99 = hist.value_at_quantile(0.99);
    let bar_width = u64::from(width.saturating_sub(16));
    for (upper, n) in bins {
        let bar = "█".repeat(((n * bar_width).div_ceil(tallest)) as usize);
        let style = if upper > p99 { theme.slow } else { theme.text };
        lines.push(Line::from(vec![
            Span::styled(format!("≤{:>7} ", latency(upper)), theme.dim),
            Span::styled(format!("{:>6} ", count(n)), theme.text),
            Span::styled(bar, style),
        ]));
    }
    lines
}

fn sample_lines<'s>(
    title: &str,
    samples: impl Iterator<Item = &'s Sample>,
    selected: Option<usize>,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(title.to_owned(), theme.header)];
    for (i, sample) in samples.enumerate() {
        let (outcome, style) = outcome(sample, theme);
        let mut line = Line::from(vec![
            Span::styled(format!("#{:<8}", sample.seq), theme.dim),
            Span::styled(format!("{} ", sample.started.format("%H:%M:%S")), theme.dim),
            Span::styled(
                format!(
                    "{:>7} ",
                    sample.latency_us.map_or_else(|| "-".to_owned(), latency)
                ),
                theme.text,
            ),
            Span::styled(outcome, style),
        ]);
        if selected == Some(i) {
            line = line.style(theme.selected);
        }
        lines.push(line);
    }
    if lines.len() == 1 {
        lines.push(Line::styled("none", theme.dim));
    }
    lines
}

fn outcome(sample: &Sample, theme: &Theme) -> (String, Style) {
    match (sample.eos, sample.http_status) {
        (Some(Eos::Reset(code)), _) => (format!("reset {code}"), theme.status_server_err),
        (Some(Eos::Grpc(code)), _) if code != 0 => {
            let style = if crate::model::request::is_grpc_failure(code) {
                theme.status_server_err
            } else {
                theme.text
            };
            (
                format!("gRPC {}", grpc_code_name(code).unwrap_or("?")),
                style,
            )
        }
        (_, Some(status)) => (status.to_string(), status_style(status, theme)),
        (_, None) if sample.expired => ("expired".to_owned(), theme.expired),
        (_, None) => ("no response".to_owned(), theme.status_server_err),
    }
}

#[cfg(test)]
mod tests;
