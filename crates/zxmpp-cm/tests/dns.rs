//! Upstream DNS (RFC 6120 §3.2, RFC 2782) through the running manager and its hickory resolver, against a DNS
//! server of the test's own on loopback (a UDP responder whose answers hickory-proto encodes). The targets are
//! scripted TCP listeners that record who connected; the `prosody_*` tests log in to the test Prosody found
//! through SRV and through the fallback.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use common::{Cm, Session, env, is_terminate};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, SRV};
use hickory_proto::rr::{Name, RData, Record};
use zxmpp_cm::dns::{BoxFuture, SrvAnswer};
use zxmpp_cm::{Config, DnsResolver, SrvLookup, Upstream};

/// A tiny authoritative DNS server on 127.0.0.1: names it does not know are NXDOMAIN, known names without the
/// asked type are an empty NOERROR answer.
struct Dns {
    addr: SocketAddr,
}

type Zone = HashMap<String, Vec<RData>>;

fn srv(priority: u16, weight: u16, port: u16, target: &str) -> RData {
    RData::SRV(SRV::new(
        priority,
        weight,
        port,
        Name::from_ascii(target).unwrap(),
    ))
}

fn a(ip: [u8; 4]) -> RData {
    RData::A(A(Ipv4Addr::from(ip)))
}

impl Dns {
    fn start(records: &[(&str, RData)]) -> Self {
        let mut zone: Zone = HashMap::new();
        for (name, data) in records {
            zone.entry(name.to_ascii_lowercase())
                .or_default()
                .push(data.clone());
        }
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, peer)) = socket.recv_from(&mut buf) {
                let Ok(request) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut response = Message::response(request.metadata.id, request.metadata.op_code);
                response.metadata.message_type = MessageType::Response;
                response.metadata.authoritative = true;
                response.metadata.recursion_desired = request.metadata.recursion_desired;
                response.metadata.recursion_available = true;
                response.add_queries(request.queries.clone());
                for query in &request.queries {
                    let name = query.name().to_ascii().to_ascii_lowercase();
                    match zone.get(&name) {
                        None => response.metadata.response_code = ResponseCode::NXDomain,
                        Some(data) => {
                            for d in data
                                .iter()
                                .filter(|d| d.record_type() == query.query_type())
                            {
                                response.add_answer(Record::from_rdata(
                                    query.name().clone(),
                                    1,
                                    d.clone(),
                                ));
                            }
                        }
                    }
                }
                let _ = socket.send_to(&response.to_vec().unwrap(), peer);
            }
        });
        Self { addr }
    }
}

/// A TCP listener that reports the first bytes each accepted connection sends.
struct Listener {
    port: u16,
    seen: mpsc::Receiver<String>,
}

impl Listener {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, seen) = mpsc::channel();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                let tx = tx.clone();
                thread::spawn(move || {
                    stream
                        .set_read_timeout(Some(Duration::from_secs(2)))
                        .unwrap();
                    let mut buf = vec![0u8; 4096];
                    let n = stream.read(&mut buf).unwrap_or(0);
                    let _ = tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
                    // Keep the connection open a little, then hang up: the session fails afterwards.
                    thread::sleep(Duration::from_millis(300));
                });
            }
        });
        Self { port, seen }
    }

    fn connection(&self) -> Option<String> {
        self.seen.recv_timeout(Duration::from_secs(5)).ok()
    }

    fn nothing(&self) -> bool {
        self.seen.recv_timeout(Duration::from_millis(300)).is_err()
    }
}

/// A loopback port nobody listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(dns: &Dns, domain: &str, allow_private: bool) -> Config {
    let mut config = Config::default();
    config.upstreams.push(Upstream::new(domain));
    config.dns_servers = vec![dns.addr.to_string()];
    config.allow_private = allow_private;
    config.connect_timeout_secs = 3;
    config
}

/// RFC 2782 / RFC 6120 §3.2.1: the lowest priority first; an unreachable target is skipped for the next one;
/// a target of a worse priority is not tried once one answers.
#[test]
fn rfc6120_3_2_1_srv_priority_order_and_failover() {
    let first = Listener::start();
    let later = Listener::start();
    let dns = Dns::start(&[
        (
            "_xmpp-client._tcp.example.test.",
            srv(20, 0, later.port, "later.example.test."),
        ),
        (
            "_xmpp-client._tcp.example.test.",
            srv(0, 0, closed_port(), "dead.example.test."),
        ),
        (
            "_xmpp-client._tcp.example.test.",
            srv(10, 5, first.port, "first.example.test."),
        ),
        ("dead.example.test.", a([127, 0, 0, 1])),
        ("first.example.test.", a([127, 0, 0, 1])),
        ("later.example.test.", a([127, 0, 0, 1])),
    ]);
    let cm = Cm::start(config(&dns, "example.test", true));
    let (mut s, _) = Session::create(&cm.url, "example.test", "");
    let header = first
        .connection()
        .expect("the priority 10 target was tried");
    assert!(header.contains("to='example.test'"), "{header}");
    // The listener hangs up without a stream: the session ends, and nothing reached the priority 20 target.
    let end = s.until_terminated();
    assert!(is_terminate(&end, "remote-connection-failed"), "{end}");
    assert!(later.nothing());
}

