//! What the core reports to the application.

pub use zxmpp_state::RosterItem;

/// Something the application may want to know; drain with `Client::poll_event`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The session is established: after a new login (`resumed == false`: resource bound, stream management
    /// enabled if offered) or after an XEP-0198 resumption (`resumed == true`: nothing was lost).
    Online {
        /// The bound full JID.
        jid: String,
        /// Whether the previous session was resumed.
        resumed: bool,
    },
    /// The connection was lost. With `resumable`, the next connection resumes the session (XEP-0198);
    /// otherwise unacknowledged stanzas go back to the outbound queue and are sent in the next session.
    Disconnected {
        /// Whether the session can be resumed.
        resumable: bool,
        /// The transport's reason.
        reason: String,
    },
    /// XEP-0198 resumption was refused; a new session is being set up.
    ResumeFailed {
        /// The server's condition (e.g. `item-not-found`).
        condition: String,
    },
    /// Authentication failed (RFC 6120 §6.5); the stream is closed and the client stops.
    AuthFailed {
        /// The SASL condition (`not-authorized`, …) or a local reason (`no-mechanism`, `server-signature`).
        condition: String,
        /// The server's text, if any.
        text: Option<String>,
    },
    /// The server sent a stream error (RFC 6120 §4.9).
    StreamError {
        /// The condition (`conflict`, `system-shutdown`, …).
        condition: String,
        /// The server's text, if any.
        text: Option<String>,
    },
    /// The stream was closed (by `Client::close` or by the server); the client stops.
    Closed,
    /// A message stanza arrived.
    Message(Message),
    /// A presence stanza arrived (caps, if any, were handed to the caps cache).
    Presence(Presence),
    /// The whole roster is known (after a roster get). With versioning, an empty result means the stored
    /// roster is current: `items` are then the stored ones.
    Roster {
        /// The roster version, if the server supports versioning.
        version: Option<String>,
        /// All items.
        items: Vec<RosterItem>,
    },
    /// A roster push (RFC 6121 §2.1.6) was applied.
    RosterPush {
        /// The item as pushed (subscription `remove`: it was deleted).
        item: RosterItem,
        /// The new roster version.
        version: Option<String>,
    },
    /// The answer to `Client::send_iq`: `type='result'`.
    IqResult {
        /// The request's id.
        id: String,
        /// The result's child element as received, if any.
        payload: Option<String>,
    },
    /// The answer to `Client::send_iq`: `type='error'`.
    IqError {
        /// The request's id.
        id: String,
        /// The defined condition (`item-not-found`, …).
        condition: String,
        /// The whole error stanza as received.
        stanza: String,
    },
    /// No answer to `Client::send_iq` within the timeout.
    IqTimeout {
        /// The request's id.
        id: String,
    },
    /// An iq get/set the core does not answer itself; answer it with `Client::respond_iq`.
    IqRequest(IqRequest),
    /// The server acknowledged (XEP-0198) the stanza with this id.
    Acked {
        /// The stanza's id.
        id: String,
    },
    /// The caps cache learned something (a verified entity, a poisoned reply, …).
    Caps(zxmpp_caps::CapsEvent),
}

/// An incoming message (RFC 6121 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The sender.
    pub from: Option<String>,
    /// The recipient.
    pub to: Option<String>,
    /// The stanza id.
    pub id: Option<String>,
    /// `type` as written (`chat`, `groupchat`, `headline`, `normal`, `error`); `None` is `normal`.
    pub kind: Option<String>,
    /// The first `<body/>`'s text.
    pub body: Option<String>,
    /// The whole stanza as received.
    pub stanza: String,
}

/// An incoming presence (RFC 6121 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    /// The sender.
    pub from: Option<String>,
    /// `type` as written; `None` is available.
    pub kind: Option<String>,
    /// `<show/>`.
    pub show: Option<String>,
    /// `<status/>`.
    pub status: Option<String>,
    /// The XEP-0115 `<c/>` it carried.
    pub caps: Option<zxmpp_caps::Caps<'static>>,
    /// The whole stanza as received.
    pub stanza: String,
}

/// An incoming iq get or set waiting for the application's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IqRequest {
    /// The request's id (echo it with `Client::respond_iq`).
    pub id: String,
    /// The requester.
    pub from: Option<String>,
    /// `true` for `set`, `false` for `get`.
    pub set: bool,
    /// The child element as received.
    pub payload: String,
}
