//! The `muster` command line: serve, migrate, and what an operator needs before the first
//! HTTP call (organizations, tokens, OAuth clients, credit usage records).

use std::io::Write;

use anyhow::{anyhow, bail, Context, Result};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use serde_json::json;

use muster::auth;
use muster::config::ServeArgs;
use muster::domain::{Credential, CredentialKind, OrgId, Scopes, UsageRecord};
use muster::portability;
use muster::store::{self, Store};

/// mimalloc instead of glibc's allocator: a request allocates and frees many small buffers
/// across threads (hyper's, serde_json's, diesel's), and glibc's malloc and free were an
/// eighth of a GET's time in the profile (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Write a line to standard output. When the reader has gone (`muster org list | head -1`),
/// the command stops quietly with status 141, as a tool killed by SIGPIPE would: no panic,
/// no message.
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::out_line(format_args!($($t)*))
    };
}

/// Write a line to standard error, ignoring a closed stream (no panic).
macro_rules! errln {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

mod schema_cli;

/// The exit status of a command whose reader closed the pipe (128 + SIGPIPE).
const EXIT_CLOSED_PIPE: i32 = 141;

fn out_line(args: std::fmt::Arguments) {
    if let Err(e) = writeln!(std::io::stdout(), "{args}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(EXIT_CLOSED_PIPE);
        }
        errln!("error: writing to standard output: {e}");
        std::process::exit(1);
    }
}

/// Whether an error comes from writing to a reader that has gone.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(|j| j.io_error_kind())
                .is_some_and(|k| k == std::io::ErrorKind::BrokenPipe)
    })
}

/// Log lines go to standard error; a closed stderr (`muster serve 2>&1 | head`) drops
/// them instead of failing (tracing-subscriber would report the failure with eprintln!,
/// which panics on a closed stream and took the server down).
struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// RUST_LOG, or `info` when it is unset or empty; an invalid value is an error, not
/// silently ignored.
fn log_filter() -> Result<tracing_subscriber::EnvFilter> {
    match std::env::var("RUST_LOG") {
        Err(std::env::VarError::NotPresent) => Ok(tracing_subscriber::EnvFilter::new("info")),
        Err(std::env::VarError::NotUnicode(_)) => bail!("RUST_LOG is not valid UTF-8"),
        Ok(v) if v.trim().is_empty() => Ok(tracing_subscriber::EnvFilter::new("info")),
        Ok(v) => tracing_subscriber::EnvFilter::try_new(&v).map_err(|e| {
            anyhow!(
                "invalid RUST_LOG {v:?}: {e} (expected directives such as \
                 `info` or `warn,muster=debug`)"
            )
        }),
    }
}

