//! What flows between the core and a transport driver.

/// The kind of transport a connection runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// An XML stream over TCP (RFC 6120), possibly with STARTTLS.
    Tcp,
    /// BOSH (XEP-0124/XEP-0206): the driver runs a `zxmpp_bosh::ClientSession`.
    Bosh,
}

/// What the transport driver reports to the core.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TransportEvent<'a> {
    /// A fresh connection: TCP connected, or a BOSH session is about to be created. The core answers with
    /// [`Transmit::OpenStream`].
    Connected {
        /// Whether the connection is already confidential (direct TLS, HTTPS, or a BOSH CM declared secure).
        secure: bool,
        /// TCP or BOSH.
        transport: TransportKind,
    },
    /// The TLS handshake asked for with [`Transmit::StartTls`] completed.
    TlsEstablished,
    /// The server's stream header (BOSH: synthesized from the session creation response).
    StreamOpened(&'a zxmpp_xml::StreamHeader<'a>),
    /// A top-level element: a stanza, `stream:features`, a SASL or XEP-0198 nonza, a stream error.
    Stanza(&'a zxmpp_xml::Element<'a>),
    /// The server closed the stream (`</stream:stream>`, BOSH terminate).
    StreamClosed,
    /// The transport broke. The core keeps what XEP-0198 needs to resume and waits for the next
    /// [`TransportEvent::Connected`].
    Disconnected {
        /// Why, for the logs.
        reason: String,
    },
}

/// What the core asks the transport driver to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transmit {
    /// Open a stream. TCP: write a stream header. BOSH: create the session (`restart == false`) or send an
    /// `xmpp:restart='true'` request (`restart == true`).
    OpenStream {
        /// The server's domain (the header's `to`).
        to: String,
        /// The stream's `xml:lang`.
        lang: Option<String>,
        /// Whether this reopens a stream on the same connection (after STARTTLS or SASL).
        restart: bool,
    },
    /// TCP only: do the TLS handshake now, then report [`TransportEvent::TlsEstablished`].
    StartTls,
    /// One serialized top-level element.
    Stanza(String),
    /// Close the stream (TCP: `</stream:stream>`; BOSH: terminate) and then the connection.
    CloseStream,
}
