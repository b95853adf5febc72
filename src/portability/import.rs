//! `muster import`: a dump into a database, one transaction per batch of 1,000 lines, every
//! row inserted only if its primary key is free (so importing twice changes nothing).

use std::collections::HashSet;
use std::io::BufRead;

use super::{End, Header, Progress, Record, Sums, BATCH, END, FORMAT, TABLES, VERSION};
use crate::domain::OrgId;
use crate::store::portable::{self, *};
use crate::store::{DbConn, StoreError};

/// How one table's rows went.
#[derive(Debug, Clone, PartialEq)]
pub struct TableImport {
    pub table: &'static str,
    /// Rows of the dump.
    pub read: u64,
    /// Rows written; the others were in the database already (same primary key).
    pub inserted: u64,
}

#[derive(Debug, Clone)]
pub struct ImportSummary {
    pub header: Header,
    pub tables: Vec<TableImport>,
    /// The dump's own end line (its counts and checksums).
    pub end: End,
    /// The counts and checksums of the rows as written: the dump's, unless an organization
    /// lost its parent (see `warnings`).
    pub written: End,
    /// What was adjusted on the way (an organization whose parent is not here).
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A line that cannot be imported; nothing of its batch was written.
    #[error("line {line}: {message}")]
    Line { line: u64, message: String },
    #[error("{0}")]
    Other(String),
}

fn line_err(line: u64, message: impl Into<String>) -> ImportError {
    ImportError::Line {
        line,
        message: message.into(),
    }
}

macro_rules! batch {
    ($($v:ident: $t:ty),* $(,)?) => {
        /// Up to `BATCH` rows, by table, with their line numbers.
        #[derive(Default)]
        struct Batch {
            first_line: u64,
            len: usize,
            $($v: (Vec<u64>, Vec<$t>),)*
        }

        impl Batch {
            fn push(&mut self, line: u64, record: Record) {
                if self.len == 0 {
                    self.first_line = line;
                }
                self.len += 1;
                match record {
                    $(Record::$v(r) => {
                        self.$v.0.push(line);
                        self.$v.1.push(r);
                    })*
                    Record::End(_) => {}
                }
            }

            /// Insert every table's rows, parents' tables first; adds to `inserted`
            /// (indexed like `TABLES`).
            fn write(&self, conn: &mut DbConn, inserted: &mut [u64]) -> Result<(), StoreError> {
                let mut got = vec![0u64; TABLES.len()];
                $(
                    if !self.$v.1.is_empty() {
                        let i = TABLES.iter().position(|t| *t == <$t>::TABLE).unwrap_or(0);
                        got[i] += <$t>::insert_missing(conn, &self.$v.1)? as u64;
                    }
                )*
                for (total, n) in inserted.iter_mut().zip(got) {
                    *total += n;
                }
                Ok(())
            }

            /// After `write` failed: insert row by row (in a transaction the caller rolls
            /// back) to find the line the database refuses.
            fn locate(&self, conn: &mut DbConn) -> Option<(u64, StoreError)> {
                $(
                    for (line, r) in self.$v.0.iter().zip(&self.$v.1) {
                        if let Err(e) = <$t>::insert_missing(conn, std::slice::from_ref(r)) {
                            return Some((*line, e));
                        }
                    }
                )*
                None
            }
        }
    };
}

super::with_tables!(batch);

