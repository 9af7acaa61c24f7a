//! Property tests: chunk invariance, and a differential against minidom's own parser.

mod common;

use common::{Seen, read_chunked, read_chunked_with, read_whole};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use zxmpp_xml::{Config, Event, Status, StreamReader, escape_attr, escape_text, parse_document};

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>";

/// A generated element tree, serialised by `write`.
#[derive(Debug, Clone)]
enum Tree {
    Element {
        name: &'static str,
        prefixed: bool,
        attrs: Vec<(&'static str, String)>,
        children: Vec<Tree>,
    },
    Text(String),
    CharRef(char),
    CData(String),
}

fn text() -> impl Strategy<Value = String> {
    // Letters, markup characters, quotes, non-ASCII (two-, three- and four-byte UTF-8), tabs and newlines.
    proptest::string::string_regex("[a-z <>&'\"/=;é€😀\t\n\u{FEFF}]{0,12}").unwrap()
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        4 => text().prop_map(Tree::Text),
        1 => prop_oneof![Just('☺'), Just('<'), Just('&'), Just('\u{10FFFF}'), Just('A')].prop_map(Tree::CharRef),
        1 => proptest::string::string_regex("[a-z<>& ]{0,8}").unwrap().prop_map(Tree::CData),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        (
            prop_oneof![
                Just("body"),
                Just("x"),
                Just("item"),
                Just("query"),
                Just("c"),
                Just("thread")
            ],
            any::<bool>(),
            proptest::sample::subsequence(
                vec!["id", "type", "to", "from", "node", "xml:lang", "p:a"],
                0..4,
            ),
            proptest::collection::vec(text(), 4),
            proptest::collection::vec(inner, 0..5),
        )
            .prop_map(|(name, prefixed, names, values, children)| Tree::Element {
                name,
                prefixed,
                attrs: names.into_iter().zip(values).collect(),
                children,
            })
    })
}

fn stanza() -> impl Strategy<Value = Tree> {
    (
        prop_oneof![Just("message"), Just("presence"), Just("iq")],
        proptest::collection::vec(text(), 2),
        proptest::collection::vec(tree(), 0..4),
    )
        .prop_map(|(name, values, children)| Tree::Element {
            name,
            prefixed: false,
            attrs: vec![("to", values[0].clone()), ("id", values[1].clone())],
            children,
        })
}

fn write(t: &Tree, out: &mut String, top: bool) {
    match t {
        Tree::Text(s) => out.push_str(&escape_text(s)),
        Tree::CharRef(c) => out.push_str(&format!("&#x{:X};", u32::from(*c))),
        Tree::CData(s) => out.push_str(&format!("<![CDATA[{s}]]>")),
        Tree::Element {
            name,
            prefixed,
            attrs,
            children,
        } => {
            let qname = if *prefixed {
                format!("p:{name}")
            } else {
                (*name).to_owned()
            };
            out.push('<');
            out.push_str(&qname);
            if top {
                // Stanzas carry their namespace so that each can also be read alone.
                out.push_str(" xmlns='jabber:client'");
            }
            if *prefixed || attrs.iter().any(|(k, _)| k.starts_with("p:")) {
                out.push_str(" xmlns:p='urn:example:p'");
            }
            for (k, v) in attrs {
                out.push_str(&format!(" {k}=\"{}\"", escape_attr(v)));
            }
            if children.is_empty() {
                out.push_str("/>");
            } else {
                out.push('>');
                for c in children {
                    write(c, out, false);
                }
                out.push_str(&format!("</{qname}>"));
            }
        }
    }
}

fn stream_of(stanzas: &[Tree], close: bool, ws: &[bool]) -> String {
    let mut s = HEADER.to_owned();
    for (i, st) in stanzas.iter().enumerate() {
        if ws.get(i).copied().unwrap_or(false) {
            s.push_str(" \n");
        }
        write(st, &mut s, true);
    }
    if close {
        s.push_str("</stream:stream>");
    }
    s
}

