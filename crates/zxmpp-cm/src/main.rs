//! `zxmpp-cm`: the BOSH connection manager binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use zxmpp_cm::{Config, Server, Upstream};

/// A BOSH (XEP-0124/XEP-0206) connection manager: browsers POST BOSH to it, it speaks XMPP c2s (with STARTTLS)
/// to the servers you allow.
///
/// Safe defaults: listens on 127.0.0.1:5280, allows no upstream until you name one (--upstream or the config's
/// [[upstreams]]), refuses private addresses found by DNS, ignores the `route` attribute unless allowed.
/// Flags override the config file. Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=zxmpp_cm=debug).
#[derive(Debug, Parser)]
#[command(name = "zxmpp-cm", version)]
struct Args {
    /// TOML configuration file (see docs/cm.md for every key); flags below override it.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:5280].
    #[arg(short, long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// HTTP path of the BOSH endpoint [default: /http-bind].
    #[arg(long, value_name = "PATH")]
    path: Option<String>,
    /// Allow an upstream domain: DOMAIN (found by DNS SRV, else DOMAIN:5222) or DOMAIN=HOST:PORT (a fixed address,
    /// private allowed). Repeatable.
    #[arg(short, long, value_name = "DOMAIN[=HOST:PORT]")]
    upstream: Vec<String>,
    /// Allow clients to name any domain (an open gateway to the public XMPP network; private addresses stay refused
    /// unless --allow-private).
    #[arg(long)]
    allow_any_domain: bool,
    /// Honour the `route` attribute `xmpp:HOST:PORT` for this HOST:PORT. Repeatable.
    #[arg(long, value_name = "HOST:PORT")]
    allow_route: Vec<String>,
    /// Ask this nameserver (IP or IP:PORT) for SRV and address records instead of the system's resolver.
    /// Repeatable.
    #[arg(long, value_name = "IP[:PORT]")]
    dns_server: Vec<String>,
    /// Allow upstream addresses found by DNS that are private, loopback or link-local.
    #[arg(long)]
    allow_private: bool,
    /// When upstream connections may stay without TLS: never, loopback (the default: test servers on 127.0.0.1)
    /// or always.
    #[arg(long, value_name = "WHEN")]
    plain_upstream: Option<String>,
    /// PEM file of extra CAs trusted for upstream STARTTLS (added to the Mozilla roots).
    #[arg(long, value_name = "FILE")]
    upstream_ca: Option<PathBuf>,
    /// Origins allowed by CORS (`*` for any). Repeatable. Default: none (no CORS headers).
    #[arg(long, value_name = "ORIGIN")]
    cors_origin: Vec<String>,
    /// Set a sticky routing cookie on session creation responses, for a load balancer in front of several
    /// managers: VALUE (this node's id; cookie name ZXMPPCM) or NAME=VALUE. See docs/scaling.md.
    #[arg(long, value_name = "[NAME=]VALUE")]
    sticky_cookie: Option<String>,
    /// Mark the sticky cookie `Secure; SameSite=None` (HTTPS, page on another origin).
    #[arg(long)]
    sticky_cookie_secure: bool,
    /// Largest request body, bytes [default: 65536].
    #[arg(long, value_name = "BYTES")]
    max_body_bytes: Option<usize>,
    /// Most sessions at once [default: 1000].
    #[arg(long, value_name = "N")]
    max_sessions: Option<usize>,
    /// Most sessions at once from one client IP [default: 20].
    #[arg(long, value_name = "N")]
    max_sessions_per_ip: Option<usize>,
    /// Seconds allowed to connect upstream, TLS included [default: 10].
    #[arg(long, value_name = "SECS")]
    connect_timeout: Option<u64>,
    /// BOSH `inactivity` in seconds [default: 60].
    #[arg(long, value_name = "SECS")]
    inactivity: Option<u32>,
    /// Largest BOSH `wait` granted in seconds [default: 60].
    #[arg(long, value_name = "SECS")]
    max_wait: Option<u32>,
    /// BOSH `maxpause` in seconds, 0 to disable pause [default: 120].
    #[arg(long, value_name = "SECS")]
    maxpause: Option<u32>,
    /// Path of the Prometheus metrics endpoint, empty to disable [default: /metrics].
    #[arg(long, value_name = "PATH")]
    metrics_path: Option<String>,
    /// Print the effective configuration check result and exit.
    #[arg(long)]
    check: bool,
}

fn build(args: Args) -> Result<Config, String> {
    let mut config = match &args.config {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Config::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(path) = args.path {
        config.path = path;
    }
    for u in args.upstream {
        config.upstreams.push(match u.split_once('=') {
            Some((domain, address)) => Upstream::new(domain).with_address(address),
            None => Upstream::new(u),
        });
    }
    config.allow_any_domain |= args.allow_any_domain;
    config.allowed_routes.extend(args.allow_route);
    config.allow_private |= args.allow_private;
    config.dns_servers.extend(args.dns_server);
    if let Some(p) = args.plain_upstream {
        config.plain_upstream = match p.as_str() {
            "never" => zxmpp_cm::PlainUpstream::Never,
            "loopback" => zxmpp_cm::PlainUpstream::Loopback,
            "always" => zxmpp_cm::PlainUpstream::Always,
            other => {
                return Err(format!(
                    "--plain-upstream {other:?}: expected never, loopback or always"
                ));
            }
        };
    }
    if args.upstream_ca.is_some() {
        config.upstream_ca_file = args.upstream_ca;
    }
    config.cors_origins.extend(args.cors_origin);
    if let Some(cookie) = args.sticky_cookie {
        config.sticky_cookie = Some(match cookie.split_once('=') {
            Some((name, value)) => {
                let mut c = zxmpp_cm::StickyCookie::new(value);
                c.name = name.to_owned();
                c
            }
            None => zxmpp_cm::StickyCookie::new(cookie),
        });
    }
    if args.sticky_cookie_secure {
        match config.sticky_cookie.as_mut() {
            Some(c) => c.secure = true,
            None => return Err("--sticky-cookie-secure needs --sticky-cookie".to_owned()),
        }
    }
    if let Some(n) = args.max_body_bytes {
        config.max_body_bytes = n;
    }
    if let Some(n) = args.max_sessions {
        config.max_sessions = n;
    }
    if let Some(n) = args.max_sessions_per_ip {
        config.max_sessions_per_ip = n;
    }
    if let Some(n) = args.connect_timeout {
        config.connect_timeout_secs = n;
    }
    if let Some(n) = args.inactivity {
        config.inactivity = n;
    }
    if let Some(n) = args.max_wait {
        config.max_wait = n;
    }
    if let Some(n) = args.maxpause {
        config.maxpause = n;
    }
    if let Some(p) = args.metrics_path {
        config.metrics_path = p;
    }
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// jemalloc: an idle session is ≈ 8 % smaller than with glibc's malloc (3.70 against 4.03 KiB at 9,000 sessions,
/// docs/benchmarks.md), its size classes keeping small long-lived allocations apart from the short-lived ones.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let args = Args::parse();
    let check = args.check;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match build(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("zxmpp-cm: {e}");
            return ExitCode::from(2);
        }
    };
    if check {
        println!(
            "configuration ok: listen {} path {}, {} upstream(s)",
            config.listen,
            config.path,
            config.upstreams.len()
        );
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zxmpp-cm: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match Server::bind(config).await {
            Ok(server) => {
                if let Ok(addr) = server.local_addr() {
                    eprintln!("zxmpp-cm: listening on http://{addr}");
                }
                server.run(shutdown_signal()).await;
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("zxmpp-cm: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
