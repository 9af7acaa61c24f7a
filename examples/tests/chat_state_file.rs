//! The reference client's state file (no server needed): format 1 files (before the iChat calls line) still load
//! and are rewritten as format 2; a format 2 file brings back the iChat calls in progress; unknown formats are
//! refused with a clear error. The client is pointed at a closed loopback port, so it never gets online.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn chat_binary() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "zxmpp-examples",
            "--example",
            "chat",
        ])
        .status()
        .expect("cargo build");
    assert!(status.success(), "building the chat example failed");
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .join("examples")
        .join("chat")
}

/// The `zxmpp-state` format 1 fixture (`crates/zxmpp-state/tests/data`), account juliet@im.example.com.
fn snapshot_v1() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/snapshot-v1.json"
    ))
    .expect("fixture")
}

/// Runs the client on `state` until a stderr line contains `needle` or it exits; returns the lines.
fn run_until(binary: &Path, state: &Path, needle: &str) -> Vec<String> {
    let mut child = Command::new(binary)
        .args([
            "--jid",
            "juliet@im.example.com",
            "--password",
            "x",
            "--tcp",
            "127.0.0.1:1",
            "--allow-plain",
        ])
        .args(["--ichat", "--state", state.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) {
        let done = line.contains(needle);
        lines.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zxmpp-chat-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn format_1_state_file_loads_and_is_rewritten_as_format_2() {
    let binary = chat_binary();
    let state = temp("v1.state");
    let mut bytes = b"zxmpp-chat 1 -\n".to_vec();
    bytes.extend(snapshot_v1());
    std::fs::write(&state, &bytes).unwrap();
    let lines = run_until(&binary, &state, "restored from state");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("restored from state (XEP-0198 id sm-1)")),
        "{lines:#?}"
    );
    // The first save follows the first input (here the failing connection): run again until the rewrite.
    std::fs::write(&state, &bytes).unwrap();
    let mut child = Command::new(&binary)
        .args([
            "--jid",
            "juliet@im.example.com",
            "--password",
            "x",
            "--tcp",
            "127.0.0.1:1",
            "--allow-plain",
        ])
        .args(["--ichat", "--state", state.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = std::fs::read_to_string(&state).unwrap_or_default();
        if text.starts_with("zxmpp-chat 2 ") || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    let mut rows = text.lines();
    let head = rows.next().unwrap_or_default();
    assert!(head.starts_with("zxmpp-chat 2 "), "{head}");
    assert_eq!(rows.next(), Some(r#"{"version":1,"calls":[]}"#));
    assert!(rows.next().unwrap().starts_with("zxmpp-state "));
}

#[test]
fn format_2_state_file_brings_back_the_calls_in_progress() {
    let binary = chat_binary();
    let state = temp("v2.state");
    let calls = r#"{"version":1,"calls":[{"peer":"romeo@example.net/iChat","direction":"Incoming","session_id":473648504,"candidates":[{"interface":"en1","addr":"192.168.1.132:16402","complement":false}],"invitation_hex":""}]}"#;
    let mut bytes = format!("zxmpp-chat 2 -\n{calls}\n").into_bytes();
    bytes.extend(snapshot_v1());
    std::fs::write(&state, bytes).unwrap();
    let lines = run_until(&binary, &state, "ichat: call in progress");
    assert!(
        lines.iter().any(|l| l == "* ichat: call in progress (Incoming) with romeo@example.net/iChat session 473648504"),
        "{lines:#?}"
    );
}

#[test]
fn unknown_state_formats_are_refused() {
    let binary = chat_binary();
    for (name, head, expected) in [
        ("v9.state", "zxmpp-chat 9 -\n".to_owned(), "state format 9"),
        (
            "calls9.state",
            "zxmpp-chat 2 -\n{\"version\":9,\"calls\":[]}\n".to_owned(),
            "call state format 9",
        ),
    ] {
        let state = temp(name);
        let mut bytes = head.into_bytes();
        bytes.extend(snapshot_v1());
        std::fs::write(&state, bytes).unwrap();
        let output = Command::new(&binary)
            .args([
                "--jid",
                "juliet@im.example.com",
                "--password",
                "x",
                "--tcp",
                "127.0.0.1:1",
                "--allow-plain",
            ])
            .args(["--ichat", "--state", state.to_str().unwrap()])
            .stdin(Stdio::null())
            .output()
            .expect("run");
        assert!(!output.status.success(), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
}
