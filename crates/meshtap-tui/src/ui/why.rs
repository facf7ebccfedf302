//! The `:why` view: for every target, its summary, then each pod that is not reporting with the
//! cause and the fix; the same lines back the empty requests pane.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::app::why::WhyOpen;
use crate::health::TargetHealth;
use crate::ui::layout;
use crate::ui::theme::Theme;

/// The table as lines: a heading per target, its troubled pods with cause and fix.
pub fn lines(health: &[TargetHealth], theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for target in health {
        if !out.is_empty() {
            out.push(Line::from(""));
        }
        let style = if target.needs_attention() {
            theme.warning
        } else {
            theme.header
        };
        out.push(Line::from(Span::styled(target.summary.clone(), style)));
        if let Some(error) = &target.error {
            out.push(Line::from(format!("  {error}")));
        }
        for pod in target.troubled() {
            out.push(Line::from(vec![
                Span::styled(format!("  {}", pod.pod), theme.title),
                Span::raw(format!("  {}", pod.verdict.name())),
            ]));
            out.push(Line::from(format!("    {}", pod.cause)));
            if !pod.fix.is_empty() {
                out.push(Line::from(Span::styled(
                    format!("    fix: {}", pod.fix),
                    theme.dim,
                )));
            }
        }
        let healthy = target.pods.len() - target.troubled().count();
        if healthy > 0 {
            out.push(Line::from(Span::styled(
                format!("  {healthy} pod(s) tappable and reporting"),
                theme.dim,
            )));
        }
    }
    out
}

pub fn render(
    frame: &mut Frame,
    area: Rect,
    open: WhyOpen,
    health: &[TargetHealth],
    theme: &Theme,
) {
    let popup = layout::centered(area, 90, 84);
    let block = Block::bordered()
        .title(Span::styled(
            " Why tap is quiet: per-pod tap health ",
            theme.title,
        ))
        .title_bottom(Line::from(" j/k: scroll · Esc: close ").right_aligned())
        .border_style(theme.border_focused);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines(health, theme))
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(open.scroll).unwrap_or(u16::MAX), 0)),
        popup,
    );
}
