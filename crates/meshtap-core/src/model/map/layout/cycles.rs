//! Cycle breaking: which edges to reverse so the map's graph is acyclic, deterministically.

use super::LayoutInput;

/// Marks the edges to reverse so the rest is acyclic: nodes are put in a line by the greedy
/// heuristic of Eades, Lin and Smyth (sinks to the right, sources to the left, else the node with
/// the most outgoing over incoming edges, the lowest rank on a tie) and every edge pointing
/// backwards in that line is reversed. Unlike a depth-first search it keeps dense graphs shallow.
/// Self-loops are never reversed.
pub(super) fn break_cycles(input: &LayoutInput, rank: &[usize], position: &[usize]) -> Vec<bool> {
    let n = input.nodes.len();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut inn: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in &input.edges {
        if a != b {
            out[a].push(b);
            inn[b].push(a);
        }
    }
    let (mut outdeg, mut indeg): (Vec<usize>, Vec<usize>) = (
        (0..n).map(|v| out[v].len()).collect(),
        (0..n).map(|v| inn[v].len()).collect(),
    );
    let mut removed = vec![false; n];
    let (mut left, mut right) = (Vec::with_capacity(n), Vec::new());
    let remove =
        |v: usize, removed: &mut Vec<bool>, outdeg: &mut Vec<usize>, indeg: &mut Vec<usize>| {
            removed[v] = true;
            for &w in &out[v] {
                indeg[w] -= 1;
            }
            for &u in &inn[v] {
                outdeg[u] -= 1;
            }
        };
    let mut left_count = 0;
    while left_count + right.len() < n {
        let live = || rank.iter().copied().filter(|&v| !removed[v]);
        if let Some(sink) = live().find(|&v| outdeg[v] == 0) {
            remove(sink, &mut removed, &mut outdeg, &mut indeg);
            right.push(sink);
            continue;
        }
        let pick = live().find(|&v| indeg[v] == 0).or_else(|| {
            live().max_by_key(|&v| {
                (
                    outdeg[v].cast_signed() - indeg[v].cast_signed(),
                    std::cmp::Reverse(position[v]),
                )
            })
        });
        let Some(v) = pick else { break };
        remove(v, &mut removed, &mut outdeg, &mut indeg);
        left.push(v);
        left_count += 1;
    }
    left.extend(right.into_iter().rev());
    let mut at = vec![0usize; n];
    for (i, &v) in left.iter().enumerate() {
        at[v] = i;
    }
    input
        .edges
        .iter()
        .map(|&(a, b)| a != b && at[a] > at[b])
        .collect()
}
