//! The zxmpp reference client: a line-oriented chat over BOSH or TCP that survives being killed.
//!
//! ```text
//! cargo run -p zxmpp-examples --example chat -- --jid bob@localhost --password secret \
//!     --tcp 127.0.0.1:15222 --allow-plain --state /tmp/bob.state --to alice@localhost
//! ```
//!
//! Incoming messages are printed as `FROM: BODY` lines (to stdout, or appended to `--output FILE`); every line
//! read from stdin is sent to `--to`. Everything else (online, roster, presence with caps, disconnections) goes
//! to stderr as `* …` lines.
//!
//! With `--state FILE` the whole client (the core's snapshot, the BOSH session, the output position) is saved
//! atomically after every input and before anything is sent or printed (write-ahead). Killed at any instant —
//! SIGKILL included — and started again with the same `--state`, it goes on with the same BOSH session (same
//! sid, unanswered requests resent unchanged) or resumes the same XEP-0198 stream, without a new login (SASL is
//! repeated on TCP, as XEP-0198 requires), and no message is lost or shown twice:
//!
//! * When the output is a file (`--output FILE`, or stdout redirected to a regular file with `>>`), a message line
//!   is written before the snapshot that counts it as handled (XEP-0198 `h`, BOSH rid) is saved, together with the
//!   file's new length. A restart first cuts the file back to the saved length; anything cut is delivered again by
//!   the server, because the saved state never acknowledged it. This is exactly-once.
//! * On a terminal or a pipe (which cannot be cut back), the line is printed right after the snapshot is saved: a
//!   kill in that microsecond-wide window loses the line from the screen (it was handled). Redirect to a file or
//!   use `--output` when it matters.
//!
//! With `--ichat` it also speaks iChat AV signalling (no media; see `docs/ichat.md`): it advertises iChat 5's
//! caps (`apple:ichat:caps` with the twelve legacy `ext` bundles, `avavail` left out while a call is in
//! progress), shows which peers are iChat and can take a call, decodes incoming call signalling (pre-ICE
//! `apple:iq:vc:*` queries and ICE-era invitations) as `* ichat …` lines, and reads the commands `/call JID`,
//! `/cancel [JID]` and `/calls` from stdin. Calls in progress are saved in the state file.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::io::AsyncBufReadExt as _;
use tokio::sync::mpsc;
use zxmpp_client::drivers::{
    BoshConfig, BoshDriver, DriverError, PlainPolicy, TcpConfig, TcpDriver, TlsRoots,
};
use zxmpp_client::ichat::{self, CallChange, Calls, PeerAv};
use zxmpp_client::state::{ClientSnapshot, Encoding, FileStore, TransportSnapshot};
use zxmpp_client::{Client, ClientConfig, ClientEvent};

/// Header of the state file: a line `zxmpp-chat 2 OUTPUT_LEN` (`-` when the output is not a file), a line with
/// the iChat calls in progress as JSON (`zxmpp_client::ichat::Calls`, version 2 on), then the `zxmpp-state`
/// snapshot. Version 1 files (no calls line) are still read.
const STATE_MAGIC: &str = "zxmpp-chat";
const STATE_VERSION: u32 = 2;

/// The `ver` label of the iChat caps (iChat 5 used its build number).
const ICHAT_VER: &str = "448";

