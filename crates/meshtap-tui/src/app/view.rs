//! The requests view: which stored requests are listed and in what order, which one is selected,
//! and where the window starts. Selection and window are held by seq (a stable key), so streaming
//! inserts and evictions never move the cursor; without a filter or sort the list is plain seq
//! arithmetic over the store, so nothing here walks all stored requests per frame.

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};

use crate::filter::Filter;
use crate::model::request::Request;
use crate::model::store::Store;

/// A sorted view is rebuilt at most this often while data streams in (a full sort of 100k rows
/// every frame would blow the frame budget); sorting or pausing rebuilds at once.
pub const SORT_REBUILD_MS: i64 = 1000;

/// A filter that follows the clock (`age<2m`, `since=-5m`) is re-checked over every held request
/// this often, by the session clock: rows age out of it with nothing else happening.
pub const CLOCK_REFILTER_MS: i64 = 1000;

/// Columns the list can be sorted by, in the order `s` cycles through them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    Time,
    Latency,
    Status,
    Bytes,
    Path,
}

impl SortKey {
    pub fn next(self) -> Self {
        match self {
            SortKey::Time => SortKey::Latency,
            SortKey::Latency => SortKey::Status,
            SortKey::Status => SortKey::Bytes,
            SortKey::Bytes => SortKey::Path,
            SortKey::Path => SortKey::Time,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SortKey::Time => "time",
            SortKey::Latency => "latency",
            SortKey::Status => "status",
            SortKey::Bytes => "bytes",
            SortKey::Path => "path",
        }
    }
}

