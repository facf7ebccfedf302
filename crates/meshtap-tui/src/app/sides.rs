//! Which side of each meshed call the panes count (`D`): a call between two meshed pods is tapped
//! by the client's proxy (outbound) and by the server's (inbound), so the requests pane, routes
//! and identities hold it twice while the map draws it once. Both sides is the default (each
//! side says something: the client's sees retries and timeouts, the server's sees policy); the
//! client's or the server's side counts each call once. The view is a `side=` clause joined to
//! the user's filter, so every pane, `:export --filtered` and copy agree with what is listed.

use chrono::{DateTime, Utc};

use super::clusters::ClustersSeen;
use super::detail::Node;
use super::state::{AppState, Level};
use crate::filter::Filter;
use crate::model::crossing;
use crate::model::event::Endpoint;
use crate::model::request::{Request, workload};
use crate::model::store::Store;

/// The sides of each call that are listed and counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SideView {
    #[default]
    Both,
    /// The caller's proxy's side: outbound requests.
    Client,
    /// The callee's proxy's side: inbound requests.
    Server,
}

impl SideView {
    /// The order `D` cycles through.
    pub fn next(self) -> Self {
        match self {
            SideView::Both => SideView::Client,
            SideView::Client => SideView::Server,
            SideView::Server => SideView::Both,
        }
    }

    /// The filter clause that keeps this side (the filter language's `side=`).
    pub fn clause(self) -> Option<&'static str> {
        match self {
            SideView::Both => None,
            SideView::Client => Some("side=client"),
            SideView::Server => Some("side=server"),
        }
    }

    /// How the pane titles name the view.
    pub fn label(self) -> &'static str {
        match self {
            SideView::Both => "both sides",
            SideView::Client => "client side",
            SideView::Server => "server side",
        }
    }

    /// What the status bar says when the view changes to this one.
    fn explained(self) -> &'static str {
        match self {
            SideView::Both => "both sides: a meshed call shows twice (⇄ marks the pairs)",
            SideView::Client => "client side: outbound only, each call once (side=client)",
            SideView::Server => "server side: inbound only, each call once (side=server)",
        }
    }
}

/// The request that is the other side of the same call as `request`, when that is certain:
/// paired by the store within a cluster, or found across clusters by the multicluster rule.
/// The seq may name a request no longer held.
pub fn other_side(store: &Store, clusters: &ClustersSeen, request: &Request) -> Option<u64> {
    store.other_side(request.seq).or_else(|| {
        // Only a session of several clusters has crossings; their search is bounded.
        clusters
            .several()
            .then(|| crossing::counterpart(store.requests(), request, clusters.names()))
            .flatten()
    })
}

/// The detail's `other side` line for a call the store paired (within a cluster; the cluster
/// branch says it for calls across clusters).
pub fn other_side_node(store: &Store, request: &Request) -> Option<Node> {
    let seq = store.other_side(request.seq)?;
    let value = match store.get(seq) {
        Some(other) => format!(
            "#{seq}: {} {} → {}",
            other.direction().short(),
            workload_name(&other.source),
            workload_name(&other.destination),
        ),
        None => format!("#{seq}, no longer held"),
    };
    Some(Node {
        id: "other side".to_owned(),
        key: "other side".to_owned(),
        value,
        redacted: false,
        children: Vec::new(),
    })
}

/// `ns/name` of an endpoint's workload, else its address.
fn workload_name(endpoint: &Endpoint) -> String {
    match workload(endpoint) {
        Some((ns, _, name)) => format!("{ns}/{name}"),
        None => endpoint
            .addr
            .map_or_else(|| "?".to_owned(), |a| a.ip().to_string()),
    }
}

impl AppState {
    /// `D`: the next side view, applied to every pane at once.
    pub(super) fn cycle_side(&mut self, now: DateTime<Utc>) {
        self.side = self.side.next();
        self.install_view_filter(self.user_filter(), now);
        self.notify(Level::Info, self.side.explained(), now);
    }

    /// `o`: the other side of the focused request's call, selected (and its detail opened
    /// when one is). A side view that hides it gives way to both sides.
    pub(super) fn jump_to_other_side(&mut self, now: DateTime<Utc>) {
        let Some(seq) = self.focused_request() else {
            return self.notify(Level::Info, "no request selected", now);
        };
        let Some(other) = self
            .store
            .get(seq)
            .and_then(|r| other_side(&self.store, &self.clusters, r))
        else {
            return self.notify(
                Level::Info,
                format!("#{seq}: no other side held for certain (one proxy's view only, or more than one request fits)"),
                now,
            );
        };
        if self.side != SideView::Both && self.store.get(other).is_some_and(|r| !self.view.shows(r))
        {
            self.side = SideView::Both;
            self.install_view_filter(self.user_filter(), now);
        }
        self.show_request(other, now);
    }

    /// The filter the user typed (its canonical text parses again).
    fn user_filter(&self) -> Option<Filter> {
        self.filter
            .as_ref()
            .and_then(|active| Filter::parse(&active.text).ok())
    }

    /// Lists and counts what `user` (the filter the user typed, if any) lets through on the
    /// chosen side.
    pub(super) fn install_view_filter(&mut self, user: Option<Filter>, now: DateTime<Utc>) {
        let joined = match (self.side.clause(), user) {
            (None, user) => user,
            (Some(clause), None) => Filter::parse(clause).ok(),
            // The canonical text of a valid filter parses again, parenthesised.
            (Some(clause), Some(user)) => Filter::parse(&format!("{clause} ({user})"))
                .ok()
                .or(Some(user)),
        };
        self.view
            .set_filter(&self.store, joined, self.clock.now(now));
        self.rebuild_stats();
        self.view.refresh_sort(&self.store, now, true);
    }
}
