//! The client core on the tokio drivers against a real, loopback Prosody (started by `scripts/prosody start`;
//! `scripts/test` runs these). Endpoints come from `eval "$(scripts/prosody env)"`; a missing variable fails the
//! test, it does not skip it.

use std::time::{Duration, Instant};

use zxmpp_client::drivers::{
    BoshConfig, BoshDriver, DriverError, PlainPolicy, TcpConfig, TcpDriver,
};
use zxmpp_client::state::zxmpp_caps::CapsEvent;
use zxmpp_client::state::{ClientSnapshot, Encoding, TransportSnapshot};
use zxmpp_client::{Client, ClientConfig, ClientEvent};

const IGNORE: &str = "needs scripts/prosody start (run by scripts/test)";
const STEP: Duration = Duration::from_secs(20);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run eval \"$(scripts/prosody env)\" ({IGNORE})")
    })
}

fn domain() -> String {
    env("ZXMPP_PROSODY_DOMAIN")
}

enum Transport {
    Tcp(Box<TcpDriver>),
    Bosh(Box<BoshDriver>),
}

/// One client on one driver, with the events it produced.
struct Peer {
    client: Client,
    transport: Transport,
    events: Vec<ClientEvent>,
}

fn config(user: &str, resource: &str) -> ClientConfig {
    let mut entropy = [0u8; 32];
    getrandom_fill(&mut entropy);
    ClientConfig::new(
        format!("{user}@{}", domain()),
        env("ZXMPP_PROSODY_PASSWORD"),
        entropy,
    )
    .with_resource(resource)
    .allow_insecure_auth(true)
}

/// Test entropy: distinct per client (time and a counter), no CSPRNG needed here.
fn getrandom_fill(out: &mut [u8; 32]) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let seed = nanos ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    for (i, b) in out.iter_mut().enumerate() {
        *b = (seed.rotate_left(i as u32 * 7) >> (i % 8)) as u8 ^ i as u8;
    }
}

fn tcp() -> Transport {
    Transport::Tcp(Box::new(TcpDriver::new(
        TcpConfig::new(env("ZXMPP_PROSODY_C2S"), domain()).with_plain(PlainPolicy::Loopback),
    )))
}

fn bosh() -> Transport {
    Transport::Bosh(Box::new(
        BoshDriver::new(BoshConfig::new(env("ZXMPP_PROSODY_BOSH")).with_wait(10))
            .expect("BOSH URL"),
    ))
}

impl Peer {
    fn new(config: ClientConfig, transport: Transport) -> Self {
        Self {
            client: Client::new(config, Instant::now()).expect("client"),
            transport,
            events: Vec::new(),
        }
    }

    /// Saves what a killed process would have left on disk: the encoded snapshot, transport included.
    fn snapshot_bytes(&self) -> Vec<u8> {
        let mut snapshot = self.client.snapshot();
        if let Transport::Bosh(d) = &self.transport {
            snapshot.transport = d.snapshot().map(TransportSnapshot::Bosh);
        }
        snapshot.encode(Encoding::Binary).expect("encode")
    }

    /// A new process from saved bytes.
    fn restore(bytes: &[u8], tcp_transport: bool) -> Self {
        let snapshot = ClientSnapshot::decode(bytes).expect("decode");
        let transport_state = snapshot.transport.clone();
        let client = Client::restore(
            snapshot,
            Some(env("ZXMPP_PROSODY_PASSWORD")),
            Instant::now(),
        )
        .expect("restore");
        let transport = if tcp_transport {
            tcp()
        } else {
            let config = BoshConfig::new(env("ZXMPP_PROSODY_BOSH")).with_wait(10);
            match transport_state {
                Some(TransportSnapshot::Bosh(s)) => Transport::Bosh(Box::new(
                    BoshDriver::restore(config, s).expect("BOSH restore"),
                )),
                _ => panic!("no BOSH session in the snapshot"),
            }
        };
        Self {
            client,
            transport,
            events: Vec::new(),
        }
    }

