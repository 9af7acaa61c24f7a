//! Configuration parsing and the allow-list, without any server.

use std::net::IpAddr;

use zxmpp_bosh::Condition;
use zxmpp_cm::policy::is_global;
use zxmpp_cm::{Config, Error, PlainUpstream, Policy, Via};

#[test]
fn defaults_are_loopback_and_closed() {
    let c = Config::default();
    assert_eq!(c.listen.to_string(), "127.0.0.1:5280");
    assert!(c.upstreams.is_empty());
    assert!(!c.allow_any_domain && !c.allow_private && c.allowed_routes.is_empty());
    assert!(c.cors_origins.is_empty());
    let p = Policy::new(&c);
    assert_eq!(
        p.target(Some("example.org"), None),
        Err(Condition::HostUnknown)
    );
}

#[test]
fn toml_full_file() {
    let c = Config::from_toml(
        r#"
listen = "0.0.0.0:8080"
path = "/bosh"
allowed_routes = ["xmpp.example.org:5222"]
plain_upstream = "never"
cors_origins = ["https://a.example"]
max_body_bytes = 1000
max_sessions = 5
max_sessions_per_ip = 2
connect_timeout_secs = 3
[[upstreams]]
domain = "example.org"
[[upstreams]]
domain = "localhost"
address = "127.0.0.1:15222"
"#,
    )
    .unwrap();
    assert_eq!(c.path, "/bosh");
    assert_eq!(c.plain_upstream, PlainUpstream::Never);
    assert_eq!(c.upstreams.len(), 2);
    assert_eq!(c.max_sessions_per_ip, 2);
    assert_eq!(c.connect_timeout().as_secs(), 3);
}

#[test]
fn toml_unknown_key_is_refused() {
    assert!(matches!(
        Config::from_toml("lisen = \"127.0.0.1:1\""),
        Err(Error::Config(_))
    ));
}

#[test]
fn toml_bad_address_is_refused() {
    let e = Config::from_toml("[[upstreams]]\ndomain = \"a\"\naddress = \"nohost\"\n").unwrap_err();
    assert!(matches!(e, Error::InvalidAddress(_)), "{e:?}");
    assert!(Config::from_toml("max_sessions = 0").is_err());
}

fn policy(toml: &str) -> Policy {
    Policy::new(&Config::from_toml(toml).unwrap())
}

#[test]
fn listed_domain_with_srv_and_fallback() {
    let p =
        policy("[[upstreams]]\ndomain = \"example.org\"\n[[upstreams]]\ndomain = \"other.org\"\n");
    let t = p.target(Some("Example.ORG"), None).unwrap();
    assert_eq!(t.domain, "example.org");
    assert_eq!(t.via, Via::Dns);
    assert!(!t.is_pinned());
    // RFC 6120 §3.2.2: no SRV record, the domain itself on 5222 (tests may move it).
    assert_eq!(p.fallback_port(), 5222);
    assert_eq!(policy("fallback_port = 15222").fallback_port(), 15222);
}

#[test]
fn dns_servers_parse() {
    let c = Config::from_toml("dns_servers = [\"127.0.0.1:5353\", \"::1\"]").unwrap();
    assert_eq!(
        c.dns_server_addrs().unwrap(),
        vec![
            "127.0.0.1:5353".parse().unwrap(),
            "[::1]:53".parse().unwrap()
        ]
    );
    assert!(matches!(
        Config::from_toml("dns_servers = [\"ns.example\"]"),
        Err(Error::InvalidAddress(_))
    ));
    assert!(Config::from_toml("fallback_port = 0").is_err());
}

#[test]
fn missing_to_and_bad_domains() {
    let p = policy("allow_any_domain = true");
    assert_eq!(p.target(None, None), Err(Condition::ImproperAddressing));
    for bad in ["127.0.0.1", "a..b", "evil.org:25", "", "a b"] {
        assert_eq!(
            p.target(Some(bad), None),
            Err(Condition::HostUnknown),
            "{bad}"
        );
    }
    assert!(p.target(Some("any.example"), None).is_ok());
}

#[test]
fn route_only_when_allowed() {
    let p =
        policy("allowed_routes = [\"10.0.0.5:5222\"]\n[[upstreams]]\ndomain = \"example.org\"\n");
    let t = p
        .target(Some("example.org"), Some("xmpp:10.0.0.5:5222"))
        .unwrap();
    assert_eq!(
        t.via,
        Via::Fixed {
            host: "10.0.0.5".into(),
            port: 5222
        }
    );
    assert!(t.is_pinned());
    for route in [
        "xmpp:10.0.0.6:5222",
        "xmpp:10.0.0.5:22",
        "10.0.0.5:5222",
        "xmpp:junk",
    ] {
        assert_eq!(
            p.target(Some("example.org"), Some(route)),
            Err(Condition::ImproperAddressing),
            "{route}"
        );
    }
}

#[test]
fn private_addresses_refused_unless_pinned_or_allowed() {
    let p = policy(
        "[[upstreams]]\ndomain = \"example.org\"\n[[upstreams]]\ndomain = \"lab\"\naddress = \"192.168.1.2:5222\"\n",
    );
    let dns = p.target(Some("example.org"), None).unwrap();
    let pinned = p.target(Some("lab"), None).unwrap();
    let private: IpAddr = "192.168.1.2".parse().unwrap();
    let public: IpAddr = "93.184.216.34".parse().unwrap();
    assert!(!p.address_allowed(&dns, private));
    assert!(p.address_allowed(&dns, public));
    assert!(p.address_allowed(&pinned, private));
    let open = policy("allow_private = true\n[[upstreams]]\ndomain = \"example.org\"\n");
    assert!(open.address_allowed(&dns, private));
}

#[test]
fn global_addresses() {
    // Special-purpose registries (RFC 6890 and IANA's lists): none of these is global.
    for ip in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "192.0.2.1",
        "198.18.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fd00::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ] {
        assert!(!is_global(ip.parse().unwrap()), "{ip}");
    }
    for ip in [
        "93.184.216.34",
        "8.8.8.8",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
    ] {
        assert!(is_global(ip.parse().unwrap()), "{ip}");
    }
}