#[derive(Debug, Parser)]
#[command(
    about = "zxmpp's reference chat client: prints incoming messages, sends lines from stdin"
)]
struct Args {
    /// The account (`user@domain`).
    #[arg(long)]
    jid: String,
    /// The password (or set ZXMPP_PASSWORD).
    #[arg(long, env = "ZXMPP_PASSWORD", hide_env_values = true)]
    password: String,
    /// BOSH connection manager URL, e.g. http://127.0.0.1:15280/http-bind.
    #[arg(long, conflicts_with = "tcp", required_unless_present = "tcp")]
    bosh: Option<String>,
    /// TCP c2s address HOST:PORT (STARTTLS when offered).
    #[arg(long)]
    tcp: Option<String>,
    /// State file: restored at start when it exists, rewritten atomically after every input.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Where lines read from stdin are sent.
    #[arg(long)]
    to: Option<String>,
    /// Append incoming messages to this file (exactly once, see the docs) instead of printing them.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Allow plain TCP and authentication without TLS, to a loopback address only (a local test server).
    #[arg(long)]
    allow_plain: bool,
    /// Trust the CA certificates of this PEM file (in addition to the Mozilla roots).
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Resource to ask for.
    #[arg(long)]
    resource: Option<String>,
    /// At the end of stdin, wait at most this many seconds for the server to acknowledge what was sent, then
    /// close the session and exit. Without it the client keeps running after stdin ends.
    #[arg(long)]
    exit_after_stdin: Option<u64>,
    /// Speak iChat AV signalling: advertise iChat 5's caps (node apple:ichat:caps, legacy ext bundles), show
    /// iChat peers and decoded call signalling, and read `/call JID`, `/cancel [JID]`, `/calls` and
    /// `/subscribe JID` from stdin (subscription requests are approved and returned).
    #[arg(long)]
    ichat: bool,
    /// A candidate offered by `/call`, as IFNAME=ADDRESS:PORT (repeatable). Default: the address this host
    /// uses to reach the server, as `en0` with port 16402.
    #[arg(long, value_name = "IFNAME=ADDRESS:PORT", requires = "ichat")]
    ichat_candidate: Vec<String>,
}

enum Transport {
    Tcp(Box<TcpDriver>),
    Bosh(Box<BoshDriver>),
}

impl Transport {
    async fn wait(&mut self, client: &mut Client) -> Result<(), DriverError> {
        match self {
            Self::Tcp(d) => d.wait(client).await,
            Self::Bosh(d) => d.wait(client).await,
        }
    }

    fn stage(&mut self, client: &mut Client) {
        match self {
            Self::Tcp(d) => d.stage(client),
            Self::Bosh(d) => d.stage(client),
        }
    }

    async fn flush(&mut self, client: &mut Client) -> Result<(), DriverError> {
        match self {
            Self::Tcp(d) => d.flush(client).await,
            Self::Bosh(d) => d.flush(client).await,
        }
    }

    fn snapshot(&self) -> Option<TransportSnapshot> {
        match self {
            Self::Tcp(_) => None,
            Self::Bosh(d) => d.snapshot().map(TransportSnapshot::Bosh),
        }
    }
}

/// Where incoming messages go.
enum Output {
    Stdout,
    /// An append-only file and its length as of the last saved state.
    File {
        file: File,
        len: u64,
    },
}

struct Saved {
    /// Length of the output file when the state was saved; `None` when the output was not a file.
    output_len: Option<u64>,
    /// The iChat calls in progress.
    calls: Calls,
    snapshot: ClientSnapshot,
}

fn load_state(path: &PathBuf) -> Result<Option<Saved>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let newline = bytes
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| format!("{}: not a zxmpp-chat state file", path.display()))?;
    let (head, rest) = bytes.split_at(newline);
    let head = std::str::from_utf8(head).map_err(|_| format!("{}: bad header", path.display()))?;
    let mut fields = head.split(' ');
    let (Some(STATE_MAGIC), Some(version), Some(len), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(format!("{}: not a zxmpp-chat state file", path.display()));
    };
    let mut rest = rest.get(1..).unwrap_or_default();
    let calls = match version {
        // Version 1: no calls line.
        "1" => Calls::new(),
        "2" => {
            let end = rest
                .iter()
                .position(|b| *b == b'\n')
                .ok_or_else(|| format!("{}: no calls line", path.display()))?;
            let (line, tail) = rest.split_at(end);
            rest = tail.get(1..).unwrap_or_default();
            serde_json::from_slice::<Calls>(line)
                .map_err(|e| format!("{}: calls: {e}", path.display()))?
                .validated()
                .map_err(|e| format!("{}: {e}", path.display()))?
        }
        _ => {
            return Err(format!(
                "{}: state format {version}, this build reads 1 and {STATE_VERSION}",
                path.display()
            ));
        }
    };
    let output_len = match len {
        "-" => None,
        len => Some(
            len.parse()
                .map_err(|_| format!("{}: bad output length", path.display()))?,
        ),
    };
    let snapshot = ClientSnapshot::decode(rest).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some(Saved {
        output_len,
        calls,
        snapshot,
    }))
}

