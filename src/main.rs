//! The `muster` command line: serve, migrate, and what an operator needs before the first
//! HTTP call (organizations, tokens, OAuth clients, credit usage records).

use std::io::Write;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use serde_json::json;

use muster::auth;
use muster::config::ServeArgs;
use muster::domain::{Credential, CredentialKind, OrgId, Scopes, UsageRecord};
use muster::portability;
use muster::store::{self, Store};

mod schema_cli;

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

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (applies pending migrations first).
    Serve {
        #[command(flatten)]
        args: ServeArgs,
        /// Ensure this admin token exists for organization `default` (for automation).
        #[arg(long, env = "MUSTER_BOOTSTRAP_TOKEN", hide_env_values = true)]
        bootstrap_token: Option<String>,
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
        #[arg(long, default_value = "")]
        label: String,
        /// Bind it to a user (its SCIM id), so SCIM `/Me` answers with that user.
        #[arg(long)]
        user: Option<String>,
    },
    /// List them (never their secrets).
    List {
        /// Only this organization's.
        #[arg(long)]
        org: Option<String>,
    },
    /// Revoke one by id.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum UsageCommand {
    /// Load records from a CSV file with the header date,product_variable,credits_used,unit.
    Load {
        #[arg(long)]
        org: String,
        /// CSV file, or - for standard input.
        file: String,
    },
}

fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn open(url: &str) -> Result<Store> {
    let store = Store::connect(url).map_err(|e| anyhow!(e))?;
    store
        .migrate()
        .map_err(|e| anyhow!("migrations failed: {e}"))?;
    Ok(store)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve {
            args,
            bootstrap_token,
        } => {
            let store =
                Store::connect_with(&cli.database_url, cli.db_pool_size).map_err(|e| anyhow!(e))?;
            let token = muster::server::prepare(&store, bootstrap_token.as_deref())
                .map_err(|e| anyhow!(e))?;
            if let Some(token) = token {
                let mut err = std::io::stderr().lock();
                writeln!(
                    err,
                    "\nCreated organization `default` and its admin token (shown once, keep it):\n\n    {token}\n"
                )?;
            }
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(muster::server::serve(&args, store))
                .map_err(|e| anyhow!(e))
        }
        Command::Migrate => {
            let store = Store::connect(&cli.database_url).map_err(|e| anyhow!(e))?;
            let n = store.migrate().map_err(|e| anyhow!(e))?;
            println!("applied {n} migration(s) on {}", store.backend().name());
            Ok(())
        }
        Command::Org { command } => org(&cli.database_url, command),
        Command::Token { command } => credential(&cli.database_url, CredentialKind::Token, command),
        Command::Client { command } => {
            credential(&cli.database_url, CredentialKind::Client, command)
        }
        Command::User { command } => user(&cli.database_url, command),
        Command::Usage { command } => usage(&cli.database_url, command),
        Command::Export { org, quiet } => export(&cli.database_url, org, quiet),
        Command::Import { file, quiet } => import(&cli.database_url, &file, quiet),
        Command::Conflicts { org } => conflicts(&cli.database_url, org),
        Command::Schema { command } => schema_cli::run(&open(&cli.database_url)?, command),
        Command::Copy {
            from,
            to,
            org,
            quiet,
        } => copy(&from, &to, org, quiet),
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

fn export(url: &str, orgs: Vec<String>, quiet: bool) -> Result<()> {
    let scope = scope(orgs)?;
    let store = open(url)?;
    let mut conn = store.conn()?;
    let stdout = std::io::stdout().lock();
    let mut w = std::io::BufWriter::with_capacity(1 << 16, stdout);
    portability::export(&mut conn, store.backend().name(), &scope, &mut w, quiet)?;
    Ok(())
}

fn print_import(summary: &portability::ImportSummary) {
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    for t in &summary.tables {
        println!(
            "{}",
            json!({"table": t.table, "read": t.read, "inserted": t.inserted,
                   "present": t.read - t.inserted})
        );
    }
}

fn import(url: &str, file: &str, quiet: bool) -> Result<()> {
    let store = open(url)?;
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
        eprintln!(
            "warning: {} primary email(s) or phone number(s) are shared by several users of \
             an organization; `muster conflicts` lists them",
            found.len()
        );
    }
    Ok(())
}

