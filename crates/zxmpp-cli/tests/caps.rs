//! `zxmpp caps ver`: output and exit statuses, against the spec examples.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn data(name: &str) -> String {
    format!(
        "{}/../zxmpp-caps/tests/data/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn zxmpp(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zxmpp"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        pipe.write_all(bytes).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn caps_ver_xep0115_5_2_default_sha1() {
    let o = zxmpp(&["caps", "ver", &data("xep0115-simple.xml")], None);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&o), "QgayPKawpkPSDYmwT/WM94uAlu0=\n");
}

#[test]
fn caps_ver_stdin_and_iq() {
    let query = std::fs::read_to_string(data("xep0115-complex.xml")).unwrap();
    let iq = format!("<iq xmlns='jabber:client' type='result'>{query}</iq>");
    let o = zxmpp(&["caps", "ver", "-"], Some(iq.as_bytes()));
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&o), "q07IKJEyjvHSyhy//CH0CxmKi8w=\n");
    let o = zxmpp(&["caps", "ver"], Some(iq.as_bytes()));
    assert_eq!(stdout(&o), "q07IKJEyjvHSyhy//CH0CxmKi8w=\n");
}

#[test]
fn caps_ver_xep0390_4_5_default_sha256_and_hash_option() {
    let o = zxmpp(
        &["caps", "ver", "--xep0390", &data("xep0390-complex.xml")],
        None,
    );
    assert_eq!(stdout(&o), "u79ZroNJbdSWhdSp311mddz44oHHPsEBntQ5b1jqBSY=\n");
    let o = zxmpp(
        &[
            "caps",
            "ver",
            "--xep0390",
            "--hash",
            "sha3-256",
            &data("xep0390-complex.xml"),
        ],
        None,
    );
    assert_eq!(stdout(&o), "XpUJzLAc93258sMECZ3FJpebkzuyNXDzRNwQog8eycg=\n");
}

#[test]
fn caps_ver_ill_formed_exits_1_with_reason() {
    let xml = b"<query xmlns='http://jabber.org/protocol/disco#info'><feature var='a'/><feature var='a'/></query>";
    let o = zxmpp(&["caps", "ver"], Some(xml));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("duplicate feature a"), "{err}");
}

#[test]
fn caps_ver_bad_xml_exits_1_with_offset() {
    let o = zxmpp(
        &["caps", "ver"],
        Some(b"<query xmlns='http://jabber.org/protocol/disco#info'><feature"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("byte"));
}

#[test]
fn caps_ver_unknown_algorithm_is_usage_error() {
    let o = zxmpp(
        &["caps", "ver", "--hash", "md2", &data("xep0115-simple.xml")],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    let o = zxmpp(&["caps", "ver", "/nonexistent/file.xml"], None);
    assert_eq!(o.status.code(), Some(2));
}
