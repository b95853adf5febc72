//! Moving a directory in and out: the dump format (`muster export`, `muster import`,
//! `muster copy`), its streaming writer and reader, and the per-table counts and checksums
//! that verify a copy. The format is documented in docs/portability.md.
//!
//! A dump is JSON lines: a header, then one line per table row, then an end line:
//!
//! ```text
//! {"format":"muster-dump","version":1,"backend":"sqlite","exported_at":"…","muster":"0.1.0","organizations":null}
//! {"table":"organizations","row":{"id":"default",…}}
//! {"table":"users","row":{"id":123,…}}
//! {"table":"$end","row":{"records":2,"tables":[{"table":"organizations","count":1,"checksum":"…"},…]}}
//! ```
//!
//! Rows are the tables' own columns (`store::portable`), written in an order where every
//! row comes after the rows it refers to. Reading and writing are streamed: batches of
//! 1,000 rows, so memory stays flat whatever the directory's size.

mod export;
mod import;

use std::fmt;
use std::io::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use export::{export, Scope};
pub use import::{import, ImportError, ImportSummary, TableImport};

use crate::store::portable::*;

/// What the header's `format` says.
pub const FORMAT: &str = "muster-dump";
/// The newest format version this build writes and reads. Raise it with any change to the
/// lines' meaning (a new table or column included); an import refuses newer dumps.
pub const VERSION: u32 = 2;
/// Rows per read and per import transaction.
pub const BATCH: usize = 1_000;
/// The `table` of the last line.
pub const END: &str = "$end";

/// The first line of a dump.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The backend it was exported from: `sqlite` or `postgres`.
    pub backend: String,
    /// RFC 3339, UTC.
    pub exported_at: String,
    /// The muster version that wrote it.
    pub muster: String,
    /// The organizations exported (each with its descendants), or null for all of them.
    pub organizations: Option<Vec<String>>,
}

/// The last line's row: how many records came before it, and each table's count and checksum.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct End {
    pub records: u64,
    pub tables: Vec<TableSum>,
}

/// A table's row count and checksum: the SHA-256 of its rows' JSON, each followed by a
/// newline, in dump order (primary key order, which both backends share).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSum {
    pub table: String,
    pub count: u64,
    pub checksum: String,
}

/// Per-table running checksums, in the order tables are met.
#[derive(Default)]
pub struct Sums {
    tables: Vec<(&'static str, u64, Sha256)>,
}

impl Sums {
    pub fn add(&mut self, table: &'static str, row_json: &str) {
        let i = match self.tables.iter().position(|t| t.0 == table) {
            Some(i) => i,
            None => {
                self.tables.push((table, 0, Sha256::new()));
                self.tables.len() - 1
            }
        };
        let t = &mut self.tables[i];
        t.1 += 1;
        t.2.update(row_json.as_bytes());
        t.2.update(b"\n");
    }

    pub fn finish(self) -> End {
        let mut end = End::default();
        for table in TABLES {
            let (count, checksum) = match self.tables.iter().find(|t| t.0 == *table) {
                Some((_, n, h)) => (*n, hex::encode(h.clone().finalize())),
                None => (0, hex::encode(Sha256::new().finalize())),
            };
            end.records += count;
            end.tables.push(TableSum {
                table: table.to_string(),
                count,
                checksum,
            });
        }
        end
    }
}

/// Tables a dump leaves out, each for a reason given in docs/portability.md: deployment
/// secrets in the clear (`signing_keys`, `hooks`), the source's change-event outbox, and
/// web console sessions and work (short-lived sign-ins to that deployment, their bulk jobs
/// and import previews); `org_user_counts` is derived (database triggers keep it as the
/// import writes users).
pub const NOT_EXPORTED: &[&str] = &[
    "signing_keys",
    "events",
    "event_counters",
    "hooks",
    "hook_deliveries",
    "hook_logs",
    "console_sessions",
    "console_work",
    "org_user_counts",
];

/// Calls `$m!` with every table a dump holds, as `name: RowType`, in dump order: each after
/// the tables it refers to. The one list the record type, the export and the import's
/// batches are made from. The tables of [`NOT_EXPORTED`] are left out on purpose
/// (docs/portability.md).
macro_rules! with_tables {
    ($m:ident) => {
        $m!(
            organizations: OrganizationRow,
            scim_schemas: ScimSchemaRow,
            roles: RoleRow,
            users: UserRow,
            user_values: UserValueRow,
            user_roles: UserRoleRow,
            identities: IdentityRow,
            user_requests: UserRequestRow,
            groups: GroupRow,
            group_values: GroupValueRow,
            group_users: GroupUserRow,
            group_groups: GroupGroupRow,
            credentials: CredentialRow,
            credit_usage: CreditUsageRow,
            audit_entries: AuditEntryRow,
        );
    };
}
use with_tables;

macro_rules! records {
    ($($table:ident: $row:ident),* $(,)?) => {
        /// Every table a dump holds, in dump order.
        pub const TABLES: &[&str] = &[$($row::TABLE),*];

        /// One line after the header.
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(tag = "table", content = "row", deny_unknown_fields)]
        // Parsed one at a time and moved into its table's batch at once: the size is no cost.
        #[allow(non_camel_case_types, clippy::large_enum_variant)]
        pub enum Record {
            $($table($row),)*
            #[serde(rename = "$end")]
            End(End),
        }

        impl Record {
            /// The table, and the row's JSON as the checksum sees it.
            pub fn table_and_json(&self) -> (&'static str, String) {
                fn j<T: Serialize>(t: &'static str, r: &T) -> (&'static str, String) {
                    (t, serde_json::to_string(r).unwrap_or_default())
                }
                match self {
                    $(Record::$table(r) => j($row::TABLE, r),)*
                    Record::End(r) => j(END, r),
                }
            }

            /// The organization of the row (none for the end line).
            pub fn org(&self) -> Option<&str> {
                match self {
                    $(Record::$table(r) => Some(r.org()),)*
                    Record::End(_) => None,
                }
            }
        }
    };
}