fn encode_state(
    output_len: Option<u64>,
    calls: &Calls,
    snapshot: &ClientSnapshot,
) -> Result<Vec<u8>, String> {
    let len = output_len.map_or_else(|| "-".to_owned(), |n| n.to_string());
    let mut bytes = format!("{STATE_MAGIC} {STATE_VERSION} {len}\n").into_bytes();
    bytes.extend(serde_json::to_vec(calls).map_err(|e| e.to_string())?);
    bytes.push(b'\n');
    // JSON: readable with `tail -n +2 FILE`, and it carries the BOSH session's bodies as text.
    bytes.extend(snapshot.encode(Encoding::Json).map_err(|e| e.to_string())?);
    Ok(bytes)
}

fn is_loopback_address(address: &str) -> bool {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn bosh_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// Standard output as a file, when it is a regular file (not a terminal or a pipe).
fn stdout_file() -> Option<File> {
    use std::os::fd::AsFd as _;
    let fd = io::stdout().as_fd().try_clone_to_owned().ok()?;
    let file = File::from(fd);
    file.metadata().ok()?.is_file().then_some(file)
}

/// Cuts the output back to what the saved state counted (what is cut is delivered again, since that state never
/// acknowledged it) and positions writes at its end.
fn open_output(mut file: File, committed: Option<u64>, name: &str) -> Result<Output, String> {
    use std::io::{Seek as _, SeekFrom};
    let actual = file.metadata().map_err(|e| e.to_string())?.len();
    // Without a saved length (first run, or the last run printed to a terminal) the file is taken as it is.
    let committed = committed.unwrap_or(actual);
    if actual > committed {
        file.set_len(committed)
            .map_err(|e| format!("{name}: {e}"))?;
        say(format!(
            "cut {} uncommitted bytes from {name} (they will be delivered again)",
            actual - committed
        ));
    }
    let len = committed.min(actual);
    // Appending descriptors write at the end anyway; `> FILE` ones write at their offset.
    file.seek(SeekFrom::Start(len))
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(Output::File { file, len })
}

fn say(text: impl std::fmt::Display) {
    eprintln!("* {text}");
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chat: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let now = Instant::now();
    let domain = args
        .jid
        .split_once('@')
        .map(|(_, d)| d.split('/').next().unwrap_or(d).to_owned())
        .ok_or_else(|| format!("--jid {:?} is not user@domain", args.jid))?;
    let roots = match &args.ca_file {
        Some(path) => TlsRoots::WebPkiAndCaFile(path.clone()),
        None => TlsRoots::WebPki,
    };
    let endpoint = args
        .tcp
        .as_deref()
        .or(args.bosh.as_deref().map(bosh_host))
        .unwrap_or_default();
    let plain_ok = args.allow_plain && is_loopback_address(endpoint);
    if args.allow_plain && !plain_ok {
        return Err(format!(
            "--allow-plain is only honoured for loopback addresses, not {endpoint}"
        ));
    }

    let store = args
        .state
        .as_ref()
        .map(|p| FileStore::new(p.clone(), Encoding::Json));
    let saved = match &args.state {
        Some(path) => load_state(path)?,
        None => None,
    };

    // The output and its committed length: cut back what was written after the last saved state.
    let committed = saved.as_ref().and_then(|s| s.output_len);
    let mut output = match &args.output {
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            open_output(file, committed, &path.display().to_string())?
        }
        // Redirected to a regular file (`>> FILE`): just as good as --output.
        None => match stdout_file() {
            Some(file) => open_output(file, committed, "standard output")?,
            None => Output::Stdout,
        },
    };

    let mut calls = saved.as_ref().map_or_else(Calls::new, |s| s.calls.clone());
    let (mut client, transport_snapshot, restored) = match saved {
        Some(saved) => {
            if saved.snapshot.settings.jid != args.jid {
                return Err(format!(
                    "the state file belongs to {}, not {}",
                    saved.snapshot.settings.jid, args.jid
                ));
            }
            let transport = saved.snapshot.transport.clone();
            let mut snapshot = saved.snapshot;
            // `--ichat` given to a state saved without it: advertise the iChat caps from now on.
            if args.ichat && snapshot.settings.ichat_caps.is_none() {
                snapshot.settings.ichat_caps = Some(ICHAT_VER.to_owned());
            }
            let client = Client::restore(snapshot, Some(args.password.clone()), now)
                .map_err(|e| format!("cannot restore the state: {e}"))?;
            (client, transport, true)
        }
        None => {
            let mut entropy = [0u8; 32];
            getrandom::fill(&mut entropy).map_err(|e| format!("no entropy: {e}"))?;
            let mut config = ClientConfig::new(args.jid.clone(), args.password.clone(), entropy)
                .allow_insecure_auth(plain_ok);
            if let Some(resource) = &args.resource {
                config = config.with_resource(resource.clone());
            }
            if args.ichat {
                config = config.with_ichat_caps(ICHAT_VER);
            }
            let client = Client::new(config, now).map_err(|e| e.to_string())?;
            (client, None, false)
        }
    };

    let mut transport = if let Some(url) = &args.bosh {
        let config = BoshConfig::new(url.clone()).with_roots(roots);
        let driver = match transport_snapshot {
            Some(TransportSnapshot::Bosh(snapshot)) if restored => {
                BoshDriver::restore(config, snapshot).map_err(|e| e.to_string())?
            }
            _ => BoshDriver::new(config).map_err(|e| e.to_string())?,
        };
        if let Some(sid) = driver.sid() {
            say(format!("continuing BOSH session sid={sid}"));
        }
        Transport::Bosh(Box::new(driver))
    } else {
        let address = args.tcp.clone().unwrap_or_default();
        let plain = if plain_ok {
            PlainPolicy::Loopback
        } else {
            PlainPolicy::Never
        };
        Transport::Tcp(Box::new(TcpDriver::new(
            TcpConfig::new(address, domain.clone())
                .with_plain(plain)
                .with_roots(roots),
        )))
    };
    if restored {
        say(format!(
            "restored from state ({})",
            client
                .resumption_id()
                .map_or("no XEP-0198 resumption id".to_owned(), |id| format!(
                    "XEP-0198 id {id}"
                ))
        ));
    }

    // stdin lines arrive through a channel (a cancel-safe select branch).
    let (line_tx, mut lines) = mpsc::channel::<String>(64);
    tokio::spawn(async move {
        let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = stdin.next_line().await {
            if line_tx.send(line).await.is_err() {
                break;
            }
        }
    });
    let mut stdin_open = true;
    let mut stdin_closed_at: Option<Instant> = None;
    let mut closing_since: Option<Instant> = None;
    let mut last_saved: Vec<u8> = Vec::new();
    let mut sent_presence = false;
    let candidates = if args.ichat {
        own_candidates(&args.ichat_candidate, endpoint)?
    } else {
        Vec::new()
    };
    if args.ichat {
        client.set_ichat_ext(&ichat::ext_bundles(calls.in_call()));
        for call in calls.calls() {
            say(format!(
                "ichat: call in progress ({:?}) with {} session {}",
                call.direction,
                call.peer,
                call.session_id.unwrap_or_default()
            ));
        }
    }
    // The last caps each peer advertised (to tell iChat peers apart).
    let mut peer_caps: std::collections::HashMap<String, zxmpp_caps::Caps<'static>> =
        std::collections::HashMap::new();
    // What was last shown about each peer (a line only when it changes).
    let mut shown_av: std::collections::HashMap<String, PeerAv> = std::collections::HashMap::new();

    loop {
        enum Input {
            Transport(Result<(), DriverError>),
            Line(Option<String>),
            Tick,
        }
        let input = tokio::select! {
            r = transport.wait(&mut client) => Input::Transport(r),
            line = lines.recv(), if stdin_open => Input::Line(line),
            () = tokio::time::sleep(Duration::from_millis(200)), if stdin_closed_at.is_some() => Input::Tick,
        };
        let now = Instant::now();
        match input {
            Input::Transport(Ok(())) | Input::Tick => {}
            Input::Transport(Err(DriverError::Closed)) => {
                say("session closed");
                return Ok(());
            }
            Input::Transport(Err(e)) => return Err(e.to_string()),
            Input::Line(Some(line)) => {
                let line = line.trim_end();
                if args.ichat && line.starts_with('/') {
                    let was_in_call = calls.in_call();
                    ichat_command(&mut client, now, &mut calls, &candidates, line);
                    if was_in_call != calls.in_call() {
                        client.set_ichat_ext(&ichat::ext_bundles(calls.in_call()));
                        if client.is_online() {
                            client.send_presence(now, None, None);
                        }
                    }
                } else if !line.is_empty() {
                    match &args.to {
                        Some(to) => {
                            let _ = client.send_message(now, to, line);
                        }
                        None => say("no --to given: line not sent"),
                    }
                }
            }
            Input::Line(None) => {
                stdin_open = false;
                if args.exit_after_stdin.is_some() {
                    stdin_closed_at = Some(now);
                }
            }
        }

        // Events: record incoming messages (file output before the snapshot, stdout after it).
        let mut to_print = Vec::new();
        while let Some(event) = client.poll_event() {
            match event {
                ClientEvent::Message(m) if args.ichat && m.kind.as_deref() != Some("error") => {
                    let from = m.from.clone().unwrap_or_default();
                    if let Some(signal) = ichat::classify(&m.stanza) {
                        ichat_signal(&mut client, now, &mut calls, &from, &signal);
                        continue;
                    }
                    let Some(body) = m.body else { continue };
                    let line = format!("{from}: {body}\n");
                    match &mut output {
                        Output::Stdout => to_print.push(line),
                        Output::File { file, len } => {
                            file.write_all(line.as_bytes())
                                .map_err(|e| format!("output: {e}"))?;
                            *len += line.len() as u64;
                        }
                    }
                }
                ClientEvent::Message(m) => {
                    let Some(body) = m.body else { continue };
                    let from = m.from.unwrap_or_default();
                    if m.kind.as_deref() == Some("error") {
                        say(format!("error message from {from}: {body}"));
                        continue;
                    }
                    let line = format!("{from}: {body}\n");
                    match &mut output {
                        Output::Stdout => to_print.push(line),
                        Output::File { file, len } => {
                            file.write_all(line.as_bytes())
                                .map_err(|e| format!("output: {e}"))?;
                            *len += line.len() as u64;
                        }
                    }
                }
                ClientEvent::Online { jid, resumed } => {
                    say(format!(
                        "online as {jid}{}",
                        if resumed {
                            " (XEP-0198 stream resumed)"
                        } else {
                            ""
                        }
                    ));
                    if !resumed && !sent_presence {
                        client.send_presence(now, None, None);
                        sent_presence = true;
                    }
                }
                ClientEvent::Disconnected { resumable, reason } => {
                    say(format!(
                        "disconnected ({reason}){}",
                        if resumable { ", will resume" } else { "" }
                    ));
                    sent_presence = false;
                }
                ClientEvent::ResumeFailed { condition } => {
                    say(format!(
                        "XEP-0198 resumption refused ({condition}); new session"
                    ));
                    sent_presence = false;
                }
                ClientEvent::AuthFailed { condition, text } => {
                    return Err(format!(
                        "authentication failed: {condition} {}",
                        text.unwrap_or_default()
                    ));
                }
                ClientEvent::StreamError { condition, text } => {
                    say(format!(
                        "stream error: {condition} {}",
                        text.unwrap_or_default()
                    ));
                }
                ClientEvent::Closed => say("stream closed"),
                ClientEvent::Roster { items, .. } => {
                    let names: Vec<&str> = items.iter().map(|i| i.jid.as_str()).collect();
                    say(format!(
                        "roster: {} item(s) {}",
                        items.len(),
                        names.join(" ")
                    ));
                }
                ClientEvent::Presence(p) => {
                    let caps = p
                        .caps
                        .as_ref()
                        .map(|c| format!(" caps {c:?}"))
                        .unwrap_or_default();
                    let from = p.from.unwrap_or_default();
                    say(format!(
                        "presence from {from}: {}{caps}",
                        p.kind.as_deref().unwrap_or("available")
                    ));
                    if args.ichat && p.kind.as_deref() == Some("subscribe") {
                        // Buddies in iChat see each other: approve and ask back.
                        let to = zxmpp_xml::escape_attr(bare_jid(&from));
                        client.send_raw(now, format!("<presence to='{to}' type='subscribed'/>"));
                        client.send_raw(now, format!("<presence to='{to}' type='subscribe'/>"));
                    }
                    if args.ichat {
                        match p.caps {
                            Some(c) if p.kind.is_none() => {
                                peer_caps.insert(from.clone(), c);
                            }
                            _ => {
                                peer_caps.remove(&from);
                            }
                        }
                        if let Some(c) = peer_caps.get(&from) {
                            let av = PeerAv::of(client.caps_cache(), &from, Some(c));
                            if shown_av.insert(from.clone(), av) != Some(av) {
                                say(format!("ichat peer {from}: {av}"));
                            }
                        }
                    }
                }
                ClientEvent::Caps(event) if args.ichat => {
                    let jid = match &event {
                        zxmpp_caps::CapsEvent::LegacyCached { jid, .. }
                        | zxmpp_caps::CapsEvent::Verified { jid, .. }
                        | zxmpp_caps::CapsEvent::JidOnly { jid } => Some(jid.clone()),
                        _ => None,
                    };
                    if let Some(caps) = jid.as_ref().and_then(|j| peer_caps.get(j)) {
                        let jid = jid.unwrap_or_default();
                        let av = PeerAv::of(client.caps_cache(), &jid, Some(caps));
                        if shown_av.insert(jid.clone(), av) != Some(av) {
                            say(format!("ichat peer {jid}: {av}"));
                        }
                    }
                }
                ClientEvent::IqRequest(request) => {
                    let signal = if args.ichat {
                        ichat::classify(&request.payload)
                    } else {
                        None
                    };
                    match signal {
                        Some(signal) => {
                            let from = request.from.clone().unwrap_or_default();
                            ichat_signal(&mut client, now, &mut calls, &from, &signal);
                            // iChat ignores `<iq type='error'/>`, so an error answer is harmless.
                            client.respond_iq(now, &request, signal.iq_answer().map(|()| None));
                        }
                        None => client.respond_iq(now, &request, Err("service-unavailable")),
                    }
                }
                other => {
                    if std::env::var_os("ZXMPP_CHAT_DEBUG").is_some() {
                        say(format!("{other:?}"));
                    }
                }
            }
        }

        // At the end of stdin: once everything sent was acknowledged (or the grace time is over), close.
        if let (Some(since), Some(grace)) = (stdin_closed_at, args.exit_after_stdin)
            && closing_since.is_none()
        {
            let settled = client.is_online() && client.unacked() == 0 && client.queued() == 0;
            if settled || now.duration_since(since) > Duration::from_secs(grace) {
                if !settled {
                    say(format!(
                        "giving up waiting: {} unacknowledged, {} queued",
                        client.unacked(),
                        client.queued()
                    ));
                }
                client.close(now);
                closing_since = Some(now);
            }
        }

        transport.stage(&mut client);

        // Write-ahead: save before anything leaves the process.
        if let Some(store) = &store {
            let mut snapshot = client.snapshot();
            snapshot.transport = transport.snapshot();
            let output_len = match &output {
                Output::File { len, .. } => Some(*len),
                Output::Stdout => None,
            };
            let bytes = encode_state(output_len, &calls, &snapshot)?;
            if bytes != last_saved {
                store
                    .save_bytes(&bytes)
                    .map_err(|e| format!("saving the state: {e}"))?;
                last_saved = bytes;
            }
        }
        if !to_print.is_empty() {
            let mut stdout = io::stdout().lock();
            for line in to_print {
                stdout
                    .write_all(line.as_bytes())
                    .map_err(|e| e.to_string())?;
            }
            stdout.flush().map_err(|e| e.to_string())?;
        }
        transport
            .flush(&mut client)
            .await
            .map_err(|e| e.to_string())?;
        // The server has 10 s to answer the close.
        if closing_since.is_some_and(|t| now.duration_since(t) > Duration::from_secs(10)) {
            say("the server did not answer the close within 10 s");
            return Ok(());
        }
    }
}