/// Import the dump `input` reads. Each batch of `BATCH` lines is checked whole before any of
/// it is written, then written in one transaction; a bad line stops the import with its
/// number, and nothing of its batch is written (earlier batches stay: importing the fixed
/// dump again skips them).
pub fn import(
    conn: &mut DbConn,
    input: &mut dyn BufRead,
    quiet: bool,
) -> Result<ImportSummary, ImportError> {
    let mut progress = Progress::new("import", quiet);
    let mut buf = String::new();
    let mut line_no = 0u64;
    fn next_line(
        input: &mut dyn BufRead,
        buf: &mut String,
        line_no: &mut u64,
    ) -> Result<bool, ImportError> {
        buf.clear();
        let n = input
            .read_line(buf)
            .map_err(|e| ImportError::Other(format!("cannot read the dump: {e}")))?;
        *line_no += 1;
        Ok(n > 0)
    }
    if !next_line(input, &mut buf, &mut line_no)? {
        return Err(line_err(1, "the dump is empty"));
    }
    let header = read_header(buf.trim_end())?;

    let mut inserted = vec![0u64; TABLES.len()];
    let mut read = vec![0u64; TABLES.len()];
    let mut sums = Sums::default();
    let mut written = Sums::default();
    let mut end: Option<(u64, End)> = None;
    let mut batch = Batch::default();
    let mut orgs_seen: HashSet<String> = HashSet::new();
    let mut warnings = Vec::new();
    let mut records = 0u64;
    loop {
        let more = next_line(input, &mut buf, &mut line_no)?;
        let line = line_no;
        if more {
            let text = buf.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            if let Some((end_line, _)) = &end {
                return Err(line_err(
                    line,
                    format!("the dump ended at line {end_line}, yet more lines follow"),
                ));
            }
            let first = if batch.len > 0 {
                batch.first_line
            } else {
                line
            };
            let unwritten = |m: String| {
                line_err(
                    line,
                    format!("{m} (nothing of lines {first}-{line} was written)"),
                )
            };
            let record: Record = serde_json::from_str(text)
                .map_err(|e| unwritten(format!("not a record of this format: {e}")))?;
            validate(&record).map_err(unwritten)?;
            if let Record::End(e) = record {
                end = Some((line, e));
                continue;
            }
            let (table, json) = record.table_and_json();
            sums.add(table, &json);
            if table != OrganizationRow::TABLE {
                written.add(table, &json);
            }
            if let Some(i) = TABLES.iter().position(|t| *t == table) {
                read[i] += 1;
            }
            records += 1;
            batch.push(line, record);
        }
        if batch.len >= BATCH || (!more && batch.len > 0) {
            let last_line = if more { line } else { line - 1 };
            write_batch(
                conn,
                &mut batch,
                last_line,
                &mut orgs_seen,
                &mut written,
                &mut warnings,
                &mut inserted,
            )
            .map_err(|e| match e {
                ImportError::Line { line, message } => ImportError::Line {
                    line,
                    message: format!(
                        "{message} (nothing of lines {}-{last_line} was written)",
                        batch.first_line
                    ),
                },
                other => other,
            })?;
            batch = Batch::default();
            progress.tick(records, || format!("line {line}"));
        }
        if !more {
            break;
        }
    }
    let Some((_, end)) = end else {
        return Err(ImportError::Other(format!(
            "the dump ends at line {} without its end line ({{\"table\":\"{END}\",...}}): it \
             is cut short; the {records} records before were imported",
            line_no - 1
        )));
    };
    let ours = sums.finish();
    if ours != end {
        let diff = super::differences(&end, &ours).join("; ");
        return Err(ImportError::Other(format!(
            "the dump's rows do not match its end line (damaged or edited?): {diff}; they \
             were imported as they are"
        )));
    }
    progress.done(records);
    let tables = TABLES
        .iter()
        .enumerate()
        .map(|(i, t)| TableImport {
            table: t,
            read: read[i],
            inserted: inserted[i],
        })
        .collect();
    Ok(ImportSummary {
        header,
        tables,
        end,
        written: written.finish(),
        warnings,
    })
}

fn read_header(text: &str) -> Result<Header, ImportError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        line_err(
            1,
            format!("not a muster dump: the header is not JSON ({e})"),
        )
    })?;
    if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(line_err(
            1,
            format!("not a muster dump: the first line has no \"format\": \"{FORMAT}\""),
        ));
    }
    match v.get("version").and_then(|n| n.as_u64()) {
        Some(n) if n > VERSION as u64 => {
            return Err(line_err(
                1,
                format!(
                    "this dump has format version {n}, newer than this muster ({}) reads \
                     (version {VERSION} and older): import it with the muster that wrote it, \
                     or a newer one",
                    env!("CARGO_PKG_VERSION")
                ),
            ))
        }
        Some(n) if n >= 1 => {}
        _ => {
            return Err(line_err(
                1,
                "the header's \"version\" is not a format version",
            ))
        }
    }
    serde_json::from_value(v).map_err(|e| line_err(1, format!("a header field is wrong: {e}")))
}

