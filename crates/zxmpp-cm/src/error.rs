//! The crate's error type.

/// What went wrong while configuring or running the connection manager.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The TOML configuration is invalid (the message names the line and column).
    #[error("configuration: {0}")]
    Config(String),
    /// A configured address or route does not parse as `host:port`.
    #[error("invalid address {0:?}: expected host:port")]
    InvalidAddress(String),
    /// Binding or accepting on the listening socket failed.
    #[error("listen on {address}: {source}")]
    Listen {
        /// The address.
        address: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The DNS resolver could not be set up.
    #[error("DNS resolver: {0}")]
    Dns(String),
    /// The TLS settings for upstream connections could not be loaded.
    #[error("upstream TLS: {0}")]
    Tls(String),
}
