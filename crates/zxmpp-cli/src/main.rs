//! `zxmpp`: inspect captured XMPP traffic, iChat AV invitations, property lists and typedstreams.
//!
//! Output is for humans by default and JSON with `--json` where a command offers it. Errors go to
//! stderr, with the byte offset where one is known. Exit status: 0 success, 1 invalid input,
//! 2 usage error.

mod caps;
mod input;
mod plist;
mod typedstream;
mod vc;
mod xml;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Inspect captured XMPP traffic and the Apple formats that ride on it.
#[derive(Debug, Parser)]
#[command(name = "zxmpp", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// XMPP stream tools.
    #[command(subcommand)]
    Xml(xml::XmlCommand),
    /// Entity capabilities: `zxmpp caps ver [FILE|-] [--hash ALGO] [--xep0390]`.
    Caps(caps::CapsArgs),
    /// Converts property lists (binary in CoreFoundation's layout, XML, JSON), like `plutil`.
    Plist(plist::PlistArgs),
    /// NSArchiver typedstream archives.
    Typedstream(typedstream::TypedstreamArgs),
    /// iChat AV invitations.
    #[command(subcommand)]
    Vc(vc::VcCommand),
}

/// Why a command failed; decides the exit status.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The input is not what the command reads (exit status 1).
    Invalid(String),
    /// The command was called wrongly, or a file could not be read or written (exit status 2).
    Usage(String),
}

impl Failure {
    fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Invalid(_) => ExitCode::from(1),
            Failure::Usage(_) => ExitCode::from(2),
        }
    }

    fn message(&self) -> &str {
        match self {
            Failure::Invalid(m) | Failure::Usage(m) => m,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<(), Failure> = match cli.command {
        Command::Xml(cmd) => xml::run(cmd),
        Command::Caps(args) => caps::run(args),
        Command::Plist(args) => plist::run(args),
        Command::Typedstream(args) => typedstream::run(args),
        Command::Vc(cmd) => vc::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("zxmpp: {}", failure.message());
            failure.exit_code()
        }
    }
}
