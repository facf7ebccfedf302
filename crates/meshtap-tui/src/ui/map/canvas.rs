//! The map drawn into a grid of character cells: node labels in layer columns, edges as
//! box-drawing lines through per-source tracks in the gaps between layers, arrowheads at the
//! callee. Line glyphs carry the TLS state, so the map reads without colour; the pane adds
//! colour from each cell's [`Tone`].

use crate::app::map::geometry::{Geometry, label};
use crate::model::map::TlsMix;
use crate::model::map::layout::Layout;
use crate::model::map::project::Projection;

const N: u8 = 1;
const E: u8 = 2;
const S: u8 = 4;
const W: u8 = 8;

/// How an edge's lines look: the glyph family, from its TLS state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stroke {
    /// Only the metrics API knows the edge: dotted.
    Metrics,
    #[default]
    Mtls,
    Unknown,
    /// Some requests in the clear: heavy.
    Mixed,
    /// In the clear: dashed.
    Plain,
}

impl Stroke {
    pub fn of(tls: TlsMix, metrics_only: bool) -> Self {
        match (metrics_only, tls) {
            (true, _) => Stroke::Metrics,
            (false, TlsMix::Mtls) => Stroke::Mtls,
            (false, TlsMix::Plaintext) => Stroke::Plain,
            (false, TlsMix::Mixed) => Stroke::Mixed,
            (false, TlsMix::Unknown) => Stroke::Unknown,
        }
    }

    /// Horizontal and vertical glyphs.
    fn glyphs(self) -> (char, char) {
        match self {
            Stroke::Metrics => ('┈', '┊'),
            Stroke::Mtls | Stroke::Unknown => ('─', '│'),
            Stroke::Mixed => ('━', '┃'),
            Stroke::Plain => ('╌', '╎'),
        }
    }
}

/// The health of what passes through a cell; the worst wins where edges share it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    /// No request in the window (or only the metrics API knows it).
    #[default]
    Idle,
    Ok,
    Degraded,
    Failing,
}

impl Health {
    pub fn of(success_rate: Option<f64>, requests: u64) -> Self {
        match success_rate {
            _ if requests == 0 => Health::Idle,
            None => Health::Ok,
            Some(r) if r >= 0.99 => Health::Ok,
            Some(r) if r >= 0.95 => Health::Degraded,
            Some(_) => Health::Failing,
        }
    }
}

/// What a cell means, for the pane to style.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tone {
    #[default]
    Blank,
    Line(Health),
    Arrow(TlsMix),
    Node(usize),
    Header,
    /// Part of the selected edge.
    Selected,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Cell {
    pub ch: char,
    mask: u8,
    stroke: Stroke,
    pub tone: Tone,
}

/// How each display edge is drawn.
#[derive(Clone, Copy, Debug)]
pub struct EdgeLook {
    pub stroke: Stroke,
    pub health: Health,
    pub tls: TlsMix,
    pub selected: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub cells: Vec<Cell>,
    /// Each display node's label: row, first column, width.
    pub nodes: Vec<(usize, usize, usize)>,
    /// Each display node's label width, for edges leaving it.
    widths: Vec<usize>,
}

impl Canvas {
    pub fn draw(
        projection: &Projection,
        layout: &Layout,
        geometry: &Geometry,
        looks: &[EdgeLook],
    ) -> Self {
        let (width, height) = (geometry.width, geometry.height);
        let mut canvas = Canvas {
            width,
            height,
            cells: vec![Cell::default(); width * height],
            nodes: Vec::with_capacity(projection.nodes.len()),
            widths: Vec::new(),
        };
        let labels: Vec<String> = projection.nodes.iter().map(label).collect();
        canvas.widths = labels.iter().map(|l| l.chars().count()).collect();
        for band in &layout.bands {
            canvas.text(band.top, 0, &format!("─ {} ", band.group), Tone::Header);
        }
        // The selected edge last, so it stays visible where edges share cells.
        let mut order: Vec<usize> = (0..layout.edges.len()).collect();
        order.sort_by_key(|&e| looks.get(e).is_some_and(|l| l.selected));
        for edge in order {
            let (Some(path), Some(look)) = (layout.edges.get(edge), looks.get(edge)) else {
                continue;
            };
            canvas.edge(layout, geometry, path, *look);
        }
        for (text, place) in labels.iter().zip(&layout.nodes) {
            let column = geometry.x[place.layer];
            canvas.text(place.row, column, text, Tone::Node(canvas.nodes.len()));
            canvas.nodes.push((place.row, column, text.chars().count()));
        }
        canvas
    }