fn copy(from: &str, to: &str, orgs: Vec<String>, quiet: bool) -> Result<()> {
    let scope = scope(orgs)?;
    if store::Backend::from_url(from).map_err(|e| anyhow!(e))?
        == store::Backend::from_url(to).map_err(|e| anyhow!(e))?
    {
        bail!("--from and --to name the same database");
    }
    let source = open(from).context("the source database")?;
    let target = open(to).context("the target database")?;
    let report = portability::copy(&source, &target, &scope, quiet)?;
    print_import(&report.import);
    println!(
        "{:<16} {:>10} {:>10}  {:<64}  match",
        "table", "source", "target", "checksum (source)"
    );
    for s in &report.source.tables {
        let t = report.target.tables.iter().find(|t| t.table == s.table);
        println!(
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

/// The exit status of `muster conflicts` when it listed some.
const CONFLICTS_FOUND: i32 = 3;

fn conflicts(url: &str, org: Option<String>) -> Result<()> {
    let store = open(url)?;
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
        eprintln!("no conflicts");
        Ok(())
    } else {
        eprintln!(
            "{} shared value(s): change all but one user's, through any API or the console",
            found.len()
        );
        std::process::exit(CONFLICTS_FOUND);
    }
}

fn user(url: &str, command: UserCommand) -> Result<()> {
    let UserCommand::GrantAdmin { org, user } = command;
    let store = open(url)?;
    let mut conn = store.conn()?;
    let org = OrgId::parse(&org).map_err(|e| anyhow!(e))?;
    let uid = match muster::domain::id_from_hex(&user) {
        Some(id) if store::users::exists(&mut conn, &org, id)? => id,
        _ => store::users::find_by_key(&mut conn, &org, &user)?
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
    println!(
        "{}",
        json!({"org": org.as_str(), "userId": muster::domain::id_to_hex(uid),
               "role": role.role.name, "capabilities": role.role.capabilities})
    );
    Ok(())
}

fn org(url: &str, command: OrgCommand) -> Result<()> {
    let store = open(url)?;
    let mut conn = store.conn()?;
    match command {
        OrgCommand::Create { id, name, parent } => {
            let id = id.unwrap_or_else(|| auth::generate_id("org-"));
            let id = OrgId::parse(&id).map_err(|e| anyhow!(e))?;
            let parent = parent
                .map(|p| OrgId::parse(&p).map_err(|e| anyhow!(e)))
                .transpose()?;
            let name = name.unwrap_or_else(|| id.to_string());
            let o = store::orgs::create(&mut conn, &id, &name, parent.as_ref()).map_err(
                |e| match e {
                    store::StoreError::NotFound => anyhow!("parent organization not found"),
                    other => anyhow!(other),
                },
            )?;
            println!(
                "{}",
                json!({"id": o.id.as_str(), "name": o.name, "parent": o.parent_id.map(|p| p.to_string())})
            );
        }
        OrgCommand::List => {
            for o in store::orgs::list(&mut conn)? {
                println!(
                    "{}",
                    json!({"id": o.id.as_str(), "name": o.name, "parent": o.parent_id.map(|p| p.to_string())})
                );
            }
        }
    }
    Ok(())
}

fn credential_json(c: &Credential, secret: Option<&str>) -> serde_json::Value {
    let mut v = json!({
        "id": c.id,
        "kind": c.kind.as_str(),
        "organization": c.org_id.as_str(),
        "label": c.label,
        "scopes": c.scopes.to_string(),
        "created_at": c.created_at.and_utc().to_rfc3339(),
        "revoked": c.revoked_at.is_some(),
    });
    if let Some(s) = secret {
        v["secret"] = json!(s);
    }
    v
}

fn credential(url: &str, kind: CredentialKind, command: CredCommand) -> Result<()> {
    let store = open(url)?;
    let mut conn = store.conn()?;
    match command {
        CredCommand::Create {
            org,
            id,
            secret,
            scopes,
            label,
            user,
        } => {
            let org = OrgId::parse(&org).map_err(|e| anyhow!(e))?;
            let user_id = match user {
                Some(u) => {
                    let id = muster::domain::id_from_hex(&u)
                        .ok_or_else(|| anyhow!("--user takes a user id (16 hex digits)"))?;
                    store::users::get(&mut conn, &org, id)
                        .map_err(|_| anyhow!("no user {u} in organization {org}"))?;
                    Some(id)
                }
                None => None,
            };
            let scopes = Scopes::parse(&scopes).map_err(|e| anyhow!(e))?;
            let (prefix, secret_prefix) = match kind {
                CredentialKind::Token => ("tok_", "mst_"),
                CredentialKind::Client => ("cli_", ""),
            };
            let id = id.unwrap_or_else(|| auth::generate_id(prefix));
            if id.is_empty() || id.len() > 128 || id.contains(':') {
                bail!("an id is 1-128 characters without ':'");
            }
            let secret = secret.unwrap_or_else(|| auth::generate_secret(secret_prefix));
            if secret.len() < 16 {
                bail!("a secret must be at least 16 characters");
            }
            let c = store::credentials::create(
                &mut conn,
                store::credentials::NewCredential {
                    id: &id,
                    org_id: &org,
                    kind,
                    label: &label,
                    secret: &secret,
                    scopes: &scopes,
                    user_id,
                },
            )
            .map_err(|e| match e {
                store::StoreError::NotFound => anyhow!("organization {org} not found"),
                other => anyhow!(other),
            })?;
            println!("{}", credential_json(&c, Some(&secret)));
        }
        CredCommand::List { org } => {
            let org = org
                .map(|o| OrgId::parse(&o).map_err(|e| anyhow!(e)))
                .transpose()?;
            for c in store::credentials::list(&mut conn, org.as_ref())? {
                if c.kind == kind {
                    println!("{}", credential_json(&c, None));
                }
            }
        }
        CredCommand::Revoke { id } => {
            let c = store::credentials::get(&mut conn, &id)
                .ok()
                .filter(|c| c.kind == kind)
                .ok_or_else(|| anyhow!("no {} with id {id}", kind.as_str()))?;
            let c = store::credentials::revoke(&mut conn, None, &c.id)?;
            println!("{}", credential_json(&c, None));
        }
    }
    Ok(())
}

fn usage(url: &str, command: UsageCommand) -> Result<()> {
    let UsageCommand::Load { org, file } = command;
    let org = OrgId::parse(&org).map_err(|e| anyhow!(e))?;
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(&file).with_context(|| format!("cannot read {file}"))?
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
    let store = open(url)?;
    let mut conn = store.conn()?;
    let n = store::usage::insert(&mut conn, &records).map_err(|e| match e {
        store::StoreError::NotFound => anyhow!("organization {org} not found"),
        other => anyhow!(other),
    })?;
    println!("{}", json!({"organization": org.as_str(), "inserted": n}));
    Ok(())
}
