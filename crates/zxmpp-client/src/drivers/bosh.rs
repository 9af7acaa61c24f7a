//! XMPP over BOSH (XEP-0124, XEP-0206): a `zxmpp_bosh` client session driven by a keep-alive hyper client.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use tokio::task::JoinSet;
use zxmpp_bosh::{
    ClientConfig as SessionConfig, ClientSession, ClientSnapshot as SessionSnapshot, HttpOutcome,
    RequestId,
};

use super::{Backoff, DriverError, TlsRoots, entropy};
use zxmpp_xml::Config as XmlConfig;

use crate::bosh::BoshGlue;
use crate::{Client, TransportEvent, TransportKind};

type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// Where and how the [`BoshDriver`] talks to the connection manager.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BoshConfig {
    /// The connection manager's URL (`https://…/http-bind`, or `http://` to a trusted host).
    pub url: String,
    /// `wait` asked for, in seconds (default 30).
    pub wait: u32,
    /// `hold` asked for (default 1).
    pub hold: u32,
    /// The certificate authorities trusted for `https://`.
    pub roots: TlsRoots,
    /// Largest response body accepted, in bytes (default 1 MiB).
    pub max_response: usize,
    /// Limits for parsing each payload.
    pub xml: XmlConfig,
}

impl BoshConfig {
    /// A session at `url` with `wait` 30 s and `hold` 1; the Mozilla roots trusted for `https://`.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            wait: 30,
            hold: 1,
            roots: TlsRoots::WebPki,
            max_response: 1 << 20,
            xml: XmlConfig::default(),
        }
    }

    /// Sets `wait` (seconds).
    #[must_use]
    pub fn with_wait(mut self, secs: u32) -> Self {
        self.wait = secs;
        self
    }

    /// Sets the trusted certificate authorities.
    #[must_use]
    pub fn with_roots(mut self, roots: TlsRoots) -> Self {
        self.roots = roots;
        self
    }
}

/// Runs a [`Client`] over BOSH. The BOSH session's own state is [`BoshDriver::snapshot`]: save it with the
/// client's snapshot and hand it back to [`BoshDriver::restore`] to go on with the same `sid` after a restart.
pub struct BoshDriver {
    config: BoshConfig,
    uri: hyper::Uri,
    http: HttpClient<Connector, Full<Bytes>>,
    glue: BoshGlue,
    in_flight: JoinSet<(RequestId, HttpOutcome)>,
    staged: Vec<zxmpp_bosh::Transmit>,
    /// A `Connected` is owed to the client (fresh start, or after a session ended).
    connect_at: Option<Instant>,
    backoff: Backoff,
    closed: bool,
    /// The session was restored: check on the first [`BoshDriver::wait`] that the client can go on with it.
    restored: bool,
}

