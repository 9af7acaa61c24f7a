//! The sans-IO client core.

mod client;
mod config;
mod error;
mod event;
mod io;
mod xml;

pub use client::Client;
pub use config::ClientConfig;
pub use error::Error;
pub use event::{ClientEvent, IqRequest, Message, Presence, RosterItem};
pub use io::{Transmit, TransportEvent, TransportKind};
