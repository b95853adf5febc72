//! Flags and environment → one `Config`, passed explicitly.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::domain::UnknownMembers;
use crate::store::QueueLimits;

/// `--bind`: a socket address, or a host name and port resolved once (`localhost:8080`).
pub fn parse_bind(s: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = s.parse() {
        return Ok(a);
    }
    let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(s)
        .map_err(|e| format!("cannot resolve {s:?} (expected HOST:PORT or IP:PORT): {e}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("{s:?} resolves to no address"))
}

/// Every on/off flag of `cmd` and its subcommands takes a value as its environment
/// variable does: `--flag` alone, or `--flag=VALUE` with VALUE one of
/// 1/0/true/false/yes/no/on/off (clap's `BoolishValueParser`), the same words as the
/// variable (`MUSTER_NO_DELIVERER=yes`).
pub fn boolish(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|a| {
        if matches!(a.get_action(), clap::ArgAction::SetTrue) {
            a.action(clap::ArgAction::Set)
                .num_args(0..=1)
                .require_equals(true)
                .default_value("false")
                .default_missing_value("true")
                .value_parser(clap::builder::BoolishValueParser::new())
                // clap would list only true and false.
                .hide_possible_values(true)
        } else {
            a
        }
    })
    .mut_subcommands(boolish)
}

/// Everything `serve` needs. Each flag has an environment variable.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on: IP:PORT or HOST:PORT (a host name is resolved at start; its
    /// first IPv4 address is used when it has one, else its first address).
    #[arg(long, env = "MUSTER_BIND", default_value = "127.0.0.1:8080",
          value_parser = parse_bind)]
    pub bind: SocketAddr,

    /// Public URL used in meta.location, Location and Link headers [default: http(s)://<bind>].
    #[arg(long, env = "MUSTER_BASE_URL")]
    pub base_url: Option<String>,

    /// bcrypt cost for passwords (10-31; 4-9 only with MUSTER_ALLOW_WEAK_BCRYPT).
    #[arg(long, env = "MUSTER_BCRYPT_COST", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "MUSTER_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// PEM certificate chain; with --tls-key the server speaks HTTPS only.
    #[arg(long, env = "MUSTER_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(long, env = "MUSTER_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Lifetime of access tokens minted by the token endpoints, in seconds.
    #[arg(long, env = "MUSTER_ACCESS_TOKEN_TTL", default_value_t = 3600)]
    pub access_token_ttl: u64,

    /// Failed checks of one client secret or one user's password allowed per window, per
    /// instance; the next are refused with 429 until the window ends.
    #[arg(long, env = "MUSTER_AUTH_FAILURE_LIMIT", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub auth_failure_limit: u32,

    /// The window of --auth-failure-limit, in seconds.
    #[arg(long, env = "MUSTER_AUTH_FAILURE_WINDOW", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub auth_failure_window: u64,

    /// A web console session not used for this many seconds ends.
    #[arg(long, env = "MUSTER_CONSOLE_IDLE_TIMEOUT", default_value_t = 1800,
          value_parser = clap::value_parser!(u64).range(60..))]
    pub console_idle_timeout: u64,

    /// A web console session ends this many seconds after sign-in, used or not.
    #[arg(long, env = "MUSTER_CONSOLE_SESSION_LIFETIME", default_value_t = 43200,
          value_parser = clap::value_parser!(u64).range(60..))]
    pub console_session_lifetime: u64,

    /// Allow a bcrypt cost below 10 (test and CI runs only: weak hashes are fast to crack).
    #[arg(long, env = "MUSTER_ALLOW_WEAK_BCRYPT", hide = true)]
    pub allow_weak_bcrypt: bool,
    /// Requests that may wait for a database connection while all are in use; beyond them a
    /// request is refused at once with 503 and Retry-After (0: none wait).
    #[arg(long, env = "MUSTER_DB_QUEUE_DEPTH", default_value_t = QueueLimits::DEFAULT_DEPTH)]
    pub db_queue_depth: usize,

    /// The longest a request waits for a database connection, in milliseconds, before it is
    /// refused with 503 and Retry-After.
    #[arg(long, env = "MUSTER_DB_QUEUE_WAIT_MS", default_value_t = QueueLimits::DEFAULT_WAIT_MS,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub db_queue_wait_ms: u64,

    /// Let webhooks call loopback, link-local and private addresses (off: a tenant must not
    /// make Muster call into its own network). Checked on the hook's URL and again on the
    /// address its name resolves to at each delivery.
    #[arg(long, env = "MUSTER_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,

    /// Give up on a webhook delivery this many seconds after its event (recorded as failed
    /// in the hook's recent logs and in /metrics).
    #[arg(long, env = "MUSTER_WEBHOOK_GIVE_UP_AFTER", default_value_t = 24 * 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_give_up_after: u64,

    /// The longest one webhook request may take, in milliseconds (connect included).
    #[arg(long, env = "MUSTER_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(100..=120_000))]
    pub webhook_timeout_ms: u64,

    /// After SIGTERM, how long to keep serving with `/readyz` answering 503 before the
    /// listener closes, in milliseconds: a balancer's health check takes the instance out of
    /// rotation first, so no new connection meets a closing listener (see
    /// docs/operations.md). 0 (the default) closes at once.
    #[arg(long, env = "MUSTER_SHUTDOWN_DELAY_MS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub shutdown_delay_ms: u64,

    /// How long change events are kept, in hours (default 672: four weeks). Older events,
    /// and their deliveries, are deleted in small batches in the background; a feed request
    /// for a position older than what is kept is answered 410 `events_pruned` (resynchronise).
    /// At least --webhook-give-up-after, so an event is never pruned while it may still be
    /// delivered.
    #[arg(long, env = "MUSTER_EVENT_RETENTION_HOURS", default_value_t = 672,
          value_parser = clap::value_parser!(u64).range(1..=876_000))]
    pub event_retention_hours: u64,

    /// Run no deliverer in this instance (it still writes events and serves the feed).
    #[arg(long, env = "MUSTER_NO_DELIVERER")]
    pub no_deliverer: bool,

    /// What a SCIM member add (POST, PUT, PATCH of a group, and Bulk) does with an id that is
    /// not a user or group of the organization: `skip` adds the others and records the skipped
    /// ids in the audit entry and in muster_scim_skipped_members_total; `reject` answers 400
    /// and adds none.
    #[arg(long, env = "MUSTER_SCIM_UNKNOWN_MEMBERS", default_value = "skip",
          value_parser = ["skip", "reject"])]
    pub scim_unknown_members: String,

    /// What a SCIM request's schema extension that the organization has not registered
    /// does: `keep` stores it as sent (bounded, returned as sent, filterable as strings,
    /// counted in muster_scim_unknown_extensions_total), `ignore` drops it, `reject` answers
    /// 400 (docs/scim-extensions.md).
    #[arg(long, env = "MUSTER_SCIM_UNKNOWN_EXTENSIONS", default_value = "keep",
          value_parser = ["keep", "ignore", "reject"])]
    pub scim_unknown_extensions: String,

    /// A directory of RFC 7643 schema documents (`*.json`) registered as extensions for
    /// every organization; the built-in schemas there (as in the repository's
    /// `scim-schemas/`) are skipped. An extension's resource type is the last segment of
    /// its URN (`…:User`, `…:Group`).
    #[arg(long, env = "MUSTER_SCIM_SCHEMAS_DIR")]
    pub scim_schemas_dir: Option<std::path::PathBuf>,
}

