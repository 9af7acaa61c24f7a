//! `zxmpp vc decode`, run as a program. Expected values come from the research notes on the
//! captured invitation (candidates, session id, participants).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const HEX: &str = include_str!("../data/invite-seed.hex");

fn zxmpp(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zxmpp"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(data) = stdin {
        input.write_all(data).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn temp_file(name: &str, data: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zxmpp-cli-vc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

fn unhex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn assert_sample_text(out: &str) {
    for expected in [
        "en1 192.168.1.132:16402",
        "external 93.139.37.211:49958",
        "en1~ 63.87.254.123:16402",
        "473648504",
        "ivucica@the-evil-macbook.local",
        "perica@the-evil-macbook.local",
        "Ivan Vu\u{010d}ica",
        "NSMutableDictionary",
        "SIP-ICE",
        "CommNAT",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn builtin_sample() {
    let o = zxmpp(&["vc", "decode"], None);
    assert!(o.status.success(), "{o:?}");
    assert_sample_text(&stdout(&o));
}

#[test]
fn builtin_sample_json() {
    let o = zxmpp(&["vc", "decode", "--json"], None);
    assert!(o.status.success(), "{o:?}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["VCSessionID"], 473_648_504);
    assert_eq!(v["bplist_length"], 1064);
    assert_eq!(v["VCICEData"]["length"], 523);
    assert_eq!(v["VCICEData"]["version"], 2);
    let groups = v["VCICEData"]["sip_ice"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    let first = &groups[1]["records"][0];
    assert_eq!(first["interface"], "external");
    assert_eq!(first["address"], "93.139.37.211");
    assert_eq!(first["port"], 49958);
    assert_eq!(groups[0]["records"][2]["complement_of"], 1);
    assert_eq!(v["VCInviteesList"][1]["state"], 2);
    assert_eq!(v["VCInviteesList"][1]["usingICE"], true);
}

#[test]
fn hex_file_with_leading_line_feed() {
    let path = temp_file("invite.hex", format!("\n{HEX}").as_bytes());
    let o = zxmpp(&["vc", "decode", path.to_str().unwrap()], None);
    assert!(o.status.success(), "{o:?}");
    assert_sample_text(&stdout(&o));
}

#[test]
fn raw_binary_plist_on_stdin() {
    let o = zxmpp(&["vc", "decode", "-"], Some(&unhex(HEX)));
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert!(out.contains("binary plist"), "{out}");
    assert_sample_text(&out);
}

#[test]
fn stanza_carrying_the_hex() {
    // The element names of the ICE-era stanza are not known; any element may carry the hex.
    let stanza = format!(
        "<iq type='set' id='av1' to='perica@the-evil-macbook.local/iChat'>\
         <query xmlns='apple:iq:vc:request'><a>0</a><b>\n{HEX}</b></query></iq>"
    );
    let path = temp_file("invite.xml", stanza.as_bytes());
    let o = zxmpp(&["vc", "decode", path.to_str().unwrap()], None);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert!(out.contains("XMPP stanza"), "{out}");
    assert_sample_text(&out);
}

#[test]
fn invalid_hex_exits_1_with_offset() {
    let mut bad = HEX.to_owned();
    bad.replace_range(6..7, "z");
    let o = zxmpp(&["vc", "decode", "-"], Some(bad.as_bytes()));
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("offset 6"), "{err}");
}

#[test]
fn truncated_plist_exits_1() {
    let o = zxmpp(&["vc", "decode", "-"], Some(&unhex(HEX)[..700]));
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(!o.stderr.is_empty());
}

#[test]
fn stanza_without_invitation_exits_1() {
    let o = zxmpp(
        &["vc", "decode", "-"],
        Some(b"<iq type='set'><query/></iq>"),
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
}

#[test]
fn missing_file_exits_2() {
    let o = zxmpp(&["vc", "decode", "/nonexistent/zxmpp-vc-input"], None);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
}
