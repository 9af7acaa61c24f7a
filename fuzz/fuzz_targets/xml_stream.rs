//! Arbitrary bytes, in arbitrary chunks, into the stream reader (and the fragments reader and
//! `parse_document`): never panics, the buffer never holds more than a stanza plus a chunk, and
//! views of whatever is read can be walked to the end.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zxmpp_xml::{Config, Element, Event, Node, Status, StreamReader, parse_document};

fn walk(el: &Element<'_>, budget: &mut usize) {
    for attr in el.attrs() {
        let _ = (attr.value(), attr.ns());
    }
    let _ = (el.lang(), el.text(), el.ns());
    for node in el.nodes() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        if let Node::Element(child) = node {
            walk(&child, budget);
        }
    }
    let _ = el.to_minidom();
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, input)) = data.split_first() else { return };
    let chunk = usize::from(seed % 64) + 1;
    let config = Config::default().max_stanza_size(4096).max_depth(16);
    for mut reader in [StreamReader::new(config), StreamReader::fragments(config)] {
        let mut buf = Vec::new();
        'chunks: for piece in input.chunks(chunk) {
            buf.extend_from_slice(piece);
            loop {
                match reader.next(&buf) {
                    Ok(Status::Partial) => break,
                    Ok(Status::Complete(Event::Stanza(el))) => {
                        assert!(el.as_bytes().len() <= 4096);
                        walk(&el, &mut 10_000);
                    }
                    Ok(Status::Complete(_)) => {}
                    Err(_) => break 'chunks,
                }
            }
            let n = reader.discard();
            buf.drain(..n);
            // Only the stanza in progress (bounded by the limit) and the last chunk are kept.
            assert!(buf.len() <= 4096 + chunk, "buffered {} bytes", buf.len());
        }
    }
    if let Ok(root) = parse_document(input, &config) {
        walk(&root, &mut 10_000);
    }
});
