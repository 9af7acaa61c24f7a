//! Where a session may go: the allow-list of upstream domains and routes, DNS SRV targets and the check that
//! keeps the manager from reaching private addresses (it must never become an open relay into a network).

use std::collections::HashMap;
use std::net::IpAddr;

use zxmpp_bosh::Condition;

use crate::{Config, Error};

/// The default c2s port (RFC 6120 §3.2.3).
pub const XMPP_CLIENT_PORT: u16 = 5222;

/// Splits `host:port` (`[v6]:port` for IPv6 literals).
///
/// # Errors
/// [`Error::InvalidAddress`] when there is no port or the port is not a number.
pub fn split_host_port(address: &str) -> Result<(String, u16), Error> {
    let bad = || Error::InvalidAddress(address.to_owned());
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

/// DNS SRV lookups of `_xmpp-client._tcp.DOMAIN` (RFC 6120 §3.2.1): the targets in the order to try.
///
/// The crate ships [`StaticSrv`] (a fixed map, for tests and for operators who pin their servers); plug a DNS
/// resolver in by implementing this trait. A domain without SRV records falls back to the domain itself on port
/// 5222 (§3.2.2).
pub trait SrvLookup: Send + Sync + std::fmt::Debug {
    /// The `(host, port)` targets for `domain`, best first; empty when there are no records.
    fn lookup(&self, domain: &str) -> Vec<(String, u16)>;
}

/// A fixed table of SRV answers.
#[derive(Debug, Clone, Default)]
pub struct StaticSrv {
    map: HashMap<String, Vec<(String, u16)>>,
}

impl StaticSrv {
    /// An empty table: every domain falls back to port 5222.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a target for `domain` (tried in insertion order).
    #[must_use]
    pub fn with(mut self, domain: &str, host: &str, port: u16) -> Self {
        self.map
            .entry(domain.to_ascii_lowercase())
            .or_default()
            .push((host.to_owned(), port));
        self
    }
}

impl SrvLookup for StaticSrv {
    fn lookup(&self, domain: &str) -> Vec<(String, u16)> {
        self.map
            .get(&domain.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
    }
}

/// Where to connect for one session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target {
    /// The XMPP domain (the stream's `to`, and the name the TLS certificate must carry).
    pub domain: String,
    /// `(host, port)` candidates, tried in order.
    pub candidates: Vec<(String, u16)>,
    /// Whether the operator wrote these addresses (a fixed upstream or an allowed route): then private
    /// addresses are acceptable.
    pub pinned: bool,
}

/// Decides, for a session's `to` and `route`, where it may connect.
#[derive(Debug, Clone)]
pub struct Policy {
    upstreams: HashMap<String, Option<(String, u16)>>,
    allow_any_domain: bool,
    routes: Vec<(String, u16)>,
    allow_private: bool,
}

impl Policy {
    /// The policy of `config` (addresses already validated by [`Config::validate`]).
    #[must_use]
    pub fn new(config: &Config) -> Self {
        let upstreams = config
            .upstreams
            .iter()
            .map(|u| {
                let address = u.address.as_deref().and_then(|a| split_host_port(a).ok());
                (u.domain.to_ascii_lowercase(), address)
            })
            .collect();
        let routes = config
            .allowed_routes
            .iter()
            .filter_map(|r| split_host_port(r).ok())
            .map(|(h, p)| (h.to_ascii_lowercase(), p))
            .collect();
        Self {
            upstreams,
            allow_any_domain: config.allow_any_domain,
            routes,
            allow_private: config.allow_private,
        }
    }

    /// Where a session with these `to` and `route` attributes connects, or the condition to refuse it with:
    /// `improper-addressing` without `to`, `host-unknown` for a domain not allowed or not a plausible domain,
    /// `improper-addressing` for a `route` that is malformed or not allowed.
    ///
    /// # Errors
    /// The condition to terminate the session with.
    pub fn target(
        &self,
        to: Option<&str>,
        route: Option<&str>,
        srv: &dyn SrvLookup,
    ) -> Result<Target, Condition> {
        let domain = to
            .map(str::to_ascii_lowercase)
            .ok_or(Condition::ImproperAddressing)?;
        if !plausible_domain(&domain) {
            return Err(Condition::HostUnknown);
        }
        let listed = self.upstreams.get(&domain);
        if listed.is_none() && !self.allow_any_domain {
            return Err(Condition::HostUnknown);
        }
        if let Some(route) = route {
            let (host, port) = route
                .strip_prefix("xmpp:")
                .and_then(|r| split_host_port(r).ok())
                .ok_or(Condition::ImproperAddressing)?;
            let host = host.to_ascii_lowercase();
            if !self.routes.iter().any(|(h, p)| *h == host && *p == port) {
                return Err(Condition::ImproperAddressing);
            }
            return Ok(Target {
                domain,
                candidates: vec![(host, port)],
                pinned: true,
            });
        }
        if let Some(Some(fixed)) = listed {
            return Ok(Target {
                domain,
                candidates: vec![fixed.clone()],
                pinned: true,
            });
        }
        let mut candidates = srv.lookup(&domain);
        if candidates.is_empty() {
            candidates.push((domain.clone(), XMPP_CLIENT_PORT));
        }
        Ok(Target {
            domain,
            candidates,
            pinned: false,
        })
    }

    /// Whether a resolved address may be connected to for `target`.
    #[must_use]
    pub fn address_allowed(&self, target: &Target, ip: IpAddr) -> bool {
        target.pinned || self.allow_private || is_global(ip)
    }
}

/// A DNS name of letters, digits, `-` and `.` (no IP literals, no ports, no empty labels).
fn plausible_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.parse::<IpAddr>().is_err()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether `ip` is a public unicast address: not loopback, private (RFC 1918, fc00::/7), link-local,
/// CGNAT (100.64/10), unspecified, documentation, benchmarking, multicast or broadcast.
#[must_use]
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_global(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}