impl ServeArgs {
    /// The schema files and the unknown-extension mode every organization's registry
    /// starts from.
    pub fn schema_settings(&self) -> Result<crate::store::schemas::Settings, String> {
        let unknown = crate::scim::schema::Unknown::parse(&self.scim_unknown_extensions)
            .ok_or_else(|| {
                format!(
                    "--scim-unknown-extensions must be keep, ignore or reject, got {:?}",
                    self.scim_unknown_extensions
                )
            })?;
        let files = match &self.scim_schemas_dir {
            Some(dir) => crate::scim::schema::load_dir(dir)?,
            None => vec![],
        };
        Ok(crate::store::schemas::Settings { files, unknown })
    }

    /// The line in front of the connection pool (and of password hashing).
    pub fn queue_limits(&self) -> QueueLimits {
        QueueLimits {
            depth: self.db_queue_depth,
            wait: std::time::Duration::from_millis(self.db_queue_wait_ms),
        }
    }
}

/// The lowest bcrypt cost a server accepts without --allow-weak-bcrypt.
pub const MIN_BCRYPT_COST: u32 = 10;

/// The configuration the HTTP application runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub base_url: url::Url,
    pub bcrypt_cost: u32,
    pub max_body_bytes: usize,
    pub access_token_ttl: u64,
    /// Brute-force limit: failed secret or password checks per key and window.
    pub auth_failure_limit: u32,
    pub auth_failure_window: std::time::Duration,
    /// Webhooks and the event tasks (docs/events.md).
    pub webhooks: WebhookConfig,
    /// Web console session timeouts.
    pub console_sessions: ConsoleSessions,
    /// What a SCIM member add does with an unknown member id (`--scim-unknown-members`).
    pub scim_unknown_members: UnknownMembers,
}

