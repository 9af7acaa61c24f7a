//! DNS for upstream connections (RFC 6120 §3.2): the `_xmpp-client._tcp` SRV records of a domain, ordered as
//! RFC 2782 says, with the fallback to the domain itself; the resolver behind it is a trait ([`SrvLookup`]) with
//! a real one ([`DnsResolver`], hickory-resolver: the system's configuration or nameservers of your own) and a
//! fixed table ([`StaticSrv`]) for tests.
//!
//! The ordering is a pure function ([`order_srv`], [`plan`]) with the random numbers passed in, so that it is
//! tested without DNS.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};

use crate::Error;

/// The SRV service label of client-to-server XMPP (RFC 6120 §3.2.1).
pub const XMPP_CLIENT_SERVICE: &str = "_xmpp-client._tcp";

/// A boxed future, as the [`SrvLookup`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SrvRecord {
    /// Lower is tried first.
    pub priority: u16,
    /// Among records of one priority, the relative chance of being tried first.
    pub weight: u16,
    /// The port.
    pub port: u16,
    /// The host, without the final dot; `"."` means "no service here".
    pub target: String,
}

impl SrvRecord {
    /// A record; a final dot of `target` is removed (but `"."` itself stays).
    #[must_use]
    pub fn new(priority: u16, weight: u16, port: u16, target: &str) -> Self {
        let target = match target.strip_suffix('.') {
            Some(stripped) if !stripped.is_empty() => stripped,
            _ => target,
        };
        Self {
            priority,
            weight,
            port,
            target: target.to_ascii_lowercase(),
        }
    }

    /// Whether this is the "decidedly not available" record (target `.`).
    #[must_use]
    pub fn is_no_service(&self) -> bool {
        self.target == "." || self.target.is_empty()
    }
}

/// The answer to an SRV query.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SrvAnswer {
    /// These records (in any order).
    Records(Vec<SrvRecord>),
    /// The name does not exist or has no SRV record: use the fallback (RFC 6120 §3.2.2).
    NoRecords,
    /// The lookup failed (timeout, server failure): also the fallback (§3.2.2: "if the SRV lookup aborts or
    /// fails").
    Failed,
}

/// Where to connect for a domain, once its SRV answer is known.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Plan {
    /// `(host, port)` targets, in the order to try them.
    Targets(Vec<(String, u16)>),
    /// The domain says it offers no client service (a single SRV record with target `.`): do not connect, and
    /// do not fall back.
    NoService,
}

/// Orders SRV records as RFC 2782 says: by priority, lowest first; within one priority, a weighted random
/// order (a record's chance to come next is its weight over the sum of the weights left; weight 0 records have
/// a very small chance, and come first in the running sum as the RFC describes). Records with target `.` are
/// dropped.
///
/// `random(n)` must return a uniformly random number in `0..=n`.
#[must_use]
pub fn order_srv(records: &[SrvRecord], random: &mut dyn FnMut(u32) -> u32) -> Vec<SrvRecord> {
    let mut usable: Vec<&SrvRecord> = records.iter().filter(|r| !r.is_no_service()).collect();
    // A stable sort keeps the answer's order within a priority before the weight-0 records move ahead.
    usable.sort_by_key(|r| r.priority);
    let mut out = Vec::with_capacity(usable.len());
    let mut start = 0;
    while start < usable.len() {
        let priority = usable[start].priority;
        let end = usable[start..]
            .iter()
            .position(|r| r.priority != priority)
            .map_or(usable.len(), |n| start + n);
        // RFC 2782: "all those with weight 0 are placed at the beginning of the list".
        let mut group: Vec<&SrvRecord> = usable[start..end].to_vec();
        group.sort_by_key(|r| r.weight != 0);
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let pick = random(total);
            let mut running = 0u32;
            let mut chosen = group.len() - 1;
            for (i, r) in group.iter().enumerate() {
                running += u32::from(r.weight);
                if running >= pick {
                    chosen = i;
                    break;
                }
            }
            out.push(group.remove(chosen).clone());
        }
        start = end;
    }
    out
}

