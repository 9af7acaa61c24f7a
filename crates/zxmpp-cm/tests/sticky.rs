//! The sticky routing cookie (docs/scaling.md) over real HTTP: set on session creation responses only, with the
//! attributes configured, and CORS that lets a cross-origin page store it (credentials need an explicit origin).

mod common;

use common::{Cm, NS, agent, attr, fresh_rid, silent_config};
use zxmpp_cm::{Config, Error, StickyCookie};

fn start(edit: impl FnOnce(&mut Config)) -> Cm {
    Cm::start(silent_config(edit))
}

struct Reply {
    body: String,
    headers: Vec<(String, String)>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn send(cm: &Cm, method: &str, origin: Option<&str>, body: &str) -> Reply {
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(&cm.url)
        .header("Content-Type", "text/xml; charset=utf-8");
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    if method == "OPTIONS" {
        request = request.header("Access-Control-Request-Method", "POST");
    }
    let mut response = agent().run(request.body(body.to_owned()).unwrap()).unwrap();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    let body = response.body_mut().read_to_string().unwrap();
    Reply { body, headers }
}

fn creation(to: &str) -> String {
    format!(
        "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='{}' to='{to}' wait='2' hold='1' ver='1.11' xmpp:version='1.0'/>",
        fresh_rid()
    )
}

#[test]
fn cookie_on_session_creation_only() {
    let cm = start(|c| c.sticky_cookie = Some(StickyCookie::new("node-a")));
    let request = creation("example.test");
    let created = send(&cm, "POST", None, &request);
    assert_eq!(
        created.header("set-cookie"),
        Some("ZXMPPCM=node-a; Path=/http-bind; HttpOnly; SameSite=Lax")
    );
    let sid = attr(&created.body, "sid").unwrap();
    let rid: u64 = attr(&request, "rid").unwrap().parse().unwrap();
    let next = send(
        &cm,
        "POST",
        None,
        &format!(
            "<body xmlns='{NS}' rid='{}' sid='{sid}' type='terminate'/>",
            rid + 1
        ),
    );
    assert!(next.body.contains("type='terminate'"), "{}", next.body);
    assert_eq!(next.header("set-cookie"), None);
    // A refused creation (a domain not allowed) sets nothing: no session lives on this node.
    let refused = send(&cm, "POST", None, &creation("elsewhere.test"));
    assert!(refused.body.contains("host-unknown"), "{}", refused.body);
    assert_eq!(refused.header("set-cookie"), None);
}

#[test]
fn cookie_name_path_and_secure_are_configurable() {
    let config = Config::from_toml(
        "[sticky_cookie]\nname = \"LB\"\nvalue = \"node-b\"\npath = \"/\"\nsecure = true\n",
    )
    .unwrap();
    let cm = start(|c| c.sticky_cookie = config.sticky_cookie);
    let created = send(&cm, "POST", None, &creation("example.test"));
    assert_eq!(
        created.header("set-cookie"),
        Some("LB=node-b; Path=/; HttpOnly; SameSite=None; Secure")
    );
    for bad in [
        "[sticky_cookie]\nvalue = \"a;b\"\n",
        "[sticky_cookie]\nname = \"a b\"\nvalue = \"x\"\n",
        "[sticky_cookie]\nvalue = \"\"\n",
        "[sticky_cookie]\nvalue = \"x\"\npath = \"nope\"\n",
    ] {
        assert!(
            matches!(Config::from_toml(bad), Err(Error::Config(_))),
            "{bad}"
        );
    }
}

/// Fetch/XHR with credentials: the response must name the origin (never `*`) and allow credentials, or the
/// browser drops the cookie; the preflight says the same.
#[test]
fn cors_allows_credentials_with_an_explicit_origin() {
    let cm = start(|c| {
        c.sticky_cookie = Some(StickyCookie::new("node-a"));
        c.cors_origins = vec!["https://chat.example".into()];
    });
    let created = send(
        &cm,
        "POST",
        Some("https://chat.example"),
        &creation("example.test"),
    );
    assert_eq!(
        created.header("access-control-allow-origin"),
        Some("https://chat.example")
    );
    assert_eq!(
        created.header("access-control-allow-credentials"),
        Some("true")
    );
    assert!(created.header("set-cookie").is_some());
    let preflight = send(&cm, "OPTIONS", Some("https://chat.example"), "");
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://chat.example")
    );
    assert_eq!(
        preflight.header("access-control-allow-credentials"),
        Some("true")
    );
    // Another origin gets no CORS headers at all.
    let other = send(&cm, "OPTIONS", Some("https://evil.example"), "");
    assert_eq!(other.header("access-control-allow-origin"), None);
    assert_eq!(other.header("access-control-allow-credentials"), None);

    // `*` echoes the origin (credentials forbid a literal `*`).
    let any = start(|c| {
        c.sticky_cookie = Some(StickyCookie::new("node-a"));
        c.cors_origins = vec!["*".into()];
    });
    let r = send(
        &any,
        "POST",
        Some("https://app.example"),
        &creation("example.test"),
    );
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));

    // Without a sticky cookie, no credentials header.
    let plain = start(|c| c.cors_origins = vec!["https://chat.example".into()]);
    let r = send(
        &plain,
        "POST",
        Some("https://chat.example"),
        &creation("example.test"),
    );
    assert_eq!(r.header("access-control-allow-credentials"), None);
}
