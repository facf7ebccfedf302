use super::*;

fn input(nodes: &[(&str, &str)], edges: &[(&str, &str)]) -> LayoutInput {
    let index = |key: &str| {
        nodes
            .iter()
            .position(|(k, _)| *k == key)
            .expect("node named in the test")
    };
    LayoutInput {
        nodes: nodes
            .iter()
            .map(|(key, group)| LayoutNode {
                key: Text::from(*key),
                group: Text::from(*group),
            })
            .collect(),
        edges: edges.iter().map(|(a, b)| (index(a), index(b))).collect(),
    }
}

fn place_of(input: &LayoutInput, layout: &Layout, key: &str) -> Place {
    let i = input
        .nodes
        .iter()
        .position(|n| n.key.as_ref() == key)
        .expect("node");
    layout.nodes[i]
}

fn shop() -> LayoutInput {
    input(
        &[
            ("front-end", "shop"),
            ("catalogue", "shop"),
            ("orders", "shop"),
            ("carts", "shop"),
            ("payment", "shop"),
        ],
        &[
            ("front-end", "catalogue"),
            ("front-end", "orders"),
            ("front-end", "carts"),
            ("orders", "carts"),
            ("orders", "payment"),
        ],
    )
}

#[test]
fn callers_come_before_callees_and_long_edges_pass_through() {
    let shop = shop();
    let layout = layout(&shop, None);
    let layer = |key| place_of(&shop, &layout, key).layer;
    assert_eq!(layer("front-end"), 0);
    assert_eq!(layer("catalogue"), 1);
    assert_eq!(layer("orders"), 1);
    // orders → carts pushes carts a layer further than front-end alone would.
    assert_eq!(layer("carts"), 2);
    assert_eq!(layer("payment"), 2);
    assert_eq!(layout.layers, 3);
    // front-end → carts spans two layers: one placeholder slot in layer 1.
    let long = &layout.edges[2];
    assert_eq!(long.points.len(), 3);
    assert!(!long.reversed);
    assert!(matches!(
        layout.slots[1]
            .iter()
            .find(|(row, _)| *row == long.points[1].row),
        Some((_, Slot::Through(2)))
    ));
    // Every edge goes left to right, one layer per step.
    for path in &layout.edges {
        for pair in path.points.windows(2) {
            assert_eq!(pair[1].layer, pair[0].layer + 1);
        }
    }
    // No two slots share a row in a layer.
    for layer in &layout.slots {
        let mut rows: Vec<usize> = layer.iter().map(|(row, _)| *row).collect();
        rows.dedup();
        assert_eq!(rows.len(), layer.len());
    }
}

#[test]
fn cycles_are_broken_the_same_way_whatever_the_input_order() {
    let a = input(
        &[("a", "g"), ("b", "g"), ("c", "g")],
        &[("a", "b"), ("b", "c"), ("c", "a")],
    );
    let b = input(
        &[("c", "g"), ("b", "g"), ("a", "g")],
        &[("c", "a"), ("b", "c"), ("a", "b")],
    );
    let (la, lb) = (layout(&a, None), layout(&b, None));
    for key in ["a", "b", "c"] {
        assert_eq!(place_of(&a, &la, key), place_of(&b, &lb, key), "{key}");
    }
    // Exactly one edge is reversed: c → a, the one closing the cycle from the first key.
    let reversed: Vec<(usize, usize)> = a
        .edges
        .iter()
        .zip(&la.edges)
        .filter(|(_, p)| p.reversed)
        .map(|(e, _)| *e)
        .collect();
    assert_eq!(reversed, vec![(2, 0)]);
    assert_eq!(place_of(&a, &la, "a").layer, 0);
    assert_eq!(place_of(&a, &la, "c").layer, 2);
    // A reversed edge is still drawn left to right, between the layers it spans.
    let path = &la.edges[2];
    assert_eq!(path.points.first().map(|p| p.layer), Some(0));
    assert_eq!(path.points.last().map(|p| p.layer), Some(2));
}

#[test]
fn a_new_edge_does_not_move_the_nodes_already_placed() {
    let before = shop();
    let first = layout(&before, None);
    // catalogue → payment: both exist, payment is already right of catalogue.
    let mut after = before.clone();
    after.edges.push((1, 4));
    let second = layout(&after, Some(&first));
    for node in &before.nodes {
        assert_eq!(
            place_of(&before, &first, &node.key),
            place_of(&after, &second, &node.key),
            "{}",
            node.key
        );
    }
    // Without the memory the same graph may order differently; with it, a new node joins after
    // the old ones of its layer and nobody above it moves.
    let mut grown = after.clone();
    grown.nodes.push(LayoutNode {
        key: Text::from("aaa-new"),
        group: Text::from("shop"),
    });
    grown.edges.push((0, 5));
    let third = layout(&grown, Some(&second));
    for node in &before.nodes {
        assert_eq!(
            place_of(&after, &second, &node.key),
            place_of(&grown, &third, &node.key),
            "{}",
            node.key
        );
    }
    let new = place_of(&grown, &third, "aaa-new");
    assert_eq!(new.layer, 1);
    assert!(new.row > place_of(&grown, &third, "orders").row);
}

#[test]
fn an_edge_that_needs_it_pushes_a_node_right() {
    let before = shop();
    let first = layout(&before, None);
    let mut after = before.clone();
    // payment → catalogue: catalogue must now be right of payment.
    after.edges.push((4, 1));
    let second = layout(&after, Some(&first));
    assert_eq!(place_of(&after, &second, "catalogue").layer, 3);
    assert_eq!(
        place_of(&after, &second, "front-end"),
        place_of(&before, &first, "front-end")
    );
}

#[test]
fn groups_get_bands_with_a_header_row() {
    let two = input(
        &[
            ("web", "emojivoto"),
            ("emoji", "emojivoto"),
            ("lg", "loadtest"),
            ("fe", "shop"),
        ],
        &[("web", "emoji"), ("lg", "fe")],
    );
    let layout = layout(&two, None);
    let names: Vec<&str> = layout.bands.iter().map(|b| b.group.as_ref()).collect();
    assert_eq!(names, ["emojivoto", "loadtest", "shop"]);
    for (node, place) in two.nodes.iter().zip(&layout.nodes) {
        let band = layout
            .bands
            .iter()
            .find(|b| b.group == node.group)
            .expect("band");
        assert!(
            place.row > band.top && place.row < band.top + band.height,
            "{}",
            node.key
        );
    }
    assert_eq!(layout.rows, 6);
    assert_eq!(layout.node_at(place_of(&two, &layout, "fe")), Some(3));
}

#[test]
fn self_loops_and_duplicates_are_harmless() {
    let odd = input(
        &[("a", "g"), ("b", "g")],
        &[("a", "a"), ("a", "b"), ("a", "b")],
    );
    let layout = layout(&odd, None);
    assert!(layout.edges[0].points.is_empty());
    assert_eq!(layout.edges[1], layout.edges[2]);
    assert_eq!(layout.layers, 2);
}
