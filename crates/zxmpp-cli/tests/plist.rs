//! `zxmpp plist convert`, run as a binary. Expected bytes come from the Apple-written sample
//! (`ichat/invite-seed.bplist`), hand-written XML and the `plist` crate's own writer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use zxmpp_bplist::Document;
use zxmpp_bplist::plist::Value;

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../zxmpp-bplist/tests/data/invite-seed.bplist"
);

fn zxmpp(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zxmpp"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("zxmpp-plist-test-{}-{name}", std::process::id()))
}

const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>name</key>
	<string>Ivan Vučica</string>
	<key>state</key>
	<integer>2</integer>
	<key>ratio</key>
	<real>0.5</real>
	<key>flags</key>
	<array>
		<true/>
		<false/>
		<true/>
	</array>
</dict>
</plist>
"#;

#[test]
fn plist_convert_binary1_keeps_an_apple_file_byte_identical() {
    let seed = std::fs::read(SEED).unwrap();
    let out = zxmpp(&["plist", "convert", "binary1", "-o", "-", SEED], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, seed);
}

#[test]
fn plist_convert_xml1_then_binary1_gives_apples_bytes() {
    let seed = std::fs::read(SEED).unwrap();
    let xml = zxmpp(&["plist", "convert", "xml1", "-o", "-", "-"], &seed);
    assert!(xml.status.success());
    assert!(xml.stdout.starts_with(b"<?xml"));
    let back = zxmpp(&["plist", "convert", "binary1", "-"], &xml.stdout);
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    assert_eq!(back.stdout, seed);
}

#[test]
fn plist_convert_binary1_relays_out_other_writers_files_as_corefoundation() {
    // The plist crate writes the seed's value in its own 1046-byte layout; converting it
    // gives CoreFoundation's 1064 bytes (orphan booleans included).
    let seed = std::fs::read(SEED).unwrap();
    let value = Value::from_reader(std::io::Cursor::new(&seed)).unwrap();
    let mut theirs = Vec::new();
    value.to_writer_binary(&mut theirs).unwrap();
    assert_ne!(theirs, seed);
    let out = zxmpp(&["plist", "convert", "binary1", "-o", "-", "-"], &theirs);
    assert!(out.status.success());
    assert_eq!(out.stdout, seed);
}

#[test]
fn plist_convert_xml_to_binary1_has_corefoundation_orphans() {
    let out = zxmpp(&["plist", "convert", "binary1", "-"], XML.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = Document::parse(&out.stdout).unwrap();
    // dict, 4 keys, string, 2, 0.5, array, true, false, true (orphan)
    assert_eq!(doc.trailer().num_objects, 12);
    assert_eq!(doc.orphans(), vec![11]);
    // the plist crate reads the same value as from the XML
    let from_xml = Value::from_reader_xml(XML.as_bytes()).unwrap();
    let from_bin = Value::from_reader(std::io::Cursor::new(&out.stdout)).unwrap();
    assert_eq!(from_bin, from_xml);
}

#[test]
fn plist_convert_json_writes_compact_json() {
    let out = zxmpp(
        &["plist", "convert", "json", "-o", "-", "-"],
        XML.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        r#"{"name":"Ivan Vučica","state":2,"ratio":0.5,"flags":[true,false,true]}"#
    );
}

#[test]
fn plist_convert_json_refuses_data_like_plutil() {
    let out = zxmpp(&["plist", "convert", "json", "-o", "-", SEED], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid object in plist for destination format"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn plist_convert_invalid_input_exits_1_with_the_byte_offset() {
    let seed = std::fs::read(SEED).unwrap();
    let mut bad = seed.clone();
    bad[8] = 0x70; // the root object's marker
    let out = zxmpp(&["plist", "convert", "xml1", "-"], &bad);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("byte 8"), "{err}");
    let out = zxmpp(&["plist", "convert", "xml1", "-"], &seed[..500]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("byte "));
}

#[test]
fn plist_convert_without_o_converts_in_place() {
    let path = temp("in-place.plist");
    std::fs::write(&path, XML).unwrap();
    let out = zxmpp(
        &["plist", "convert", "binary1", path.to_str().unwrap()],
        b"",
    );
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(bytes.starts_with(b"bplist00"));
}

#[test]
fn plist_convert_usage_errors_exit_2() {
    let out = zxmpp(&["plist", "convert", "yaml", SEED], b"");
    assert_eq!(out.status.code(), Some(2));
    let out = zxmpp(
        &["plist", "convert", "xml1", "/nonexistent/zxmpp/plist"],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
}