/// `--ichat-candidate IFNAME=ADDRESS:PORT` values, or the address this host uses to reach `endpoint`.
fn own_candidates(
    given: &[String],
    endpoint: &str,
) -> Result<Vec<(String, std::net::SocketAddr)>, String> {
    if !given.is_empty() {
        return given
            .iter()
            .map(|c| {
                let (name, addr) = c
                    .split_once('=')
                    .ok_or_else(|| format!("--ichat-candidate {c:?}: not IFNAME=ADDRESS:PORT"))?;
                let addr = addr
                    .parse()
                    .map_err(|e| format!("--ichat-candidate {c:?}: {e}"))?;
                Ok((name.to_owned(), addr))
            })
            .collect();
    }
    // The local address of a (never used) UDP socket "connected" to the server: the interface that reaches it.
    let local = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect(endpoint)?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    Ok(vec![(
        "en0".to_owned(),
        std::net::SocketAddr::new(local, 16402),
    )])
}

fn bare_jid(jid: &str) -> &str {
    jid.split('/').next().unwrap_or(jid)
}

/// `/call JID`, `/cancel [JID]`, `/calls`, `/subscribe JID`.
fn ichat_command(
    client: &mut Client,
    now: Instant,
    calls: &mut Calls,
    candidates: &[(String, std::net::SocketAddr)],
    line: &str,
) {
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some("/call"), Some(peer)) => {
            let own = client.jid().unwrap_or_default().to_owned();
            let mut id = [0u8; 4];
            let _ = getrandom::fill(&mut id);
            let session = i64::from(u32::from_be_bytes(id) >> 1);
            match calls.offer(peer, &own, candidates, session) {
                Ok(stanza) => {
                    client.send_raw(now, stanza);
                    let shown: Vec<String> =
                        candidates.iter().map(|(i, a)| format!("{i} {a}")).collect();
                    say(format!(
                        "ichat: calling {peer} (session {session}) offering {}",
                        shown.join(", ")
                    ));
                }
                Err(e) => say(format!("ichat: cannot call {peer}: {e}")),
            }
        }
        (Some("/cancel"), peer) => match calls.cancel(peer) {
            Some(stanza) => {
                client.send_raw(now, stanza);
                say("ichat: call offer withdrawn");
            }
            None => say("ichat: no call offer to withdraw"),
        },
        (Some("/subscribe"), Some(peer)) => {
            client.send_raw(
                now,
                format!(
                    "<presence to='{}' type='subscribe'/>",
                    zxmpp_xml::escape_attr(peer)
                ),
            );
            say(format!("ichat: asked {peer} for a presence subscription"));
        }
        (Some("/calls"), None) => {
            if calls.calls().is_empty() {
                say("ichat: no calls in progress");
            }
            for call in calls.calls() {
                say(format!(
                    "ichat: {:?} call with {} session {}",
                    call.direction,
                    call.peer,
                    call.session_id.unwrap_or_default()
                ));
            }
        }
        _ => say("ichat: commands are /call JID, /cancel [JID], /calls, /subscribe JID"),
    }
}

/// Shows an incoming iChat signal and records what it changes.
fn ichat_signal(
    client: &mut Client,
    now: Instant,
    calls: &mut Calls,
    from: &str,
    signal: &ichat::Signal,
) {
    for line in signal.describe() {
        say(format!("ichat from {from}: {line}"));
    }
    let was_in_call = calls.in_call();
    match calls.handle_signal(from, signal) {
        Some(CallChange::Offered(_)) => say(format!("ichat: incoming call from {from}")),
        Some(CallChange::Cancelled(_)) => say(format!("ichat: {from} cancelled the call")),
        Some(CallChange::UnknownCancel) => {
            say(format!("ichat: {from} cancelled a call we do not know"));
        }
        _ => {}
    }
    if was_in_call != calls.in_call() {
        client.set_ichat_ext(&ichat::ext_bundles(calls.in_call()));
        if client.is_online() {
            client.send_presence(now, None, None);
        }
    }
}
