//! What is open over the panes, as one stack in one priority order: the request and route details
//! beside their panes, then the trace waterfall, the `:triggers` list, `:why`, `:diff`, explain, copy, help and the
//! prompt on top. Which overlay takes a key, which keymap context applies, what `Esc` closes and
//! the order things are drawn in all follow the order of [`Layer`].

use super::action::Pane;
use super::copy::{CopyState, ExplainState};
use super::detail::DetailState;
use super::diff_view::DiffOpen;
use super::keymap::Context;
use super::prompt::Prompt;
use super::state::RouteDetailOpen;
use super::trace::TraceState;
use super::triggers::TriggersList;
use super::why::WhyOpen;

/// The kinds of overlay, bottom first: a later one is drawn over and takes keys before an earlier
/// one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    /// The request detail, beside the requests pane.
    Detail,
    /// The route detail, beside the routes pane.
    RouteDetail,
    /// The trace waterfall (`t`).
    Trace,
    /// The `:triggers` list.
    Triggers,
    /// The `:why` view: per-pod tap health.
    Why,
    /// The `:diff FILE` view: the live capture against a saved one.
    Diff,
    /// The explain view of a request (`?`).
    Explain,
    /// The copy-as popup (`y`).
    Copy,
    /// The help overlay.
    Help,
    /// The filter, command or find prompt in the status line.
    Prompt,
}

/// One open overlay and its state.
#[derive(Debug)]
pub enum Overlay {
    Detail(DetailState),
    RouteDetail(RouteDetailOpen),
    Trace(TraceState),
    Triggers(TriggersList),
    Why(WhyOpen),
    Diff(DiffOpen),
    Explain(ExplainState),
    Copy(CopyState),
    /// Scrolled this many lines.
    Help(usize),
    Prompt(Prompt),
}

impl Overlay {
    pub fn layer(&self) -> Layer {
        match self {
            Overlay::Detail(_) => Layer::Detail,
            Overlay::RouteDetail(_) => Layer::RouteDetail,
            Overlay::Trace(_) => Layer::Trace,
            Overlay::Triggers(_) => Layer::Triggers,
            Overlay::Why(_) => Layer::Why,
            Overlay::Diff(_) => Layer::Diff,
            Overlay::Explain(_) => Layer::Explain,
            Overlay::Copy(_) => Layer::Copy,
            Overlay::Help(_) => Layer::Help,
            Overlay::Prompt(_) => Layer::Prompt,
        }
    }
}

impl Layer {
    /// The pane a detail belongs to: it stays open while another pane is shown, and is seen
    /// (and takes keys) only with its own. The other overlays cover whichever pane is shown.
    pub fn pane(self) -> Option<Pane> {
        match self {
            Layer::Detail => Some(Pane::Requests),
            Layer::RouteDetail => Some(Pane::Routes),
            _ => None,
        }
    }

    /// The keymap context of the overlay.
    pub fn context(self) -> Context {
        match self {
            Layer::Detail => Context::Detail,
            Layer::RouteDetail => Context::RouteDetail,
            Layer::Trace => Context::Trace,
            Layer::Triggers => Context::Triggers,
            Layer::Why => Context::Why,
            Layer::Diff => Context::Diff,
            Layer::Explain => Context::Explain,
            Layer::Copy => Context::Copy,
            Layer::Help => Context::Help,
            Layer::Prompt => Context::Prompt,
        }
    }
}

/// The open overlays, at most one of each layer, kept in layer order (bottom first).
#[derive(Debug, Default)]
pub struct Overlays {
    stack: Vec<Overlay>,
}

impl Overlays {
    /// Opens `overlay` at its layer, replacing an open one of the same layer.
    pub fn open(&mut self, overlay: Overlay) {
        let layer = overlay.layer();
        match self.stack.binary_search_by_key(&layer, Overlay::layer) {
            Ok(i) => self.stack[i] = overlay,
            Err(i) => self.stack.insert(i, overlay),
        }
    }