with_tables!(records);

/// Where two summaries (a source's and a target's) differ.
pub fn differences(source: &End, target: &End) -> Vec<String> {
    let mut out = Vec::new();
    for s in &source.tables {
        match target.tables.iter().find(|t| t.table == s.table) {
            Some(t) if t == s => {}
            Some(t) => out.push(format!(
                "{}: {} rows (checksum {}) in the source, {} rows (checksum {}) in the target",
                s.table,
                s.count,
                &s.checksum[..12.min(s.checksum.len())],
                t.count,
                &t.checksum[..12.min(t.checksum.len())],
            )),
            None => out.push(format!("{}: missing in the target", s.table)),
        }
    }
    out
}

/// A progress line on stderr, at most once a second (and always at the end).
pub struct Progress {
    what: &'static str,
    started: std::time::Instant,
    last: std::time::Instant,
    quiet: bool,
}

impl Progress {
    pub fn new(what: &'static str, quiet: bool) -> Progress {
        let now = std::time::Instant::now();
        Progress {
            what,
            started: now,
            last: now,
            quiet,
        }
    }

    pub fn tick(&mut self, records: u64, detail: impl FnOnce() -> String) {
        if self.quiet || self.last.elapsed() < std::time::Duration::from_secs(1) {
            return;
        }
        self.last = std::time::Instant::now();
        let _ = writeln!(
            std::io::stderr(),
            "{}: {records} records, {} ({:.1} s)",
            self.what,
            detail(),
            self.started.elapsed().as_secs_f64()
        );
    }

    pub fn done(&self, records: u64) {
        if !self.quiet {
            let _ = writeln!(
                std::io::stderr(),
                "{}: done, {records} records in {:.1} s",
                self.what,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.tables {
            writeln!(f, "{:<16} {:>10}  {}", t.table, t.count, t.checksum)?;
        }
        Ok(())
    }
}

/// What `copy` found: the source's end line (as exported) and the target's (the same scope
/// exported again from the target after the import), with the import's own summary. The
/// target is compared with what the import wrote (`import.written`): the source, except
/// for an organization whose parent is not in the target (the import's warnings say so).
#[derive(Debug, Clone)]
pub struct CopyReport {
    pub source: End,
    pub target: End,
    pub import: ImportSummary,
}

impl CopyReport {
    pub fn differences(&self) -> Vec<String> {
        differences(&self.import.written, &self.target)
    }
}

/// Export `scope` from `from` straight into an import into `to` (through a pipe: no file),
/// then export the same scope from `to` into nothing, to compare counts and checksums.
pub fn copy(
    from: &crate::store::Store,
    to: &crate::store::Store,
    scope: &Scope,
    quiet: bool,
) -> anyhow::Result<CopyReport> {
    use anyhow::{anyhow, Context};
    let mut source_conn = from.conn().map_err(|e| anyhow!("the source: {e}"))?;
    let mut target_conn = to.conn().map_err(|e| anyhow!("the target: {e}"))?;
    let (reader, writer) = std::io::pipe().context("cannot make a pipe")?;
    let backend = from.backend().name();
    let (exported, imported) = std::thread::scope(|s| {
        let exporter = s.spawn(move || {
            let mut w = std::io::BufWriter::with_capacity(1 << 16, writer);
            // The writer closes when this thread ends, so the import sees the end.
            export(&mut source_conn, backend, scope, &mut w, quiet)
        });
        let mut r = std::io::BufReader::with_capacity(1 << 16, reader);
        let imported = import(&mut target_conn, &mut r, quiet);
        // An import that stopped early leaves the exporter writing into a closed pipe: it
        // fails and ends; drain nothing more.
        drop(r);
        let exported = exporter
            .join()
            .unwrap_or_else(|_| Err(anyhow!("the export panicked")));
        (exported, imported)
    });
    // An export that failed ends the import's input early: its error is the cause.
    let source = match (exported, &imported) {
        (Err(e), Err(i)) => {
            return Err(e.context(format!(
                "export from the source (the import then said: {i})"
            )))
        }
        (exported, _) => exported.context("export from the source")?,
    };
    let imported = imported.map_err(|e| anyhow!("import into the target: {e}"))?;
    let target = export(
        &mut target_conn,
        to.backend().name(),
        scope,
        &mut std::io::sink(),
        true,
    )
    .context("verifying the target")?;
    Ok(CopyReport {
        source,
        target,
        import: imported,
    })
}

#[cfg(test)]
mod every_table {
    /// A table added to the schema must be exported or left out on purpose.
    #[test]
    fn is_exported_or_left_out_by_name() {
        let schema = include_str!("../store/schema.rs");
        let tables: Vec<&str> = schema
            .lines()
            .filter(|l| {
                l.starts_with("    ") && !l.starts_with("     ") && l.trim_end().ends_with(") {")
            })
            .filter_map(|l| l.trim().split(' ').next())
            .collect();
        assert!(tables.len() >= 19, "read {tables:?} from schema.rs");
        for t in &tables {
            let exported = super::TABLES.contains(t);
            let left_out = super::NOT_EXPORTED.contains(t);
            assert!(
                exported != left_out,
                "table `{t}`: add it to TABLES (and the dump) or to NOT_EXPORTED with a reason in docs/portability.md"
            );
        }
        for t in super::TABLES.iter().chain(super::NOT_EXPORTED) {
            assert!(tables.contains(t), "`{t}` is not a table of schema.rs");
        }
    }
}
