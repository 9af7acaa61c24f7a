//! `zxmpp xml frame` against the sample stream, whose offsets the test finds on its own.

use std::io::Write;
use std::process::{Command, Stdio};

fn zxmpp(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zxmpp"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const SAMPLE: &str = include_str!("stream.xml");

#[test]
fn frame_lists_every_stanza_with_offset_length_name_and_namespace() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stream.xml");
    let (code, out, err) = zxmpp(&["xml", "frame", "--json", path], b"");
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The stanzas of the sample, located by searching the text itself.
    let presence_at = SAMPLE.find("<presence").unwrap();
    let presence_len = SAMPLE[presence_at..].find("</presence>").unwrap() + "</presence>".len();
    let presence = lines.iter().find(|l| l["name"] == "presence").unwrap();
    assert_eq!(presence["offset"], presence_at);
    assert_eq!(presence["length"], presence_len);
    assert_eq!(presence["namespace"], "jabber:client");
    let kinds: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "stanza").count(),
        SAMPLE.matches("\n<").count() - 2
    );
    assert_eq!(kinds.first(), Some(&"stream-open"));
    assert_eq!(kinds.iter().filter(|k| **k == "stream-restart").count(), 1);
    assert_eq!(kinds.last(), Some(&"stream-close"));
    let close = lines.last().unwrap();
    assert_eq!(close["offset"], SAMPLE.find("</stream:stream>").unwrap());
    let features = &lines[1];
    assert_eq!(features["name"], "stream:features");
    assert_eq!(features["namespace"], "http://etherx.jabber.org/streams");
}

#[test]
fn frame_reads_stdin_and_prints_a_table() {
    let (code, out, _) = zxmpp(&["xml", "frame"], SAMPLE.as_bytes());
    assert_eq!(code, 0);
    assert!(out.lines().next().unwrap().contains("offset"));
    assert!(
        out.lines()
            .any(|l| l.contains("message") && l.contains("jabber:client"))
    );
}

#[test]
fn frame_reads_bare_stanzas_without_a_stream_header() {
    let input = b"<message xmlns='jabber:client'/>\n<iq xmlns='jabber:client' type='get'/>";
    let (code, out, _) = zxmpp(&["xml", "frame", "--json", "-"], input);
    assert_eq!(code, 0);
    let offsets: Vec<u64> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["offset"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(offsets, [0, 33]);
}

#[test]
fn malformed_input_exits_1_naming_the_offset() {
    let input = b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message><!DOCTYPE x></message>";
    let at = input.windows(9).position(|w| w == b"<!DOCTYPE").unwrap();
    let (code, _, err) = zxmpp(&["xml", "frame"], input);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("at byte {at}")), "{err}");
}

#[test]
fn truncated_input_exits_1() {
    let (code, _, err) = zxmpp(
        &["xml", "frame"],
        &SAMPLE.as_bytes()[..SAMPLE.find("<presence").unwrap() + 20],
    );
    assert_eq!(code, 1);
    assert!(err.contains("ends inside"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(zxmpp(&["xml", "frame", "--bogus"], b"").0, 2);
    assert_eq!(zxmpp(&["xml", "frame", "/nonexistent/file.xml"], b"").0, 2);
}

#[test]
fn binary_garbage_never_panics() {
    for seed in 0u32..64 {
        let data: Vec<u8> = (0..512u32)
            .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed * 7919) >> 13) as u8)
            .collect();
        let (code, _, err) = zxmpp(&["xml", "frame"], &data);
        assert_eq!(code, 1, "{err}");
        assert!(!err.contains("panicked"));
    }
}
