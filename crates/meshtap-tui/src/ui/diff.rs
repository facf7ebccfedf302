//! The `:diff FILE` view: the report comparing a saved capture with the live one, drawn from
//! `DiffOpen` alone; headings and verdicts beyond noise stand out.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::app::diff_view::DiffOpen;
use crate::diff::render::Mark;
use crate::ui::layout;
use crate::ui::theme::Theme;

fn line<'a>((mark, text): &'a (Mark, String), theme: &Theme) -> Line<'a> {
    let style = match mark {
        Mark::Notable => theme.warning,
        Mark::Heading => theme.header,
        Mark::Plain => theme.text,
    };
    Line::from(Span::styled(text.as_str(), style))
}

pub fn render(frame: &mut Frame, area: Rect, open: &DiffOpen, theme: &Theme) {
    let popup = layout::centered(area, 96, 88);
    let title = format!(" Diff: {} → live ", open.saved);
    let block = Block::bordered()
        .title(Span::styled(title, theme.title))
        .title_bottom(Line::from(" j/k: scroll · Esc: close ").right_aligned())
        .border_style(theme.border_focused);
    let lines: Vec<Line<'_>> = open.lines.iter().map(|l| line(l, theme)).collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(open.scroll).unwrap_or(u16::MAX), 0)),
        popup,
    );
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::diff::{Side, compare, render as report};
    use crate::model::routes::fixtures::{Req, at};

    /// front-end → catalogue (both views) and front-end → carts, `n` times; the saved capture
    /// answered three times faster and called carts on mTLS.
    fn side(name: &str, catalogue_ms: u64, plaintext_carts: bool) -> Side {
        let mut side = Side::new(name);
        for i in 0..40_u64 {
            let ms = Duration::from_micros(catalogue_ms * 1_000 + (i * 7_919) % 2_000);
            for req in [
                Req::out(i, "front-end", "catalogue", "GET", "/catalogue"),
                Req::inbound(i, "front-end", "catalogue", "GET", "/catalogue"),
            ] {
                side.record(&req.at(at(i.cast_signed())).respond(200, ms, 10).build());
            }
            let mut carts = Req::inbound(i, "front-end", "carts", "GET", "/carts/1");
            if plaintext_carts {
                carts = carts
                    .label(true, "tls", "no_tls_from_remote")
                    .label(true, "client_id", "");
            }
            side.record(&carts.respond(200, Duration::from_millis(3), 5).build());
        }
        side
    }

    #[test]
    fn snapshot_diff_view_100x30() {
        let diff = compare(&side("saved.ndjson", 5, false), &side("live", 15, true));
        let open = DiffOpen {
            saved: "saved.ndjson".to_owned(),
            lines: report::lines(&diff),
            scroll: 0,
        };
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
        let theme = Theme::monochrome();
        terminal
            .draw(|frame| render(frame, frame.area(), &open, &theme))
            .expect("draw");
        let notable: Vec<&str> = open
            .lines
            .iter()
            .filter(|(mark, _)| *mark == Mark::Notable)
            .map(|(_, text)| text.as_str())
            .collect();
        // The slowed route's latency (both views of it) and the new plaintext edge, and nothing
        // else: the report's explanation of "beyond noise" is no finding.
        assert_eq!(notable.len(), 3, "{notable:#?}");
        assert!(
            notable[..2]
                .iter()
                .all(|l| l.contains("latency") && l.contains("n=40/40: beyond noise")),
            "{notable:?}"
        );
        assert!(notable[2].contains("new plaintext"), "{notable:?}");
        let screen = format!("{:?}", terminal.backend());
        assert!(screen.contains("Diff: saved.ndjson → live"), "{screen}");
        insta::assert_snapshot!(terminal.backend());
    }
}
