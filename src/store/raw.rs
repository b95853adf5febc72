//! A SQL fragment with bind parameters that diesel embeds in a boxed query on either backend.
//! diesel's own `exists()` / `eq_any()` over boxed subqueries do not compile for
//! `MultiBackend`, so correlated sub-queries (multi-valued attributes) are written as text
//! here; every value still travels as a bind parameter, never inside the SQL text.
//!
//! The SQL text depends only on the shape of the query, never on a value, so diesel's
//! statement cache (keyed by the text) reuses the prepared statement. Lists of ids bind as
//! one parameter (`= ANY($1)` on PostgreSQL, `IN (SELECT value FROM json_each(?))` on SQLite)
//! so a page of 3 users and a page of 100 share one statement.

use chrono::NaiveDateTime;
use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping,
};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Double, Text, Timestamp};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl};

/// The backend of the multi-connection (its type is private to the derive).
type MultiBackend = <super::MultiConn as diesel::Connection>::Backend;

#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Time(NaiveDateTime),
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Sql(String),
    Bind(Bind),
    List(List),
    IdTable(IdTable),
    Prefilter(Prefilter),
}

/// What comes before a substring comparison (`lhs LIKE ?`) of a column with a trigram index
/// (`filter_sql`).
#[derive(Debug, Clone, PartialEq)]
pub enum Prefilter {
    /// A pattern of a trigram or more. SQLite: `<key> IN (SELECT rowid FROM <fts5 table>
    /// WHERE <column> MATCH ?) AND `, the FTS5 phrase bound as one parameter. PostgreSQL:
    /// nothing, as its `pg_trgm` index serves the `LIKE` that follows as it is written.
    Trigrams { head: String, phrase: String },
    /// A shorter pattern, which has no trigram to look up. SQLite: nothing. PostgreSQL:
    /// `'' || `, so that the operand is no longer the indexed expression: statements run
    /// with generic plans (`PG_SESSION`), which cannot tell a short pattern from a long one,
    /// and a trigram index read for a pattern without trigrams returns every row (measured
    /// twice as slow as the scan it replaces), so the short pattern keeps its own statement
    /// and the plan it had before the index existed.
    Short,
}

impl QueryFragment<Pg> for Prefilter {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        if let Prefilter::Short = self {
            out.push_sql("'' || ");
        }
        Ok(())
    }
}

impl QueryFragment<Sqlite> for Prefilter {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        if let Prefilter::Trigrams { head, phrase } = self {
            out.push_sql(head);
            out.push_bind_param::<Text, _>(phrase)?;
            out.push_sql(") AND ");
        }
        Ok(())
    }
}

/// A one-column table `(id)` of the bound ids: `(SELECT unnest($n) AS id)` on PostgreSQL,
/// `(SELECT value AS id FROM json_each(?))` on SQLite.
#[derive(Debug, Clone, PartialEq)]
pub struct IdTable(List);

impl QueryFragment<Pg> for IdTable {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("(SELECT unnest(");
        self.0.items.bind(&mut out)?;
        out.push_sql(") AS id)");
        Ok(())
    }
}

impl QueryFragment<Sqlite> for IdTable {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("(SELECT value AS id FROM json_each(");
        out.push_bind_param::<Text, _>(&self.0.json)?;
        out.push_sql("))");
        Ok(())
    }
}

/// ` = ANY($n)` (PostgreSQL) or ` IN (SELECT value FROM json_each(?))` (SQLite): membership in
/// a list of ids or of strings bound as one parameter (an array, or a JSON array), after a
/// column the caller writes, so lists of any length share one prepared statement.
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    items: Items,
    json: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Items {
    Ids(Vec<i64>),
    Texts(Vec<String>),
}

impl List {
    fn of<T: serde::Serialize>(items: Vec<T>, kind: fn(Vec<T>) -> Items) -> List {
        List {
            json: serde_json::to_string(&items).unwrap_or_else(|_| "[]".into()),
            items: kind(items),
        }
    }
}

impl Items {
    /// The items as one PostgreSQL array parameter.
    fn bind<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        match self {
            Items::Ids(v) => out.push_bind_param::<Array<BigInt>, _>(v),
            Items::Texts(v) => out.push_bind_param::<Array<Text>, _>(v),
        }
    }
}

impl QueryFragment<Pg> for List {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(" = ANY(");
        self.items.bind(&mut out)?;
        out.push_sql(")");
        Ok(())
    }
}

impl QueryFragment<Sqlite> for List {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.json)?;
        out.push_sql("))");
        Ok(())
    }
}

/// A boolean SQL expression (or an ORDER BY list) built from text and binds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Raw {
    parts: Vec<Part>,
}

