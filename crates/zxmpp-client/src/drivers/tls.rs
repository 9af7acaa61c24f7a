//! rustls client configuration shared by both drivers.

use std::path::PathBuf;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_rustls::rustls::{self, RootCertStore};

use super::DriverError;

/// Which certificate authorities a TLS connection trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsRoots {
    /// The Mozilla root program, compiled in (`webpki-roots`).
    #[default]
    WebPki,
    /// Only the certificates of this PEM file (a test server's own CA).
    CaFile(PathBuf),
    /// The Mozilla roots and the certificates of this PEM file.
    WebPkiAndCaFile(PathBuf),
}

impl TlsRoots {
    /// A rustls client configuration trusting these roots (the one the drivers use; also used by zxmpp-cm).
    ///
    /// # Errors
    /// [`DriverError::TlsConfig`] when the CA file cannot be read or holds no certificate.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, DriverError> {
        let mut roots = RootCertStore::empty();
        if matches!(self, Self::WebPki | Self::WebPkiAndCaFile(_)) {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        if let Self::CaFile(path) | Self::WebPkiAndCaFile(path) = self {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| DriverError::TlsConfig(format!("{}: {e}", path.display())))?;
            let mut added = 0usize;
            for cert in certs {
                let cert =
                    cert.map_err(|e| DriverError::TlsConfig(format!("{}: {e}", path.display())))?;
                roots
                    .add(cert)
                    .map_err(|e| DriverError::TlsConfig(format!("{}: {e}", path.display())))?;
                added += 1;
            }
            if added == 0 {
                return Err(DriverError::TlsConfig(format!(
                    "{}: no certificate found",
                    path.display()
                )));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| DriverError::TlsConfig(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}
