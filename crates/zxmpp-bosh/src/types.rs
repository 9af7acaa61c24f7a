//! Small wire types: request ids, conditions, body types, protocol versions.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A BOSH request id (`rid`): a positive integer no larger than 2^53 − 1 (XEP-0124 §14.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Rid(pub(crate) u64);

impl Rid {
    /// The largest allowed rid, 2^53 − 1 = 9007199254740991.
    pub const MAX: u64 = (1 << 53) - 1;

    /// A rid from an integer; `None` for 0 or values above [`Rid::MAX`].
    #[must_use]
    pub const fn new(value: u64) -> Option<Self> {
        if value == 0 || value > Self::MAX {
            None
        } else {
            Some(Self(value))
        }
    }

    /// The integer value.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The following rid, `None` past [`Rid::MAX`].
    #[must_use]
    pub const fn next(self) -> Option<Self> {
        Self::new(self.0 + 1)
    }

    /// Parses the decimal form used on the wire.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        parse_u64(text).and_then(Self::new)
    }
}

impl TryFrom<u64> for Rid {
    type Error = String;
    fn try_from(value: u64) -> Result<Self, Self::Error> {
        Self::new(value).ok_or_else(|| format!("rid {value} out of range"))
    }
}

impl From<Rid> for u64 {
    fn from(rid: Rid) -> Self {
        rid.0
    }
}

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Parses a plain decimal integer (ASCII digits only, no sign, no spaces).
pub(crate) fn parse_u64(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The `condition` attribute: the terminal binding conditions of XEP-0124 §17.2, open to unknown values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Condition {
    /// `bad-request`: the format of a header or body is unacceptable.
    BadRequest,
    /// `host-gone`: the target domain is no longer serviced.
    HostGone,
    /// `host-unknown`: the target domain is unknown.
    HostUnknown,
    /// `improper-addressing`: `to` or `route` missing but required.
    ImproperAddressing,
    /// `internal-server-error`.
    InternalServerError,
    /// `item-not-found`: bad sid, stream, rid or key, or a response no longer buffered.
    ItemNotFound,
    /// `other-request`: another request terminated the session.
    OtherRequest,
    /// `policy-violation`: too many or too frequent requests.
    PolicyViolation,
    /// `remote-connection-failed`: the connection to the server failed.
    RemoteConnectionFailed,
    /// `remote-stream-error`: an error of the transported protocol (XEP-0206 §6).
    RemoteStreamError,
    /// `see-other-uri`: use the URI in the `<uri/>` child.
    SeeOtherUri,
    /// `system-shutdown`: the connection manager is shutting down.
    SystemShutdown,
    /// `undefined-condition`.
    UndefinedCondition,
    /// Any other value, kept as written.
    Other(String),
}

impl Condition {
    /// The wire form.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::BadRequest => "bad-request",
            Self::HostGone => "host-gone",
            Self::HostUnknown => "host-unknown",
            Self::ImproperAddressing => "improper-addressing",
            Self::InternalServerError => "internal-server-error",
            Self::ItemNotFound => "item-not-found",
            Self::OtherRequest => "other-request",
            Self::PolicyViolation => "policy-violation",
            Self::RemoteConnectionFailed => "remote-connection-failed",
            Self::RemoteStreamError => "remote-stream-error",
            Self::SeeOtherUri => "see-other-uri",
            Self::SystemShutdown => "system-shutdown",
            Self::UndefinedCondition => "undefined-condition",
            Self::Other(other) => other,
        }
    }

    /// Reads the wire form; unknown values become [`Condition::Other`].
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text {
            "bad-request" => Self::BadRequest,
            "host-gone" => Self::HostGone,
            "host-unknown" => Self::HostUnknown,
            "improper-addressing" => Self::ImproperAddressing,
            "internal-server-error" => Self::InternalServerError,
            "item-not-found" => Self::ItemNotFound,
            "other-request" => Self::OtherRequest,
            "policy-violation" => Self::PolicyViolation,
            "remote-connection-failed" => Self::RemoteConnectionFailed,
            "remote-stream-error" => Self::RemoteStreamError,
            "see-other-uri" => Self::SeeOtherUri,
            "system-shutdown" => Self::SystemShutdown,
            "undefined-condition" => Self::UndefinedCondition,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The condition a legacy HTTP error status stands for (XEP-0124 §17.1): 400, 403, 404.
    #[must_use]
    pub fn from_http_status(status: u16) -> Option<Self> {
        match status {
            400 => Some(Self::BadRequest),
            403 => Some(Self::PolicyViolation),
            404 => Some(Self::ItemNotFound),
            _ => None,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `type` attribute of a `<body/>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum BodyType {
    /// `terminate`: the session (or, with `stream`, one stream) ends.
    Terminate,
    /// `error`: a recoverable binding error (XEP-0124 §17.3).
    Error,
    /// Any other value, kept as written.
    Other(String),
}

impl BodyType {
    /// The wire form.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Terminate => "terminate",
            Self::Error => "error",
            Self::Other(other) => other,
        }
    }

    /// Reads the wire form.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text {
            "terminate" => Self::Terminate,
            "error" => Self::Error,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// A BOSH protocol version, `major.minor` with the minor part compared as an integer (`ver`, XEP-0124 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
}

impl Version {
    /// XEP-0124 v1.11, the version this crate implements.
    pub const V1_11: Self = Self {
        major: 1,
        minor: 11,
    };

    /// Parses `major.minor`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let (major, minor) = text.split_once('.')?;
        let major = u32::try_from(parse_u64(major)?).ok()?;
        let minor = u32::try_from(parse_u64(minor)?).ok()?;
        Some(Self { major, minor })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}
