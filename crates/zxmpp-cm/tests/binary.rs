//! The `zxmpp-cm` binary: help, configuration checking, and (with Prosody) serving until SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_zxmpp-cm");

#[test]
fn help_explains_every_flag() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--config",
        "--listen",
        "--path",
        "--upstream",
        "--allow-any-domain",
        "--allow-route",
        "--allow-private",
        "--dns-server",
        "--plain-upstream",
        "--upstream-ca",
        "--cors-origin",
        "--sticky-cookie",
        "--sticky-cookie-secure",
        "--max-body-bytes",
        "--max-sessions",
        "--max-sessions-per-ip",
        "--connect-timeout",
        "--inactivity",
        "--max-wait",
        "--maxpause",
        "--metrics-path",
        "--check",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    assert!(help.contains("127.0.0.1:5280"));
}

#[test]
fn check_reads_the_config_file() {
    let dir = std::env::temp_dir().join(format!("zxmpp-cm-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "listen = \"127.0.0.1:15999\"\n[[upstreams]]\ndomain = \"example.org\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&good)
        .arg("--check")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("127.0.0.1:15999") && stdout.contains("1 upstream"),
        "{stdout}"
    );

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "listen = 5\n").unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&bad)
        .arg("--check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml"));

    let out = Command::new(BIN)
        .args(["--plain-upstream", "sometimes", "--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The binary against Prosody: a session reaches the server's SASL features; SIGTERM stops it cleanly.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_binary_serves_until_sigterm() {
    let c2s =
        std::env::var("ZXMPP_PROSODY_C2S").expect("ZXMPP_PROSODY_C2S: run scripts/prosody start");
    let domain = std::env::var("ZXMPP_PROSODY_DOMAIN").expect("ZXMPP_PROSODY_DOMAIN");
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &format!("{domain}={c2s}"),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the binary said where it listens")
            .unwrap();
        if let Some(rest) = line.strip_prefix("zxmpp-cm: listening on ") {
            break format!("{rest}/http-bind");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let post = |body: String| {
        agent
            .post(&url)
            .header("Content-Type", "text/xml; charset=utf-8")
            .send(body)
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    };
    let ns = "http://jabber.org/protocol/httpbind";
    let created = post(format!(
        "<body xmlns='{ns}' xmlns:xmpp='urn:xmpp:xbosh' rid='10' to='{domain}' wait='2' hold='1' xmpp:version='1.0'/>"
    ));
    let start = created.find(" sid='").unwrap() + 6;
    let sid = &created[start..start + created[start..].find('\'').unwrap()];
    let mut inbox = String::new();
    let end = Instant::now() + Duration::from_secs(10);
    let mut rid = 10;
    while !inbox.contains("<mechanism>PLAIN</mechanism>") {
        assert!(Instant::now() < end, "{inbox}");
        rid += 1;
        inbox.push_str(&post(format!(
            "<body xmlns='{ns}' rid='{rid}' sid='{sid}'/>"
        )));
    }
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let end = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(Instant::now() < end, "still running 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
}