/// The connection plan for `domain` from its SRV answer (RFC 6120 §3.2): the ordered SRV targets; the domain
/// itself on `fallback_port` (5222 in production) when there are no records or the lookup failed; or
/// [`Plan::NoService`] when every record has target `.`.
#[must_use]
pub fn plan(
    domain: &str,
    answer: &SrvAnswer,
    fallback_port: u16,
    random: &mut dyn FnMut(u32) -> u32,
) -> Plan {
    match answer {
        SrvAnswer::Records(records) if !records.is_empty() => {
            let ordered = order_srv(records, random);
            if ordered.is_empty() {
                Plan::NoService
            } else {
                Plan::Targets(ordered.into_iter().map(|r| (r.target, r.port)).collect())
            }
        }
        _ => Plan::Targets(vec![(domain.to_ascii_lowercase(), fallback_port)]),
    }
}

/// A uniformly random number in `0..=n` from the OS generator (`0` if it fails: the first record wins).
#[must_use]
pub fn os_random(n: u32) -> u32 {
    let r = u64::from(getrandom::u32().unwrap_or(0));
    // Multiply-shift: r * (n + 1) / 2^32, in 0..=n.
    u32::try_from((r * (u64::from(n) + 1)) >> 32).unwrap_or(n)
}

/// The DNS lookups the manager needs: SRV records of a domain's client service, and the addresses of a host.
///
/// [`DnsResolver`] asks DNS; [`StaticSrv`] is a fixed table. Every address found this way is checked against
/// the [`Policy`](crate::Policy) before the manager connects to it.
pub trait SrvLookup: Send + Sync + std::fmt::Debug {
    /// The SRV records of `_xmpp-client._tcp.DOMAIN`.
    fn lookup_srv<'a>(&'a self, domain: &'a str) -> BoxFuture<'a, SrvAnswer>;

    /// The addresses of `host` (A and AAAA), in the order to try them; empty when it does not resolve.
    fn lookup_ip<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Vec<IpAddr>>;
}

/// A fixed table of SRV answers; hosts resolve through the operating system (`getaddrinfo`).
#[derive(Debug, Clone, Default)]
pub struct StaticSrv {
    map: HashMap<String, Vec<SrvRecord>>,
}

impl StaticSrv {
    /// An empty table: every domain falls back to itself on port 5222.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a target for `domain`, with a lower priority (tried later) than the targets added before.
    #[must_use]
    pub fn with(mut self, domain: &str, host: &str, port: u16) -> Self {
        let records = self.map.entry(domain.to_ascii_lowercase()).or_default();
        let priority = u16::try_from(records.len()).unwrap_or(u16::MAX);
        records.push(SrvRecord::new(priority, 0, port, host));
        self
    }

    /// Adds a record for `domain`.
    #[must_use]
    pub fn with_record(mut self, domain: &str, record: SrvRecord) -> Self {
        self.map
            .entry(domain.to_ascii_lowercase())
            .or_default()
            .push(record);
        self
    }
}

impl SrvLookup for StaticSrv {
    fn lookup_srv<'a>(&'a self, domain: &'a str) -> BoxFuture<'a, SrvAnswer> {
        let answer = self
            .map
            .get(&domain.to_ascii_lowercase())
            .map_or(SrvAnswer::NoRecords, |r| SrvAnswer::Records(r.clone()));
        Box::pin(std::future::ready(answer))
    }

    fn lookup_ip<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Vec<IpAddr>> {
        Box::pin(async move {
            if let Ok(ip) = host.parse::<IpAddr>() {
                return vec![ip];
            }
            match tokio::net::lookup_host((host, 0)).await {
                Ok(addrs) => addrs.map(|a| a.ip()).collect(),
                Err(_) => Vec::new(),
            }
        })
    }
}

/// A DNS resolver (hickory-resolver on tokio): the system's configuration (`/etc/resolv.conf`), or the
/// nameservers you name. Answers are cached for their TTL.
#[derive(Clone)]
pub struct DnsResolver {
    inner: TokioResolver,
}

impl std::fmt::Debug for DnsResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsResolver").finish_non_exhaustive()
    }
}

impl DnsResolver {
    /// The operating system's resolver configuration.
    ///
    /// # Errors
    /// [`Error::Dns`] when the system configuration cannot be read.
    pub fn system() -> Result<Self, Error> {
        let builder =
            TokioResolver::builder_tokio().map_err(|e| Error::Dns(format!("system: {e}")))?;
        let inner = builder
            .build()
            .map_err(|e| Error::Dns(format!("system: {e}")))?;
        Ok(Self { inner })
    }