    async fn step(&mut self) -> Result<(), DriverError> {
        match &mut self.transport {
            Transport::Tcp(d) => d.wait(&mut self.client).await?,
            Transport::Bosh(d) => d.wait(&mut self.client).await?,
        }
        self.flush().await
    }

    async fn flush(&mut self) -> Result<(), DriverError> {
        while let Some(event) = self.client.poll_event() {
            self.events.push(event);
        }
        match &mut self.transport {
            Transport::Tcp(d) => {
                d.stage(&mut self.client);
                d.flush(&mut self.client).await
            }
            Transport::Bosh(d) => {
                d.stage(&mut self.client);
                d.flush(&mut self.client).await
            }
        }
    }

    /// Runs the loop until an event matches (returns its index), failing after [`STEP`].
    async fn until(&mut self, what: &str, pred: impl Fn(&ClientEvent) -> bool) -> usize {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            if let Some(i) = self.events.iter().position(&pred) {
                return i;
            }
            match tokio::time::timeout_at(deadline, self.step()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!(
                    "waiting for {what}: driver error {e}; events {:#?}",
                    self.events
                ),
                Err(_) => panic!("waiting for {what}: timed out; events {:#?}", self.events),
            }
        }
    }

    /// Runs the loop for a while (to let the other side's traffic happen).
    async fn run_for(&mut self, time: Duration) {
        let _ = tokio::time::timeout(time, async {
            loop {
                if self.step().await.is_err() {
                    break;
                }
            }
        })
        .await;
    }

    async fn online(&mut self) -> (String, bool) {
        let i = self
            .until("online", |e| matches!(e, ClientEvent::Online { .. }))
            .await;
        match self.events.remove(i) {
            ClientEvent::Online { jid, resumed } => (jid, resumed),
            _ => unreachable!(),
        }
    }

    fn messages(&self) -> Vec<(String, String)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Message(m) => Some((
                    m.from.clone().unwrap_or_default(),
                    m.body.clone().unwrap_or_default(),
                )),
                _ => None,
            })
            .collect()
    }

    async fn until_messages(&mut self, count: usize) -> Vec<(String, String)> {
        let deadline = tokio::time::Instant::now() + STEP;
        while self.messages().len() < count {
            match tokio::time::timeout_at(deadline, self.step()).await {
                Ok(Ok(())) => {}
                _ => panic!("expected {count} messages, got {:?}", self.messages()),
            }
        }
        self.messages()
    }

    async fn close(mut self) {
        self.client.close(Instant::now());
        let _ = self.flush().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while self.step().await.is_ok() {}
        })
        .await;
    }
}