    /// Closes the overlay of `layer`, if open.
    pub fn close(&mut self, layer: Layer) -> Option<Overlay> {
        let i = self
            .stack
            .binary_search_by_key(&layer, Overlay::layer)
            .ok()?;
        Some(self.stack.remove(i))
    }

    pub fn is_open(&self, layer: Layer) -> bool {
        self.get(layer).is_some()
    }

    pub fn get(&self, layer: Layer) -> Option<&Overlay> {
        let i = self
            .stack
            .binary_search_by_key(&layer, Overlay::layer)
            .ok()?;
        self.stack.get(i)
    }

    fn get_mut(&mut self, layer: Layer) -> Option<&mut Overlay> {
        let i = self
            .stack
            .binary_search_by_key(&layer, Overlay::layer)
            .ok()?;
        self.stack.get_mut(i)
    }

    /// The overlays seen over `pane`, bottom first: the order they are drawn in.
    pub fn shown(&self, pane: Pane) -> impl DoubleEndedIterator<Item = &Overlay> {
        self.stack
            .iter()
            .filter(move |o| o.layer().pane().is_none_or(|p| p == pane))
    }

    /// The overlay seen on top over `pane`: the one that takes keys first.
    pub fn top(&self, pane: Pane) -> Option<Layer> {
        self.shown(pane).next_back().map(Overlay::layer)
    }
}

/// Typed access to each layer's state: `detail()`, `detail_mut()`, and so on.
macro_rules! access {
    ($($get:ident $get_mut:ident $variant:ident $ty:ty;)*) => {
        impl Overlays {
            $(
                pub fn $get(&self) -> Option<&$ty> {
                    match self.get(Layer::$variant) {
                        Some(Overlay::$variant(state)) => Some(state),
                        _ => None,
                    }
                }

                pub fn $get_mut(&mut self) -> Option<&mut $ty> {
                    match self.get_mut(Layer::$variant) {
                        Some(Overlay::$variant(state)) => Some(state),
                        _ => None,
                    }
                }
            )*
        }
    };
}

access! {
    detail detail_mut Detail DetailState;
    route_detail route_detail_mut RouteDetail RouteDetailOpen;
    trace trace_mut Trace TraceState;
    triggers triggers_mut Triggers TriggersList;
    why why_mut Why WhyOpen;
    diff diff_mut Diff DiffOpen;
    explain explain_mut Explain ExplainState;
    copy copy_mut Copy CopyState;
    help help_mut Help usize;
    prompt prompt_mut Prompt Prompt;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_keeps_layer_order_whatever_the_opening_order() {
        let mut overlays = Overlays::default();
        overlays.open(Overlay::Help(0));
        overlays.open(Overlay::Triggers(TriggersList { selected: 2 }));
        overlays.open(Overlay::Help(3));
        let layers: Vec<Layer> = overlays.shown(Pane::Map).map(Overlay::layer).collect();
        assert_eq!(layers, [Layer::Triggers, Layer::Help]);
        assert_eq!(overlays.help(), Some(&3), "opening again replaces");
        assert_eq!(overlays.top(Pane::Map), Some(Layer::Help));
        assert!(matches!(
            overlays.close(Layer::Help),
            Some(Overlay::Help(3))
        ));
        assert_eq!(overlays.top(Pane::Map), Some(Layer::Triggers));
        assert!(overlays.close(Layer::Help).is_none());
    }

    #[test]
    fn a_detail_is_seen_only_with_its_pane() {
        let mut overlays = Overlays::default();
        overlays.open(Overlay::Detail(DetailState::new(7, None)));
        assert_eq!(overlays.top(Pane::Requests), Some(Layer::Detail));
        assert_eq!(overlays.top(Pane::Routes), None);
        assert!(
            overlays.is_open(Layer::Detail),
            "still open behind another pane"
        );
        overlays.open(Overlay::Help(0));
        assert_eq!(overlays.top(Pane::Routes), Some(Layer::Help));
        assert_eq!(overlays.shown(Pane::Routes).count(), 1);
        assert_eq!(overlays.shown(Pane::Requests).count(), 2);
    }
}
