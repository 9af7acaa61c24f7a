//! `zxmpp caps`: entity capabilities hashes of disco#info replies.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use zxmpp_caps::{Algorithm, DiscoInfo, Error, xep0115, xep0390};

use crate::Failure;
use crate::input::read_input;

/// Entity capabilities (XEP-0115, XEP-0390).
#[derive(Debug, Args)]
pub(crate) struct CapsArgs {
    #[command(subcommand)]
    command: CapsCommand,
}

#[derive(Debug, Subcommand)]
enum CapsCommand {
    /// Prints the caps hash of a disco#info <query/> (or an <iq/> holding one).
    ///
    /// XEP-0115 verification string hashed with sha-1 by default; with --xep0390 the XEP-0390 hash
    /// (sha-256 by default). A reply that XEP-0115 §5.4 (or XEP-0390 §4.1) calls ill-formed exits 1.
    Ver {
        /// The file to read; `-` or nothing for standard input.
        #[arg(default_value = "-")]
        file: PathBuf,
        /// The hash algorithm (md5, sha-1, sha-224, sha-256, sha-384, sha-512, sha3-256, sha3-512,
        /// blake2b-256, blake2b-512).
        #[arg(long, value_name = "ALGO")]
        hash: Option<String>,
        /// The XEP-0390 (caps 2.0) hash instead of the XEP-0115 one.
        #[arg(long)]
        xep0390: bool,
    },
}

pub(crate) fn run(args: CapsArgs) -> Result<(), Failure> {
    match args.command {
        CapsCommand::Ver {
            file,
            hash,
            xep0390: caps2,
        } => {
            let default = if caps2 { "sha-256" } else { "sha-1" };
            let algo = Algorithm::from_name(hash.as_deref().unwrap_or(default));
            if !algo.is_known() {
                return Err(Failure::Usage(format!(
                    "unknown hash algorithm {:?}",
                    algo.name()
                )));
            }
            let bytes = read_input(&file)?;
            let info = DiscoInfo::parse(&bytes).map_err(invalid)?;
            let digest = if caps2 {
                xep0390::hash(&info, &algo)
            } else {
                xep0115::ver(&info, &algo)
            }
            .map_err(invalid)?;
            println!("{digest}");
            Ok(())
        }
    }
}

fn invalid(e: Error) -> Failure {
    match e {
        Error::Xml(x) => {
            Failure::Invalid(format!("invalid XML at byte {}: {}", x.offset(), x.kind()))
        }
        Error::IllFormed(reason) => {
            Failure::Invalid(format!("ill-formed disco#info reply: {reason}"))
        }
        other => Failure::Invalid(other.to_string()),
    }
}