/// How webhooks are delivered.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Loopback, link-local and private addresses allowed.
    pub allow_private: bool,
    /// A delivery is given up this long after its event.
    pub give_up_after: std::time::Duration,
    /// One request's bound.
    pub timeout: std::time::Duration,
    /// First retry delay; doubled per attempt (with jitter) up to `max_backoff`.
    pub base_backoff: std::time::Duration,
    pub max_backoff: std::time::Duration,
    /// Whether this instance runs a deliverer.
    pub deliver: bool,
    /// The event tasks' safety poll: how often they look for work without a wake-up (a
    /// notification lost with the listening connection, a write by another process on
    /// SQLite). They are woken at once otherwise: in-process after a commit, by
    /// `LISTEN/NOTIFY` on PostgreSQL (docs/events.md).
    pub poll: std::time::Duration,
    /// Events (and their deliveries) older than this are pruned.
    pub retention: std::time::Duration,
    /// How often the pruner looks for what to prune.
    pub prune_every: std::time::Duration,
    /// A delivery's lease is twice the timeout and this: how long a delivery an instance
    /// died in the middle of waits before another instance takes it.
    pub lease_margin: std::time::Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            allow_private: false,
            give_up_after: std::time::Duration::from_secs(24 * 3600),
            timeout: std::time::Duration::from_secs(10),
            base_backoff: std::time::Duration::from_secs(1),
            max_backoff: std::time::Duration::from_secs(600),
            deliver: true,
            poll: std::time::Duration::from_secs(30),
            retention: std::time::Duration::from_secs(28 * 24 * 3600),
            prune_every: std::time::Duration::from_secs(600),
            lease_margin: std::time::Duration::from_secs(5),
        }
    }
}

/// How long web console sessions live.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleSessions {
    /// Ends a session not used for this long.
    pub idle: std::time::Duration,
    /// Ends a session this long after sign-in, used or not.
    pub absolute: std::time::Duration,
}

impl Default for ConsoleSessions {
    fn default() -> Self {
        ConsoleSessions {
            idle: std::time::Duration::from_secs(1800),
            absolute: std::time::Duration::from_secs(43200),
        }
    }
}

impl Config {
    pub fn from_args(args: &ServeArgs) -> Result<Config, String> {
        let scheme = if args.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        let raw = args
            .base_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{}", args.bind));
        let base_url = parse_base_url(&raw)?;
        if args.bcrypt_cost < MIN_BCRYPT_COST && !args.allow_weak_bcrypt {
            return Err(format!(
                "--bcrypt-cost {} is below {MIN_BCRYPT_COST}; such hashes are fast to crack \
                 (set MUSTER_ALLOW_WEAK_BCRYPT=true only for tests)",
                args.bcrypt_cost
            ));
        }
        if args.event_retention_hours * 3600 < args.webhook_give_up_after {
            return Err(format!(
                "--event-retention-hours {} is shorter than --webhook-give-up-after ({} s): an \
                 event could be pruned while its deliveries are still tried",
                args.event_retention_hours, args.webhook_give_up_after
            ));
        }
        Ok(Config {
            base_url,
            bcrypt_cost: args.bcrypt_cost,
            max_body_bytes: args.max_body_bytes,
            access_token_ttl: args.access_token_ttl.max(60),
            auth_failure_limit: args.auth_failure_limit,
            auth_failure_window: std::time::Duration::from_secs(args.auth_failure_window),
            webhooks: WebhookConfig {
                allow_private: args.webhook_allow_private,
                give_up_after: std::time::Duration::from_secs(args.webhook_give_up_after),
                timeout: std::time::Duration::from_millis(args.webhook_timeout_ms),
                deliver: !args.no_deliverer,
                retention: std::time::Duration::from_secs(args.event_retention_hours * 3600),
                ..WebhookConfig::default()
            },
            console_sessions: ConsoleSessions {
                idle: std::time::Duration::from_secs(args.console_idle_timeout),
                absolute: std::time::Duration::from_secs(args.console_session_lifetime),
            },
            scim_unknown_members: parse_unknown_members(&args.scim_unknown_members)?,
        })
    }