fn streams() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(stanza(), 0..6),
        any::<bool>(),
        proptest::collection::vec(any::<bool>(), 6),
    )
        .prop_map(|(stanzas, close, ws)| stream_of(&stanzas, close, &ws))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any split of a well-formed stream into chunks yields the same events as reading it whole.
    #[test]
    fn chunk_invariance_well_formed(input in streams(), splits in proptest::collection::vec(any::<prop::sample::Index>(), 0..40)) {
        let bytes = input.as_bytes();
        let whole = read_whole(StreamReader::new(Config::default()), bytes);
        prop_assert_eq!(&whole.1, &None);
        let cuts: Vec<usize> = splits.iter().map(|i| i.index(bytes.len().max(1))).collect();
        let chunked = read_chunked(StreamReader::new(Config::default()), bytes, &cuts);
        prop_assert_eq!(whole, chunked);
    }

    /// Giving back scratch memory between chunks (what a connection manager does for every quiet stream) changes
    /// nothing, for well-formed and damaged streams alike.
    #[test]
    fn shrink_to_fit_between_chunks_changes_nothing(input in streams(), at in any::<prop::sample::Index>(),
                                                    byte in any::<u8>(), damage in any::<bool>(),
                                                    splits in proptest::collection::vec(any::<prop::sample::Index>(), 0..40)) {
        let mut bytes = input.into_bytes();
        if damage {
            let i = at.index(bytes.len());
            bytes.insert(i, byte);
        }
        let cuts: Vec<usize> = splits.iter().map(|i| i.index(bytes.len())).collect();
        let plain = read_chunked(StreamReader::new(Config::default()), &bytes, &cuts);
        let shrunk = read_chunked_with(StreamReader::new(Config::default()), &bytes, &cuts, true);
        prop_assert_eq!(plain, shrunk);
    }

    /// Byte by byte, too.
    #[test]
    fn chunk_invariance_one_byte_at_a_time(input in streams()) {
        let bytes = input.as_bytes();
        let whole = read_whole(StreamReader::new(Config::default()), bytes);
        let cuts: Vec<usize> = (1..bytes.len()).collect();
        prop_assert_eq!(whole, read_chunked(StreamReader::new(Config::default()), bytes, &cuts));
    }

    /// A damaged stream gives the same events and the same error (kind and offset) however it is
    /// chunked.
    #[test]
    fn chunk_invariance_damaged(input in streams(), at in any::<prop::sample::Index>(), byte in any::<u8>(),
                                splits in proptest::collection::vec(any::<prop::sample::Index>(), 0..40)) {
        let mut bytes = input.into_bytes();
        let i = at.index(bytes.len());
        bytes.insert(i, byte);
        let whole = read_whole(StreamReader::new(Config::default()), &bytes);
        let cuts: Vec<usize> = splits.iter().map(|i| i.index(bytes.len())).collect();
        prop_assert_eq!(whole, read_chunked(StreamReader::new(Config::default()), &bytes, &cuts));
    }

    /// Stanza by stanza, the minidom conversion equals what minidom parses on its own, and the
    /// byte range read alone gives the same stanza.
    #[test]
    fn differential_against_minidom(stanzas in proptest::collection::vec(stanza(), 1..5)) {
        let input = stream_of(&stanzas, true, &[]);
        let buf = input.as_bytes();
        let mut reader = StreamReader::new(Config::default());
        let mut count = 0;
        loop {
            match reader.next(buf).unwrap() {
                Status::Complete(Event::Stanza(el)) => {
                    let ours = el.to_minidom();
                    let theirs: minidom::Element = el.as_str().parse().unwrap();
                    prop_assert_eq!(&ours, &theirs, "stanza {}", el.as_str());
                    let alone = parse_document(el.as_bytes(), &Config::default()).unwrap();
                    prop_assert_eq!(alone.to_minidom(), theirs);
                    count += 1;
                }
                Status::Complete(Event::StreamClose) | Status::Partial => break,
                Status::Complete(_) => {}
            }
        }
        prop_assert_eq!(count, stanzas.len());
    }
}

/// The generator does produce what the properties are about.
#[test]
fn generator_covers_prefixes_cdata_and_references() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let generated: Vec<String> = (0..200)
        .map(|_| streams().new_tree(&mut runner).unwrap().current())
        .collect();
    let all = generated.concat();
    for needle in [
        "<p:",
        "<![CDATA[",
        "&amp;",
        "&lt;",
        "&#x",
        "😀",
        "</stream:stream>",
        "xml:lang",
    ] {
        assert!(all.contains(needle), "generator never produced {needle}");
    }
    for g in &generated {
        let (seen, err) = read_whole(StreamReader::new(Config::default()), g.as_bytes());
        assert_eq!(err, None);
        assert!(matches!(seen.first(), Some(Seen::Open { .. })));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Memory: after `discard`, the caller's buffer holds no more than the stanza in progress and
    /// what the last chunk brought beyond it — never more than the largest stanza plus one chunk.
    #[test]
    fn buffer_bounded_by_largest_stanza_plus_one_chunk(input in streams(), chunk in 1usize..512) {
        let bytes = input.as_bytes();
        let (seen, err) = read_whole(StreamReader::new(Config::default()), bytes);
        prop_assert_eq!(err, None);
        let largest = seen
            .iter()
            .map(|s| match s {
                Seen::Stanza { bytes, .. } => bytes.len(),
                _ => HEADER.len(),
            })
            .max()
            .unwrap_or(0);
        let mut reader = StreamReader::new(Config::default());
        let mut buf = Vec::new();
        for piece in bytes.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Status::Complete(_) = reader.next(&buf).unwrap() {}
            let n = reader.discard();
            buf.drain(..n);
            prop_assert!(buf.len() <= largest + chunk, "{} > {} + {}", buf.len(), largest, chunk);
        }
    }
}
