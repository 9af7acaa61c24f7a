//! The configuration: a TOML file, with defaults that are safe on a loopback test machine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::Error;

/// When an upstream connection may stay without TLS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PlainUpstream {
    /// Never: a server that offers no STARTTLS is refused (`remote-connection-failed`).
    Never,
    /// Only to loopback addresses (a test server on 127.0.0.1 / ::1); the default.
    #[default]
    Loopback,
    /// Always (only on networks you trust completely).
    Always,
}

/// One allowed upstream domain.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Upstream {
    /// The XMPP domain clients may name in `to`.
    pub domain: String,
    /// A fixed `host:port` for it (skips DNS; may be private, since the operator wrote it).
    #[serde(default)]
    pub address: Option<String>,
}

impl Upstream {
    /// An allowed domain reached through DNS (SRV, then the domain on port 5222).
    #[must_use]
    pub fn new(domain: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            address: None,
        }
    }

    /// Connects to this fixed `host:port` instead of resolving the domain.
    #[must_use]
    pub fn with_address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }
}

/// The sticky routing cookie (docs/scaling.md): set on every session creation response, so that a load
/// balancer in front of several managers (HAProxy `cookie`, nginx `sticky`) sends the session's later requests
/// to the node that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StickyCookie {
    /// The cookie name (default `ZXMPPCM`).
    #[serde(default = "StickyCookie::default_name")]
    pub name: String,
    /// This node's id, the cookie value (e.g. `node-a`).
    pub value: String,
    /// The cookie's `Path` (default: the BOSH `path`).
    #[serde(default)]
    pub path: Option<String>,
    /// Add `Secure; SameSite=None` (for HTTPS deployments where the page is on another origin); otherwise
    /// `SameSite=Lax` (browsers refuse `SameSite=None` without `Secure`). Default false.
    #[serde(default)]
    pub secure: bool,
}

impl StickyCookie {
    fn default_name() -> String {
        "ZXMPPCM".to_owned()
    }

    /// A cookie `ZXMPPCM=value`.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            name: Self::default_name(),
            value: value.into(),
            path: None,
            secure: false,
        }
    }

    /// The `Set-Cookie` header value: `NAME=VALUE; Path=…; HttpOnly; SameSite=…[; Secure]`, with `bosh_path`
    /// as the path unless one is set.
    #[must_use]
    pub fn header(&self, bosh_path: &str) -> String {
        let path = self.path.as_deref().unwrap_or(bosh_path);
        let tail = if self.secure {
            "SameSite=None; Secure"
        } else {
            "SameSite=Lax"
        };
        format!(
            "{}={}; Path={path}; HttpOnly; {tail}",
            self.name, self.value
        )
    }

    fn validate(&self) -> Result<(), Error> {
        // RFC 6265 §4.1.1: the name is a token, the value cookie-octets, the path no control characters or `;`.
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
        };
        let octets = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'))
        };
        let path_ok =
            |s: &str| s.starts_with('/') && s.bytes().all(|b| b.is_ascii_graphic() && b != b';');
        if !token(&self.name) || !octets(&self.value) || !self.path.as_deref().is_none_or(path_ok) {
            return Err(Error::Config(format!(
                "sticky_cookie: invalid name {:?}, value {:?} or path {:?}",
                self.name, self.value, self.path
            )));
        }
        Ok(())
    }
}

