//! Trace propagation in the simulated mesh, as instrumented applications do it: a call made by a
//! workload while it is serving a request joins that request's trace, as a child of its span,
//! and carries a W3C `traceparent`. Everything derives from seeded call tokens, so a seed always
//! yields the same traces.

use super::super::mesh::{PodId, WorkloadId};

/// One trace in this many carries `traceparent` on every hop (the decision is the first hop's,
/// and its calls inherit it): a unique 55-byte value on every request would take the store past
/// its per-request memory target (tests/memory.rs), and head-sampled tracing looks like this.
pub const TRACED_ONE_IN: u64 = 4;

/// Requests a workload is remembered to be serving at once; the oldest is forgotten beyond this
/// (the demo's rates keep far fewer open, so this only bounds memory).
const OPEN_SPANS_PER_WORKLOAD_MAX: usize = 64;

/// The trace a call belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceLink {
    pub trace_id: u128,
    /// This hop's span: the caller's span for the request, sent as `traceparent`'s parent-id.
    pub span: u64,
    /// The span of the request the caller was serving when it made this call; `None` for the
    /// first hop of a trace.
    pub parent: Option<u64>,
    /// Whether the applications propagate this trace (see [`TRACED_ONE_IN`]).
    pub traced: bool,
}

impl TraceLink {
    /// The first hop of a new trace, its ids mixed from the call's token.
    pub fn root(token: u64) -> Self {
        let hi = mix(token ^ 0x7472_6163_6569_6431);
        let lo = mix(token.rotate_left(19) ^ 0x7472_6163_6569_6432);
        Self {
            trace_id: (u128::from(hi) << 64) | u128::from(lo),
            span: span_of(token),
            parent: None,
            traced: hi.is_multiple_of(TRACED_ONE_IN),
        }
    }

    /// A call made while serving `self`: same trace, its own span, `self`'s span as parent.
    pub fn child(&self, token: u64) -> Self {
        Self {
            trace_id: self.trace_id,
            span: span_of(token),
            parent: Some(self.span),
            traced: self.traced,
        }
    }

    /// The `traceparent` header value (version 00, sampled), on traced traces.
    pub fn traceparent(&self) -> Option<String> {
        self.traced
            .then(|| format!("00-{:032x}-{:016x}-01", self.trace_id, self.span))
    }
}

/// A span id from a token; never zero, which W3C forbids.
fn span_of(token: u64) -> u64 {
    mix(token ^ 0x7370_616e_6964_0000).max(1)
}

/// splitmix64's finaliser: spreads a token's bits so ids look random.
fn mix(x: u64) -> u64 {
    let x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A request a server pod is serving: calls its workload makes meanwhile join its trace.
#[derive(Debug, Clone, Copy)]
struct Serving {
    from: u64,
    until: u64,
    pod: PodId,
    link: TraceLink,
}

/// What each workload is serving, by virtual time.
#[derive(Debug, Default)]
pub struct Spans {
    serving: Vec<Vec<Serving>>,
}

impl Spans {
    pub fn new(workloads: usize) -> Self {
        Self {
            serving: vec![Vec::new(); workloads],
        }
    }

    /// The request `workload` started serving most recently and still serves at `at`, with the
    /// pod serving it. Calls arrive in start order, so what ended before `at` is dropped.
    pub fn caller(&mut self, workload: WorkloadId, at: u64) -> Option<(PodId, TraceLink)> {
        let list = self.serving.get_mut(workload)?;
        list.retain(|s| s.until > at);
        list.iter()
            .filter(|s| s.from <= at)
            .max_by_key(|s| s.from)
            .map(|s| (s.pod, s.link))
    }

    /// Who makes the call `token` from `workload` at `at`, and in which trace: the pod serving
    /// a request there joins that request's trace; else `pod` starts a new one.
    pub fn call(
        &mut self,
        workload: WorkloadId,
        pod: PodId,
        at: u64,
        token: u64,
    ) -> (PodId, TraceLink) {
        match self.caller(workload, at) {
            Some((caller_pod, caller)) => (caller_pod, caller.child(token)),
            None => (pod, TraceLink::root(token)),
        }
    }

    /// `pod` of `workload` serves the call `link` for `for_ns` from `from`.
    pub fn serve(
        &mut self,
        workload: WorkloadId,
        pod: PodId,
        from: u64,
        for_ns: u64,
        link: TraceLink,
    ) {
        let until = from.saturating_add(for_ns);
        let Some(list) = self.serving.get_mut(workload) else {
            return;
        };
        if list.len() >= OPEN_SPANS_PER_WORKLOAD_MAX {
            list.remove(0);
        }
        list.push(Serving {
            from,
            until,
            pod,
            link,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_made_while_serving_joins_the_trace_as_a_child() {
        let mut spans = Spans::new(2);
        let root = TraceLink::root(42);
        spans.serve(1, 7, 100, 100, root);
        assert_eq!(spans.caller(1, 50), None, "not serving yet");
        let (pod, link) = spans.caller(1, 150).expect("serving");
        assert_eq!(pod, 7);
        let child = link.child(43);
        assert_eq!(child.trace_id, root.trace_id);
        assert_eq!(child.parent, Some(root.span));
        assert_ne!(child.span, root.span);
        assert_eq!(spans.caller(1, 200), None, "done serving");
        assert_eq!(spans.caller(0, 150), None, "another workload");
    }

    #[test]
    fn traceparent_is_well_formed() {
        let traced = (0..100)
            .map(TraceLink::root)
            .filter(|link| link.traced)
            .count();
        // Roughly one in TRACED_ONE_IN; the ids are mixed, so not exactly.
        assert!((10..45).contains(&traced), "{traced} of 100 traced");
        let root = (0..100)
            .map(TraceLink::root)
            .find(|link| link.traced)
            .expect("a traced root");
        assert!(root.child(7).traceparent().is_some(), "children inherit it");
        let header = root.traceparent().expect("traced");
        assert_eq!(header.len(), 55);
        let parts: Vec<&str> = header.split('-').collect();
        assert_eq!(parts.len(), 4);
        assert_eq!((parts[0], parts[3]), ("00", "01"));
        assert_eq!((parts[1].len(), parts[2].len()), (32, 16));
    }
}