    /// These nameservers (UDP, then TCP for truncated answers), each query given `timeout`.
    ///
    /// # Errors
    /// [`Error::Dns`] when `servers` is empty or the resolver cannot be built.
    pub fn with_servers(servers: &[SocketAddr], timeout: Duration) -> Result<Self, Error> {
        if servers.is_empty() {
            return Err(Error::Dns("no nameservers".to_owned()));
        }
        let mut config = ResolverConfig::from_parts(None, Vec::new(), Vec::new());
        for server in servers {
            let mut udp = ConnectionConfig::udp();
            udp.port = server.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = server.port();
            config.add_name_server(NameServerConfig::new(server.ip(), true, vec![udp, tcp]));
        }
        let mut builder =
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        builder.options_mut().timeout = timeout;
        builder.options_mut().attempts = 1;
        let inner = builder
            .build()
            .map_err(|e| Error::Dns(format!("nameservers: {e}")))?;
        Ok(Self { inner })
    }
}

/// `name` as a fully qualified name (a final dot), so that no search domain is tried.
fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    }
}

impl SrvLookup for DnsResolver {
    fn lookup_srv<'a>(&'a self, domain: &'a str) -> BoxFuture<'a, SrvAnswer> {
        Box::pin(async move {
            let name = fqdn(&format!("{XMPP_CLIENT_SERVICE}.{domain}"));
            match self.inner.lookup(name.as_str(), RecordType::SRV).await {
                Ok(lookup) => {
                    let records: Vec<SrvRecord> = lookup
                        .answers()
                        .iter()
                        .filter_map(|record| match &record.data {
                            RData::SRV(srv) => Some(SrvRecord::new(
                                srv.priority,
                                srv.weight,
                                srv.port,
                                &srv.target.to_ascii(),
                            )),
                            _ => None,
                        })
                        .collect();
                    if records.is_empty() {
                        SrvAnswer::NoRecords
                    } else {
                        SrvAnswer::Records(records)
                    }
                }
                Err(e) if e.is_no_records_found() || e.is_nx_domain() => SrvAnswer::NoRecords,
                Err(e) => {
                    tracing::debug!(name, error = %e, "SRV lookup failed");
                    SrvAnswer::Failed
                }
            }
        })
    }

