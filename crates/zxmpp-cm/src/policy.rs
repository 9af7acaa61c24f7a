//! Where a session may go: the allow-list of upstream domains and routes, and the check that keeps the manager
//! from reaching private addresses found by DNS (it must never become an open relay into a network).

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

/// How a session's upstream is found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Via {
    /// A `host:port` the operator wrote (an `upstreams` address or an allowed `route`): private addresses are
    /// acceptable.
    Fixed {
        /// Host name or IP literal.
        host: String,
        /// Port.
        port: u16,
    },
    /// DNS (RFC 6120 §3.2): the SRV records of `_xmpp-client._tcp.DOMAIN`, else the domain on the fallback port
    /// ([`Policy::fallback_port`], 5222); every address found must pass [`Policy::address_allowed`].
    Dns,
}

/// Where to connect for one session (or one stream of it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target {
    /// The XMPP domain (the stream's `to`, and the name the TLS certificate must carry).
    pub domain: String,
    /// How to find the server.
    pub via: Via,
}

impl Target {
    /// Whether the operator wrote the address (then private addresses are acceptable).
    #[must_use]
    pub fn is_pinned(&self) -> bool {
        matches!(self.via, Via::Fixed { .. })
    }
}

/// Decides, for a session's `to` and `route`, where it may connect.
#[derive(Debug, Clone)]
pub struct Policy {
    upstreams: HashMap<String, Option<(String, u16)>>,
    allow_any_domain: bool,
    routes: Vec<(String, u16)>,
    allow_private: bool,
    fallback_port: u16,
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
            fallback_port: config.fallback_port,
        }
    }

    /// Where a session with these `to` and `route` attributes connects, or the condition to refuse it with:
    /// `improper-addressing` without `to`, `host-unknown` for a domain not allowed or not a plausible domain,
    /// `improper-addressing` for a `route` that is malformed or not allowed.
    ///
    /// # Errors
    /// The condition to terminate the session with.
    pub fn target(&self, to: Option<&str>, route: Option<&str>) -> Result<Target, Condition> {
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
                via: Via::Fixed { host, port },
            });
        }
        if let Some(Some((host, port))) = listed {
            return Ok(Target {
                domain,
                via: Via::Fixed {
                    host: host.clone(),
                    port: *port,
                },
            });
        }
        Ok(Target {
            domain,
            via: Via::Dns,
        })
    }

    /// The port tried on the domain itself when it has no SRV records (5222 unless configured otherwise).
    #[must_use]
    pub fn fallback_port(&self) -> u16 {
        self.fallback_port
    }

    /// Whether a resolved address may be connected to for `target`.
    #[must_use]
    pub fn address_allowed(&self, target: &Target, ip: IpAddr) -> bool {
        target.is_pinned() || self.allow_private || is_global(ip)
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
