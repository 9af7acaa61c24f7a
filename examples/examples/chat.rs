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
use zxmpp_client::state::{ClientSnapshot, Encoding, FileStore, TransportSnapshot};
use zxmpp_client::{Client, ClientConfig, ClientEvent};

/// Header of the state file: a line `zxmpp-chat 1 OUTPUT_LEN` (`-` when the output is not a file), then the
/// `zxmpp-state` snapshot.
const STATE_MAGIC: &str = "zxmpp-chat";
const STATE_VERSION: u32 = 1;

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
    if version != STATE_VERSION.to_string() {
        return Err(format!(
            "{}: state format {version}, this build reads {STATE_VERSION}",
            path.display()
        ));
    }
    let output_len = match len {
        "-" => None,
        len => Some(
            len.parse()
                .map_err(|_| format!("{}: bad output length", path.display()))?,
        ),
    };
    let snapshot = ClientSnapshot::decode(rest.get(1..).unwrap_or_default())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some(Saved {
        output_len,
        snapshot,
    }))
}

fn encode_state(output_len: Option<u64>, snapshot: &ClientSnapshot) -> Result<Vec<u8>, String> {
    let len = output_len.map_or_else(|| "-".to_owned(), |n| n.to_string());
    let mut bytes = format!("{STATE_MAGIC} {STATE_VERSION} {len}\n").into_bytes();
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

    let (mut client, transport_snapshot, restored) = match saved {
        Some(saved) => {
            if saved.snapshot.settings.jid != args.jid {
                return Err(format!(
                    "the state file belongs to {}, not {}",
                    saved.snapshot.settings.jid, args.jid
                ));
            }
            let transport = saved.snapshot.transport.clone();
            let client = Client::restore(saved.snapshot, Some(args.password.clone()), now)
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
                if !line.is_empty() {
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
                    say(format!(
                        "presence from {}: {}{caps}",
                        p.from.unwrap_or_default(),
                        p.kind.as_deref().unwrap_or("available")
                    ));
                }
                ClientEvent::IqRequest(request) => {
                    client.respond_iq(now, &request, Err("service-unavailable"));
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
            let bytes = encode_state(output_len, &snapshot)?;
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
