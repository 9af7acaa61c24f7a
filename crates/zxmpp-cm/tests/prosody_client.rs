//! zxmpp-client's own BOSH driver (a different BOSH client implementation from the raw requests of
//! `tests/prosody.rs`) pointed at zxmpp-cm, with a loopback Prosody behind it: login (SASL, restart, bind,
//! roster) and messages both ways between two clients, each through its own BOSH session.

use std::time::{Duration, Instant};

use zxmpp_client::drivers::{BoshConfig, BoshDriver, DriverError};
use zxmpp_client::{Client, ClientConfig, ClientEvent};
use zxmpp_cm::{Config, Server, Upstream};

const STEP: Duration = Duration::from_secs(20);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run `scripts/prosody start` and `eval \"$(scripts/prosody env)\"`"
        )
    })
}

struct Peer {
    client: Client,
    driver: BoshDriver,
    events: Vec<ClientEvent>,
}

impl Peer {
    fn new(url: &str, user: &str, resource: &str, seed: u8) -> Self {
        let mut entropy = [seed; 32];
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        for (i, b) in nanos.to_le_bytes().iter().enumerate() {
            entropy[i] ^= b;
        }
        let config = ClientConfig::new(
            format!("{user}@{}", env("ZXMPP_PROSODY_DOMAIN")),
            env("ZXMPP_PROSODY_PASSWORD"),
            entropy,
        )
        .with_resource(resource)
        .allow_insecure_auth(true);
        Self {
            client: Client::new(config, Instant::now()).unwrap(),
            driver: BoshDriver::new(BoshConfig::new(url).with_wait(10)).unwrap(),
            events: Vec::new(),
        }
    }

    async fn step(&mut self) -> Result<(), DriverError> {
        self.driver.wait(&mut self.client).await?;
        self.flush().await
    }

    async fn flush(&mut self) -> Result<(), DriverError> {
        while let Some(event) = self.client.poll_event() {
            self.events.push(event);
        }
        self.driver.stage(&mut self.client);
        self.driver.flush(&mut self.client).await
    }

    async fn until(&mut self, what: &str, pred: impl Fn(&ClientEvent) -> bool) -> ClientEvent {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            if let Some(i) = self.events.iter().position(&pred) {
                return self.events.remove(i);
            }
            match tokio::time::timeout_at(deadline, self.step()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!("waiting for {what}: {e}; events {:#?}", self.events),
                Err(_) => panic!("waiting for {what}: timed out; events {:#?}", self.events),
            }
        }
    }

    async fn online(&mut self) -> String {
        match self
            .until("online", |e| matches!(e, ClientEvent::Online { .. }))
            .await
        {
            ClientEvent::Online { jid, .. } => jid,
            _ => unreachable!(),
        }
    }

    async fn message(&mut self) -> (String, String) {
        match self
            .until("message", |e| matches!(e, ClientEvent::Message(_)))
            .await
        {
            ClientEvent::Message(m) => (m.from.unwrap_or_default(), m.body.unwrap_or_default()),
            _ => unreachable!(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
async fn prosody_client_bosh_driver_through_cm_login_and_messages() {
    let mut config = Config::default();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config
        .upstreams
        .push(Upstream::new(env("ZXMPP_PROSODY_DOMAIN")).with_address(env("ZXMPP_PROSODY_C2S")));
    let server = Server::bind(config).await.unwrap();
    let url = format!("http://{}/http-bind", server.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(server.run(async {
        let _ = stop_rx.await;
    }));

    let mut alice = Peer::new(&url, "alice", "cm-driver-a", 1);
    let mut bob = Peer::new(&url, "bob", "cm-driver-b", 2);
    let alice_jid = alice.online().await;
    alice
        .until("roster", |e| matches!(e, ClientEvent::Roster { .. }))
        .await;
    let bob_jid = bob.online().await;
    assert!(alice_jid.starts_with("alice@") && bob_jid.starts_with("bob@"));

    bob.client
        .send_message(Instant::now(), &alice_jid, "to alice via zxmpp-cm");
    bob.flush().await.unwrap();
    let (from, body) = alice.message().await;
    assert_eq!(
        (from.as_str(), body.as_str()),
        (bob_jid.as_str(), "to alice via zxmpp-cm")
    );

    // Alice has a request held; her message must go out at once on her second request.
    let sent = Instant::now();
    alice
        .client
        .send_message(Instant::now(), &bob_jid, "to bob via zxmpp-cm");
    alice.flush().await.unwrap();
    let bob_task = tokio::spawn(async move {
        let got = bob.message().await;
        (bob, got)
    });
    let (mut bob, (from, body)) = bob_task.await.unwrap();
    assert_eq!(
        (from.as_str(), body.as_str()),
        (alice_jid.as_str(), "to bob via zxmpp-cm")
    );
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "took {:?}",
        sent.elapsed()
    );

    alice.client.close(Instant::now());
    bob.client.close(Instant::now());
    let _ = alice.flush().await;
    let _ = bob.flush().await;
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), served).await;
}
