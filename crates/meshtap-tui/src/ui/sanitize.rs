//! The last pass over every frame: no cell reaches the terminal holding a character the terminal
//! would act on instead of print.
//!
//! ratatui already drops C0 and C1 controls (so an `ESC ] 0 ; … BEL` in a path loses its ESC and
//! shows as text), but it appends zero-width characters to the previous cell, so bidirectional
//! overrides from a capture would reach the terminal and reorder the rest of the line. Cleaning
//! the finished buffer covers every pane, present and future, in one place.

use ratatui::buffer::Buffer;

use crate::terminal::is_terminal_unsafe;

/// What a cell shows when nothing printable is left of it.
const REPLACEMENT: &str = "\u{FFFD}";

/// Removes terminal-unsafe characters from every cell of `buf`.
pub fn buffer(buf: &mut Buffer) {
    for cell in &mut buf.content {
        if !cell.symbol().chars().any(is_terminal_unsafe) {
            continue;
        }
        let kept: String = cell
            .symbol()
            .chars()
            .filter(|c| !is_terminal_unsafe(*c))
            .collect();
        cell.set_symbol(if kept.is_empty() { REPLACEMENT } else { &kept });
    }
}

#[cfg(test)]
mod tests {
    use ratatui::layout::Rect;
    use ratatui::text::Line;
    use ratatui::widgets::Widget as _;

    use super::*;

    fn unsafe_cells(buf: &Buffer) -> usize {
        buf.content
            .iter()
            .filter(|c| c.symbol().chars().any(is_terminal_unsafe))
            .count()
    }

    #[test]
    fn bidi_overrides_and_controls_never_reach_the_terminal() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 40, 1));
        Line::raw("/a\u{202E}gpj.exe\u{2066}\x1b]0;pwned\x07/b").render(buf.area, &mut buf);
        // ratatui alone passes the overrides on (appended to the previous cell).
        assert!(unsafe_cells(&buf) > 0, "{buf:?}");
        buffer(&mut buf);
        assert_eq!(unsafe_cells(&buf), 0, "{buf:?}");
        let shown: String = buf
            .content
            .iter()
            .map(ratatui::buffer::Cell::symbol)
            .collect();
        assert_eq!(shown.trim_end(), "/agpj.exe]0;pwned/b");
    }

    #[test]
    fn a_cell_of_nothing_but_an_override_shows_a_replacement() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 2, 1));
        buf.content[0].set_symbol("\u{202E}");
        buf.content[1].set_symbol("x");
        buffer(&mut buf);
        assert_eq!(buf.content[0].symbol(), REPLACEMENT);
        assert_eq!(buf.content[1].symbol(), "x");
    }
}