    /// A configuration for tests and embedding: defaults with the given base URL.
    pub fn for_base_url(base: &str) -> Result<Config, String> {
        Ok(Config {
            base_url: parse_base_url(base)?,
            bcrypt_cost: 4,
            max_body_bytes: 1024 * 1024,
            access_token_ttl: 3600,
            auth_failure_limit: 10,
            auth_failure_window: std::time::Duration::from_secs(300),
            webhooks: WebhookConfig::default(),
            console_sessions: ConsoleSessions::default(),
            scim_unknown_members: UnknownMembers::Skip,
        })
    }

    /// The public URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        let base = self.base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}

fn parse_unknown_members(s: &str) -> Result<UnknownMembers, String> {
    match s.to_ascii_lowercase().as_str() {
        "skip" => Ok(UnknownMembers::Skip),
        "reject" => Ok(UnknownMembers::Reject),
        other => Err(format!(
            "--scim-unknown-members must be skip or reject, got {other:?}"
        )),
    }
}

fn parse_base_url(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("invalid base URL {raw:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("the base URL {raw:?} must be an http or https URL"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_joins_paths_without_double_slashes() {
        let c = Config::for_base_url("https://id.example.com/muster/").unwrap();
        assert_eq!(
            c.url("/scim/v2/Users/1"),
            "https://id.example.com/muster/scim/v2/Users/1"
        );
        assert!(Config::for_base_url("ftp://x").is_err());
        assert!(Config::for_base_url("not a url").is_err());
    }

    #[derive(clap::Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn limits(argv: &[&str]) -> Result<QueueLimits, clap::Error> {
        use clap::Parser;
        Serve::try_parse_from(std::iter::once("serve").chain(argv.iter().copied()))
            .map(|s| s.args.queue_limits())
    }

    fn parsed(argv: &[&str]) -> Result<ServeArgs, clap::Error> {
        use clap::{CommandFactory, FromArgMatches};
        let m = boolish(Serve::command())
            .try_get_matches_from(std::iter::once("serve").chain(argv.iter().copied()))?;
        Serve::from_arg_matches(&m).map(|s| s.args)
    }

    #[test]
    fn on_off_flags_take_the_usual_words() {
        assert!(!parsed(&[]).unwrap().no_deliverer);
        assert!(parsed(&["--no-deliverer"]).unwrap().no_deliverer);
        for (word, on) in [
            ("1", true),
            ("0", false),
            ("true", true),
            ("false", false),
            ("yes", true),
            ("no", false),
            ("on", true),
            ("off", false),
            ("YES", true),
        ] {
            let arg = format!("--webhook-allow-private={word}");
            assert_eq!(parsed(&[&arg]).unwrap().webhook_allow_private, on, "{word}");
        }
        assert!(parsed(&["--no-deliverer=maybe"]).is_err());
    }

    #[test]
    fn the_line_in_front_of_the_pool_is_configurable_with_documented_defaults() {
        assert_eq!(
            limits(&[]).unwrap(),
            QueueLimits {
                depth: 128,
                wait: std::time::Duration::from_secs(5)
            }
        );
        assert_eq!(
            limits(&["--db-queue-depth", "0", "--db-queue-wait-ms", "250"]).unwrap(),
            QueueLimits {
                depth: 0,
                wait: std::time::Duration::from_millis(250)
            }
        );
        assert!(limits(&["--db-queue-wait-ms", "0"]).is_err());
        assert!(limits(&["--db-queue-depth", "-1"]).is_err());
    }

    #[test]
    fn unknown_scim_members_are_skipped_unless_reject_is_asked_for() {
        use clap::Parser;
        let policy = |argv: &[&str]| {
            Serve::try_parse_from(std::iter::once("serve").chain(argv.iter().copied()))
                .map_err(|e| e.to_string())
                .and_then(|s| Config::from_args(&s.args))
                .map(|c| c.scim_unknown_members)
        };
        assert_eq!(policy(&[]), Ok(UnknownMembers::Skip));
        assert_eq!(
            policy(&["--scim-unknown-members", "reject"]),
            Ok(UnknownMembers::Reject)
        );
        assert!(policy(&["--scim-unknown-members", "ignore"]).is_err());
    }
}
