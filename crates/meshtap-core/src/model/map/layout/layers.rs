//! Layering: each node's column, the longest path from the sources, never left of where it
//! was in the previous layout.

/// Longest path from the sources, never left of where a node was before (`remembered`).
pub(super) fn assign_layers(
    n: usize,
    dag: &[(usize, usize)],
    rank: &[usize],
    position: &[usize],
    remembered: impl Fn(usize) -> Option<usize>,
) -> Vec<usize> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    for &(a, b) in dag {
        if a != b {
            out[a].push(b);
            indegree[b] += 1;
        }
    }
    let mut layer: Vec<usize> = (0..n).map(|v| remembered(v).unwrap_or(0)).collect();
    // Kahn's order, smallest rank first, so equal inputs give equal layouts.
    let mut ready: std::collections::BTreeSet<usize> = rank
        .iter()
        .filter(|&&v| indegree[v] == 0)
        .map(|&v| position[v])
        .collect();
    while let Some(p) = ready.pop_first() {
        let v = rank[p];
        for &w in &out[v] {
            layer[w] = layer[w].max(layer[v] + 1);
            indegree[w] -= 1;
            if indegree[w] == 0 {
                ready.insert(position[w]);
            }
        }
    }
    layer
}
