use super::*;

/// Every node as `kind span-text`, in arena order, for compact assertions.
fn dump(text: &str) -> Vec<String> {
    let tree = Tree::parse(text).unwrap();
    (0..tree.len())
        .map(|i| {
            let node = tree.node(NodeId(i as u32));
            let kind = match &node.kind() {
                NodeKind::Scalar { style, .. } => format!("{style:?}"),
                NodeKind::Sequence { flow, .. } => format!("Seq{}", if *flow { "[]" } else { "" }),
                NodeKind::Mapping { flow, .. } => format!("Map{}", if *flow { "{}" } else { "" }),
                NodeKind::Alias { target } => format!("Alias->{}", target.0),
            };
            let mut line = format!("{kind} {:?}", node.span.slice(text));
            if let Some(anchor) = tree.anchor(NodeId(i as u32)) {
                line += &format!(" anchor={}", anchor.slice(text));
            }
            if let Some(tag) = tree.tag(NodeId(i as u32)) {
                line += &format!(" tag={}", tag.slice(text));
            }
            line
        })
        .collect()
}

#[test]
fn non_ascii_markers_become_byte_offsets() {
    // yaml-rust2 counts characters: `b` is at index 9 but byte 15.
    let text = "a: \"é€😀\"\nb: x\n";
    let tree = Tree::parse(text).unwrap();
    let root = tree.root().unwrap();
    let (key, value) = tree.pairs(root).nth(1).unwrap();
    assert_eq!(tree.node(key).span, Span::new(15, 16));
    assert_eq!(tree.node(value).span.slice(text), "x");
    let first = tree.pairs(root).next().unwrap().1;
    assert_eq!(tree.node(first).span.slice(text), "\"é€😀\"");
    assert_eq!(tree.scalar(text, first).as_deref(), Some("é€😀"));
}

#[test]
fn plain_scalars_end_before_comments_and_indicators() {
    let text = "a: b c  # note\nd: [x, y z , {k: v}]\ne: multi\n  line\n\n  para # c\nf: 1\n";
    insta::assert_debug_snapshot!(dump(text));
}

#[test]
fn quoted_scalars_include_their_quotes() {
    let text = "a: 'it''s # not a comment'\nb: \"esc \\\" q\"\nc: \"multi\n  line\"\n";
    insta::assert_debug_snapshot!(dump(text));
}

#[test]
fn block_scalars_span_header_to_last_content_line() {
    let text = "a: |\n  one\n  two\n\nb: >-\n  f\n   more\nc: |+\n  keep\n\n\nd: |2 # c\n   x\ne: |\nf: >\n\n  late\n";
    insta::assert_debug_snapshot!(dump(text));
}

#[test]
fn block_scalar_in_sequence_with_crlf() {
    let text = "s:\r\n  - |\r\n    echo é\r\n    done\r\n  - x\r\n";
    insta::assert_debug_snapshot!(dump(text));
}

#[test]
fn anchors_aliases_tags_and_merge_keys() {
    let text = ".t: &tpl\n  image: kaniko\nj:\n  <<: [*tpl]\n  script: !reference [.t, script]\n  v: &v !!str 1\n  w: *v\n";
    insta::assert_debug_snapshot!(dump(text));
}

#[test]
fn empty_values_are_zero_width() {
    let text = "a:\nb: &x\nc:\n  -\n  - y\n";
    insta::assert_debug_snapshot!(dump(text));
}

#[test]
fn collections_end_at_their_last_child() {
    let text = "job:\n  script:\n    - a\n    - b # c\n\n# trailing comment\nother: 1\n";
    let tree = Tree::parse(text).unwrap();
    let root = tree.root().unwrap();
    let job = tree.pairs(root).next().unwrap().1;
    assert_eq!(tree.node(job).span.slice(text), "script:\n    - a\n    - b");
}

#[test]
fn syntax_errors_carry_a_byte_offset() {
    let text = "é: 1\nb: \"open\n";
    let err = Tree::parse(text).unwrap_err();
    assert!(err.offset <= text.len());
    assert!(!err.message.is_empty());
}

#[test]
fn byte_order_mark_is_not_part_of_the_first_key() {
    let text = "\u{feff}a: 1\nb: x\n";
    let tree = Tree::parse(text).unwrap();
    let root = tree.root().unwrap();
    let (key, _) = tree.pairs(root).next().unwrap();
    assert_eq!(tree.key(text, key), Some("a"));
    assert_eq!(tree.node(key).span, Span::new(3, 4));
    let (_, value) = tree.pairs(root).nth(1).unwrap();
    assert_eq!(tree.node(value).span.slice(text), "x");
}

/// Every node of a large file costs this much: keep it small.
#[test]
fn nodes_stay_small() {
    assert!(
        std::mem::size_of::<Node>() <= 20,
        "{} bytes",
        std::mem::size_of::<Node>()
    );
}

