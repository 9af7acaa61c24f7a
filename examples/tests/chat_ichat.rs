//! The reference client itself (`examples/chat.rs --ichat`), two processes against a loopback Prosody (started
//! by `scripts/prosody start`; `scripts/test` runs this): Alice discovers Bob's iChat caps, calls, Bob shows the
//! decoded invitation with Alice's candidates, Alice cancels, Bob shows it; then a second call during which Bob's
//! process is killed (SIGKILL) and started again from its state file: the call is still there, and the cancel
//! sent while it was down is shown after the restart.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const IGNORE: &str = "needs scripts/prosody start (run by scripts/test)";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run eval \"$(scripts/prosody env)\" ({IGNORE})")
    })
}

/// Builds the example (the outer `cargo test` does not build examples for `--tests`) and returns its path.
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
    // The test runs from TARGET/debug/deps/; the example is TARGET/debug/examples/chat.
    let exe = std::env::current_exe().expect("current exe");
    let profile = exe.parent().and_then(|d| d.parent()).expect("target dir");
    profile.join("examples").join("chat")
}

/// One running client: its stdin and the `* …` lines it printed to stderr.
struct Running {
    child: Child,
    stdin: ChildStdin,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Running {
    fn start(binary: &PathBuf, user: &str, resource: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(binary)
            .args(["--jid", &format!("{user}@{}", env("ZXMPP_PROSODY_DOMAIN"))])
            .args([
                "--tcp",
                &env("ZXMPP_PROSODY_C2S"),
                "--allow-plain",
                "--ichat",
                "--resource",
                resource,
                "--exit-after-stdin",
                "5",
            ])
            .args(extra)
            .env("ZXMPP_PASSWORD", env("ZXMPP_PROSODY_PASSWORD"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the chat example");
        let stdin = child.stdin.take().expect("stdin");
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Running {
            child,
            stdin,
            lines,
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write stdin");
        self.stdin.flush().expect("flush stdin");
    }

    /// Waits until a printed line contains `needle` (20 s at most), counting from line `from`.
    fn wait_for(&self, needle: &str, from: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            {
                let lines = self.lines.lock().unwrap();
                if let Some(i) = lines.iter().skip(from).position(|l| l.contains(needle)) {
                    return from + i + 1;
                }
                assert!(
                    Instant::now() < deadline,
                    "no line with {needle:?} in {:#?}",
                    *lines
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Ends stdin; with `--exit-after-stdin` the client closes its session and exits (killed after 15 s).
    fn finish(self) {
        let Running {
            mut child, stdin, ..
        } = self;
        drop(stdin);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_chat_ichat_call_cancel_and_restart() {
    let binary = chat_binary();
    let domain = env("ZXMPP_PROSODY_DOMAIN");
    let dir = std::env::temp_dir().join(format!("zxmpp-chat-ichat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bob_state = dir.join("bob.state");
    let _ = std::fs::remove_file(&bob_state);
    let state_arg = bob_state.to_str().unwrap().to_owned();
    let bob_jid = format!("bob@{domain}/chat-ichat-b");

    let bob = Running::start(&binary, "bob", "chat-ichat-b", &["--state", &state_arg]);
    bob.wait_for("online as", 0);
    let mut alice = Running::start(
        &binary,
        "alice",
        "chat-ichat-a",
        &[
            "--ichat-candidate",
            "en1=192.0.2.10:16402",
            "--ichat-candidate",
            "external=198.51.100.20:50123",
        ],
    );
    alice.wait_for("online as", 0);
    alice.send(&format!("/subscribe bob@{domain}"));
    // (Which of Bob's resources the caps cache asks about each node is its choice: the line shows up as soon as
    // the presence is in, with the trust of whatever is cached so far.)
    let a = alice.wait_for(
        &format!("ichat peer {bob_jid}: iChat AV: can take a call"),
        0,
    );

    // A call, cancelled while Bob runs.
    alice.send(&format!("/call {bob_jid}"));
    let b = bob.wait_for("ichat: incoming call from alice@", 0);
    let lines = bob.lines.lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("candidate en1 192.0.2.10:16402")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("candidate external 198.51.100.20:50123")),
        "{lines:#?}"
    );
    // Bob is in a call: Alice sees him without avavail.
    let a = alice.wait_for(
        &format!("ichat peer {bob_jid}: iChat AV: busy (no avavail)"),
        a,
    );
    alice.send("/cancel");
    let b = bob.wait_for("cancelled the call", b);
    let a = alice.wait_for(
        &format!("ichat peer {bob_jid}: iChat AV: can take a call"),
        a,
    );

    // A second call; Bob is killed after it arrived, Alice cancels while he is down.
    alice.send(&format!("/call {bob_jid}"));
    bob.wait_for("ichat: incoming call from alice@", b);
    std::thread::sleep(Duration::from_millis(300));
    bob.kill();
    alice.send("/cancel");
    alice.wait_for("call offer withdrawn", a);
    std::thread::sleep(Duration::from_millis(500));
    let bob = Running::start(&binary, "bob", "chat-ichat-b", &["--state", &state_arg]);
    bob.wait_for("ichat: call in progress (Incoming) with alice@", 0);
    bob.wait_for("cancelled the call", 0);
    // End both sessions properly (a killed one would hibernate in Prosody and be asked about caps by later tests).
    bob.finish();
    alice.finish();
    let _ = std::fs::remove_dir_all(&dir);
}