/// RFC 6120 §3.2.2: no SRV record, the domain's own address on the fallback port (5222; moved here to a port of
/// the test's).
#[test]
fn rfc6120_3_2_2_fallback_to_the_domain_without_srv() {
    let target = Listener::start();
    let dns = Dns::start(&[("example.test.", a([127, 0, 0, 1]))]);
    let mut config = config(&dns, "example.test", true);
    config.fallback_port = target.port;
    let cm = Cm::start(config);
    let (_s, _) = Session::create(&cm.url, "example.test", "");
    let header = target.connection().expect("the fallback was tried");
    assert!(header.contains("to='example.test'"), "{header}");
}

/// RFC 2782: a target of "." means the service is decidedly not available: no connection, and no fallback to
/// the domain's address.
#[test]
fn rfc2782_dot_target_means_no_service() {
    let target = Listener::start();
    let dns = Dns::start(&[
        ("_xmpp-client._tcp.example.test.", srv(0, 0, 0, ".")),
        ("example.test.", a([127, 0, 0, 1])),
    ]);
    let mut config = config(&dns, "example.test", true);
    config.fallback_port = target.port;
    let cm = Cm::start(config);
    let (mut s, _) = Session::create(&cm.url, "example.test", "");
    let end = s.until_terminated();
    assert!(is_terminate(&end, "remote-connection-failed"), "{end}");
    assert!(target.nothing());
}

/// A public domain must not be a way into the manager's own network: an SRV target on 127.0.0.1 is refused
/// unless `allow_private`.
#[test]
fn private_addresses_found_by_dns_are_refused() {
    let target = Listener::start();
    let dns = Dns::start(&[
        (
            "_xmpp-client._tcp.example.test.",
            srv(0, 0, target.port, "inside.example.test."),
        ),
        ("inside.example.test.", a([127, 0, 0, 1])),
        ("example.test.", a([10, 0, 0, 1])),
    ]);
    let cm = Cm::start(config(&dns, "example.test", false));
    let (mut s, _) = Session::create(&cm.url, "example.test", "");
    let end = s.until_terminated();
    assert!(is_terminate(&end, "remote-connection-failed"), "{end}");
    assert!(target.nothing());
}

fn prosody_port() -> u16 {
    env("ZXMPP_PROSODY_C2S")
        .parse::<SocketAddr>()
        .unwrap()
        .port()
}

/// hickory-resolver never sends a query for a `localhost` name to a nameserver (RFC 6761 §6.3), and the test
/// Prosody only serves `localhost`: this resolver asks the real [`DnsResolver`] for the SRV records of another
/// name in its place, and passes address lookups through unchanged.
#[derive(Debug)]
struct Alias {
    inner: DnsResolver,
    domain: String,
    alias: String,
}

impl SrvLookup for Alias {
    fn lookup_srv<'a>(&'a self, domain: &'a str) -> BoxFuture<'a, SrvAnswer> {
        if domain == self.domain {
            self.inner.lookup_srv(&self.alias)
        } else {
            self.inner.lookup_srv(domain)
        }
    }

    fn lookup_ip<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Vec<IpAddr>> {
        self.inner.lookup_ip(host)
    }
}

/// The whole way: SRV records (the first target down) → a host name → its A record → log in and bind.
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_login_through_dns_srv() {
    let domain = env("ZXMPP_PROSODY_DOMAIN");
    let srv_name = "_xmpp-client._tcp.prosody.test.";
    let dns = Dns::start(&[
        (srv_name, srv(0, 0, closed_port(), "down.xmpp.test.")),
        (srv_name, srv(5, 10, prosody_port(), "c2s.xmpp.test.")),
        ("down.xmpp.test.", a([127, 0, 0, 1])),
        ("c2s.xmpp.test.", a([127, 0, 0, 1])),
    ]);
    let config = config(&dns, &domain, true);
    let resolver = Alias {
        inner: DnsResolver::with_servers(&[dns.addr], Duration::from_secs(2)).unwrap(),
        domain: domain.clone(),
        alias: "prosody.test".into(),
    };
    let cm = Cm::start_with(config, Some(Arc::new(resolver)));
    let s = Session::login(&cm.url, &domain, "carol", "cm-srv");
    assert!(s.inbox.contains("carol@localhost/cm-srv"), "{}", s.inbox);
}

/// No SRV record: the domain's address on the fallback port (hickory answers `localhost` itself, RFC 6761).
#[test]
#[ignore = "needs scripts/prosody start (run by scripts/test)"]
fn prosody_login_through_dns_fallback() {
    let domain = env("ZXMPP_PROSODY_DOMAIN");
    let dns = Dns::start(&[(&format!("{domain}."), a([127, 0, 0, 1]))]);
    let mut config = config(&dns, &domain, true);
    config.fallback_port = prosody_port();
    let cm = Cm::start(config);
    let s = Session::login(&cm.url, &domain, "carol", "cm-fallback");
    assert!(
        s.inbox.contains("carol@localhost/cm-fallback"),
        "{}",
        s.inbox
    );
}