impl std::fmt::Debug for BoshDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoshDriver")
            .field("url", &self.config.url)
            .field("sid", &self.sid())
            .field("in_flight", &self.in_flight.len())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl BoshDriver {
    /// A driver that starts a new BOSH session (the client gets `Connected` on the first [`BoshDriver::wait`]).
    ///
    /// # Errors
    /// [`DriverError::InvalidUrl`], [`DriverError::TlsConfig`].
    pub fn new(config: BoshConfig) -> Result<Self, DriverError> {
        let uri: hyper::Uri = config
            .url
            .parse()
            .map_err(|_| DriverError::InvalidUrl(config.url.clone()))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(DriverError::InvalidUrl(config.url.clone()));
        }
        let tls = (*config.roots.client_config()?).clone();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let http = HttpClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(4)
            .build(connector);
        Ok(Self {
            glue: BoshGlue::new(config.xml),
            config,
            uri,
            http,
            in_flight: JoinSet::new(),
            staged: Vec::new(),
            connect_at: Some(Instant::now()),
            backoff: Backoff::default(),
            closed: false,
            restored: false,
        })
    }

    /// A driver that goes on with a saved BOSH session: same `sid`, unanswered requests resent unchanged, and no
    /// `Connected` for the client (its stream goes on). Pair it with `Client::restore`. A client that was saved
    /// before its session was established (during SASL or bind) cannot go on with the stream: the first
    /// [`BoshDriver::wait`] then leaves the saved session to expire and starts a new one.
    ///
    /// # Errors
    /// As [`BoshDriver::new`], and [`DriverError::InvalidSnapshot`] when the snapshot cannot be restored.
    pub fn restore(config: BoshConfig, snapshot: SessionSnapshot) -> Result<Self, DriverError> {
        let mut driver = Self::new(config)?;
        driver.glue = BoshGlue::restore(snapshot, Instant::now(), driver.config.xml)
            .map_err(DriverError::InvalidSnapshot)?;
        if driver.glue.session().is_some() {
            driver.connect_at = None;
            driver.restored = true;
        }
        Ok(driver)
    }

    /// The session id, once the connection manager created the session.
    #[must_use]
    pub fn sid(&self) -> Option<&str> {
        self.glue.sid()
    }

    /// HTTP requests posted and not yet answered.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The BOSH session's resumable state (`None` when there is no session).
    #[must_use]
    pub fn snapshot(&self) -> Option<SessionSnapshot> {
        self.glue.snapshot()
    }

    fn secure(&self) -> bool {
        self.uri.scheme_str() == Some("https")
    }

    /// Waits for one input — an HTTP response, a timer of the client or of the BOSH session — and hands it to
    /// `client`. Cancel-safe.
    ///
    /// # Errors
    /// [`DriverError::Closed`] once the client's stream was closed and the session ended.
    pub async fn wait(&mut self, client: &mut Client) -> Result<(), DriverError> {
        if self.closed {
            return Err(DriverError::Closed);
        }
        if std::mem::take(&mut self.restored) && !client.is_online() && !client.is_closed() {
            // The client was saved before its session was established (during SASL or bind): it cannot go on
            // with this stream, it logs in again on a new one. The old session is left to expire.
            self.glue.reset();
            self.staged.clear();
            self.connect_at = Some(Instant::now());
        }
        if self.glue.session().is_none() {
            if client.is_closed() {
                self.closed = true;
                return Err(DriverError::Closed);
            }
            let Some(at) = self.connect_at else {
                self.closed = true;
                return Err(DriverError::Closed);
            };
            let timer = client.poll_timeout();
            if let Some(t) = timer
                && t < at
            {
                tokio::time::sleep_until(t.into()).await;
                client.handle_timeout(Instant::now());
                return Ok(());
            }
            tokio::time::sleep_until(at.into()).await;
            self.connect_at = None;
            client.handle_transport(
                Instant::now(),
                TransportEvent::Connected {
                    secure: self.secure(),
                    transport: TransportKind::Bosh,
                },
            );
            return Ok(());
        }
        // Requests the session wants sent (after a restore, or ones its timers made) go out first.
        let now = Instant::now();
        while let Some(request) = self.glue.poll_transmit(now) {
            self.staged.push(request);
        }
        if !self.staged.is_empty() {
            return Ok(());
        }
        let timer = [client.poll_timeout(), self.glue.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let sleep = async {
            match timer {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(joined) = self.in_flight.join_next() => {
                if let Ok((id, outcome)) = joined {
                    self.glue.handle_response(Instant::now(), id, outcome);
                }
            }
            () = sleep => {
                let now = Instant::now();
                self.glue.handle_timeout(now);
                client.handle_timeout(now);
            }
        }
        self.pump_events(client);
        Ok(())
    }

    /// Hands the BOSH session's events to the client.
    fn pump_events(&mut self, client: &mut Client) {
        match self.glue.pump(client, Instant::now()) {
            Ok(connected) => {
                if connected {
                    self.backoff.reset();
                }
            }
            Err(error) => self.session_lost(client, error.to_string()),
        }
    }

    fn session_lost(&mut self, client: &mut Client, reason: String) {
        self.glue.reset();
        self.staged.clear();
        self.in_flight.abort_all();
        client.handle_transport(Instant::now(), TransportEvent::Disconnected { reason });
        if client.is_closed() {
            self.closed = true;
        } else {
            self.connect_at = Some(Instant::now() + self.backoff.next_delay());
        }
    }

    /// Moves what the client wants to send into the BOSH session and takes the HTTP requests it makes, without
    /// sending them. Save the snapshots after this and before [`BoshDriver::flush`].
    pub fn stage(&mut self, client: &mut Client) {
        let now = Instant::now();
        let (config, connect_at) = (&self.config, self.connect_at);
        self.glue.stage(client, |to, lang| {
            connect_at.is_none().then(|| {
                let session = SessionConfig::new(to)
                    .with_lang(lang)
                    .with_wait(config.wait)
                    .with_hold(config.hold);
                ClientSession::new(session, entropy(), now)
            })
        });
        while let Some(request) = self.glue.poll_transmit(now) {
            self.staged.push(request);
        }
        self.pump_events(client);
    }

    /// Posts the requests [`BoshDriver::stage`] took (each on a pooled keep-alive connection; several at once
    /// when the session allows).
    ///
    /// # Errors
    /// None today; the signature matches [`super::TcpDriver::flush`].
    pub async fn flush(&mut self, client: &mut Client) -> Result<(), DriverError> {
        let _ = client;
        // The session resends by itself after `request_timeout`; the HTTP layer gives up a little later.
        let deadline = self
            .glue
            .session()
            .map_or(Duration::from_secs(u64::from(self.config.wait) + 20), |s| {
                s.request_timeout() + Duration::from_secs(5)
            });
        for request in self.staged.drain(..) {
            let http = self.http.clone();
            let uri = self.uri.clone();
            let limit = self.config.max_response;
            self.in_flight.spawn(async move {
                let started = tokio::time::Instant::now();
                let outcome =
                    match tokio::time::timeout(deadline, post(&http, uri, request.body, limit))
                        .await
                    {
                        Ok(outcome) => outcome,
                        Err(_) => HttpOutcome::Failed,
                    };
                // The session resends a failed request at once; pace quick failures (connection refused, a
                // proxy's 502) at 1 s, 2 s, 3 s, 4 s per attempt so that its retries span a server restart.
                if !matches!(outcome, HttpOutcome::Ok(_)) {
                    let pace = Duration::from_secs(u64::from(request.id.attempt().min(4)));
                    tokio::time::sleep_until(started + pace).await;
                }
                (request.id, outcome)
            });
        }
        Ok(())
    }
}

async fn post(
    http: &HttpClient<Connector, Full<Bytes>>,
    uri: hyper::Uri,
    body: Bytes,
    limit: usize,
) -> HttpOutcome {
    let request = Request::post(uri)
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("text/xml; charset=utf-8"),
        )
        .body(Full::new(body));
    let Ok(request) = request else {
        return HttpOutcome::Failed;
    };
    let Ok(response) = http.request(request).await else {
        return HttpOutcome::Failed;
    };
    let status = response.status().as_u16();
    if status != 200 {
        return HttpOutcome::Status(status);
    }
    match Limited::new(response.into_body(), limit).collect().await {
        Ok(collected) => HttpOutcome::Ok(collected.to_bytes()),
        Err(_) => HttpOutcome::Failed,
    }
}

