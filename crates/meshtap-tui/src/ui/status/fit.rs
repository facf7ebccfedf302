//! Fitting a status line into its width: parts are dropped whole, lowest priority first, so a
//! number is never cut in the middle (`held 2,997/100,`); only free text (a filter, a message,
//! an error) is shortened, and then it ends with `…` so a cut never passes for the whole.

use ratatui::text::{Line, Span};

/// Free text is cut rather than dropped only while this many columns of it remain.
const MIN_CUT_COLUMNS: usize = 12;

/// One piece of a status line, with its separator.
#[derive(Debug, Clone)]
pub struct Part {
    pub spans: Vec<Span<'static>>,
    /// Higher stays longer; [`Part::KEEP`] is never dropped.
    pub priority: u8,
    /// Free text that may be shortened with `…` instead of dropped.
    pub cuttable: bool,
}

impl Part {
    pub const KEEP: u8 = u8::MAX;

    /// A part that is shown whole or not at all (it holds numbers).
    pub fn whole(priority: u8, spans: Vec<Span<'static>>) -> Self {
        Self {
            spans,
            priority,
            cuttable: false,
        }
    }

    /// Free text: shortened with `…` before it is dropped.
    pub fn text(priority: u8, spans: Vec<Span<'static>>) -> Self {
        Self {
            spans,
            priority,
            cuttable: true,
        }
    }

    fn width(&self) -> usize {
        self.spans.iter().map(Span::width).sum()
    }
}

/// The parts, in order, fitted into `width` columns.
pub fn fit(mut parts: Vec<Part>, width: usize) -> Line<'static> {
    loop {
        let total: usize = parts.iter().map(Part::width).sum();
        if total <= width {
            break;
        }
        let over = total - width;
        // The lowest priority goes first; among equals, the rightmost.
        let Some(index) = parts
            .iter()
            .enumerate()
            .filter(|(_, p)| p.priority != Part::KEEP || p.cuttable)
            .min_by_key(|(i, p)| (p.priority, std::cmp::Reverse(*i)))
            .map(|(i, _)| i)
        else {
            // Only whole parts that must stay: cut the line's end, visibly.
            let spans = parts.into_iter().flat_map(|p| p.spans).collect();
            return Line::from(cut(spans, width));
        };
        let part = &mut parts[index];
        let keep = part.width().saturating_sub(over);
        if part.cuttable && (keep >= MIN_CUT_COLUMNS || part.priority == Part::KEEP) {
            part.spans = cut(std::mem::take(&mut part.spans), keep);
            break;
        }
        parts.remove(index);
    }
    Line::from(parts.into_iter().flat_map(|p| p.spans).collect::<Vec<_>>())
}

/// `spans` cut to `width` columns, the last of them `…` when anything was cut. A cut never
/// ends inside a number (`at column 4…` for column 45): the number's kept digits go too.
pub fn cut(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    let total: usize = spans.iter().map(Span::width).sum();
    if total <= width {
        return spans;
    }
    let mut left = width.saturating_sub(1);
    let mut out = Vec::new();
    for span in spans {
        if left == 0 {
            break;
        }
        let mut text = String::new();
        for c in span.content.chars() {
            let w = Span::raw(String::from(c)).width();
            if w > left {
                left = 0;
                if c.is_ascii_digit() {
                    let number =
                        text.trim_end_matches(|d: char| d.is_ascii_digit() || d == '.' || d == ',');
                    text.truncate(number.len());
                }
                break;
            }
            left -= w;
            text.push(c);
        }
        out.push(Span::styled(text, span.style));
    }
    if width > 0 {
        let style = out.last().map(|s| s.style).unwrap_or_default();
        out.push(Span::styled("…", style));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn lower_priorities_go_first_and_numbers_are_never_cut() {
        let parts = || {
            vec![
                Part::text(Part::KEEP, vec![Span::raw(" meshtap-demo")]),
                Part::whole(6, vec![Span::raw(" │ 200 ev/s 97 req/s")]),
                Part::whole(5, vec![Span::raw(" │ held 2,997/100,000")]),
                Part::text(
                    2,
                    vec![Span::raw(" │ max 100 rps per target, split evenly")],
                ),
            ]
        };
        let all = text(&fit(parts(), 200));
        assert_eq!(
            all,
            " meshtap-demo │ 200 ev/s 97 req/s │ held 2,997/100,000 │ max 100 rps per target, split evenly"
        );
        // The sampling note is cut with … while enough of it is left, then dropped whole.
        let cut_line = text(&fit(parts(), 80));
        assert!(
            cut_line.ends_with('…') && cut_line.contains("held 2,997/100,000"),
            "{cut_line}"
        );
        assert!(cut_line.chars().count() <= 80);
        let narrow = text(&fit(parts(), 50));
        assert_eq!(narrow, " meshtap-demo │ 200 ev/s 97 req/s");
        // The held count goes whole, never as `held 2,997/100,`.
        for width in 30..60 {
            let line = text(&fit(parts(), width));
            assert!(line.chars().count() <= width, "{width}: {line}");
            assert!(
                !line.contains("held") || line.contains("held 2,997/100,000"),
                "{width}: {line}"
            );
        }
    }

    #[test]
    fn free_text_is_never_cut_inside_a_number() {
        let message = " │ filter: unknown field \"statu\" at column 45";
        let parts = || vec![Part::text(9, vec![Span::raw(message)])];
        for width in 20..message.chars().count() {
            let line = text(&fit(parts(), width));
            assert!(line.chars().count() <= width, "{width}: {line}");
            assert!(!line.ends_with("4…"), "{width}: {line}");
            assert!(line.ends_with('…'), "{width}: {line}");
        }
        let decimal = vec![Part::text(9, vec![Span::raw(" │ waited 12.75 s")])];
        assert_eq!(text(&fit(decimal, 14)), " │ waited …");
    }

    #[test]
    fn a_part_that_must_stay_is_cut_visibly() {
        let parts = vec![Part::text(
            Part::KEEP,
            vec![Span::raw("a very long context name")],
        )];
        assert_eq!(text(&fit(parts, 10)), "a very lo…");
    }
}
