//! The explain view: a request's statements grouped by topic, each with the labels it cites,
//! drawn from `ExplainState` alone.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::app::copy::ExplainState;
use crate::ui::layout;
use crate::ui::theme::Theme;

pub fn lines(state: &ExplainState, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let mut topic = None;
    for statement in &state.statements {
        if topic != Some(statement.topic) {
            if topic.is_some() {
                out.push(Line::from(""));
            }
            topic = Some(statement.topic);
            out.push(Line::from(Span::styled(
                statement.topic.title().to_owned(),
                theme.header,
            )));
        }
        out.push(Line::from(format!("  {}", statement.text)));
        out.push(Line::from(Span::styled(
            format!("    from {}", statement.cites.join(", ")),
            theme.dim,
        )));
    }
    if out.is_empty() {
        out.push(Line::from(
            "The request is no longer held: nothing to explain.",
        ));
    }
    out
}

pub fn render(frame: &mut Frame, area: Rect, state: &ExplainState, theme: &Theme) {
    let popup = layout::centered(area, 90, 84);
    let block = Block::bordered()
        .title(Span::styled(
            format!(" Explain request #{}{} ", state.seq, state.progress.label()),
            theme.title,
        ))
        .title_bottom(Line::from(" j/k: scroll · y: copy · Esc: close ").right_aligned())
        .border_style(theme.border_focused);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines(state, theme))
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(state.scroll).unwrap_or(u16::MAX), 0)),
        popup,
    );
}
