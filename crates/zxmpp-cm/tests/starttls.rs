//! STARTTLS upstream (RFC 6120 §5, XEP-0206 §4) through the running manager over real HTTP, against a scripted
//! XMPP server in this test that does the TLS side with rustls and a test CA (`tests/data/tls`, a certificate
//! for `localhost`). Needs no XMPP server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use zxmpp_cm::{Config, PlainUpstream, Server, Upstream};

const NS: &str = "http://jabber.org/protocol/httpbind";
const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='s1' version='1.0'>";

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
}

fn acceptor() -> TlsAcceptor {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(data("server.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(data("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

async fn read_until<R: AsyncRead + Unpin>(r: &mut R, needle: &str) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(needle) {
        let n = r.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
    }
    Some(String::from_utf8_lossy(&got).into_owned())
}

/// STARTTLS required, then PLAIN offered; sends back over `done` what came inside TLS.
async fn scripted_server(listener: TcpListener, done: std::sync::mpsc::Sender<Option<String>>) {
    let result = async {
        let (mut tcp, _) = listener.accept().await.ok()?;
        read_until(&mut tcp, "version='1.0'").await?;
        tcp.write_all(
            format!(
                "{HEADER}<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>\
                 </starttls></stream:features>"
            )
            .as_bytes(),
        )
        .await
        .ok()?;
        read_until(&mut tcp, "<starttls").await?;
        tcp.write_all(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            .await
            .ok()?;
        let mut tls = acceptor().accept(tcp).await.ok()?;
        let header = read_until(&mut tls, "version='1.0'").await?;
        tls.write_all(
            format!(
                "{HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
                 <mechanism>PLAIN</mechanism></mechanisms></stream:features>"
            )
            .as_bytes(),
        )
        .await
        .ok()?;
        let auth = read_until(&mut tls, "</auth>").await?;
        tls.write_all(b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
            .await
            .ok()?;
        // Keep the stream open until the manager closes it.
        let _ = read_until(&mut tls, "</stream:stream>").await;
        Some(header + &auth)
    }
    .await;
    let _ = done.send(result);
}

fn post(url: &str, body: &str) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let text = agent
        .post(url)
        .header("Content-Type", "text/xml; charset=utf-8")
        .send(body)
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    eprintln!("-> {body}\n<- {text}");
    text
}

fn sid(text: &str) -> String {
    let start = text.find(" sid='").unwrap() + 6;
    text[start..start + text[start..].find('\'').unwrap()].to_owned()
}

/// Runs a manager whose one upstream `domain` is pinned to the scripted server.
fn setup(
    domain: &str,
) -> (
    tokio::runtime::Runtime,
    String,
    std::sync::mpsc::Receiver<Option<String>>,
    tokio::sync::oneshot::Sender<()>,
) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let domain = domain.to_owned();
    let url = rt.block_on(async move {
        let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = upstream.local_addr().unwrap().to_string();
        tokio::spawn(scripted_server(upstream, done_tx));
        let mut config = Config::default();
        config.listen = "127.0.0.1:0".parse().unwrap();
        config
            .upstreams
            .push(Upstream::new(domain).with_address(address));
        config.plain_upstream = PlainUpstream::Never;
        config.upstream_ca_file = Some(data("ca.pem"));
        let server = Server::bind(config).await.unwrap();
        let url = format!("http://{}/http-bind", server.local_addr().unwrap());
        tokio::spawn(server.run(async {
            let _ = stop_rx.await;
        }));
        url
    });
    (rt, url, done_rx, stop_tx)
}

fn create(url: &str, to: &str) -> String {
    post(
        url,
        &format!(
            "<body xmlns='{NS}' xmlns:xmpp='urn:xmpp:xbosh' rid='500' to='{to}' wait='2' hold='1' xmpp:version='1.0'/>"
        ),
    )
}

#[test]
fn rfc6120_5_starttls_upstream_then_sasl_inside_tls() {
    let (_rt, url, done, stop) = setup("localhost");
    let sid = sid(&create(&url, "localhost"));
    let mut inbox = String::new();
    let mut rid = 500;
    let end = Instant::now() + Duration::from_secs(10);
    while !inbox.contains("<mechanism>PLAIN</mechanism>") {
        assert!(Instant::now() < end, "{inbox}");
        rid += 1;
        inbox.push_str(&post(
            &url,
            &format!("<body xmlns='{NS}' rid='{rid}' sid='{sid}'/>"),
        ));
    }
    // The client never sees the pre-TLS features.
    assert!(!inbox.contains("starttls"), "{inbox}");
    rid += 1;
    let r = post(
        &url,
        &format!(
            "<body xmlns='{NS}' rid='{rid}' sid='{sid}'><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth></body>"
        ),
    );
    let mut inbox = r;
    while !inbox.contains("<success") {
        assert!(Instant::now() < end, "{inbox}");
        rid += 1;
        inbox.push_str(&post(
            &url,
            &format!("<body xmlns='{NS}' rid='{rid}' sid='{sid}'/>"),
        ));
    }
    rid += 1;
    post(
        &url,
        &format!("<body xmlns='{NS}' rid='{rid}' sid='{sid}' type='terminate'/>"),
    );
    let inside = done
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .expect("the server saw the whole exchange");
    assert!(inside.contains("to='localhost'"), "{inside}");
    assert!(inside.contains("AGFsaWNlAHNlY3JldA=="), "{inside}");
    let _ = stop.send(());
}

/// The certificate is for `localhost`; the session is for `example.org` pinned to the same server: the
/// handshake fails and the session ends with `remote-connection-failed`.
#[test]
fn rfc6120_5_starttls_refuses_a_certificate_for_another_name() {
    let (_rt, url, _done, stop) = setup("example.org");
    let sid = sid(&create(&url, "example.org"));
    let text = post(&url, &format!("<body xmlns='{NS}' rid='501' sid='{sid}'/>"));
    let text = if text.contains("type='terminate'") {
        text
    } else {
        post(&url, &format!("<body xmlns='{NS}' rid='502' sid='{sid}'/>"))
    };
    assert!(
        text.contains("condition='remote-connection-failed'"),
        "{text}"
    );
    assert!(!text.contains("mechanism"), "{text}");
    let _ = stop.send(());
}