    fn edge(
        &mut self,
        layout: &Layout,
        geometry: &Geometry,
        path: &crate::model::map::layout::EdgePath,
        look: EdgeLook,
    ) {
        let tone = if look.selected {
            Tone::Selected
        } else {
            Tone::Line(look.health)
        };
        let widths = std::mem::take(&mut self.widths);
        let label_end = |place: crate::model::map::layout::Place| match layout.node_at(place) {
            Some(node) => geometry.x[place.layer] + widths.get(node).copied().unwrap_or(0),
            // A long edge passing through: the line crosses the whole layer.
            None => geometry.x[place.layer],
        };
        for pair in path.points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let start = label_end(a);
            let track = geometry.tracks[a.layer]
                .get(&a.row)
                .copied()
                .unwrap_or(start);
            let into = geometry.x[b.layer];
            self.hline(a.row, start, track, look.stroke, tone);
            self.vline(track, a.row, b.row, look.stroke, tone);
            self.hline(b.row, track, into, look.stroke, tone);
            if layout.node_at(b).is_none() {
                // Through a placeholder: straight on to the next gap.
                self.hline(
                    b.row,
                    into,
                    into + geometry.widths[b.layer],
                    look.stroke,
                    tone,
                );
            }
        }
        let arrow_tone = if look.selected {
            Tone::Selected
        } else {
            Tone::Arrow(look.tls)
        };
        match (path.reversed, path.points.first(), path.points.last()) {
            (false, _, Some(&end)) if end.layer > 0 => {
                self.put(end.row, geometry.x[end.layer] - 1, '▶', arrow_tone);
            }
            (true, Some(&start), _) => {
                self.put(start.row, label_end(start), '◀', arrow_tone);
            }
            _ => {}
        }
        self.widths = widths;
    }

    fn index(&self, row: usize, column: usize) -> Option<usize> {
        (row < self.height && column < self.width).then(|| row * self.width + column)
    }

    fn link(&mut self, row: usize, column: usize, mask: u8, stroke: Stroke, tone: Tone) {
        let Some(i) = self.index(row, column) else {
            return;
        };
        let cell = &mut self.cells[i];
        // A cell no line crossed yet takes this edge's stroke: its default (mTLS) would
        // otherwise outrank the metrics stroke and draw a metrics-only edge solid.
        cell.stroke = if cell.mask == 0 {
            stroke
        } else {
            cell.stroke.max(stroke)
        };
        cell.mask |= mask;
        cell.tone = match (cell.tone, tone) {
            (Tone::Selected, _) | (_, Tone::Selected) => Tone::Selected,
            (Tone::Line(a), Tone::Line(b)) => Tone::Line(a.max(b)),
            (_, new) => new,
        };
        cell.ch = glyph(cell.mask, cell.stroke);
    }

    /// A horizontal run from column `from` to `to` (exclusive of nothing: both ends link).
    fn hline(&mut self, row: usize, from: usize, to: usize, stroke: Stroke, tone: Tone) {
        let (lo, hi) = (from.min(to), from.max(to));
        for column in lo..=hi {
            let mut mask = 0;
            if column > lo {
                mask |= W;
            }
            if column < hi {
                mask |= E;
            }
            if lo == hi {
                mask = E | W;
            }
            self.link(row, column, mask, stroke, tone);
        }
    }

    fn vline(&mut self, column: usize, from: usize, to: usize, stroke: Stroke, tone: Tone) {
        let (lo, hi) = (from.min(to), from.max(to));
        for row in lo..=hi {
            let mut mask = 0;
            if row > lo {
                mask |= N;
            }
            if row < hi {
                mask |= S;
            }
            if mask != 0 {
                self.link(row, column, mask, stroke, tone);
            }
        }
    }

    fn put(&mut self, row: usize, column: usize, ch: char, tone: Tone) {
        if let Some(i) = self.index(row, column) {
            self.cells[i] = Cell {
                ch,
                mask: 0,
                stroke: Stroke::default(),
                tone,
            };
        }
    }

    fn text(&mut self, row: usize, column: usize, text: &str, tone: Tone) {
        for (offset, ch) in text.chars().enumerate() {
            self.put(row, column + offset, ch, tone);
        }
    }

    pub fn cell(&self, row: usize, column: usize) -> Option<&Cell> {
        self.index(row, column).map(|i| &self.cells[i])
    }
}

/// The box-drawing character for a set of directions: straight runs in the edge's stroke,
/// corners and junctions light (box-drawing has no dashed corners).
fn glyph(mask: u8, stroke: Stroke) -> char {
    let (h, v) = stroke.glyphs();
    match mask {
        m if m == E | W || m == E || m == W => h,
        m if m == N | S || m == N || m == S => v,
        m if m == E | S => '┌',
        m if m == W | S => '┐',
        m if m == E | N => '└',
        m if m == W | N => '┘',
        m if m == N | S | E => '├',
        m if m == N | S | W => '┤',
        m if m == E | W | S => '┬',
        m if m == E | W | N => '┴',
        _ => '┼',
    }
}
