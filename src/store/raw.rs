//! A SQL fragment with bind parameters that diesel embeds in a boxed query on either backend.
//! diesel's own `exists()` / `eq_any()` over boxed subqueries do not compile for
//! `MultiBackend`, so correlated sub-queries (multi-valued attributes) are written as text
//! here; every value still travels as a bind parameter, never inside the SQL text.

use chrono::NaiveDateTime;
use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Double, Text, Timestamp};
use diesel::QueryResult;

/// The backend of the multi-connection (its type is private to the derive).
type MultiBackend = <super::DbConn as diesel::Connection>::Backend;

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

impl Expression for Raw {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for Raw {}
impl<QS> SelectableExpression<QS> for Raw {}

impl ValidGrouping<()> for Raw {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for Raw {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<MultiBackend> for Raw {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql("(");
        for p in &self.parts {
            match p {
                Part::Sql(s) => out.push_sql(s),
                Part::Bind(Bind::Text(v)) => out.push_bind_param::<Text, _>(v)?,
                Part::Bind(Bind::Int(v)) => out.push_bind_param::<BigInt, _>(v)?,
                Part::Bind(Bind::Float(v)) => out.push_bind_param::<Double, _>(v)?,
                Part::Bind(Bind::Bool(v)) => out.push_bind_param::<Bool, _>(v)?,
                Part::Bind(Bind::Time(v)) => out.push_bind_param::<Timestamp, _>(v)?,
            }
        }
        out.push_sql(")");
        Ok(())
    }
}

/// An ORDER BY list as text (no binds): `a ASC, b DESC`.
#[derive(Debug, Clone, PartialEq)]
pub struct RawOrder(pub String);

impl Expression for RawOrder {
    type SqlType = Text;
}
impl<QS> AppearsOnTable<QS> for RawOrder {}
impl<QS> SelectableExpression<QS> for RawOrder {}
impl ValidGrouping<()> for RawOrder {
    type IsAggregate = is_aggregate::Never;
}
impl QueryId for RawOrder {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}
impl QueryFragment<MultiBackend> for RawOrder {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql(&self.0);
        Ok(())
    }
}