/// Found by fuzzing: a lone carriage return is a line break to yaml-rust2.
#[test]
fn lone_carriage_returns_do_not_break_spans() {
    let text = "build:\r\n  script:\r \n   - |\r\n     /kaniko/executor \\\r\n";
    let tree = Tree::parse(text).unwrap();
    for id in tree.node_ids() {
        let span = tree.node(id).span;
        assert!(span.end() <= text.len() && text.is_char_boundary(span.start()));
    }
    let text = "a: 1\rb: |\r  x\r";
    if let Ok(tree) = Tree::parse(text) {
        assert!(
            tree.node_ids()
                .all(|id| tree.node(id).span.end() <= text.len())
        );
    }
}

#[test]
fn a_node_packs_into_twelve_bytes_and_unpacks_every_kind() {
    assert_eq!(std::mem::size_of::<Node>(), 12);
    let span = Span::new(1, 2);
    let last = MAX_NODES as u32;
    for (mapping, flow) in [(false, false), (false, true), (true, false), (true, true)] {
        let node = Node::collection(span, mapping, flow, last);
        let kind = if mapping {
            NodeKind::Mapping { flow }
        } else {
            NodeKind::Sequence { flow }
        };
        assert_eq!(node.kind(), kind);
        assert_eq!(node.after(NodeId(3)), last);
    }
    let alias = Node::alias(span, NodeId(last - 1));
    assert_eq!(
        alias.kind(),
        NodeKind::Alias {
            target: NodeId(last - 1)
        }
    );
    assert_eq!(alias.after(NodeId(3)), 4);
    let mut styles = vec![
        ScalarStyle::Plain,
        ScalarStyle::SingleQuoted,
        ScalarStyle::DoubleQuoted,
    ];
    for chomping in [Chomping::Clip, Chomping::Strip, Chomping::Keep] {
        for indent in [None, Some(1), Some(9)] {
            styles.push(ScalarStyle::Literal { chomping, indent });
            styles.push(ScalarStyle::Folded { chomping, indent });
        }
    }
    for style in styles {
        for value in [Value::Source, Value::InsideQuotes, Value::Stored] {
            let node = Node::scalar(span, style, value);
            assert_eq!(
                (node.kind(), node.value()),
                (NodeKind::Scalar { style }, value)
            );
            assert_eq!(node.after(NodeId(7)), 8);
        }
    }
}

#[test]
fn children_follow_their_collection_and_owners_are_found_upwards() {
    let text = "a: {k: [1, {x: y}], j: &n 2}\nb: [*n, [], {}]\n? [c, d]\n: e\n";
    let tree = Tree::parse(text).unwrap();
    let root = tree.root().unwrap();
    let slice = |id: NodeId| tree.node(id).span.slice(text);
    let keys: Vec<&str> = tree.pairs(root).map(|(key, _)| slice(key)).collect();
    assert_eq!(keys, ["a", "b", "[c, d]"]);
    assert_eq!(tree.entry_keys().len(), 3);
    let (b, list) = tree.entry(1).unwrap();
    assert_eq!(slice(b), "b");
    let items: Vec<&str> = tree.items(list).map(slice).collect();
    assert_eq!(items, ["*n", "[]", "{}"]);
    assert_eq!(tree.owner(list), Some((root, b)));
    // A key that is a collection: the value's key is its sibling, not its
    // last descendant.
    let (complex, e) = tree.entry(2).unwrap();
    assert_eq!(tree.owner(e), Some((root, complex)));
    assert_eq!(
        tree.item_of(tree.items(complex).nth(1).unwrap()),
        Some((complex, 1))
    );
    let (_, a) = tree.entry(0).unwrap();
    let (k, inner) = tree.pairs(a).next().unwrap();
    assert_eq!(tree.owner(inner), Some((a, k)));
    assert_eq!(tree.item_of(inner), None);
    assert_eq!(tree.after(a), b);
    assert_eq!(tree.after(root), tree.end_id());
}

#[test]
fn values_are_read_from_their_source_or_decoded_from_it_again() {
    let text = "a: \"x y\"\nb: 'it''s'\nc: \"t\\tq\"\nd: ''\ne: \"\"\nf: \"two\n  lines\"\n";
    let tree = Tree::parse(text).unwrap();
    let root = tree.root().unwrap();
    let values: Vec<_> = tree
        .pairs(root)
        .map(|(_, value)| tree.scalar(text, value).unwrap())
        .collect();
    assert_eq!(values, ["x y", "it's", "t\tq", "", "", "two lines"]);
    // The escaped and the folded values are decoded again when asked:
    // none is copied.
    assert_eq!(tree.values.ends.len(), 0);
}