fn bare(jid: &str) -> &str {
    jid.split('/').next().unwrap_or(jid)
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
async fn prosody_tcp_login_roster_and_message_exchange() {
    let mut alice = Peer::new(config("alice", "tcp-a"), tcp());
    let mut bob = Peer::new(config("bob", "tcp-b"), tcp());
    let (alice_jid, resumed) = alice.online().await;
    assert_eq!(alice_jid, format!("alice@{}/tcp-a", domain()));
    assert!(!resumed);
    alice
        .until("roster", |e| matches!(e, ClientEvent::Roster { .. }))
        .await;
    let (bob_jid, _) = bob.online().await;
    // XEP-0198 was enabled on the real server.
    assert!(
        bob.client.resumption_id().is_some(),
        "Prosody offers resumable stream management"
    );

    alice
        .client
        .send_message(Instant::now(), &bob_jid, "hello over TCP");
    alice.flush().await.expect("flush");
    let got = bob.until_messages(1).await;
    assert_eq!(got, [(alice_jid.clone(), "hello over TCP".to_owned())]);

    bob.client
        .send_message(Instant::now(), &alice_jid, "and back <&>");
    bob.flush().await.expect("flush");
    let got = alice.until_messages(1).await;
    assert_eq!(got, [(bob_jid, "and back <&>".to_owned())]);
    alice.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
async fn prosody_bosh_login_roster_and_message_exchange_with_tcp() {
    let mut alice = Peer::new(config("alice", "bosh-a"), bosh());
    let mut bob = Peer::new(config("bob", "tcp-b2"), tcp());
    let (alice_jid, _) = alice.online().await;
    assert_eq!(bare(&alice_jid), format!("alice@{}", domain()));
    alice
        .until("roster", |e| matches!(e, ClientEvent::Roster { .. }))
        .await;
    let sid = match &alice.transport {
        Transport::Bosh(d) => d.sid().map(str::to_owned),
        Transport::Tcp(_) => None,
    };
    assert!(sid.is_some(), "a BOSH session id");
    let (bob_jid, _) = bob.online().await;

    bob.client
        .send_message(Instant::now(), &alice_jid, "to BOSH");
    bob.flush().await.expect("flush");
    assert_eq!(
        alice.until_messages(1).await,
        [(bob_jid.clone(), "to BOSH".to_owned())]
    );

    // Alice's session holds a request (hold=1, wait=10 s) right now: the message must go out at once on a second
    // request, a second keep-alive connection (requests=2), not after the held one returns.
    let held = match &alice.transport {
        Transport::Bosh(d) => d.in_flight(),
        Transport::Tcp(_) => 0,
    };
    assert!(held >= 1, "a request is held");
    let sent_at = Instant::now();
    alice
        .client
        .send_message(Instant::now(), &bob_jid, "from BOSH");
    alice.flush().await.expect("flush");
    assert_eq!(
        bob.until_messages(1).await,
        [(alice_jid, "from BOSH".to_owned())]
    );
    assert!(
        sent_at.elapsed() < Duration::from_secs(5),
        "delivered after {:?}: requests were not concurrent",
        sent_at.elapsed()
    );
    alice.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
async fn prosody_presence_with_caps_is_verified_through_the_server() {
    // Two resources of one account see each other's presence (RFC 6121 §4.2.2) without a subscription.
    let mut first = Peer::new(config("carol", "caps-1"), tcp());
    let mut second = Peer::new(config("carol", "caps-2"), bosh());
    let (first_jid, _) = first.online().await;
    first
        .client
        .send_presence(Instant::now(), None, Some("here"));
    first.flush().await.expect("flush");
    let own = first.client.own_caps().expect("own caps").clone();
    second.online().await;
    second.client.send_presence(Instant::now(), None, None);
    second.flush().await.expect("flush");
    // The presence Prosody relays carries the advertised caps unchanged…
    let i = second
        .until("the first resource's presence", |e| {
            matches!(e, ClientEvent::Presence(p) if p.from.as_deref() == Some(first_jid.as_str()) && p.caps.is_some())
        })
        .await;
    let ClientEvent::Presence(p) = &second.events[i] else {
        unreachable!()
    };
    assert_eq!(
        p.caps.as_ref().map(|c| c.ver.as_ref()),
        Some(own.ver.as_ref())
    );
    assert_eq!(p.status.as_deref(), Some("here"));
    // …and a disco#info query through the server (to whichever resource advertised that `ver` first: both run
    // the same software) verifies the hash.
    let verify = async {
        second
            .until("caps verified", |e| {
                matches!(e, ClientEvent::Caps(CapsEvent::Verified { key, .. }) if key.value == own.ver)
            })
            .await
    };
    tokio::select! {
        _ = verify => {}
        () = first.run_for(STEP) => panic!("the first resource stopped"),
    }
    assert!(
        !second
            .events
            .iter()
            .any(|e| matches!(e, ClientEvent::Caps(CapsEvent::Poisoned { .. }))),
        "no poisoned caps"
    );
    first.close().await;
    second.close().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
async fn prosody_bosh_restart_from_snapshot_mid_conversation_keeps_the_session() {
    let mut bob = Peer::new(config("bob", "bosh-restart"), bosh());
    let mut alice = Peer::new(config("alice", "tcp-restart"), tcp());
    let (bob_jid, _) = bob.online().await;
    let (alice_jid, _) = alice.online().await;
    let sid_before = match &bob.transport {
        Transport::Bosh(d) => d.sid().map(str::to_owned),
        Transport::Tcp(_) => None,
    };

    alice.client.send_message(Instant::now(), &bob_jid, "one");
    alice.flush().await.expect("flush");
    assert_eq!(bob.until_messages(1).await.len(), 1);
    // The process dies here: only its last saved state survives (a snapshot after the last input, as
    // examples/chat.rs does).
    let saved = bob.snapshot_bytes();
    drop(bob);

    alice.client.send_message(Instant::now(), &bob_jid, "two");
    alice.client.send_message(Instant::now(), &bob_jid, "three");
    alice.flush().await.expect("flush");
    alice.run_for(Duration::from_millis(500)).await;

    let mut bob = Peer::restore(&saved, false);
    let sid_after = match &bob.transport {
        Transport::Bosh(d) => d.sid().map(str::to_owned),
        Transport::Tcp(_) => None,
    };
    assert_eq!(sid_after, sid_before, "the same BOSH session goes on");
    let got = bob.until_messages(2).await;
    assert_eq!(
        got,
        [
            (alice_jid.clone(), "two".to_owned()),
            (alice_jid.clone(), "three".to_owned())
        ]
    );
    // No new login: the stream went on.
    assert!(
        !bob.events
            .iter()
            .any(|e| matches!(e, ClientEvent::Online { .. })),
        "{:#?}",
        bob.events
    );
    // And it still sends.
    bob.client
        .send_message(Instant::now(), &alice_jid, "back again");
    bob.flush().await.expect("flush");
    assert_eq!(
        alice.until_messages(1).await,
        [(bob_jid, "back again".to_owned())]
    );
    alice.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
async fn prosody_tcp_xep0198_resume_after_a_killed_connection() {
    let mut bob = Peer::new(config("bob", "tcp-resume"), tcp());
    let mut alice = Peer::new(config("alice", "tcp-resume-a"), tcp());
    let (bob_jid, _) = bob.online().await;
    let (alice_jid, _) = alice.online().await;
    let id_before = bob.client.resumption_id().map(str::to_owned);
    assert!(id_before.is_some());

    alice
        .client
        .send_message(Instant::now(), &bob_jid, "before");
    alice.flush().await.expect("flush");
    assert_eq!(bob.until_messages(1).await.len(), 1);
    let saved = bob.snapshot_bytes();
    // Killed: the socket closes without a stream close, the server keeps the session for resumption.
    drop(bob);

    alice
        .client
        .send_message(Instant::now(), &bob_jid, "while away 1");
    alice
        .client
        .send_message(Instant::now(), &bob_jid, "while away 2");
    alice.flush().await.expect("flush");
    alice.run_for(Duration::from_millis(500)).await;

    let mut bob = Peer::restore(&saved, true);
    let (jid, resumed) = bob.online().await;
    assert!(resumed, "XEP-0198 resumption, not a new login");
    assert_eq!(jid, bob_jid, "the same full JID");
    let got = bob.until_messages(2).await;
    assert_eq!(
        got,
        [
            (alice_jid.clone(), "while away 1".to_owned()),
            (alice_jid.clone(), "while away 2".to_owned())
        ]
    );
    alice.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
async fn prosody_tcp_plain_is_refused_when_not_allowed() {
    // Prosody's test config offers no STARTTLS (no certificate): with PlainPolicy::Never the driver refuses.
    let mut client = Client::new(config("carol", "plain"), Instant::now()).expect("client");
    let mut driver = TcpDriver::new(TcpConfig::new(env("ZXMPP_PROSODY_C2S"), domain()));
    let outcome = tokio::time::timeout(STEP, async {
        loop {
            if let Err(e) = driver.wait(&mut client).await {
                return e;
            }
            driver.stage(&mut client);
            if let Err(e) = driver.flush(&mut client).await {
                return e;
            }
        }
    })
    .await
    .expect("decided in time");
    assert!(
        matches!(outcome, DriverError::PlainNotAllowed(_)),
        "{outcome:?}"
    );
}
