//! Ordering within a layer: by band, old slots in their old order, new ones at their callers'
//! mean position.

use std::collections::HashMap;

use super::{Layout, LayoutInput, Slot};

/// Orders each layer: by band, then old slots in their old order, then new ones at the mean
/// position of their callers in the layer before (one left-to-right sweep), then by key.
pub(super) fn order_layers(
    input: &LayoutInput,
    dag: &[(usize, usize)],
    layer_of: &[usize],
    slots: &mut [Vec<Slot>],
    previous: Option<&Layout>,
    group_index: &dyn Fn(Slot) -> usize,
    position: &[usize],
) {
    let n = input.nodes.len();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); input.nodes.len()];
    for &(a, b) in dag {
        if a != b && layer_of[b] == layer_of[a] + 1 {
            preds[b].push(a);
        }
    }
    let mut index_in_layer: HashMap<Slot, usize> = HashMap::new();
    for (layer, list) in slots.iter_mut().enumerate() {
        // Ties break on the key's rank (nodes), then on the ends' ranks (long edges, after
        // every node): never on input order.
        let score = |slot: Slot| -> (usize, u8, f64, usize) {
            let g = group_index(slot);
            let (callers, key): (Vec<Slot>, usize) = match slot {
                Slot::Node(node) => {
                    let key = &input.nodes[node].key;
                    if let Some(place) = previous
                        .and_then(|p| p.memory.get(key))
                        .filter(|p| p.layer == layer)
                    {
                        return (g, 0, place.row as f64, position[node]);
                    }
                    let callers = preds[node].iter().map(|&p| Slot::Node(p)).collect();
                    (callers, position[node])
                }
                Slot::Through(edge) => {
                    let (a, b) = dag[edge];
                    let caller = if layer == layer_of[a] + 1 {
                        Slot::Node(a)
                    } else {
                        Slot::Through(edge)
                    };
                    (vec![caller], n + position[a] * n + position[b])
                }
            };
            let known: Vec<f64> = callers
                .iter()
                .filter_map(|c| index_in_layer.get(c).map(|&i| i as f64))
                .collect();
            let mean = if known.is_empty() {
                f64::MAX
            } else {
                known.iter().sum::<f64>() / known.len() as f64
            };
            (g, 1, mean, key)
        };
        let mut scored: Vec<((usize, u8, f64, usize), Slot)> =
            list.iter().map(|&s| (score(s), s)).collect();
        scored.sort_by(|(a, _), (b, _)| {
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                .then(a.2.total_cmp(&b.2))
                .then_with(|| a.3.cmp(&b.3))
        });
        *list = scored.into_iter().map(|(_, s)| s).collect();
        // Only the layer just ordered matters to the next one (a long edge keeps its key
        // from layer to layer, so its caller is its own slot one layer back).
        index_in_layer.clear();
        for (i, slot) in list.iter().enumerate() {
            index_in_layer.insert(*slot, i);
        }
    }
}