/// What the database would take but the dialects could not read back.
fn validate(record: &Record) -> Result<(), String> {
    fn org(id: &str) -> Result<(), String> {
        OrgId::parse(id).map(|_| ())
    }
    fn json(column: &str, text: &str) -> Result<(), String> {
        serde_json::from_str::<serde_json::Value>(text)
            .map(|_| ())
            .map_err(|e| format!("{column} is not JSON text: {e}"))
    }
    // A schema registered for every organization has `*` for its organization.
    if let Some(id) = record
        .org()
        .filter(|o| *o != crate::store::schemas::EVERY_ORG)
    {
        org(id)?;
    }
    match record {
        Record::organizations(r) => r.parent_id.as_deref().map_or(Ok(()), org),
        Record::scim_schemas(r) => crate::scim::schema::Schema::parse(
            &serde_json::from_str(&r.document).map_err(|e| format!("document is not JSON: {e}"))?,
        )
        .map(|_| ()),
        Record::users(r) => {
            json("custom_data", &r.custom_data)?;
            json("profile_extra", &r.profile_extra)
        }
        Record::roles(r) => json("capabilities", &r.capabilities),
        Record::identities(r) => json("details", &r.details),
        Record::audit_entries(r) => json("payload", &r.payload),
        Record::credentials(r) => {
            crate::domain::Scopes::parse(&r.scopes).map(|_| ())?;
            match r.kind.as_str() {
                "token" | "client" => Ok(()),
                other => Err(format!("unknown credential kind {other:?}")),
            }
        }
        _ => Ok(()),
    }
}

fn write_batch(
    conn: &mut DbConn,
    batch: &mut Batch,
    last_line: u64,
    orgs_seen: &mut HashSet<String>,
    written: &mut Sums,
    warnings: &mut Vec<String>,
    inserted: &mut [u64],
) -> Result<(), ImportError> {
    let store_err = |e: StoreError| ImportError::Other(format!("the database failed: {e}"));
    // An organization exported without its parent (`export --org` of a child): top-level here
    // unless the parent is in this database already.
    let missing: Vec<String> = batch
        .organizations
        .1
        .iter()
        .filter_map(|o| o.parent_id.clone())
        .filter(|p| !orgs_seen.contains(p))
        .collect();
    let present = portable::existing_organizations(conn, &missing).map_err(store_err)?;
    for o in batch.organizations.1.iter_mut() {
        if let Some(p) = o.parent_id.clone() {
            if !orgs_seen.contains(&p) && !present.contains(&p) {
                warnings.push(format!(
                    "organization {}: its parent {p} is neither in the dump nor in this \
                     database; imported as a top-level organization",
                    o.id
                ));
                o.parent_id = None;
            }
        }
        orgs_seen.insert(o.id.clone());
        written.add(
            OrganizationRow::TABLE,
            &serde_json::to_string(o).unwrap_or_default(),
        );
    }
    let written = crate::store::write_tx(conn, |c| batch.write(c, inserted));
    let Err(e) = written else {
        return Ok(());
    };
    // Find the line: row by row, in a transaction that is always rolled back.
    let located = crate::store::write_tx(conn, |c| -> Result<(), Located> {
        Err(match batch.locate(c) {
            Some((line, e)) => Located::Row(line, e),
            None => Located::Nothing,
        })
    });
    match located {
        Err(Located::Row(line, e)) => Err(line_err(line, refused(e))),
        _ => Err(ImportError::Other(format!(
            "lines {}-{last_line}: the database refused the batch, and none of it was \
             written: {}",
            batch.first_line,
            refused(e)
        ))),
    }
}

enum Located {
    Row(u64, StoreError),
    Nothing,
    Store,
}

impl From<StoreError> for Located {
    fn from(_: StoreError) -> Self {
        Located::Store
    }
}

fn refused(e: StoreError) -> String {
    match e {
        StoreError::Conflict(m) => {
            format!("the row conflicts with a different row already in the database ({m})")
        }
        StoreError::Db(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            info,
        )) => format!(
            "the row refers to a row that is neither earlier in the dump nor in the database ({})",
            info.message()
        ),
        StoreError::Db(e) => format!("the database refused the row: {e}"),
        other => format!("the database refused the row: {other}"),
    }
}
