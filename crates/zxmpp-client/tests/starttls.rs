//! STARTTLS (RFC 6120 §5) through the TCP driver, against a scripted server in this test that does the TLS side
//! with rustls and a test CA (`tests/data/tls`). Needs no XMPP server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use zxmpp_client::drivers::{DriverError, TcpConfig, TcpDriver, TlsRoots};
use zxmpp_client::sasl::Mechanism;
use zxmpp_client::{Client, ClientConfig, ClientEvent};

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='s1' version='1.0'>";

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
}

fn acceptor() -> TlsAcceptor {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(data("server.pem"))
        .expect("server.pem")
        .collect::<Result<_, _>>()
        .expect("certificates");
    let key = PrivateKeyDer::from_pem_file(data("server.key")).expect("server.key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    TlsAcceptor::from(Arc::new(config))
}

/// Reads until `needle` has arrived; returns everything read.
async fn read_until<R: AsyncRead + Unpin>(r: &mut R, needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(needle) {
        let n = r.read(&mut buf).await.expect("read");
        assert!(
            n > 0,
            "connection closed while waiting for {needle:?}; got {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// The scripted server: STARTTLS required, then PLAIN offered; returns what the client sent after TLS.
/// The connection is handed back too, so that it stays open until the test looks at the client.
async fn server(
    listener: TcpListener,
) -> Result<
    (
        String,
        tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    ),
    String,
> {
    let (mut tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
    read_until(&mut tcp, "version='1.0'").await;
    tcp.write_all(
        format!(
            "{HEADER}<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>\
             </stream:features>"
        )
        .as_bytes(),
    )
    .await
    .map_err(|e| e.to_string())?;
    read_until(&mut tcp, "<starttls").await;
    tcp.write_all(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        .await
        .map_err(|e| e.to_string())?;
    let mut tls = acceptor()
        .accept(tcp)
        .await
        .map_err(|e| format!("TLS accept: {e}"))?;
    let header = read_until(&mut tls, "version='1.0'").await;
    tls.write_all(
        format!(
            "{HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
             <mechanism>PLAIN</mechanism></mechanisms></stream:features>"
        )
        .as_bytes(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let auth = read_until(&mut tls, "</auth>").await;
    Ok((header + &auth, tls))
}

fn client() -> Client {
    // No authentication without TLS: the PLAIN below can only happen inside TLS.
    let config = ClientConfig::new("carol@localhost", "secret", [3; 32])
        .with_mechanisms(&[Mechanism::Plain])
        .allow_insecure_auth(false);
    Client::new(config, Instant::now()).expect("client")
}

#[tokio::test(flavor = "current_thread")]
async fn rfc6120_5_starttls_then_sasl_inside_tls() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let server = tokio::spawn(server(listener));

    let mut client = client();
    let mut driver = TcpDriver::new(
        TcpConfig::new(address, "localhost").with_roots(TlsRoots::CaFile(data("ca.pem"))),
    );
    let run = async {
        loop {
            // `wait` is cancel-safe: give up on it now and then to look at the server.
            tokio::select! {
                r = driver.wait(&mut client) => r.expect("driver"),
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
            while client.poll_event().is_some() {}
            driver.stage(&mut client);
            driver.flush(&mut client).await.expect("flush");
            if server.is_finished() {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("in time");
    let (seen, _open) = server.await.expect("server task").expect("server");
    assert!(driver.is_secure(), "the connection is TLS now");
    // The stream was restarted inside TLS (RFC 6120 §5.4.3.3) and PLAIN went over it: NUL carol NUL secret.
    assert!(seen.contains("<stream:stream"), "{seen}");
    assert!(
        seen.contains("mechanism='PLAIN'>AGNhcm9sAHNlY3JldA==</auth>"),
        "{seen}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn rfc6120_5_starttls_refuses_a_certificate_for_another_name() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let server = tokio::spawn(server(listener));

    let mut client = client();
    // The certificate is for `localhost`; the driver checks `example.org`.
    let mut driver = TcpDriver::new(
        TcpConfig::new(address, "example.org").with_roots(TlsRoots::CaFile(data("ca.pem"))),
    );
    let mut events = Vec::new();
    let run = async {
        loop {
            driver.wait(&mut client).await.expect("driver");
            while let Some(e) = client.poll_event() {
                events.push(e);
            }
            driver.stage(&mut client);
            if let Err(e) = driver.flush(&mut client).await {
                while let Some(e) = client.poll_event() {
                    events.push(e);
                }
                return e;
            }
        }
    };
    let error = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("in time");
    // A certificate error is final: the driver stops instead of reconnecting.
    assert!(matches!(error, DriverError::Certificate(_)), "{error:?}");
    assert!(matches!(
        driver.wait(&mut client).await,
        Err(DriverError::Closed)
    ));
    let reason = events.iter().find_map(|e| match e {
        ClientEvent::Disconnected { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert!(
        reason.as_deref().is_some_and(|r| r.contains("TLS")),
        "{events:?}"
    );
    assert!(!driver.is_secure());
    // The server saw the handshake fail and never got an <auth/>.
    let outcome = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server ends");
    assert!(outcome.expect("server task").is_err());
}
