//! One task per session: it drives the session's [`Bridge`] with the HTTP requests handed to it through its
//! [`Inbox`], its upstream sockets ([`Links`]) and its timer, and answers each held request through the request's
//! [`Reply`].
//!
//! Memory is the point of its shape. A BOSH session is idle almost all the time (one request held, nothing to
//! say), and a manager holds many thousands of them, so an idle session keeps no buffer and nothing twice: the
//! state lives once on the heap ([`Session`], boxed), the task's future holds only what an await point needs,
//! the inbox is a queue that is empty at rest (a channel would keep a block of slots per session), and
//! every queue of the bridge, the BOSH session and the XML reader is given back to the allocator when it
//! drains ([`Bridge::shrink_to_fit`]).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::Notify;
use zxmpp_bosh::{CmTermination, HttpId};

use crate::PlainUpstream;
use crate::bridge::{Action, Bridge};
use crate::server::{Shared, SidKey};
use crate::upstream::{self, Conn, LinkEvent, Links};

pub(crate) use crate::server::Reply;

/// A message to a session's task.
pub(crate) enum Msg {
    /// An HTTP request for this session, and where its answer goes.
    Request(HttpId, Bytes, Reply),
    /// The server shuts down: end the session with `system-shutdown`.
    Shutdown,
}

/// A session's mailbox: a queue and a wake-up. Empty, it owns no allocation.
#[derive(Default)]
pub(crate) struct Inbox {
    queue: Mutex<VecDeque<Msg>>,
    notify: Notify,
}

impl Inbox {
    /// Queues a message for the session's task.
    pub(crate) fn send(&self, msg: Msg) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.push_back(msg);
        }
        self.notify.notify_one();
    }

    fn try_recv(&self) -> Option<Msg> {
        let mut queue = self.queue.lock().ok()?;
        let msg = queue.pop_front();
        if queue.is_empty() && queue.capacity() > 0 {
            *queue = VecDeque::new();
        }
        msg
    }

    /// The next message. `notify_one` keeps a permit when the task is not waiting, so a message queued
    /// between `try_recv` and the wait is not missed.
    async fn recv(&self) -> Msg {
        loop {
            if let Some(msg) = self.try_recv() {
                return msg;
            }
            self.notify.notified().await;
        }
    }
}

/// A session's state, owned by its task (boxed: see the [module docs](self)).
pub(crate) struct Session {
    shared: Arc<Shared>,
    bridge: Bridge,
    inbox: Arc<Inbox>,
    /// Held requests, by HTTP request: a session holds one or two.
    replies: Vec<(HttpId, Reply)>,
    ip: IpAddr,
    links: Links,
    shutdown_requested: bool,
    ended: bool,
}

impl Session {
    pub(crate) fn new(
        shared: Arc<Shared>,
        bridge: Bridge,
        inbox: Arc<Inbox>,
        reply: Option<(HttpId, Reply)>,
        ip: IpAddr,
    ) -> Box<Self> {
        Box::new(Self {
            shared,
            bridge,
            inbox,
            replies: reply.into_iter().collect(),
            ip,
            links: Links::default(),
            shutdown_requested: false,
            ended: false,
        })
    }

    /// Sends every response the bridge has ready to its held request.
    fn transmit(&mut self) {
        while let Some(t) = self.bridge.poll_transmit() {
            if let Some(i) = self.replies.iter().position(|(h, _)| *h == t.http) {
                let (_, reply) = self.replies.swap_remove(i);
                reply.send(t.status, self.bridge.content_type(), t.body);
            }
        }
        if self.replies.is_empty() && self.replies.capacity() > 0 {
            self.replies = Vec::new();
        }
    }

    /// Counts the session as ended (once), as soon as the bridge knows why.
    fn check_ended(&mut self) {
        if !self.ended && self.bridge.termination().is_some() {
            self.ended = true;
            end_of_session(&self.shared, &self.bridge, self.ip);
        }
    }

    /// Carries out the bridge's actions on the upstream links.
    async fn act(&mut self) {
        while let Some((id, action)) = self.bridge.poll_action() {
            match action {
                Action::Connect(target) => {
                    let shared = Arc::clone(&self.shared);
                    self.links.link(id).connecting = Some(Box::pin(async move {
                        upstream::connect(
                            &target,
                            &shared.policy,
                            shared.srv.as_ref(),
                            shared.config.connect_timeout(),
                        )
                        .await
                    }));
                }
                Action::Write(bytes) => self.write(id, &bytes).await,
                Action::OpenStream(bytes) => {
                    self.links.link(id).reset_reader();
                    self.write(id, &bytes).await;
                }
                Action::StartTls { server_name } => {
                    let link = self.links.link(id);
                    // Boxed: the handshake future is large (rustls' connection state) and runs once, so it
                    // should not take room in every session's task for the whole session.
                    let upgraded = match link.conn.take() {
                        Some(conn) => {
                            Box::pin(conn.start_tls(
                                Arc::clone(&self.shared.tls),
                                &server_name,
                                self.shared.config.connect_timeout(),
                            ))
                            .await
                        }
                        None => None,
                    };
                    link.reset_reader();
                    match upgraded {
                        Some(conn) => {
                            link.conn = Some(conn);
                            self.bridge.handle_tls_established(Instant::now(), id);
                        }
                        None => {
                            self.shared.metrics.error("upstream-tls");
                            self.bridge.handle_upstream_lost(Instant::now(), id);
                        }
                    }
                }
                Action::Close => {
                    if let Some(mut conn) = self.links.remove(id).and_then(|link| link.conn) {
                        conn.shutdown().await;
                    }
                }
            }
        }
    }

