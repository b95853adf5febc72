//! `muster export`: the directory as a dump, streamed in keyset batches inside one snapshot.

use std::collections::HashSet;
use std::io::Write;

use anyhow::{anyhow, bail, Context, Result};

use super::{End, Header, Progress, Sums, BATCH, FORMAT, VERSION};
use crate::store::portable::{self, *};
use crate::store::DbConn;

/// What an export holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every organization.
    All,
    /// These organizations and all their descendants (child organizations, theirs, ...).
    Orgs(Vec<String>),
}

struct Out<'a> {
    w: &'a mut dyn Write,
    sums: Sums,
    records: u64,
    progress: Progress,
}

impl Out<'_> {
    fn row<R: TableRow>(&mut self, row: &R) -> Result<()> {
        let json = serde_json::to_string(row)?;
        self.sums.add(R::TABLE, &json);
        self.records += 1;
        writeln!(self.w, "{{\"table\":\"{}\",\"row\":{json}}}", R::TABLE)
            .context("cannot write the dump")?;
        Ok(())
    }
}

/// Write the dump of `scope` to `w` (header, rows, end line) and return its end line.
/// Everything is read inside one snapshot of the database; `quiet` silences the progress
/// lines on stderr.
pub fn export(
    conn: &mut DbConn,
    backend: &str,
    scope: &Scope,
    w: &mut dyn Write,
    quiet: bool,
) -> Result<End> {
    portable::snapshot(conn, |conn| -> Result<End> {
        let orgs = organizations_in(conn, scope)?;
        let header = Header {
            format: FORMAT.into(),
            version: VERSION,
            backend: backend.into(),
            exported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            muster: env!("CARGO_PKG_VERSION").into(),
            organizations: match scope {
                Scope::All => None,
                Scope::Orgs(o) => Some(o.clone()),
            },
        };
        writeln!(w, "{}", serde_json::to_string(&header)?).context("cannot write the dump")?;
        let mut out = Out {
            w,
            sums: Sums::default(),
            records: 0,
            progress: Progress::new("export", quiet),
        };
        for o in &orgs {
            out.row(o)?;
        }
        let filter: Vec<Option<&str>> = match scope {
            Scope::All => vec![None],
            Scope::Orgs(_) => orgs.iter().map(|o| Some(o.id.as_str())).collect(),
        };
        after_organizations(conn, &filter, &mut out)?;
        let records = out.records;
        let end = std::mem::take(&mut out.sums).finish();
        let line = super::Record::End(end.clone());
        writeln!(out.w, "{}", serde_json::to_string(&line)?).context("cannot write the dump")?;
        out.w.flush().context("cannot write the dump")?;
        out.progress.done(records);
        Ok(end)
    })
}

macro_rules! after_organizations {
    (organizations: OrganizationRow, $($table:ident: $row:ident),* $(,)?) => {
        /// Every table after the organizations (written first, as they are read), in dump
        /// order.
        fn after_organizations(
            conn: &mut DbConn,
            orgs: &[Option<&str>],
            out: &mut Out<'_>,
        ) -> Result<()> {
            $(table::<$row>(conn, orgs, out)?;)*
            Ok(())
        }
    };
}
super::with_tables!(after_organizations);

fn table<R: TableRow>(conn: &mut DbConn, orgs: &[Option<&str>], out: &mut Out<'_>) -> Result<()> {
    let mut rows_of_table = 0u64;
    for org in orgs {
        let mut last: Option<R> = None;
        loop {
            let rows = R::read_after(conn, last.as_ref(), *org, BATCH as i64)
                .map_err(|e| anyhow!("cannot read {}: {e}", R::TABLE))?;
            for r in &rows {
                out.row(r)?;
            }
            rows_of_table += rows.len() as u64;
            out.progress
                .tick(out.records, || format!("{} {rows_of_table} rows", R::TABLE));
            if rows.len() < BATCH {
                break;
            }
            last = rows.into_iter().last();
        }
    }
    Ok(())
}

/// The organizations of `scope`, each after its parent.
fn organizations_in(conn: &mut DbConn, scope: &Scope) -> Result<Vec<OrganizationRow>> {
    let all =
        portable::all_organizations(conn).map_err(|e| anyhow!("cannot read organizations: {e}"))?;
    let chosen: Vec<OrganizationRow> = match scope {
        Scope::All => all,
        Scope::Orgs(ids) => {
            let mut keep: HashSet<String> = HashSet::new();
            for id in ids {
                if !all.iter().any(|o| &o.id == id) {
                    bail!("no organization {id:?} in this database");
                }
                keep.insert(id.clone());
            }
            // Descendants: repeat until no organization joins.
            loop {
                let before = keep.len();
                for o in &all {
                    if o.parent_id.as_ref().is_some_and(|p| keep.contains(p)) {
                        keep.insert(o.id.clone());
                    }
                }
                if keep.len() == before {
                    break;
                }
            }
            all.into_iter().filter(|o| keep.contains(&o.id)).collect()
        }
    };
    // Parents first; among those ready, id order (so both backends write the same dump).
    let ids: HashSet<&str> = chosen.iter().map(|o| o.id.as_str()).collect();
    let mut done: HashSet<String> = HashSet::new();
    let mut ordered = Vec::with_capacity(chosen.len());
    while ordered.len() < chosen.len() {
        let ready: Vec<&OrganizationRow> = chosen
            .iter()
            .filter(|o| !done.contains(&o.id))
            .filter(|o| match &o.parent_id {
                Some(p) => !ids.contains(p.as_str()) || done.contains(p),
                None => true,
            })
            .collect();
        if ready.is_empty() {
            bail!("the organizations' parents form a cycle");
        }
        for o in ready {
            ordered.push(o.clone());
        }
        for o in &ordered {
            done.insert(o.id.clone());
        }
    }
    Ok(ordered)
}
