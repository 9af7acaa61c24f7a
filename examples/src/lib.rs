//! Runnable examples for the zxmpp crates; see `examples/`.