    fn lookup_ip<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Vec<IpAddr>> {
        Box::pin(async move {
            if let Ok(ip) = host.parse::<IpAddr>() {
                return vec![ip];
            }
            match self.inner.lookup_ip(fqdn(host).as_str()).await {
                Ok(found) => found.iter().collect(),
                Err(e) => {
                    tracing::debug!(host, error = %e, "address lookup failed");
                    Vec::new()
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
        SrvRecord::new(priority, weight, port, target)
    }

    /// A "random" source that replays numbers and records the totals it was asked about.
    fn scripted(
        values: &[u32],
    ) -> (
        impl FnMut(u32) -> u32,
        std::rc::Rc<std::cell::RefCell<Vec<u32>>>,
    ) {
        let asked = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let log = std::rc::Rc::clone(&asked);
        let mut values = values.iter().copied();
        (
            move |n| {
                log.borrow_mut().push(n);
                values.next().unwrap_or(0).min(n)
            },
            asked,
        )
    }

    fn targets(records: &[SrvRecord]) -> Vec<&str> {
        records.iter().map(|r| r.target.as_str()).collect()
    }

    #[test]
    fn rfc2782_priority_lowest_first() {
        let records = [rec(20, 0, 1, "c"), rec(10, 0, 1, "a"), rec(15, 0, 1, "b")];
        let (mut random, _) = scripted(&[]);
        assert_eq!(targets(&order_srv(&records, &mut random)), ["a", "b", "c"]);
    }

    /// RFC 2782's selection: running sums in list order (weight 0 first), the first record whose running sum is
    /// at least the random number.
    #[test]
    fn rfc2782_weighted_selection_follows_running_sums() {
        // One priority, weights 10, 30, 60: running sums 10, 40, 100.
        let records = [rec(0, 10, 1, "a"), rec(0, 30, 1, "b"), rec(0, 60, 1, "c")];
        // 41 > 40: "c"; then a=10, b=30 (sums 10, 40): 11 picks "b"; then "a".
        let (mut random, asked) = scripted(&[41, 11, 0]);
        assert_eq!(targets(&order_srv(&records, &mut random)), ["c", "b", "a"]);
        assert_eq!(*asked.borrow(), [100, 40, 10]);
        // 10 is still within "a"'s share; then b=30, c=60 (sums 30, 90): 90 picks "c".
        let (mut random, _) = scripted(&[10, 90, 0]);
        assert_eq!(targets(&order_srv(&records, &mut random)), ["a", "c", "b"]);
    }

    #[test]
    fn rfc2782_weight_zero_records_come_first_in_the_sum() {
        // Weight 0 is placed at the beginning: a random 0 selects it.
        let records = [rec(0, 5, 1, "heavy"), rec(0, 0, 1, "zero")];
        let (mut random, _) = scripted(&[0, 0]);
        assert_eq!(
            targets(&order_srv(&records, &mut random)),
            ["zero", "heavy"]
        );
        let (mut random, _) = scripted(&[1, 0]);
        assert_eq!(
            targets(&order_srv(&records, &mut random)),
            ["heavy", "zero"]
        );
    }

    #[test]
    fn weights_apply_within_a_priority_only() {
        let records = [
            rec(1, 1, 1, "late-light"),
            rec(0, 1, 1, "early-light"),
            rec(1, 1000, 1, "late-heavy"),
            rec(0, 1000, 1, "early-heavy"),
        ];
        let (mut random, _) = scripted(&[1001, 1, 1001, 1]);
        assert_eq!(
            targets(&order_srv(&records, &mut random)),
            ["early-heavy", "early-light", "late-heavy", "late-light"]
        );
    }

    /// Over many draws with the OS generator, the RFC 2782 selection (a random number in `0..=sum`, running sums
    /// 1 and 4): "one" is picked for 0 and 1, "three" for 2, 3 and 4, so "three" comes first 3/5 of the time.
    #[test]
    fn weights_with_the_os_generator_are_proportional() {
        let records = [rec(0, 1, 1, "one"), rec(0, 3, 1, "three")];
        let mut first_three = 0;
        let n = 4000;
        for _ in 0..n {
            if order_srv(&records, &mut os_random)[0].target == "three" {
                first_three += 1;
            }
        }
        // Expected 2400 of 4000; five standard deviations (~155) either way.
        assert!((2245..=2555).contains(&first_three), "{first_three}");
    }

    #[test]
    fn os_random_stays_in_range() {
        for n in [0, 1, 2, 7, 65535, u32::MAX] {
            for _ in 0..50 {
                assert!(os_random(n) <= n);
            }
        }
    }

    /// RFC 6120 §3.2.1/§3.2.2 and RFC 2782: "." means no service (no fallback); no records means the fallback.
    #[test]
    fn rfc6120_3_2_plan() {
        let (mut random, _) = scripted(&[]);
        assert_eq!(
            plan("Example.ORG", &SrvAnswer::NoRecords, 5222, &mut random),
            Plan::Targets(vec![("example.org".into(), 5222)])
        );
        assert_eq!(
            plan("example.org", &SrvAnswer::Failed, 15222, &mut random),
            Plan::Targets(vec![("example.org".into(), 15222)])
        );
        assert_eq!(
            plan(
                "example.org",
                &SrvAnswer::Records(vec![rec(0, 0, 0, ".")]),
                5222,
                &mut random
            ),
            Plan::NoService
        );
        assert_eq!(
            plan(
                "example.org",
                &SrvAnswer::Records(vec![rec(5, 0, 5223, "xmpp.example.org.")]),
                5222,
                &mut random
            ),
            Plan::Targets(vec![("xmpp.example.org".into(), 5223)])
        );
    }

    #[test]
    fn record_target_normalised() {
        assert_eq!(rec(0, 0, 1, "XMPP.Example.org.").target, "xmpp.example.org");
        assert!(rec(0, 0, 1, ".").is_no_service());
        assert!(!rec(0, 0, 1, "a.").is_no_service());
    }
}
