//! Browser interop: Strophe.js 5 in headless Chromium logs in through the `zxmpp-cm` binary to a loopback
//! Prosody, exchanges messages with a second Strophe client, survives a page reload with Strophe's
//! `keepalive`/`restore` (same sid, rids continuing, no new login), and exchanges messages again.
//!
//! The scenario and its checks are `interop/browser/strophe-test.mjs` (node + playwright-core, driving Debian's
//! `/usr/bin/chromium`); this test builds the binary, hands it to the script and requires it to pass. It fails,
//! never skips, when node, Chromium or `interop/browser/node_modules` are missing: `scripts/test` installs them
//! with `scripts/install.d/browser.sh`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
#[ignore = "needs scripts/prosody start and scripts/install.d/browser.sh (run by scripts/test)"]
fn strophe_browser_keepalive_restore_prosody() {
    let mut vars = Vec::new();
    for name in [
        "ZXMPP_PROSODY_C2S",
        "ZXMPP_PROSODY_DOMAIN",
        "ZXMPP_PROSODY_PASSWORD",
    ] {
        let value = std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: run `scripts/prosody start` and `eval \"$(scripts/prosody env)\"`"
            )
        });
        vars.push((name, value));
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../interop/browser/strophe-test.mjs")
        .canonicalize()
        .expect("interop/browser/strophe-test.mjs is in the repository");
    let started = Instant::now();
    let output = Command::new("node")
        .arg(&script)
        .env("ZXMPP_CM_BIN", env!("CARGO_BIN_EXE_zxmpp-cm"))
        .envs(vars)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): run scripts/install.d/browser.sh"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}{stderr}");
    assert!(
        output.status.success(),
        "{} failed ({}):\n{stdout}\n{stderr}",
        script.display(),
        output.status
    );
    assert!(stdout.contains("PASS: Strophe.js 5."), "{stdout}");
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "took {:?}",
        started.elapsed()
    );
}