    async fn write(&mut self, id: crate::StreamId, bytes: &[u8]) {
        if let Some(conn) = self.links.conn(id)
            && conn.write_all(bytes).await.is_err()
        {
            self.links.link(id).conn = None;
            self.bridge.handle_upstream_lost(Instant::now(), id);
        }
    }

    fn on_message(&mut self, msg: Msg) {
        match msg {
            Msg::Request(http, bytes, reply) => {
                // One at a time: a session holds one or two requests, and Vec's first growth makes room for four.
                self.replies.reserve_exact(1);
                self.replies.push((http, reply));
                self.bridge.handle_request(Instant::now(), http, &bytes);
            }
            Msg::Shutdown => {
                if !self.shutdown_requested {
                    self.shutdown_requested = true;
                    self.bridge.shutdown(Instant::now());
                }
            }
        }
    }

    fn on_link(&mut self, event: LinkEvent) {
        let now = Instant::now();
        match event {
            LinkEvent::Read(id, Ok(0) | Err(_)) => {
                self.links.link(id).conn = None;
                self.bridge.handle_upstream_lost(now, id);
            }
            LinkEvent::Read(id, Ok(_)) => {
                if !self.links.link(id).parse(id, &mut self.bridge) {
                    self.shared.metrics.error("upstream-xml");
                    self.links.link(id).conn = None;
                    self.bridge.handle_upstream_lost(now, id);
                }
            }
            LinkEvent::Connected(id, Some((stream, loopback))) => {
                let plain_ok = match self.shared.config.plain_upstream {
                    PlainUpstream::Always => true,
                    PlainUpstream::Loopback => loopback,
                    PlainUpstream::Never => false,
                };
                self.links.link(id).conn = Some(Conn::Plain(stream));
                self.bridge.handle_connected(now, id, plain_ok);
            }
            LinkEvent::Connected(id, None) => {
                tracing::warn!(sid = self.bridge.sid(), "upstream connection failed");
                self.bridge.handle_connect_failed(now, id);
            }
        }
    }

    /// Closes every upstream stream and forgets the session.
    async fn close(mut self: Box<Self>) {
        for (_, link) in self.links.drain() {
            if let Some(mut conn) = link.conn {
                let _ = conn.write_all(zxmpp_xml::STREAM_CLOSE.as_bytes()).await;
                conn.shutdown().await;
            }
        }
        if !self.ended {
            end_of_session(&self.shared, &self.bridge, self.ip);
        }
        if let Ok(mut table) = self.shared.table.lock() {
            if let Some(key) = SidKey::parse(self.bridge.sid()) {
                table.sessions.remove(&key);
            }
            table.recent.forget(self.bridge.sid());
        }
    }
}

/// The session's task: runs until the session is over and has stopped answering retransmissions.
pub(crate) async fn run(mut s: Box<Session>) {
    loop {
        s.transmit();
        if s.bridge.has_actions() {
            // Boxed: carrying out actions (writes, a TLS handshake) needs room only while it runs.
            Box::pin(s.act()).await;
        }
        s.transmit();
        s.check_ended();
        // At shutdown, end as soon as no request is held: a client that is not polling gets its terminate
        // from the next request, which finds no session (`item-not-found`).
        if (s.shutdown_requested && s.replies.is_empty()) || s.bridge.is_finished(Instant::now()) {
            break;
        }
        // Nothing to do until the next message, upstream read or timer: give drained queues back.
        s.bridge.shrink_to_fit();
        s.links.shrink_to_fit();
        let timer = s.bridge.poll_timeout();
        let session = &mut *s;
        tokio::select! {
            msg = session.inbox.recv() => session.on_message(msg),
            () = sleep_until(timer) => session.bridge.handle_timeout(Instant::now()),
            event = session.links.next() => session.on_link(event),
        }
        s.check_ended();
    }
    // Boxed: closing runs once, and its state (a link being drained) should not take room in every session's
    // task for the whole session.
    Box::pin(s.close()).await;
}

async fn sleep_until(timer: Option<Instant>) {
    match timer {
        // Boxed: tokio's timer entry is ≈ 100 bytes, needed only while the task waits.
        Some(t) => Box::pin(tokio::time::sleep_until(t.into())).await,
        None => std::future::pending().await,
    }
}

fn termination_label(t: Option<&CmTermination>) -> String {
    match t {
        Some(CmTermination::ByClient) => "client-terminate".to_owned(),
        Some(CmTermination::Inactivity) => "inactivity".to_owned(),
        Some(CmTermination::Violation(c) | CmTermination::Upstream(c)) => c.to_string(),
        Some(_) | None => "unknown".to_owned(),
    }
}

/// The session has ended (it may still answer retransmissions while it lingers): count it, free its slot.
fn end_of_session(shared: &Shared, bridge: &Bridge, ip: IpAddr) {
    let label = termination_label(bridge.termination());
    if !matches!(bridge.termination(), Some(CmTermination::ByClient) | None) {
        shared.metrics.error(&label);
    }
    tracing::info!(sid = bridge.sid(), reason = label, "session ended");
    if let Ok(mut table) = shared.table.lock() {
        table.live = table.live.saturating_sub(1);
        if let Some(n) = table.per_ip.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                table.per_ip.remove(&ip);
            }
        }
    }
    shared.metrics.session_ended();
}