/// The listed rows, whichever way they are stored.
#[derive(Clone, Copy, Debug)]
pub enum Rows<'a> {
    /// Every held request from `first` on, in seq order.
    Range { first: u64, len: usize },
    /// Matching seqs, ascending.
    Matches(&'a VecDeque<u64>, usize),
    /// A sorted snapshot of seqs.
    Sorted(&'a [u64]),
}

impl Rows<'_> {
    pub fn len(&self) -> usize {
        match *self {
            Rows::Range { len, .. } | Rows::Matches(_, len) => len,
            Rows::Sorted(seqs) => seqs.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, index: usize) -> Option<u64> {
        if index >= self.len() {
            return None;
        }
        match *self {
            Rows::Range { first, .. } => Some(first + index as u64),
            Rows::Matches(seqs, _) => seqs.get(index).copied(),
            Rows::Sorted(seqs) => seqs.get(index).copied(),
        }
    }

    /// Where `seq` is listed, or where it would be (clamped to the last row).
    pub fn position(&self, seq: u64) -> usize {
        let last = self.len().saturating_sub(1);
        let index = match *self {
            Rows::Range { first, .. } => usize::try_from(seq.saturating_sub(first)).unwrap_or(last),
            Rows::Matches(seqs, len) => seqs.partition_point(|s| *s < seq).min(len),
            Rows::Sorted(seqs) => seqs.iter().position(|s| *s == seq).unwrap_or(0),
        };
        index.min(last)
    }
}

/// Which requests are listed and where the user is.
#[derive(Clone, Debug, Default)]
pub struct RequestsView {
    filter: Option<Filter>,
    /// The session clock's reading the filter was last evaluated at (relative times count
    /// back from it), and when every held request was last re-checked against it.
    as_of: DateTime<Utc>,
    refiltered_at: DateTime<Utc>,
    /// With a filter: the seqs that match, ascending, kept up to date as requests change.
    matches: VecDeque<u64>,
    pub sort: SortKey,
    pub descending: bool,
    sorted: Vec<u64>,
    sorted_at: Option<DateTime<Utc>>,
    sorted_dirty: bool,
    pub selected: Option<u64>,
    /// The first row on screen.
    top: Option<u64>,
    /// Stick to the newest request.
    pub following: bool,
    /// While paused, the newest seq the view shows: the list stops growing but rows still update.
    pub paused_at: Option<u64>,
}

impl RequestsView {
    pub fn new() -> Self {
        Self {
            following: true,
            ..Self::default()
        }
    }

    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// The session clock's reading the list was filtered at.
    pub fn as_of(&self) -> DateTime<Utc> {
        self.as_of
    }

    /// Whether the filter lets `request` through, as of the clock reading the list was made at.
    pub fn shows(&self, request: &Request) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| f.matches(request, self.as_of))
    }

    /// The selected request, if the list shows it: the selection outlives its row when the
    /// filter drops it (a request that stopped being in flight), and only a listed request can
    /// be acted on.
    pub fn listed_selection(&self, store: &Store) -> Option<u64> {
        self.selected
            .filter(|seq| store.get(*seq).is_some_and(|r| self.shows(r)))
    }

    /// Installs (or clears) a filter; this is the one full pass over the store. `now` is the
    /// session clock's.
    pub fn set_filter(&mut self, store: &Store, filter: Option<Filter>, now: DateTime<Utc>) {
        self.filter = filter;
        self.refilter(store, now);
        self.sorted_dirty = true;
        self.sorted_at = None;
    }

    fn refilter(&mut self, store: &Store, now: DateTime<Utc>) {
        self.as_of = now;
        self.refiltered_at = now;
        self.matches.clear();
        if let Some(f) = &self.filter {
            self.matches = store
                .requests()
                .iter()
                .filter(|r| f.matches(r, now))
                .map(|r| r.seq)
                .collect();
        }
    }

    /// Re-checks every held request when the filter follows the clock and the last full pass
    /// is [`CLOCK_REFILTER_MS`] old (session clock). Returns whether the listed set changed.
    pub fn refresh_clock(&mut self, store: &Store, now: DateTime<Utc>) -> bool {
        let due = now - self.refiltered_at >= TimeDelta::milliseconds(CLOCK_REFILTER_MS)
            || now < self.refiltered_at;
        if !(due && self.filter.as_ref().is_some_and(Filter::follows_clock)) {
            return false;
        }
        let before = std::mem::take(&mut self.matches);
        self.refilter(store, now);
        let changed = before != self.matches;
        self.sorted_dirty |= changed;
        changed
    }

    /// A request was created or changed: keep the match list right without refiltering the rest.
    /// `now` is the session clock's.
    pub fn on_update(&mut self, request: &Request, now: DateTime<Utc>) {
        self.sorted_dirty = true;
        self.as_of = self.as_of.max(now);
        let Some(filter) = &self.filter else { return };
        let seq = request.seq;
        let matches = filter.matches(request, self.as_of);
        // New requests arrive with the highest seq: the common case is a push at the back.
        if self.matches.back().is_none_or(|last| *last < seq) {
            if matches {
                self.matches.push_back(seq);
            }
            return;
        }
        let index = self.matches.partition_point(|s| *s < seq);
        let present = self.matches.get(index) == Some(&seq);
        if matches && !present {
            self.matches.insert(index, seq);
        } else if !matches && present {
            self.matches.remove(index);
        }
    }

    /// Drops matches the store no longer holds.
    pub fn on_evict(&mut self, store: &Store) {
        let front = store.requests().front().map_or(u64::MAX, |r| r.seq);
        while self.matches.front().is_some_and(|s| *s < front) {
            self.matches.pop_front();
        }
    }

    /// The rows as listed now.
    pub fn rows<'a>(&'a self, store: &Store) -> Rows<'a> {
        if self.sort != SortKey::Time || self.descending {
            return Rows::Sorted(&self.sorted);
        }
        let limit = self.paused_at.unwrap_or(u64::MAX);
        if self.filter.is_some() {
            let len = self.matches.partition_point(|s| *s <= limit);
            return Rows::Matches(&self.matches, len);
        }
        let requests = store.requests();
        match (requests.front(), requests.back()) {
            (Some(front), Some(back)) => {
                let last = back.seq.min(limit);
                let len = if last < front.seq {
                    0
                } else {
                    usize::try_from(last - front.seq + 1).unwrap_or(usize::MAX)
                };
                Rows::Range {
                    first: front.seq,
                    len,
                }
            }
            _ => Rows::Range { first: 0, len: 0 },
        }
    }

    /// Rebuilds the sorted snapshot when it is stale; `force` skips the rate limit.
    pub fn refresh_sort(&mut self, store: &Store, now: DateTime<Utc>, force: bool) -> bool {
        if self.sort == SortKey::Time && !self.descending {
            self.sorted = Vec::new();
            return false;
        }
        let due = self
            .sorted_at
            .is_none_or(|at| now - at >= TimeDelta::milliseconds(SORT_REBUILD_MS));
        if !(force || (self.sorted_dirty && due && self.paused_at.is_none())) {
            return false;
        }
        let limit = self.paused_at.unwrap_or(u64::MAX);
        let mut rows: Vec<&Request> = match &self.filter {
            Some(_) => self.matches.iter().filter_map(|s| store.get(*s)).collect(),
            None => store.requests().iter().collect(),
        };
        rows.retain(|r| r.seq <= limit);
        match self.sort {
            SortKey::Time => rows.sort_by_key(|r| r.seq),
            SortKey::Latency => rows.sort_by_key(|r| (r.duration(), r.seq)),
            SortKey::Status => rows.sort_by_key(|r| (r.http_status(), r.eos().is_some(), r.seq)),
            SortKey::Bytes => rows.sort_by_key(|r| (r.response_bytes(), r.seq)),
            SortKey::Path => rows.sort_by(|a, b| a.path().cmp(b.path()).then(a.seq.cmp(&b.seq))),
        }
        self.sorted = rows.iter().map(|r| r.seq).collect();
        if self.descending {
            self.sorted.reverse();
        }
        self.sorted_at = Some(now);
        self.sorted_dirty = false;
        true
    }

    /// `(first row on screen, selected row)` as indexes into `rows`, for a window of `height`.
    pub fn window(&self, rows: &Rows<'_>, height: usize) -> (usize, Option<usize>) {
        let n = rows.len();
        if n == 0 {
            return (0, None);
        }
        let height = height.max(1);
        let selected = self.selected.map(|s| rows.position(s));
        let mut top = self.top.map_or(0, |t| rows.position(t));
        if let Some(sel) = selected {
            if sel < top {
                top = sel;
            } else if sel >= top + height {
                top = sel + 1 - height;
            }
        }
        // Never leave blank rows at the bottom while earlier rows are scrolled off.
        top = top.min(n.saturating_sub(height));
        (top, selected)
    }

    /// Re-anchors selection and window after any change, for a window of `height` rows.
    pub fn settle(&mut self, store: &Store, height: usize) {
        let follow = self.following && self.sort == SortKey::Time && !self.descending;
        let (selected, top) = {
            let rows = self.rows(store);
            let n = rows.len();
            if n == 0 {
                (self.selected, None)
            } else {
                let mut probe = self.clone_anchor();
                if follow {
                    probe.selected = rows.get(n - 1);
                } else if probe.selected.is_none() {
                    probe.selected = rows.get(0);
                }
                let (top, selected) = probe.window(&rows, height);
                (selected.and_then(|i| rows.get(i)), rows.get(top))
            }
        };
        self.selected = selected;
        self.top = top;
    }

    /// Just the selection and window, for computing a new window without borrowing the lists.
    fn clone_anchor(&self) -> RequestsView {
        RequestsView {
            selected: self.selected,
            top: self.top,
            ..RequestsView::default()
        }
    }

    /// Moves the selection by `delta` rows (clamped), leaving follow mode.
    pub fn move_by(&mut self, store: &Store, delta: isize) {
        let rows = self.rows(store);
        if rows.is_empty() {
            return;
        }
        let current = self.selected.map_or(0, |s| rows.position(s));
        let target = current.saturating_add_signed(delta).min(rows.len() - 1);
        self.select_index(store, target);
    }

    /// Selects the row at `index`; following resumes only when that is the newest row.
    pub fn select_index(&mut self, store: &Store, index: usize) {
        let rows = self.rows(store);
        let last = rows.len().saturating_sub(1);
        let selected = rows.get(index.min(last));
        let following = matches!(rows, Rows::Range { .. } | Rows::Matches(..))
            && self.paused_at.is_none()
            && index >= last
            && self.following;
        self.selected = selected;
        self.following = following;
    }

    /// Selects `seq` and leaves follow mode so it stays selected; `false` (and nothing changes)
    /// when it is not listed.
    pub fn select_seq(&mut self, store: &Store, seq: u64) -> bool {
        let rows = self.rows(store);
        if rows.get(rows.position(seq)) != Some(seq) {
            return false;
        }
        self.selected = Some(seq);
        self.following = false;
        true
    }

    /// Scrolls the window without moving the selection unless it would leave the screen.
    pub fn scroll(&mut self, store: &Store, delta: isize, height: usize) {
        let rows = self.rows(store);
        let n = rows.len();
        if n == 0 {
            return;
        }
        let (top, selected) = self.window(&rows, height);
        let max_top = n.saturating_sub(height.max(1));
        let top = top.saturating_add_signed(delta).min(max_top);
        let selected = selected
            .map(|sel| sel.clamp(top, (top + height.max(1) - 1).min(n - 1)))
            .and_then(|sel| rows.get(sel));
        let top = rows.get(top);
        self.top = top;
        if selected.is_some() {
            self.selected = selected;
        }
        self.following = false;
    }

    /// How many held requests the pause is hiding.
    pub fn hidden_by_pause(&self, store: &Store) -> u64 {
        match (self.paused_at, store.requests().back()) {
            (Some(limit), Some(back)) => back.seq.saturating_sub(limit),
            _ => 0,
        }
    }
}
