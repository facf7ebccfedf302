//! Model events and stores built the way meshtap builds them: the simulated mesh's wire events
//! through the cluster source's own conversion.

use chrono::{DateTime, Utc};
use meshtap_core::model::event::TapEvent;
use meshtap_core::model::store::Store;
use meshtap_demo::demo::sim;
use meshtap_io::source::wire::{self, Interner};

/// The first `count` events of the simulated mesh (the traffic `meshtap demo --seed SEED`
/// shows), converted as the cluster source converts them, all arriving at `arrived`.
pub fn demo_events(seed: u64, count: usize, arrived: DateTime<Utc>) -> Vec<TapEvent> {
    let mut interner = Interner::default();
    sim::generate(seed, count)
        .into_iter()
        .map(|event| wire::event(&mut interner, event, arrived))
        .collect()
}

/// A store holding at most `capacity` requests, fed `events` in order.
pub fn store_of(capacity: usize, events: impl IntoIterator<Item = TapEvent>) -> Store {
    let mut store = Store::new(capacity);
    for event in events {
        store.ingest(event);
    }
    store
}