impl Raw {
    pub fn sql(s: impl Into<String>) -> Raw {
        Raw {
            parts: vec![Part::Sql(s.into())],
        }
    }
    pub fn push(mut self, s: impl Into<String>) -> Raw {
        self.parts.push(Part::Sql(s.into()));
        self
    }
    pub fn bind(mut self, b: Bind) -> Raw {
        self.parts.push(Part::Bind(b));
        self
    }
    /// `<column the caller wrote> IN ids`, bound as one parameter.
    pub fn in_ids(mut self, ids: &[i64]) -> Raw {
        self.parts
            .push(Part::List(List::of(ids.to_vec(), Items::Ids)));
        self
    }
    /// `<column the caller wrote> IN items`, bound as one parameter.
    pub fn in_texts<S: AsRef<str>>(mut self, items: &[S]) -> Raw {
        let items: Vec<String> = items.iter().map(|s| s.as_ref().to_string()).collect();
        self.parts.push(Part::List(List::of(items, Items::Texts)));
        self
    }
    /// A table of ids with one column, `id`.
    pub fn id_table(mut self, ids: &[i64]) -> Raw {
        self.parts
            .push(Part::IdTable(IdTable(List::of(ids.to_vec(), Items::Ids))));
        self
    }
    /// The trigram pre-filter: on SQLite, `key` among the rowids of FTS5 table `table` whose
    /// `column` holds `text`, then `AND`; nothing on PostgreSQL. The caller appends the exact
    /// condition, which alone decides the match.
    pub fn prefilter(mut self, key: &str, table: &str, column: &str, text: &str) -> Raw {
        self.parts.push(Part::Prefilter(Prefilter::Trigrams {
            head: format!(r#"{key} IN (SELECT rowid FROM "{table}" WHERE "{column}" MATCH "#),
            phrase: fts5_phrase(text),
        }));
        self
    }
    /// In front of the operand of a substring comparison too short for its column's trigram
    /// index: keeps PostgreSQL from reading that index ([`Prefilter::Short`]).
    pub fn without_trigrams(mut self) -> Raw {
        self.parts.push(Part::Prefilter(Prefilter::Short));
        self
    }
    /// This text as a whole statement returning rows of `ST`.
    pub fn query<ST>(self) -> RawQuery<ST> {
        RawQuery {
            raw: self,
            _st: std::marker::PhantomData,
        }
    }
    pub fn append(mut self, other: Raw) -> Raw {
        self.parts.extend(other.parts);
        self
    }
    /// `(a) AND (b)` etc.
    pub fn join(op: &str, a: Raw, b: Raw) -> Raw {
        Raw::sql("(")
            .append(a)
            .push(format!(") {op} ("))
            .append(b)
            .push(")")
    }
    pub fn negate(a: Raw) -> Raw {
        Raw::sql("NOT (").append(a).push(")")
    }
    pub fn constant(v: bool) -> Raw {
        Raw::sql(if v { "(1 = 1)" } else { "(1 = 0)" })
    }
}

/// `text` as one FTS5 string (a phrase): in double quotes, each double quote doubled. The
/// trigram tokenizer makes it the sequence of its trigrams, matching the rows that hold
/// `text` anywhere (case-folded).
fn fts5_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// What diesel asks of an expression written as text, of SQL type `$st`: it appears on any
/// table, is never an aggregate, and is cached by its text (no static query id).
macro_rules! text_expression {
    ($t:ty, $st:ty) => {
        impl Expression for $t {
            type SqlType = $st;
        }
        impl<QS> AppearsOnTable<QS> for $t {}
        impl<QS> SelectableExpression<QS> for $t {}
        impl ValidGrouping<()> for $t {
            type IsAggregate = is_aggregate::Never;
        }
        impl QueryId for $t {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }
    };
}

text_expression!(Raw, Bool);
text_expression!(RawOrder, Text);

impl Raw {
    fn walk_parts<'b>(&'b self, out: &mut AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        for p in &self.parts {
            match p {
                Part::Sql(s) => out.push_sql(s),
                Part::Bind(Bind::Text(v)) => out.push_bind_param::<Text, _>(v)?,
                Part::Bind(Bind::Int(v)) => out.push_bind_param::<BigInt, _>(v)?,
                Part::Bind(Bind::Float(v)) => out.push_bind_param::<Double, _>(v)?,
                Part::Bind(Bind::Bool(v)) => out.push_bind_param::<Bool, _>(v)?,
                Part::Bind(Bind::Time(v)) => out.push_bind_param::<Timestamp, _>(v)?,
                Part::List(l) => MultiBackend::walk_variant_ast(l, out.reborrow())?,
                Part::IdTable(t) => MultiBackend::walk_variant_ast(t, out.reborrow())?,
                Part::Prefilter(f) => MultiBackend::walk_variant_ast(f, out.reborrow())?,
            }
        }
        Ok(())
    }
}

impl QueryFragment<MultiBackend> for Raw {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        // Parenthesised, so an `OR` inside never escapes the conditions around it.
        out.push_sql("(");
        self.walk_parts(&mut out)?;
        out.push_sql(")");
        Ok(())
    }
}

/// Rows of two numbers read by `head`, which ends with the column matched against `ids`
/// (bound as one parameter), then `tail`; no statement at all for no ids.
pub fn id_pairs(
    conn: &mut super::DbConn,
    head: &str,
    ids: &[i64],
    tail: &str,
) -> QueryResult<Vec<(i64, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Raw::sql(head)
        .in_ids(ids)
        .push(tail)
        .query::<(BigInt, BigInt)>()
        .load(conn.db())
}

/// A whole statement written as text; its rows are `ST`. Cached by its text like any other.
pub struct RawQuery<ST> {
    raw: Raw,
    _st: std::marker::PhantomData<ST>,
}

impl<ST> QueryId for RawQuery<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST> Query for RawQuery<ST> {
    type SqlType = ST;
}

impl<ST> QueryFragment<MultiBackend> for RawQuery<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        self.raw.walk_parts(&mut out)
    }
}

impl<ST> RunQueryDsl<super::MultiConn> for RawQuery<ST> {}

/// An ORDER BY list as text (no binds): `a ASC, b DESC`.
#[derive(Debug, Clone, PartialEq)]
pub struct RawOrder(pub String);

impl QueryFragment<MultiBackend> for RawOrder {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql(&self.0);
        Ok(())
    }
}