#[cfg(test)]
mod tests {
    /// Found while building `reload_storm`: a client saved during SASL (phase `Negotiating`) restores idle and
    /// waits for `Connected`; a restored BOSH session would go on without one, and the client stalled.
    #[test]
    fn a_client_saved_while_negotiating_gets_a_new_session() {
        use std::time::Instant;

        use super::{BoshConfig, BoshDriver};
        use crate::{Client, ClientConfig, Transmit};

        let now = Instant::now();
        let mut client = Client::new(
            ClientConfig::new("juliet@example.com", "secret", [3; 32]),
            now,
        )
        .unwrap();
        client.handle_transport(
            now,
            crate::TransportEvent::Connected {
                secure: true,
                transport: crate::TransportKind::Bosh,
            },
        );
        while client.poll_transmit().is_some() {}
        let saved = client.snapshot();
        assert_eq!(saved.phase, zxmpp_state::Phase::Negotiating);
        let mut client = Client::restore(saved, Some("secret".into()), now).unwrap();
        let session = zxmpp_bosh::ClientSession::new(
            zxmpp_bosh::ClientConfig::new("example.com"),
            [4; 32],
            now,
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut driver =
                BoshDriver::restore(BoshConfig::new("http://127.0.0.1:9/"), session.snapshot())
                    .unwrap();
            driver.wait(&mut client).await.unwrap();
            // The client got `Connected` and opens a stream: the driver makes a new session for it.
            assert!(driver.sid().is_none() && driver.staged.is_empty());
            assert!(matches!(
                client.poll_transmit(),
                Some(Transmit::OpenStream { restart: false, .. })
            ));
        });
    }
}
