//! Rendering: a pure function of `AppState`, one pane per file, colours only through the theme.

pub mod detail;
pub mod filter;
pub mod help;
pub mod identities;
pub mod layout;
pub mod map;
pub mod requests;
pub mod route_detail;
pub mod routes;
pub mod sanitize;
pub mod status;
pub mod theme;
pub mod triggers;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::{AppState, Pane};

/// Draws the whole screen for `state` at `now`.
pub fn draw(frame: &mut Frame, state: &AppState, now: DateTime<Utc>) {
    draw_panes(frame, state, now);
    // The one choke point between captured strings and the terminal, whichever pane drew them.
    sanitize::buffer(frame.buffer_mut());
}

fn draw_panes(frame: &mut Frame, state: &AppState, now: DateTime<Utc>) {
    let area = frame.area();
    if layout::too_small(area.width, area.height) {
        let text = format!(
            "terminal too small (need {}×{})",
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT
        );
        let y = area.height.saturating_sub(1) / 2;
        let line = Rect::new(area.x, area.y + y, area.width, area.height - y);
        frame.render_widget(
            Paragraph::new(text)
                .style(state.theme.warning)
                .alignment(Alignment::Center)
                .wrap(Wrap { trim: true }),
            line,
        );
        return;
    }
    let detail_open = match state.pane {
        Pane::Requests => state.detail.is_some(),
        Pane::Routes => state.route_detail.is_some(),
        Pane::Identities | Pane::Map => false,
    };
    let areas = layout::areas(area, detail_open);
    draw_tabs(frame, areas.tabs, state);
    match state.pane {
        Pane::Requests => {
            if let Some(list) = areas.list {
                requests::render(frame, list, state, !detail_open, now);
            }
            if let Some(detail) = areas.detail {
                detail::render(frame, detail, state);
            }
        }
        Pane::Routes => {
            // The cell is only ever borrowed here and by the reducer, never at the same time.
            if let (Some(body), Ok(mut view)) = (areas.list, state.routes_view.try_borrow_mut()) {
                let pane =
                    routes::RoutesPane::new(&state.routes, state.clock.now(now), &state.theme)
                        .focused(!detail_open)
                        .metrics(state.metrics.as_ref());
                frame.render_stateful_widget(pane, body, &mut *view);
            }
            if let (Some(area), Some(open)) = (areas.detail, &state.route_detail)
                && let Ok(mut view) = open.state.try_borrow_mut()
            {
                let detail = route_detail::RouteDetail::new(
                    &state.routes,
                    &open.key,
                    state.clock.now(now),
                    &state.theme,
                );
                frame.render_stateful_widget(detail, area, &mut *view);
            }
        }
        Pane::Identities => {
            if let (Some(body), Ok(mut view)) = (areas.list, state.identities_view.try_borrow_mut())
            {
                let pane = identities::IdentitiesPane::new(&state.identities, &state.theme)
                    .metrics(state.metrics.as_ref());
                frame.render_stateful_widget(pane, body, &mut *view);
            }
        }
        Pane::Map => {
            if let Some(body) = areas.list {
                map::render(frame, body, state, now);
            }
        }
    }
    status::render(frame, areas.status, state, now);
    if state.prompt.is_some() {
        let line = Rect::new(
            areas.status.x,
            areas.status.bottom() - 1,
            areas.status.width,
            1,
        );
        filter::render(frame, line, state);
    }
    if let Some(view) = state.triggers_view() {
        triggers::render(frame, area, &view, &state.theme);
    }
    if let Some(scroll) = state.help {
        help::render(frame, area, state, scroll);
    }
}

fn draw_tabs(frame: &mut Frame, area: Rect, state: &AppState) {
    let theme = &state.theme;
    let mut spans = Vec::new();
    for pane in Pane::ALL {
        let style = if pane == state.pane {
            theme.tab_active
        } else {
            theme.tab
        };
        spans.push(Span::styled(
            format!(" {} {} ", pane.index() + 1, pane.title()),
            style,
        ));
        spans.push(Span::raw(" "));
    }
    let tabs = Line::from(spans);
    // The title takes only what the tabs leave, so a long context name never hides a tab.
    let used = u16::try_from(tabs.width())
        .unwrap_or(u16::MAX)
        .min(area.width);
    frame.render_widget(tabs, area);
    let title = format!("meshtap · {} ", state.info.context);
    let rest = Rect::new(area.x + used, area.y, area.width - used, area.height);
    frame.render_widget(
        Line::from(Span::styled(title, theme.title)).alignment(Alignment::Right),
        rest,
    );
}
