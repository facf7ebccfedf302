//! Rendering: a pure function of `&AppState` (it never mutates it), one pane per file, colours
//! only through the theme. View caches are kept up to date by the app, not here.

pub mod clusters;
pub mod copy;
pub mod detail;
pub mod diff;
pub mod explain;
pub mod filter;
pub mod help;
pub mod hints;
pub mod identities;
pub mod map;
pub mod requests;
pub mod route_detail;
pub mod routes;
pub mod sanitize;
pub mod sides;
pub mod status;
pub mod trace;
pub mod triggers;
pub mod why;

// Where things go and how they look are app state; render code keeps naming them from here.
pub use crate::app::{layout, theme};

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::{AppState, Overlay, Pane};

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
    // A detail is drawn beside its own pane, when that pane is shown.
    let detail_open = state
        .overlays
        .shown(state.pane)
        .any(|o| matches!(o, Overlay::Detail(_) | Overlay::RouteDetail(_)));
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
            if let Some(body) = areas.list {
                let pane = routes::RoutesPane::new(&state.routes, &state.routes_view, &state.theme)
                    .focused(!detail_open)
                    .metrics(state.metrics.as_ref())
                    .side(state.side);
                frame.render_widget(pane, body);
            }
            if let (Some(area), Some(open)) = (areas.detail, state.overlays.route_detail()) {
                let detail = route_detail::RouteDetail::new(
                    &state.routes,
                    &open.key,
                    &open.state,
                    state.clock.now(now),
                    &state.theme,
                );
                frame.render_widget(detail, area);
            }
        }
        Pane::Identities => {
            if let Some(body) = areas.list {
                let pane = identities::IdentitiesPane::new(
                    &state.identities,
                    &state.identities_view,
                    &state.theme,
                )
                .metrics(state.metrics.as_ref())
                .side(state.side);
                frame.render_widget(pane, body);
            }
        }
        Pane::Map => {
            if let Some(body) = areas.list {
                map::render(frame, body, state);
            }
        }
    }
    status::render(frame, areas.status, state, now);
    // The popups and the prompt, bottom first: the overlay that takes keys is drawn last.
    for overlay in state.overlays.shown(state.pane) {
        match overlay {
            // Drawn beside their panes above.
            Overlay::Detail(_) | Overlay::RouteDetail(_) => {}
            Overlay::Trace(open) => trace::render(frame, area, open, &state.theme),
            Overlay::Triggers(_) => {
                if let Some(view) = state.triggers_view() {
                    triggers::render(frame, area, &view, &state.theme);
                }
            }
            Overlay::Why(open) => {
                why::render(frame, area, *open, &state.health_now(now), &state.theme);
            }
            Overlay::Diff(open) => diff::render(frame, area, open, &state.theme),
            Overlay::Explain(open) => explain::render(frame, area, open, &state.theme),
            Overlay::Copy(open) => copy::render(frame, area, open, &state.theme),
            Overlay::Help(scroll) => help::render(frame, area, state, *scroll),
            Overlay::Prompt(prompt) => {
                let line = Rect::new(
                    areas.status.x,
                    areas.status.bottom() - 1,
                    areas.status.width,
                    1,
                );
                filter::render(frame, line, prompt, &state.theme);
            }
        }
    }
}

/// Below this many columns beside the tabs, the key hints take the title's place.
const MIN_HINTS_WIDTH: u16 = 30;

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
    let rest = Rect::new(area.x + used, area.y, area.width - used, area.height);
    // The title keeps its place when the hints still get a useful share; on a narrow screen
    // the hints win (the status bar names the context too).
    let title = format!("meshtap · {} ", state.info.context);
    let title_width = u16::try_from(title.chars().count()).unwrap_or(u16::MAX);
    let room = rest.width.saturating_sub(1);
    let with_title = room.saturating_sub(title_width + 1);
    let budget = if with_title >= MIN_HINTS_WIDTH {
        with_title
    } else {
        room
    };
    let hints = hints::line(state, usize::from(budget));
    let hints_width = u16::try_from(hints.width()).unwrap_or(u16::MAX);
    frame.render_widget(
        hints,
        Rect::new(rest.x + 1.min(rest.width), rest.y, room, 1),
    );
    if hints_width + 1 + title_width <= rest.width {
        frame.render_widget(
            Line::from(Span::styled(title, theme.title)).alignment(Alignment::Right),
            rest,
        );
    }
}