/// Values over several lines are decoded from the text when asked, the
/// same as yaml-rust2 decoded them; keys, whose names are borrowed, and
/// blocks whose indentation is counted from their parent's are stored.
#[test]
fn only_values_that_decode_alone_are_left_to_decode_when_asked() {
    let text = "s:\n  - |\n    one\n\n     two\n  - >-\n    a\n    b\n\n    c\n  - plain\n    folded\n\n    twice\n  - |+\n    kept\n\n  - \"esc\\x41\n    ped\"\n? \"key\\tname\"\n: v\n? |\n  block key\n: w\nx:\n  - |2\n      indented\n";
    let tree = Tree::parse(text).unwrap();
    let lines = tree
        .node_ids()
        .filter(|&id| matches!(tree.node(id).kind(), NodeKind::Scalar { .. }))
        .filter(|&id| tree.stored_node(id).value() == Value::Lines)
        .map(|id| tree.scalar(text, id).unwrap().into_owned())
        .collect::<Vec<_>>();
    assert_eq!(
        lines,
        [
            "one\n\n two\n",
            "a b\nc",
            "plain folded\ntwice",
            "kept\n\n",
            "escA ped"
        ]
    );
    // Each word of such a value is in its source, which filters read
    // instead of decoding it; a double-quoted value's escapes make words.
    for id in tree.node_ids() {
        let Some(value) = tree.scalar(text, id) else {
            continue;
        };
        let words = value.split_whitespace().map(|w| w.replace('\'', ""));
        match tree.undecoded(text, id) {
            Some(raw) => words.for_each(|word| assert!(raw.contains(&word), "{word:?}")),
            None if tree.stored_node(id).value() == Value::Lines => assert_eq!(value, "escA ped"),
            None => {}
        }
    }
    let root = tree.root().unwrap();
    let keys: Vec<_> = tree
        .pairs(root)
        .map(|(key, _)| tree.key(text, key))
        .collect();
    assert_eq!(
        keys,
        [Some("s"), Some("key\tname"), Some("block key\n"), Some("x")]
    );
    // The two keys and the `|2` block.
    assert_eq!(tree.values.ends.len(), 3);
}

#[test]
fn duplicate_keys_pair_each_with_the_one_before_in_small_and_large_mappings() {
    for filler in [0, 40] {
        let mut text = String::from("a: 1\nb: 2\na: 3\n<<: {}\n<<: {}\n'a': 4\n");
        for i in 0..filler {
            text += &format!("k{i}: x\n");
        }
        let tree = Tree::parse(&text).unwrap();
        let pairs: Vec<(&str, &str)> = tree
            .duplicate_keys()
            .iter()
            .map(|&(first, later)| {
                let line = |id: NodeId| tree.node(id).span.slice(&text);
                (line(first), line(later))
            })
            .collect();
        let first_a = tree.pairs(tree.root().unwrap()).next().unwrap().0;
        assert_eq!(tree.duplicate_keys()[0].0, first_a);
        assert_eq!(pairs, [("a", "a"), ("a", "'a'")], "{filler} more keys");
        // The third `a` pairs with the second, not the first.
        assert_eq!(tree.duplicate_keys()[1].0, tree.duplicate_keys()[0].1);
    }
}

#[test]
fn markers_in_text_that_is_not_ascii_become_byte_offsets() {
    // A comment's characters shift yaml-rust2's index; a block mapping's
    // marker lies inside its first key, behind the previous marker.
    let text = "# é ü ä\né: ü # ö\nä:\n  ö: [ß, 'ç']\n  ñ: |\n    ø\n";
    let tree = Tree::parse(text).unwrap();
    let scalars: Vec<&str> = tree
        .node_ids()
        .filter_map(|id| {
            tree.scalar(text, id)
                .map(|_| tree.node(id).span.slice(text))
        })
        .collect();
    assert_eq!(scalars, ["é", "ü", "ä", "ö", "ß", "'ç'", "ñ", "|\n    ø"]);
    let crlf = text.replace('\n', "\r\n");
    let tree = Tree::parse(&crlf).unwrap();
    let last = tree.node_ids().last().unwrap();
    assert_eq!(tree.node(last).span.slice(&crlf), "|\r\n    ø");
}

#[test]
fn a_file_with_more_nodes_than_ids_can_name_is_refused_with_that_reason() {
    // The bound is 2^29 - 1 nodes (a gigabyte of YAML at least); here, 6.
    let text = "a: [1, 2]\nb: 3\n";
    assert!(super::build::parse_body(text, 7).is_ok());
    let err = super::build::parse_body(text, 6).unwrap_err();
    assert_eq!(err.message, "the file holds more than 6 YAML nodes");
    assert_eq!(err.offset, text.find('3').unwrap());
}