#[derive(Parser)]
#[command(
    name = "muster",
    version,
    about = "Identity provisioning server: SCIM 2.0 and vendor user-management dialects"
)]
struct Cli {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://muster.db",
        global = true
    )]
    database_url: String,

    /// Database connections per process [default: 8 on SQLite, 10 on PostgreSQL]. With
    /// several instances on one PostgreSQL, keep instances × pool below max_connections.
    #[arg(long, env = "MUSTER_DB_POOL_SIZE", global = true,
          value_parser = clap::value_parser!(u32).range(1..=512))]
    db_pool_size: Option<u32>,

    /// The first admin credential of organization `default`: ensure this token (id
    /// `bootstrap`, every scope) exists, at whichever command runs first and at every later
    /// one while it is set. At least 16 characters. Without it (or the file), the first
    /// command on a terminal generates one and shows it there, once.
    #[arg(
        long,
        env = "MUSTER_BOOTSTRAP_TOKEN",
        hide_env_values = true,
        global = true
    )]
    bootstrap_token: Option<String>,

    /// Read that token from this file instead (one line; for container and systemd
    /// credentials).
    #[arg(
        long,
        env = "MUSTER_BOOTSTRAP_TOKEN_FILE",
        global = true,
        value_name = "FILE"
    )]
    bootstrap_token_file: Option<std::path::PathBuf>,

    /// Run Muster's migrations on a database that has tables but is not Muster's (no
    /// Muster migration recorded): without it such a database is refused untouched.
    #[arg(long, env = "MUSTER_ADOPT_DATABASE", global = true)]
    adopt_database: bool,

    /// Log lines as text, or as one JSON object per line (for a log collector).
    #[arg(long, env = "MUSTER_LOG_FORMAT", global = true, default_value = "text",
          value_parser = ["text", "json"])]
    log_format: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (applies pending migrations first).
    Serve {
        #[command(flatten)]
        args: ServeArgs,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Organizations (tenants).
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// API tokens (bearer secrets).
    Token {
        #[command(subcommand)]
        command: CredCommand,
    },
    /// OAuth clients (client id + secret): mint access tokens, or sign Sumo-style Basic calls.
    Client {
        #[command(subcommand)]
        command: CredCommand,
    },
    /// Users: what an operator does before anyone can sign in to the web console.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Credit usage records for the Sumo Logic organizations API.
    Usage {
        #[command(subcommand)]
        command: UsageCommand,
    },
    /// Write the directory as a dump (JSON lines, docs/portability.md) to standard output.
    Export {
        /// Only this organization and its descendants (repeatable).
        #[arg(long)]
        org: Vec<String>,
        /// No progress lines on stderr.
        #[arg(long, short)]
        quiet: bool,
    },
    /// List users who share a primary email or phone number in an organization (written
    /// before the uniqueness rule, or imported), one JSON line per shared value, for an
    /// admin to resolve. Exit status: 0 when there are none, 3 when some are listed, 1 on
    /// an error.
    Conflicts {
        /// Only this organization.
        #[arg(long)]
        org: Option<String>,
    },
    /// Custom SCIM schema extensions (docs/scim-extensions.md).
    Schema {
        #[command(subcommand)]
        command: schema_cli::SchemaCommand,
    },
    /// Read a dump (from `muster export`) into the database; rows already there are kept.
    Import {
        /// The dump file, or - for standard input.
        #[arg(default_value = "-")]
        file: String,
        /// No progress lines on stderr.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Copy the directory from one database to another (export + import, no file), then
    /// compare each table's count and checksum; exits non-zero when they differ.
    Copy {
        /// Source database URL.
        #[arg(long)]
        from: String,
        /// Target database URL.
        #[arg(long)]
        to: String,
        /// Only this organization and its descendants (repeatable).
        #[arg(long)]
        org: Vec<String>,
        /// No progress lines on stderr.
        #[arg(long, short)]
        quiet: bool,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organization.
    Create {
        /// Its id (a slug); generated when omitted.
        #[arg(long)]
        id: Option<String>,
        /// Display name [default: the id].
        #[arg(long)]
        name: Option<String>,
        /// Parent organization, for child organizations.
        #[arg(long)]
        parent: Option<String>,
    },
    /// List organizations.
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Give a user the organization's Administrator role (capability orgs:admin), created
    /// when missing: they can then sign in to the web console at /console.
    GrantAdmin {
        /// The user's organization.
        #[arg(long, default_value = "default")]
        org: String,
        /// Their user name or email (or SCIM id).
        user: String,
    },
}

#[derive(Subcommand)]
enum CredCommand {
    /// Create one; prints it as JSON with its secret (shown only here).
    Create {
        /// Organization it belongs to.
        #[arg(long, default_value = "default")]
        org: String,
        /// Its id; generated when omitted.
        #[arg(long)]
        id: Option<String>,
        /// Its secret; generated when omitted. At least 16 characters.
        #[arg(long)]
        secret: Option<String>,
        /// Space- or comma-separated scopes: scim users:read users:write orgs:admin, or all.
        #[arg(long, default_value = "all")]
        scopes: String,
        /// What it is for, such as "Entra ID provisioning" (required: the console and the
        /// activity log show it); 1-255 characters.
        #[arg(long)]
        label: String,
        /// Bind it to a user (its SCIM id), so SCIM `/Me` answers with that user.
        #[arg(long)]
        user: Option<String>,
        /// When it stops working (RFC 3339, such as 2027-01-31T00:00:00Z); never when omitted.
        #[arg(long)]
        expires: Option<String>,
    },
    /// Give one a new secret (printed with it, only here); the old secret keeps working for
    /// the grace period.
    Rotate {
        /// Its id.
        id: String,
        /// How long the old secret keeps working, in seconds (0 to 2592000, 30 days).
        #[arg(long, default_value_t = 0)]
        grace_seconds: i64,
    },
    /// List them (never their secrets).
    List {
        /// Only this organization's.
        #[arg(long)]
        org: Option<String>,
    },
    /// Revoke one by id.
    Revoke {
        /// Its id.
        id: String,
    },
}

#[derive(Subcommand)]
enum UsageCommand {
    /// Load records from a CSV file with the header date,product_variable,credits_used,unit.
    /// A record replaces the organization's record of the same date, product variable and
    /// unit, so loading a file again changes nothing.
    Load {
        /// The organization the records are of.
        #[arg(long)]
        org: String,
        /// CSV file, or - for standard input.
        file: String,
    },
}

/// The command line as clap parses it, every on/off flag taking a value as its variable
/// does (`muster::config::boolish`).
fn command() -> clap::Command {
    muster::config::boolish(Cli::command())
}

fn main() {
    let cli = Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit());
    let filter = match log_filter() {
        Ok(f) => f,
        Err(e) => {
            errln!("error: {e:#}");
            std::process::exit(2);
        }
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LogWriter);
    if cli.log_format == "json" {
        logs.json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    if let Err(e) = run(cli) {
        if is_broken_pipe(&e) {
            std::process::exit(EXIT_CLOSED_PIPE);
        }
        errln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// How a command opens its database.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    /// It may make a new SQLite file (serve, migrate, import, the target of copy).
    MayCreate,
    /// The database must already exist: a missing SQLite file is an error naming it, not a
    /// new empty database in whatever folder the command ran from.
    Existing,
}

/// The first-run step: whether a command runs it, and whether it may generate a token.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Migrations only (export, import, copy: a dump is restored as it is).
    Migrate,
    /// Migrations, `default` and its first admin credential.
    Bootstrap,
    /// The same, but a token is never generated: the command makes the first credential
    /// itself (`token create` / `client create` for `default`).
    BootstrapNoToken,
}

/// The database a URL names, for messages: a SQLite file by its absolute path, a PostgreSQL
/// URL without its password.
fn describe(url: &str) -> Result<(String, Option<std::path::PathBuf>)> {
    match store::Backend::from_url(url).map_err(|e| anyhow!(e))? {
        store::Backend::Sqlite { path } => {
            if path == ":memory:" || path.starts_with("file:") {
                return Ok((format!("sqlite:{path}"), None));
            }
            let p = std::path::Path::new(&path);
            let abs = if p.is_absolute() {
                p.to_path_buf()
            } else {
                std::env::current_dir()
                    .context("cannot read the current directory")?
                    .join(p)
            };
            Ok((format!("sqlite://{}", abs.display()), Some(abs)))
        }
        store::Backend::Postgres { url } => Ok((redact(&url), None)),
    }
}

/// A PostgreSQL URL with any password (in the authority or the query) replaced by `***`.
fn redact(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return "postgres://(unparsable URL)".into();
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if u.query_pairs().any(|(k, _)| k == "password") {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "password" {
                    "***".to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

/// Connect to `url` and say which database it is: on stderr for a command, in the log for
/// `serve`. Migrations and the first-run step are [`open_db`]'s.
fn connect(url: &str, pool: Option<u32>, how: Open, announce: bool) -> Result<Store> {
    let (name, file) = describe(url)?;
    let mut created = false;
    if let Some(file) = &file {
        if !file.exists() {
            if how == Open::Existing {
                bail!(
                    "no database at {name}: this command does not create one. Run `muster serve` \
                     or `muster migrate` to create it, or name yours with --database-url or \
                     DATABASE_URL (a relative sqlite:// path is taken from the current folder)"
                );
            }
            created = true;
        }
    }
    let store = Store::connect_with(url, pool).map_err(|e| anyhow!("{name}: {e}"))?;
    let note = if created { " (new file)" } else { "" };
    if announce {
        errln!("database: {name}{note}");
    } else {
        tracing::info!(database = %name, created, "database opened");
    }
    Ok(store)
}

/// A database with tables but no Muster migration is another application's: Muster adds
/// its tables only when told to (`--adopt-database`).
fn refuse_foreign(store: &Store, url: &str, adopt: bool) -> Result<()> {
    let foreign = store.foreign_tables().map_err(|e| anyhow!(e))?;
    if foreign.is_empty() {
        return Ok(());
    }
    let (name, _) = describe(url)?;
    let shown: Vec<&str> = foreign.iter().take(8).map(String::as_str).collect();
    let more = if foreign.len() > shown.len() {
        format!(" and {} more", foreign.len() - shown.len())
    } else {
        String::new()
    };
    if adopt {
        tracing::warn!(database = %name, tables = %shown.join(", "), "adopting a database that is not Muster's (--adopt-database)");
        return Ok(());
    }
    bail!(
        "{name} is not a Muster database: it has tables ({}{more}) and no Muster migrations. \
         Nothing was changed. Name an empty database or Muster's own, or pass \
         --adopt-database (MUSTER_ADOPT_DATABASE=yes) to add Muster's tables beside these",
        shown.join(", ")
    );
}

/// The bootstrap token the operator supplied, from the flag, the environment or the file.
fn supplied_token(cli: &Cli) -> Result<Option<String>> {
    match (&cli.bootstrap_token, &cli.bootstrap_token_file) {
        (Some(_), Some(_)) => bail!(
            "give the bootstrap token once: MUSTER_BOOTSTRAP_TOKEN or MUSTER_BOOTSTRAP_TOKEN_FILE, not both"
        ),
        (Some(t), None) => Ok(Some(t.clone())),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the bootstrap token file {}", path.display()))?;
            let token = text.trim_end_matches(['\n', '\r']).trim();
            if token.is_empty() {
                bail!("the bootstrap token file {} is empty", path.display());
            }
            Ok(Some(token.to_string()))
        }
        (None, None) => Ok(None),
    }
}

/// Where a generated admin token may be shown: a terminal the command writes to (its
/// stderr, else its stdout), never a log stream kept by systemd or a container runtime.
fn terminal() -> Option<Box<dyn Write>> {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        Some(Box::new(std::io::stderr()))
    } else if std::io::stdout().is_terminal() {
        Some(Box::new(std::io::stdout()))
    } else {
        None
    }
}

/// Open the database for a command: connect, say which, then the first-run step.
fn open_db(cli: &Cli, url: &str, how: Open, step: Step, serve: bool) -> Result<Store> {
    let supplied = match step {
        Step::Migrate => None,
        _ => supplied_token(cli)?,
    };
    if let Some(token) = &supplied {
        muster::server::check_bootstrap_token(token).map_err(|e| anyhow!(e))?;
    }
    let pool = if serve { cli.db_pool_size } else { None };
    let store = connect(url, pool, how, !serve)?;
    refuse_foreign(&store, url, cli.adopt_database)?;
    if step == Step::Migrate {
        store
            .migrate()
            .map_err(|e| anyhow!("migrations failed: {e}"))?;
        return Ok(store);
    }
    let mut shown = if step == Step::Bootstrap {
        terminal()
    } else {
        None
    };
    match muster::server::bootstrap(&store, supplied.as_deref(), shown.is_some())
        .map_err(|e| anyhow!(e))?
    {
        muster::server::Bootstrap::Generated(token) => {
            let out = shown.as_mut().expect("generated only with a terminal");
            writeln!(
                out,
                "\nCreated the first admin token of organization `default` (shown once, keep it):\n\n    {token}\n"
            )?;
            out.flush()?;
        }
        muster::server::Bootstrap::Pending => tracing::warn!(
            "organization `default` has no admin credential yet, and no terminal to show a \
             generated one on: set MUSTER_BOOTSTRAP_TOKEN (or MUSTER_BOOTSTRAP_TOKEN_FILE) \
             and start again, or run `muster token create --label admin` from a shell"
        ),
        muster::server::Bootstrap::Supplied | muster::server::Bootstrap::Done => {}
    }
    Ok(store)
}

fn run(cli: Cli) -> Result<()> {
    let url = cli.database_url.clone();
    let url = url.as_str();
    let boot = |how| open_db(&cli, url, how, Step::Bootstrap, false);
    match &cli.command {
        Command::Serve { args } => {
            let store = open_db(&cli, url, Open::MayCreate, Step::Bootstrap, true)?;
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(muster::server::serve(args, store))
                .map_err(|e| anyhow!(e))
        }
        Command::Migrate => {
            let (name, _) = describe(url)?;
            let store = boot(Open::MayCreate)?;
            outln!("database {name} ({}) is up to date", store.backend().name());
            Ok(())
        }
        Command::Org { command } => org(boot(Open::Existing)?, command),
        Command::Token { command } | Command::Client { command } => {
            let kind = if matches!(cli.command, Command::Token { .. }) {
                CredentialKind::Token
            } else {
                CredentialKind::Client
            };
            // Making a credential for `default` is itself the first admin credential.
            let step = match command {
                CredCommand::Create { org, .. } if org == store::orgs::DEFAULT_ORG => {
                    Step::BootstrapNoToken
                }
                _ => Step::Bootstrap,
            };
            credential(
                open_db(&cli, url, Open::Existing, step, false)?,
                kind,
                command,
            )
        }
        Command::User { command } => user(boot(Open::Existing)?, command),
        Command::Usage { command } => usage(&cli, command),
        Command::Export { org, quiet } => export(
            open_db(&cli, url, Open::Existing, Step::Migrate, false)?,
            org.clone(),
            *quiet,
        ),
        Command::Import { file, quiet } => import(
            open_db(&cli, url, Open::MayCreate, Step::Migrate, false)?,
            file,
            *quiet,
        ),
        Command::Conflicts { org } => conflicts(boot(Open::Existing)?, org.clone()),
        Command::Schema { command } => schema_cli::run(&boot(Open::Existing)?, command.clone()),
        Command::Copy {
            from,
            to,
            org,
            quiet,
        } => copy(&cli, from, to, org.clone(), *quiet),
    }
}

fn scope(orgs: Vec<String>) -> Result<portability::Scope> {
    if orgs.is_empty() {
        return Ok(portability::Scope::All);
    }
    for o in &orgs {
        OrgId::parse(o).map_err(|e| anyhow!(e))?;
    }
    Ok(portability::Scope::Orgs(orgs))
}

fn export(store: Store, orgs: Vec<String>, quiet: bool) -> Result<()> {
    let scope = scope(orgs)?;
    let mut conn = store.conn()?;
    let stdout = std::io::stdout().lock();
    let mut w = std::io::BufWriter::with_capacity(1 << 16, stdout);
    portability::export(&mut conn, store.backend().name(), &scope, &mut w, quiet)?;
    // The last buffered lines: a reader that has gone is noticed here (exit 141), not
    // dropped silently with the writer.
    w.flush()?;
    Ok(())
}

fn print_import(summary: &portability::ImportSummary) {
    for w in &summary.warnings {
        errln!("warning: {w}");
    }
    for t in &summary.tables {
        outln!(
            "{}",
            json!({"table": t.table, "read": t.read, "inserted": t.inserted,
                   "present": t.read - t.inserted})
        );
    }
}

fn import(store: Store, file: &str, quiet: bool) -> Result<()> {
    let mut conn = store.conn()?;
    let mut input: Box<dyn std::io::BufRead> = if file == "-" {
        Box::new(std::io::BufReader::with_capacity(1 << 16, std::io::stdin()))
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("cannot read {file}"))?;
        Box::new(std::io::BufReader::with_capacity(1 << 16, f))
    };
    let summary = portability::import(&mut conn, &mut input, quiet)?;
    print_import(&summary);
    warn_conflicts(&mut conn)?;
    Ok(())
}

/// An import restores rows as the dump has them (a backup is restored whole, duplicates and
/// all), so the uniqueness rule's outcome is reported instead of enforced: the shared values
/// now in the database, for `muster conflicts` to list and an admin to resolve.
fn warn_conflicts(conn: &mut store::DbConn) -> Result<()> {
    let found = store::users::duplicates(conn, None)?;
    if !found.is_empty() {
        errln!(
            "warning: {} primary email(s) or phone number(s) are shared by several users of \
             an organization; `muster conflicts` lists them",
            found.len()
        );
    }
    Ok(())
}

fn copy(cli: &Cli, from: &str, to: &str, orgs: Vec<String>, quiet: bool) -> Result<()> {
    let scope = scope(orgs)?;
    if same_database(from, to)? {
        bail!(
            "--from and --to name the same database ({})",
            describe(from)?.0
        );
    }
    let source =
        open_db(cli, from, Open::Existing, Step::Migrate, false).context("the source database")?;
    let target =
        open_db(cli, to, Open::MayCreate, Step::Migrate, false).context("the target database")?;
    let report = portability::copy(&source, &target, &scope, quiet)?;
    print_import(&report.import);
    outln!(
        "{:<16} {:>10} {:>10}  {:<64}  match",
        "table",
        "source",
        "target",
        "checksum (source)"
    );
    for s in &report.source.tables {
        let t = report.target.tables.iter().find(|t| t.table == s.table);
        outln!(
            "{:<16} {:>10} {:>10}  {:<64}  {}",
            s.table,
            s.count,
            t.map_or(0, |t| t.count),
            s.checksum,
            if t.is_some()
                && t == report
                    .import
                    .written
                    .tables
                    .iter()
                    .find(|w| w.table == s.table)
            {
                "yes"
            } else {
                "NO"
            }
        );
    }
    let diff = report.differences();
    if !diff.is_empty() {
        bail!("the target differs from the source: {}", diff.join("; "));
    }
    Ok(())
}

/// Whether two URLs name one database: one SQLite file however spelled (relative or
/// absolute, through a symbolic link, or a hard link: the same device and inode; a file
/// not made yet by its resolved folder and name), or one PostgreSQL database (the same
/// host address, port and database name).
fn same_database(a: &str, b: &str) -> Result<bool> {
    use store::Backend;
    Ok(
        match (
            Backend::from_url(a).map_err(|e| anyhow!(e))?,
            Backend::from_url(b).map_err(|e| anyhow!(e))?,
        ) {
            (Backend::Sqlite { path: x }, Backend::Sqlite { path: y }) => {
                if x == y {
                    return Ok(true);
                }
                match (describe(a)?.1, describe(b)?.1) {
                    (Some(x), Some(y)) => match (store::FileId::of(&x), store::FileId::of(&y)) {
                        (Ok(x), Ok(y)) => x == y,
                        _ => resolved(&x) == resolved(&y),
                    },
                    _ => false,
                }
            }
            (Backend::Postgres { url: x }, Backend::Postgres { url: y }) => {
                pg_identity(&x) == pg_identity(&y)
            }
            _ => false,
        },
    )
}

/// A path with its folder resolved (links followed), for a file that may not exist yet.
fn resolved(p: &std::path::Path) -> std::path::PathBuf {
    match (p.parent().map(std::fs::canonicalize), p.file_name()) {
        (Some(Ok(dir)), Some(name)) => dir.join(name),
        _ => p.to_path_buf(),
    }
}

/// The server addresses, port and database name a PostgreSQL URL names (libpq's defaults:
/// localhost, 5432, the database named as the user).
fn pg_identity(url: &str) -> Option<(Vec<std::net::IpAddr>, u16, String)> {
    let u = url::Url::parse(url).ok()?;
    let query = |k: &str| {
        u.query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
    };
    let host = query("host")
        .or_else(|| u.host_str().filter(|h| !h.is_empty()).map(str::to_string))
        .unwrap_or_else(|| "localhost".into());
    let port = query("port")
        .and_then(|p| p.parse().ok())
        .or(u.port())
        .unwrap_or(5432);
    let user = query("user").unwrap_or_else(|| u.username().to_string());
    let db = query("dbname")
        .or_else(|| Some(u.path().trim_start_matches('/').to_string()).filter(|d| !d.is_empty()))
        .unwrap_or(user);
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let mut addrs: Vec<std::net::IpAddr> =
        std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .map(|a| a.map(|a| a.ip()).collect())
            .unwrap_or_default();
    if host.starts_with('/') || addrs.is_empty() {
        // A Unix socket folder, or a name that does not resolve: compared as written.
        return Some((Vec::new(), port, format!("{host}/{db}")));
    }
    addrs.sort();
    addrs.dedup();
    // localhost is one server whichever loopback address names it.
    if addrs.iter().all(|a| a.is_loopback()) {
        addrs = vec![std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)];
    }
    Some((addrs, port, db))
}

/// The exit status of `muster conflicts` when it listed some.
const CONFLICTS_FOUND: i32 = 3;

fn conflicts(store: Store, org: Option<String>) -> Result<()> {
    let mut conn = store.conn()?;
    let org = org
        .map(|o| OrgId::parse(&o).map_err(|e| anyhow!(e)))
        .transpose()?;
    let found = store::users::duplicates(&mut conn, org.as_ref())?;
    let mut out = std::io::stdout().lock();
    for d in &found {
        let users: Vec<_> = d
            .users
            .iter()
            .map(|(id, name)| json!({"id": muster::domain::id_to_hex(*id), "userName": name}))
            .collect();
        writeln!(
            out,
            "{}",
            json!({"org": d.org_id, "field": d.field.scim_attribute(), "value": d.key,
                   "users": users})
        )?;
    }
    out.flush()?;
    drop(out);
    if found.is_empty() {
        errln!("no conflicts");
        Ok(())
    } else {
        errln!(
            "{} shared value(s): change all but one user's, through any API or the console",
            found.len()
        );
        std::process::exit(CONFLICTS_FOUND);
    }
}

fn user(store: Store, command: &UserCommand) -> Result<()> {
    let UserCommand::GrantAdmin { org, user } = command;
    let mut conn = store.conn()?;
    let org = OrgId::parse(org).map_err(|e| anyhow!(e))?;
    let uid = match muster::domain::id_from_hex(user) {
        Some(id) if store::users::exists(&mut conn, &org, id)? => id,
        _ => store::users::find_by_key(&mut conn, &org, user)?
            .with_context(|| format!("no user {user:?} in organization {org}"))?,
    };
    let principal = muster::domain::Principal {
        org_id: org.clone(),
        scopes: Scopes::all(),
        credential_id: "cli".into(),
        user_id: None,
        schemas_version: None,
    };
    let caller = muster::directory::Caller {
        principal: &principal,
        dialect: "admin",
        bcrypt_cost: 10,
    };
    let role = muster::directory::roles::grant_admin(&mut conn, &caller, uid)?;
    outln!(
        "{}",
        json!({"org": org.as_str(), "userId": muster::domain::id_to_hex(uid),
               "role": role.role.name, "capabilities": role.role.capabilities})
    );
    Ok(())
}

fn org(store: Store, command: &OrgCommand) -> Result<()> {
    let mut conn = store.conn()?;
    match command {
        OrgCommand::Create { id, name, parent } => {
            let id = id.clone().unwrap_or_else(|| auth::generate_id("org-"));
            let id = OrgId::parse(&id).map_err(|e| anyhow!(e))?;
            let parent = parent
                .as_ref()
                .map(|p| OrgId::parse(p).map_err(|e| anyhow!(e)))
                .transpose()?;
            let name = name.clone().unwrap_or_else(|| id.to_string());
            let o = store::orgs::create(&mut conn, &id, &name, parent.as_ref()).map_err(
                |e| match e {
                    store::StoreError::NotFound => anyhow!("parent organization not found"),
                    other => anyhow!(other),
                },
            )?;
            outln!("{}", muster::dialects::admin::organization_json(o));
        }
        OrgCommand::List => {
            for o in store::orgs::list(&mut conn)? {
                outln!("{}", muster::dialects::admin::organization_json(o));
            }
        }
    }
    Ok(())
}

/// A credential as the admin API shows it (`GET /admin/v1/credentials`), and the
/// organization it belongs to (the API shows the caller's own only).
fn credential_json(c: &Credential, secret: Option<&str>) -> serde_json::Value {
    let mut v = muster::dialects::admin::credential_json(c.clone(), secret.map(str::to_string));
    v["organization"] = json!(c.org_id.as_str());
    v
}

fn credential(store: Store, kind: CredentialKind, command: &CredCommand) -> Result<()> {
    let mut conn = store.conn()?;
    match command {
        CredCommand::Create {
            org,
            id,
            secret,
            scopes,
            label,
            user,
            expires,
        } => {
            let org = OrgId::parse(org).map_err(|e| anyhow!(e))?;
            let label = label.trim();
            if label.is_empty()
                || label.chars().any(char::is_control)
                || label.chars().count() > 255
            {
                bail!("--label is 1-255 characters without control characters");
            }
            let expires_at = match expires {
                Some(t) => {
                    let t = chrono::DateTime::parse_from_rfc3339(t)
                        .map_err(|_| {
                            anyhow!(
                                "--expires takes an RFC 3339 time, such as 2027-01-31T00:00:00Z"
                            )
                        })?
                        .naive_utc();
                    if t <= chrono::Utc::now().naive_utc() {
                        bail!("--expires must be in the future");
                    }
                    Some(t)
                }
                None => None,
            };
            let user_id = match user {
                Some(u) => {
                    let id = muster::domain::id_from_hex(u)
                        .ok_or_else(|| anyhow!("--user takes a user id (16 hex digits)"))?;
                    store::users::get(&mut conn, &org, id)
                        .map_err(|_| anyhow!("no user {u} in organization {org}"))?;
                    Some(id)
                }
                None => None,
            };
            let scopes = Scopes::parse(scopes).map_err(|e| anyhow!(e))?;
            let (prefix, secret_prefix) = match kind {
                CredentialKind::Token => ("tok_", "mst_"),
                CredentialKind::Client => ("cli_", ""),
            };
            let id = id.clone().unwrap_or_else(|| auth::generate_id(prefix));
            if id.is_empty() || id.len() > 128 || id.contains(':') {
                bail!("an id is 1-128 characters without ':'");
            }
            let secret = secret
                .clone()
                .unwrap_or_else(|| auth::generate_secret(secret_prefix));
            if secret.len() < 16 {
                bail!("a secret must be at least 16 characters");
            }
            let c = store::credentials::create(
                &mut conn,
                store::credentials::NewCredential {
                    id: &id,
                    org_id: &org,
                    kind,
                    label,
                    secret: &secret,
                    scopes: &scopes,
                    user_id,
                    expires_at,
                },
            )
            .map_err(|e| match e {
                store::StoreError::NotFound => anyhow!("organization {org} not found"),
                other => anyhow!(other),
            })?;
            outln!("{}", credential_json(&c, Some(&secret)));
        }
        CredCommand::List { org } => {
            let org = org
                .as_ref()
                .map(|o| OrgId::parse(o).map_err(|e| anyhow!(e)))
                .transpose()?;
            for c in store::credentials::list(&mut conn, org.as_ref())? {
                if c.kind == kind {
                    outln!("{}", credential_json(&c, None));
                }
            }
        }
        CredCommand::Revoke { id } => {
            let c = store::credentials::get(&mut conn, id)
                .ok()
                .filter(|c| c.kind == kind)
                .ok_or_else(|| anyhow!("no {} with id {id}", kind.as_str()))?;
            let c = store::credentials::revoke(&mut conn, None, &c.id)?;
            outln!("{}", credential_json(&c, None));
        }
        CredCommand::Rotate { id, grace_seconds } => {
            let c = store::credentials::get(&mut conn, id)
                .ok()
                .filter(|c| c.kind == kind)
                .ok_or_else(|| anyhow!("no {} with id {id}", kind.as_str()))?;
            if !(0..=muster::directory::credentials::MAX_GRACE.num_seconds())
                .contains(grace_seconds)
            {
                bail!("--grace-seconds is 0 to 2592000 (30 days)");
            }
            let secret = auth::new_secret(kind);
            let until = (*grace_seconds > 0)
                .then(|| store::now() + chrono::Duration::seconds(*grace_seconds));
            let c = store::credentials::rotate(&mut conn, &c.org_id, &c.id, &secret, until)
                .map_err(|e| anyhow!(e))?;
            outln!("{}", credential_json(&c, Some(&secret)));
        }
    }
    Ok(())
}

fn usage(cli: &Cli, command: &UsageCommand) -> Result<()> {
    let UsageCommand::Load { org, file } = command;
    let org = OrgId::parse(org).map_err(|e| anyhow!(e))?;
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?
    };
    let mut records = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (n == 0 && line.starts_with("date")) {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let [date, product_variable, credits_used, unit] = f[..] else {
            bail!(
                "line {}: expected date,product_variable,credits_used,unit",
                n + 1
            );
        };
        let credits_used: f64 = credits_used
            .parse()
            .ok()
            .filter(|c: &f64| c.is_finite() && *c >= 0.0)
            .ok_or_else(|| anyhow!("line {}: credits_used must be a non-negative number", n + 1))?;
        records.push(UsageRecord {
            org_id: org.clone(),
            date: chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .with_context(|| format!("line {}: date must be YYYY-MM-DD", n + 1))?,
            product_variable: product_variable.to_string(),
            credits_used,
            unit: unit.to_string(),
        });
    }
    let store = open_db(
        cli,
        &cli.database_url,
        Open::Existing,
        Step::Bootstrap,
        false,
    )?;
    let mut conn = store.conn()?;
    let loaded = store::usage::load(&mut conn, &records).map_err(|e| match e {
        store::StoreError::NotFound => anyhow!("organization {org} not found"),
        other => anyhow!(other),
    })?;
    outln!(
        "{}",
        json!({"organization": org.as_str(), "inserted": loaded.inserted,
               "replaced": loaded.replaced, "unchanged": loaded.unchanged})
    );
    Ok(())
}
