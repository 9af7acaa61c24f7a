//! Frame, serialize, frame again: the same stanzas. Each stanza read is written out again
//! (through `minidom`, an independent writer), and the written stream must read back to equal
//! stanzas.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zxmpp_xml::{Config, Event, Status, StreamReader};

fn frame(input: &[u8]) -> Vec<minidom::Element> {
    let mut reader = StreamReader::fragments(Config::default());
    let mut out = Vec::new();
    while let Ok(Status::Complete(event)) = reader.next(input) {
        if let Event::Stanza(el) = event {
            out.push(el.to_minidom());
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let first = frame(data);
    let mut written = Vec::new();
    for el in &first {
        // minidom is only the serializer here; what it refuses to write is not our concern.
        if el.write_to(&mut written).is_err() {
            return;
        }
    }
    let second = frame(&written);
    assert_eq!(first, second, "written: {}", String::from_utf8_lossy(&written));
});
