//! `zxmpp typedstream decode`: output and exit statuses of the built binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use std::io::Write;
use std::process::{Command, Output, Stdio};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../zxmpp-typedstream/tests/data/vcicedata-seed.typedstream"
);

fn zxmpp(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zxmpp"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
fn decode_prints_the_object_graph() {
    let out = zxmpp(&["typedstream", "decode", SAMPLE], None);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("typedstream v4, little-endian (streamtyped), system version 1000"));
    for needle in [
        "NSMutableDictionary v0 : NSDictionary v0 : NSObject v0, 3 entries",
        "\"connection helper\"",
        "\"CommNAT\"",
        "NSNumber v0 : NSValue v0 : NSObject v0 (i) 0",
        "(i) 2",
        "\"SIP-ICE\"",
        "NSData v0 : NSObject v0, 296 bytes",
        "|external........|",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn decode_json_from_stdin() {
    let bytes = std::fs::read(SAMPLE).unwrap();
    let out = zxmpp(&["typedstream", "decode", "-", "--json"], Some(&bytes));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["byte_order"], "little");
    assert_eq!(v["system_version"], 1000);
    let root = &v["groups"][0]["values"][0];
    assert_eq!(root["class"], "NSMutableDictionary");
    assert_eq!(root["kind"], "dictionary");
    let entries = root["entries"].as_array().unwrap();
    let keys: Vec<_> = entries
        .iter()
        .map(|e| e["key"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["connection helper", "version", "SIP-ICE"]);
    assert_eq!(entries[1]["value"]["objc_type"], "i");
    assert_eq!(entries[1]["value"]["value"], 2);
    assert_eq!(entries[2]["value"]["kind"], "data");
    assert_eq!(entries[2]["value"]["length"], 296);
    assert_eq!(entries[2]["value"]["id"], 8);
}

#[test]
fn decode_reads_stdin_without_a_file_argument() {
    let bytes = std::fs::read(SAMPLE).unwrap();
    let out = zxmpp(&["typedstream", "decode"], Some(&bytes));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("\"SIP-ICE\"")
    );
}

#[test]
fn invalid_input_exits_1_with_byte_offset() {
    let bytes = std::fs::read(SAMPLE).unwrap();
    let out = zxmpp(&["typedstream", "decode", "-"], Some(&bytes[..30]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("at byte 22"), "{err}");
    let out = zxmpp(&["typedstream", "decode", "-"], Some(b"not a typedstream"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().contains("at byte 0"));
}

#[test]
fn missing_file_or_bad_usage_exits_2() {
    let out = zxmpp(&["typedstream", "decode", "/nonexistent/archive"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = zxmpp(&["typedstream", "decode", "--bogus"], None);
    assert_eq!(out.status.code(), Some(2));
}
