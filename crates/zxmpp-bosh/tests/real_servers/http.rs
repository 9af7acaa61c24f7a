//! Blocking HTTP for the tests: every request runs on a thread of its own, so that long polls are held
//! concurrently as BOSH intends, and every request is bounded in time.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Largest response body the tests accept.
const MAX_BODY: u64 = 1 << 20;

/// Least time between the start of a request and the start of the next one while the first is unanswered, so
/// that they reach the server in the order they were sent. ejabberd 23.01 never answers a request that arrives
/// ahead of its predecessor (rid one ahead, as when a held empty poll and the next request race on two
/// connections), and its session fails with `internal-server-error` when that rid is sent again; Prosody waits
/// for the missing request.
const MIN_GAP: Duration = Duration::from_millis(100);

/// What came back for one request.
pub(crate) struct Reply<T> {
    /// The caller's tag of the request (e.g. its rid).
    pub(crate) tag: T,
    /// The HTTP status and the body, or why there was none.
    pub(crate) result: Result<(u16, Vec<u8>), String>,
}

/// A BOSH endpoint seen through one HTTP agent (its connection pool) and one channel of replies.
pub(crate) struct Http<T> {
    agent: ureq::Agent,
    url: String,
    name: String,
    tx: mpsc::Sender<Reply<T>>,
    rx: mpsc::Receiver<Reply<T>>,
    last_post: Option<Instant>,
    in_flight: usize,
}

impl<T: Copy + std::fmt::Debug + Send + 'static> Http<T> {
    /// An endpoint whose every request gives up after `request_timeout`.
    pub(crate) fn new(name: &str, url: &str, request_timeout: Duration) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(request_timeout))
            .http_status_as_error(false)
            .max_idle_connections_per_host(4)
            .build()
            .into();
        let (tx, rx) = mpsc::channel();
        Self {
            agent,
            url: url.to_owned(),
            name: name.to_owned(),
            tx,
            rx,
            last_post: None,
            in_flight: 0,
        }
    }

    /// Sends `body` on a thread of its own; its reply comes out of [`Http::recv`].
    pub(crate) fn post(&mut self, tag: T, body: Vec<u8>) {
        eprintln!(
            "{} -> {tag:?}: {}",
            self.name,
            String::from_utf8_lossy(&body)
        );
        if let Some(last) = self.last_post.filter(|_| self.in_flight > 0) {
            thread::sleep(MIN_GAP.saturating_sub(last.elapsed()));
        }
        self.last_post = Some(Instant::now());
        self.in_flight += 1;
        let (agent, url, tx) = (self.agent.clone(), self.url.clone(), self.tx.clone());
        thread::spawn(move || {
            let result = post_once(&agent, &url, &body);
            // The receiver is gone only when the test has ended already.
            let _ = tx.send(Reply { tag, result });
        });
    }

    /// The next reply, waiting at most until `deadline`.
    pub(crate) fn recv(&mut self, deadline: Instant) -> Option<Reply<T>> {
        let wait = deadline.saturating_duration_since(Instant::now());
        let reply = self.rx.recv_timeout(wait).ok()?;
        self.in_flight -= 1;
        match &reply.result {
            Ok((status, body)) => eprintln!(
                "{} <- {:?} HTTP {status}: {}",
                self.name,
                reply.tag,
                String::from_utf8_lossy(body)
            ),
            Err(e) => eprintln!("{} <- {:?} failed: {e}", self.name, reply.tag),
        }
        Some(reply)
    }
}

fn post_once(agent: &ureq::Agent, url: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let mut response = agent
        .post(url)
        .header("Content-Type", "text/xml; charset=utf-8")
        .send(body)
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// One request on this thread, outside any session: for checking what the server says afterwards.
pub(crate) fn post_blocking(
    url: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<(u16, Vec<u8>), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    eprintln!("raw -> {}", String::from_utf8_lossy(body));
    let reply = post_once(&agent, url, body);
    if let Ok((status, body)) = &reply {
        eprintln!("raw <- HTTP {status}: {}", String::from_utf8_lossy(body));
    }
    reply
}