/// Nodes too large for 8 bytes (`nodes`) are kept whole: a scalar of
/// 256 KiB, a collection of 64 KiB, one with 4,096 descendants, an alias.
#[test]
fn nodes_too_large_to_pack_read_back_as_written() {
    let block = "  x\n".repeat(1 << 16);
    let items = "  - x\n".repeat(5000);
    let quoted = "y".repeat(1 << 16);
    let text =
        format!("\u{feff}big: &a |\n{block}long:\n{items}wide: {{k: \"{quoted}\"}}\nref: *a\n");
    let tree = Tree::parse(&text).unwrap();
    let value = |key: &str| {
        let root = tree.root().unwrap();
        let pair = tree
            .pairs(root)
            .find(|&(k, _)| tree.scalar(&text, k).as_deref() == Some(key));
        pair.unwrap().1
    };
    assert!(tree.nodes.wide() >= 4, "{}", tree.nodes.wide());
    let big = value("big");
    let header = text.find('|').unwrap();
    assert_eq!(
        tree.node(big).span,
        Span::new(header, header + 2 + block.len() - 1)
    );
    assert_eq!(tree.scalar(&text, big).unwrap().len(), block.len() / 2);
    let long = value("long");
    assert_eq!(tree.items(long).count(), 5000);
    assert_eq!(tree.after(long), NodeId(long.0 + 5001));
    let last = tree.items(long).last().unwrap();
    assert_eq!(tree.node(long).span.end(), tree.node(last).span.end());
    let wide = value("wide");
    let open = text.find('{').unwrap();
    assert_eq!(
        tree.node(wide).span,
        Span::new(open, open + quoted.len() + 7)
    );
    assert_eq!(tree.after(wide), NodeId(wide.0 + 3));
    let alias = value("ref");
    assert_eq!(tree.deref(alias), big);
    assert_eq!(tree.node(alias).span.slice(&text), "*a");
}

#[test]
fn every_node_s_holder_is_found_in_wide_and_deep_collections() {
    // Wide (past the siblings scanned one by one) and deep collections,
    // complex keys, aliases, and a header document before the content.
    let mut text = String::from("spec:\n  inputs: {a: 1}\n---\n");
    for job in 0..40 {
        text += &format!("job{job}:\n  script:\n");
        for line in 0..(job % 3) * 20 {
            text += &format!("    - echo {line}\n");
        }
        text +=
            &format!("  vars: {{x: [1, {{y: z}}], ? [k]: v}}\n  n: &a{job} {job}\n  m: *a{job}\n");
    }
    let tree = Tree::parse(&text).unwrap();
    let mut expected = vec![None; tree.len()];
    for id in tree.node_ids() {
        for (position, child) in tree.children(id).enumerate() {
            expected[child.0 as usize] = Some((id, position));
        }
    }
    for id in tree.node_ids() {
        let parent = expected[id.0 as usize];
        let owner = parent.and_then(|(mapping, position)| {
            let key = tree.children(mapping).nth(position.wrapping_sub(1));
            (tree.is_mapping(mapping) && position % 2 == 1).then(|| (mapping, key.unwrap()))
        });
        let item = parent.filter(|(sequence, _)| tree.is_sequence(*sequence));
        assert_eq!(tree.owner(id), owner, "{id:?}");
        assert_eq!(tree.item_of(id), item, "{id:?}");
    }
}

#[test]
fn repeated_keys_of_a_large_mapping_pair_each_with_the_one_before() {
    // Past the small mappings' scan: keys sorted by name, then paired.
    let mut text = String::new();
    for n in 0..40 {
        let name = match n {
            3 | 20 | 31 => "a".to_string(),
            7 | 25 => "b".to_string(),
            _ => format!("k{n}"),
        };
        text += &format!("{name}: {n}\n");
    }
    text += "<<: {}\n<<: {}\n";
    let tree = Tree::parse(&text).unwrap();
    let pairs: Vec<(String, String)> = tree
        .duplicate_keys()
        .iter()
        .map(|&(first, later)| {
            let value = |key: NodeId| tree.node(tree.after(key)).span.slice(&text).to_string();
            (value(first), value(later))
        })
        .collect();
    let expected = [("3", "20"), ("7", "25"), ("20", "31")];
    assert_eq!(pairs, expected.map(|(a, b)| (a.to_string(), b.to_string())));
}

#[test]
fn stored_ids_count_the_ids_below_any_node() {
    let ids: Vec<u32> = vec![0, 1, 5, 63, 64, 65, 127, 200, 1000, 1001, 4095];
    let mut stored = StoredIds::default();
    for &id in &ids {
        stored.push(NodeId(id));
    }
    for probe in 0..4096 {
        let below = ids.iter().filter(|&&id| id < probe).count();
        if ids.contains(&probe) {
            assert_eq!(stored.rank(NodeId(probe)), below, "rank of {probe}");
        }
    }
    assert_eq!(stored.last(), Some(NodeId(4095)));
    assert_eq!(StoredIds::default().last(), None);
}
