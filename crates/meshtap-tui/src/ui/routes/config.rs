//! The cells of the optional columns: a backend's configured weight (as its share of the rule's
//! total weight, so it reads beside the observed share) and observed share, and the rule's
//! timeout and retry policy, from the policy route the row was matched to.

use ratatui::layout::Alignment;
use ratatui::text::Line;
use ratatui::widgets::Cell;

use super::format::percent;
use super::tree::truncate;
use crate::app::routes::columns::ConfigColumn;
use crate::app::theme::Theme;
use crate::model::routes::RouteRow;

/// `90%` for 90 of 100, `33%` for 1 of 3; the raw weight when the rule's total is unknown (an
/// older capture), `<1%` for a weight too small to round to 1%.
fn weight_share(weight: u32, total: Option<u32>) -> String {
    match total.filter(|t| *t > 0) {
        None => weight.to_string(),
        Some(total) => {
            let pct = (f64::from(weight) * 100.0 / f64::from(total)).round();
            if pct < 1.0 && weight > 0 {
                "<1%".to_owned()
            } else {
                format!("{pct:.0}%")
            }
        }
    }
}

pub(super) fn cell(row: &RouteRow, column: ConfigColumn, theme: &Theme) -> Cell<'static> {
    let matched = row.matched.as_deref();
    let text = match column {
        ConfigColumn::Weight => matched.and_then(|m| {
            let weight = m.backend.as_ref()?.weight?;
            Some(weight_share(weight, m.rule_weight))
        }),
        ConfigColumn::Share => row.share.map(percent),
        ConfigColumn::Timeout => matched.map(|m| m.config.timeout_label()),
        ConfigColumn::Retry => matched.map(|m| m.config.retry_label()),
    };
    let text = text.filter(|t| !t.is_empty());
    let width = usize::from(column.width());
    let line = match text {
        Some(text) => Line::styled(truncate(&text, width), theme.text),
        None => Line::styled("-", theme.dim),
    };
    match column {
        ConfigColumn::Weight | ConfigColumn::Share => Cell::from(line.alignment(Alignment::Right)),
        ConfigColumn::Timeout | ConfigColumn::Retry => Cell::from(line),
    }
}

#[cfg(test)]
mod tests {
    use super::weight_share;

    #[test]
    fn weights_read_as_shares_of_the_rule() {
        assert_eq!(weight_share(90, Some(100)), "90%");
        assert_eq!(weight_share(10, Some(100)), "10%");
        assert_eq!(weight_share(1, Some(3)), "33%");
        assert_eq!(weight_share(1, Some(1)), "100%");
        assert_eq!(weight_share(1, Some(1_000)), "<1%");
        assert_eq!(weight_share(0, Some(100)), "0%");
        assert_eq!(weight_share(90, None), "90");
    }
}
