//! `muster schema add|list|remove`: custom SCIM schema extensions from the command line, for
//! every organization (no `--org`) or one (docs/scim-extensions.md).

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;

use muster::domain::{OrgId, Principal, Scopes};
use muster::scim::schema::{Kind, Schema};
use muster::store::{self, Store};

#[derive(Subcommand, Clone)]
pub enum SchemaCommand {
    /// Register an RFC 7643 schema document (a JSON file) as an extension, for every
    /// organization or, with --org, for one.
    Add {
        /// The schema document (JSON), or the admin API's {"schema": …, "resourceType": …}.
        file: PathBuf,
        /// Only this organization [default: every organization].
        #[arg(long)]
        org: Option<String>,
        /// User or Group [default: the URN's last segment].
        #[arg(long)]
        resource_type: Option<String>,
        /// Every resource of the type must carry it.
        #[arg(long)]
        required: bool,
    },
    /// The registered extensions (with --org: that organization's and every organization's).
    List {
        /// Only this organization's registrations and every organization's.
        #[arg(long)]
        org: Option<String>,
    },
    /// Remove a registration; one that holds values needs --force, and its values go with it.
    Remove {
        /// The extension's schema URN.
        urn: String,
        /// The organization it was registered for [default: every organization's].
        #[arg(long)]
        org: Option<String>,
        /// Remove it even when users or groups hold values of it (the values go too).
        #[arg(long)]
        force: bool,
    },
}

fn org_of(org: Option<String>) -> Result<Option<OrgId>> {
    org.map(|o| OrgId::parse(&o).map_err(|e| anyhow!(e)))
        .transpose()
}

pub fn run(store: &Store, command: SchemaCommand) -> Result<()> {
    let mut conn = store.conn()?;
    match command {
        SchemaCommand::Add {
            file,
            org,
            resource_type,
            required,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let mut doc: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            // The admin API's shape too: {"schema": {…}, "resourceType": …, "required": …}.
            let (mut resource_type, mut required) = (resource_type, required);
            if let Some(inner) = doc.get("schema").filter(|v| v.is_object()).cloned() {
                if resource_type.is_none() {
                    resource_type = doc
                        .get("resourceType")
                        .and_then(|v| v.as_str())
                        .map(str::to_string);
                }
                required |= doc.get("required") == Some(&serde_json::Value::Bool(true));
                doc = inner;
            }
            let schema = Schema::parse(&doc).map_err(|e| anyhow!("{}: {e}", file.display()))?;
            let kind = match resource_type {
                Some(rt) => {
                    Kind::parse(&rt).ok_or_else(|| anyhow!("--resource-type is User or Group"))?
                }
                None => Kind::of_urn(&schema.id).ok_or_else(|| {
                    anyhow!(
                        "give --resource-type User or Group: {} does not end with one",
                        schema.id
                    )
                })?,
            };
            let org = org_of(org)?;
            let cache = conn.schema_cache();
            let r = match &org {
                // Through the directory: audited in the organization's trail.
                Some(org) => {
                    let principal = Principal {
                        org_id: org.clone(),
                        scopes: Scopes::all(),
                        credential_id: "cli".into(),
                        user_id: None,
                        schemas_version: None,
                    };
                    let caller = muster::directory::Caller::new(&principal, "cli", 12);
                    let new = muster::directory::schemas::NewSchema {
                        document: doc,
                        resource_type: Some(kind.as_str().into()),
                        required,
                    };
                    match muster::directory::schemas::register(&mut conn, &caller, &new) {
                        Err(store::StoreError::NotFound) => bail!("organization {org} not found"),
                        other => other?,
                    }
                }
                None => store::schemas::register(
                    &mut conn, &cache, None, &schema, kind, required, "cli",
                )?,
            };
            outln!(
                "registered {} ({}, {} attribute(s)) for {}",
                r.urn,
                r.kind.as_str(),
                schema.attributes.len(),
                org.map_or("every organization".to_string(), |o| format!(
                    "organization {o}"
                ))
            );
        }
        SchemaCommand::List { org } => {
            let org = org_of(org)?;
            // The files a server started with MUSTER_SCIM_SCHEMAS_DIR reads, shown as `file`.
            if let Some(dir) = std::env::var_os("MUSTER_SCIM_SCHEMAS_DIR") {
                for r in muster::scim::schema::load_dir(std::path::Path::new(&dir))
                    .map_err(|e| anyhow!(e))?
                {
                    outln!(
                        "{}\t{}\t*\t{}\tfile",
                        r.schema.id,
                        r.kind.as_str(),
                        if r.required { "required" } else { "optional" }
                    );
                }
            }
            for r in store::schemas::list(&mut conn, org.as_ref())? {
                outln!(
                    "{}\t{}\t{}\t{}",
                    r.urn,
                    r.kind.as_str(),
                    r.org_id.as_deref().unwrap_or("*"),
                    if r.required { "required" } else { "optional" }
                );
            }
        }
        SchemaCommand::Remove { urn, org, force } => {
            let org = org_of(org)?;
            let removed = match store::schemas::remove(&mut conn, org.as_ref(), &urn, force) {
                Err(store::StoreError::NotFound) => {
                    // Where it is registered, if anywhere: the --org to give.
                    let elsewhere: Vec<String> = store::schemas::list(&mut conn, None)?
                        .into_iter()
                        .filter(|r| r.urn.eq_ignore_ascii_case(&urn))
                        .map(|r| match r.org_id {
                            Some(o) => format!("--org {o}"),
                            None => "no --org (every organization)".to_string(),
                        })
                        .collect();
                    let hint = if elsewhere.is_empty() {
                        String::new()
                    } else {
                        format!("; it is registered with {}", elsewhere.join(", "))
                    };
                    bail!(
                        "{urn} is not registered for {}{hint}",
                        org.map_or("every organization".to_string(), |o| format!(
                            "organization {o}"
                        ))
                    )
                }
                other => other?,
            };
            outln!(
                "removed {} and {} value(s)",
                removed.schema.urn,
                removed.values
            );
        }
    }
    Ok(())
}