/// The whole configuration. Every field has a default ([`Config::default`]) that is safe to run on a loopback
/// machine: listen on 127.0.0.1:5280, no upstream allowed until you list one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Address to listen on (default `127.0.0.1:5280`).
    pub listen: SocketAddr,
    /// HTTP path of the BOSH endpoint (default `/http-bind`).
    pub path: String,
    /// The upstream domains clients may reach. Empty (the default): none, unless `allow_any_domain`.
    pub upstreams: Vec<Upstream>,
    /// Let clients name any domain in `to` (an open gateway; default false).
    pub allow_any_domain: bool,
    /// Honour the `route` attribute (`xmpp:host:port`) when its host:port is in `allowed_routes` (default: none).
    pub allowed_routes: Vec<String>,
    /// Nameservers (`ip:port`, or `ip` for port 53) asked for SRV and address records instead of the system's
    /// resolver configuration (default: none, the system's).
    pub dns_servers: Vec<String>,
    /// The port tried on a domain that has no `_xmpp-client._tcp` SRV records (default 5222, RFC 6120 §3.2.2;
    /// change it only for tests).
    pub fallback_port: u16,
    /// Allow upstream addresses found by DNS that are private, loopback, link-local or otherwise not global
    /// (default false; addresses written in `upstreams` are always allowed).
    pub allow_private: bool,
    /// When upstream connections may stay without TLS (default `loopback`).
    pub plain_upstream: PlainUpstream,
    /// A PEM file of extra certificate authorities trusted for upstream STARTTLS (in addition to the Mozilla
    /// roots), e.g. a test server's own CA.
    pub upstream_ca_file: Option<PathBuf>,
    /// Seconds allowed for the upstream TCP connection and TLS handshake (default 10).
    pub connect_timeout_secs: u64,
    /// Largest HTTP request body in bytes (default 65536).
    pub max_body_bytes: usize,
    /// Most sessions at once (default 1000).
    pub max_sessions: usize,
    /// Most sessions at once from one client IP address (default 20).
    pub max_sessions_per_ip: usize,
    /// Largest `wait` granted, seconds (default 60).
    pub max_wait: u32,
    /// `inactivity`, seconds (default 60).
    pub inactivity: u32,
    /// `polling`, seconds (default 2).
    pub polling: u32,
    /// `maxpause`, seconds (default 120; 0 disables pause).
    pub maxpause: u32,
    /// Offer multiple streams in one session (XEP-0124 §16; default true): a client may add streams, each its
    /// own upstream connection.
    pub multiple_streams: bool,
    /// Most streams (upstream connections) in one session (default 4).
    pub max_streams: usize,
    /// A sticky routing cookie set on session creation responses (default none).
    pub sticky_cookie: Option<StickyCookie>,
    /// Enforce key sequencing when a client uses it (default true).
    pub check_keys: bool,
    /// End a session with `policy-violation` under XEP-0124 §11's second overactivity rule (a full window of
    /// unanswered requests, the last empty, within `polling` of the one before; default false: a client restored
    /// after a page reload does exactly that, and the oldest held request is answered instead, as Prosody does).
    pub strict_overactivity: bool,
    /// Origins allowed by CORS (`*` for any; default none: no CORS headers).
    pub cors_origins: Vec<String>,
    /// Path of the Prometheus metrics endpoint (default `/metrics`; empty to disable).
    pub metrics_path: String,
    /// Seconds given to sessions to end at shutdown (default 5).
    pub shutdown_grace_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 5280)),
            path: "/http-bind".to_owned(),
            upstreams: Vec::new(),
            allow_any_domain: false,
            allowed_routes: Vec::new(),
            dns_servers: Vec::new(),
            fallback_port: crate::policy::XMPP_CLIENT_PORT,
            allow_private: false,
            plain_upstream: PlainUpstream::Loopback,
            upstream_ca_file: None,
            connect_timeout_secs: 10,
            max_body_bytes: 64 * 1024,
            max_sessions: 1000,
            max_sessions_per_ip: 20,
            max_wait: 60,
            inactivity: 60,
            polling: 2,
            maxpause: 120,
            multiple_streams: true,
            max_streams: 4,
            sticky_cookie: None,
            check_keys: true,
            strict_overactivity: false,
            cors_origins: Vec::new(),
            metrics_path: "/metrics".to_owned(),
            shutdown_grace_secs: 5,
        }
    }
}

impl Config {
    /// Parses a TOML configuration; absent keys keep their defaults, unknown keys are refused.
    ///
    /// # Errors
    /// [`Error::Config`] naming the problem and its place, [`Error::InvalidAddress`] for a bad
    /// `upstreams.address` or `allowed_routes` entry.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let config: Self = toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the addresses and limits.
    ///
    /// # Errors
    /// As [`Config::from_toml`].
    pub fn validate(&self) -> Result<(), Error> {
        for address in self
            .upstreams
            .iter()
            .filter_map(|u| u.address.as_deref())
            .chain(self.allowed_routes.iter().map(String::as_str))
        {
            crate::policy::split_host_port(address)?;
        }
        self.dns_server_addrs()?;
        if let Some(cookie) = &self.sticky_cookie {
            cookie.validate()?;
        }
        if self.fallback_port == 0 {
            return Err(Error::Config("fallback_port must not be 0".to_owned()));
        }
        if !self.path.starts_with('/') {
            return Err(Error::Config(format!(
                "path {:?} must start with /",
                self.path
            )));
        }
        if self.max_body_bytes == 0
            || self.max_sessions == 0
            || self.max_sessions_per_ip == 0
            || self.max_streams == 0
        {
            return Err(Error::Config("limits must be at least 1".to_owned()));
        }
        Ok(())
    }

    /// The configured nameservers as socket addresses (port 53 when none is given).
    ///
    /// # Errors
    /// [`Error::InvalidAddress`] for an entry that is neither `ip` nor `ip:port`.
    pub fn dns_server_addrs(&self) -> Result<Vec<SocketAddr>, Error> {
        self.dns_servers
            .iter()
            .map(|s| {
                s.parse::<SocketAddr>()
                    .or_else(|_| {
                        s.parse::<std::net::IpAddr>()
                            .map(|ip| SocketAddr::new(ip, 53))
                    })
                    .map_err(|_| Error::InvalidAddress(s.clone()))
            })
            .collect()
    }

    /// The upstream connect timeout.
    #[must_use]
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }
}
