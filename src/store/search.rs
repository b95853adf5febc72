//! What a read of users or groups selects and in which order, said in types by the
//! directory's callers and written as SQL only here. A dialect says *what* to search (a SCIM
//! filter, Logto's field searches, Adobe's domain and group, the console's plain text); the
//! SQL text, its bind parameters and the backend's dialect of SQL stay in the store.
//!
//! The SQL a filter makes is the same text, part for part, as each caller composed before
//! (`Raw::join` in the same order), so statements stay cached and the budgets unchanged.

use super::filter_sql::{self, Target};
use super::raw::Raw;
use super::user_search::{self, Backend, Condition};
use super::users::Among;
use super::{Order, StoreResult};
use crate::domain::{GroupKind, OrgId};
use crate::scim::filter::{AttrPath, Filter};
use crate::scim::schema::ResourceType;
use crate::scim::ScimResult;

/// How the matches of a field search combine (Logto's `joint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Joint {
    #[default]
    Or,
    And,
}

/// A search by field (Logto's `search.<field>` with its modes): each match is one OR of
/// conditions (a search of every field is one match with a condition per field), and the
/// matches are joined by `joint`.
#[derive(Debug, Clone, Default)]
pub struct FieldSearch {
    pub matches: Vec<Vec<Condition>>,
    pub joint: Joint,
}

impl FieldSearch {
    /// One field matched one way (Sumo Logic's `email`).
    pub fn one(c: Condition) -> FieldSearch {
        FieldSearch {
            matches: vec![vec![c]],
            joint: Joint::Or,
        }
    }

    fn sql(&self, backend: &Backend) -> StoreResult<Option<Raw>> {
        let op = match self.joint {
            Joint::And => "AND",
            Joint::Or => "OR",
        };
        let mut joined: Option<Raw> = None;
        for conds in &self.matches {
            let mut any: Option<Raw> = None;
            for c in conds {
                let sql = user_search::condition(c, backend)?;
                any = Some(match any {
                    None => sql,
                    Some(prev) => Raw::join("OR", prev, sql),
                });
            }
            let Some(any) = any else { continue };
            joined = Some(match joined {
                None => any,
                Some(prev) => Raw::join(op, prev, any),
            });
        }
        Ok(joined)
    }
}

#[derive(Debug, Clone)]
enum UserPart {
    /// A SCIM filter, translated (and so checked) when the filter was made.
    Scim(Raw),
    Fields(FieldSearch),
    /// The console's plain search: anywhere in the login name, display name, title,
    /// department, external id, emails, phones.
    Text(String),
    Among(Among),
    WithoutRole(i64),
    NotInGroup(i64),
}

/// Which users a read selects: every user, or those matching all of its parts.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    parts: Vec<UserPart>,
    /// Whether PostgreSQL should plan this read with its values (`plans_with_values`).
    value_sensitive: bool,
}

impl UserFilter {
    /// Every user of the organization.
    pub fn all() -> UserFilter {
        UserFilter::default()
    }

    /// A SCIM filter on users; an unknown attribute or a mismatched operator is SCIM's 400
    /// `invalidFilter` here, before anything is read.
    pub fn scim(f: &Filter, rt: &ResourceType, org: &OrgId) -> ScimResult<UserFilter> {
        let sql = filter_sql::translate(f, Target::Users, rt, org.as_str())?;
        let mut filter = UserFilter::of(UserPart::Scim(sql));
        filter.value_sensitive = value_sensitive(f);
        Ok(filter)
    }

    /// Whether the plan of this read depends on its values enough that PostgreSQL should
    /// plan it with them (`users::search`): a range (`gt`, `ge`, `lt`, `le`: a recent time is
    /// rare, an old one is everyone), a substring (`co`, `sw`, `ew`: a rare trigram or a
    /// common one), or a boolean (`active eq false` is 1% or 99%). Muster's sessions plan
    /// prepared statements generically (`PG_SESSION`), which for these picks the plan for an
    /// average value: walk the organization in the sort order and filter.
    pub fn plans_with_values(&self) -> bool {
        self.value_sensitive
    }

    /// A field search. A mode the backend cannot run or a malformed pattern is `Invalid`
    /// when the read runs.
    pub fn fields(s: FieldSearch) -> UserFilter {
        UserFilter::of(UserPart::Fields(s))
    }

    /// `text` anywhere (case-insensitively) in the login name, the display name, or any
    /// email or phone number.
    pub fn text(text: &str) -> UserFilter {
        UserFilter::of(UserPart::Text(text.to_string()))
    }

    /// The users an Adobe list shows (an email domain, a group, active or not).
    pub fn among(a: Among) -> UserFilter {
        UserFilter::of(UserPart::Among(a))
    }

    /// Users who are not direct members of group `group_id` (the console's "add members"
    /// offers only them).
    pub fn not_in_group(group_id: i64) -> UserFilter {
        UserFilter::of(UserPart::NotInGroup(group_id))
    }

    /// Users lacking the role `role_id`.
    pub fn without_role(role_id: i64) -> UserFilter {
        UserFilter::of(UserPart::WithoutRole(role_id))
    }

    /// Users matching both.
    pub fn and(mut self, other: UserFilter) -> UserFilter {
        self.parts.extend(other.parts);
        self.value_sensitive |= other.value_sensitive;
        self
    }

    fn of(p: UserPart) -> UserFilter {
        UserFilter {
            parts: vec![p],
            value_sensitive: false,
        }
    }

    /// The condition on `users` (`None`: every user, which lets an unfiltered list use the
    /// counts kept by triggers).
    pub(super) fn sql(&self, backend: Backend, org: &OrgId) -> StoreResult<Option<Raw>> {
        let mut joined: Option<Raw> = None;
        for p in &self.parts {
            let sql = match p {
                UserPart::Scim(r) => Some(r.clone()),
                UserPart::Fields(s) => s.sql(&backend)?,
                UserPart::Text(t) => Some(user_search::text_anywhere(org.as_str(), t)),
                UserPart::Among(a) => a.sql(),
                UserPart::WithoutRole(id) => Some(user_search::without_role(*id)),
                UserPart::NotInGroup(id) => Some(user_search::not_in_group(*id)),
            };
            let Some(sql) = sql else { continue };
            joined = Some(match joined {
                None => sql,
                Some(prev) => Raw::join("AND", prev, sql),
            });
        }
        Ok(joined)
    }
}

/// Which groups a read selects.
#[derive(Debug, Clone, Default)]
pub struct GroupFilter(Option<Raw>);

impl GroupFilter {
    /// Every group of the organization.
    pub fn all() -> GroupFilter {
        GroupFilter(None)
    }

    /// A SCIM filter on groups (SCIM's 400 `invalidFilter` when it cannot be).
    pub fn scim(f: &Filter, rt: &ResourceType, org: &OrgId) -> ScimResult<GroupFilter> {
        Ok(GroupFilter(Some(filter_sql::translate(
            f,
            Target::Groups,
            rt,
            org.as_str(),
        )?)))
    }

    /// Groups of one of `kinds` (every kind when empty).
    pub fn of_kinds(kinds: &[GroupKind]) -> GroupFilter {
        GroupFilter(super::groups::of_kinds(kinds))
    }

    pub(super) fn sql(&self) -> Option<&Raw> {
        self.0.as_ref()
    }
}

/// The orders of a users list that an index serves (migration `console_user_orders`): the
/// SQL of each is the index's expression, and never NULL (a missing name sorts as '').
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserOrder {
    Created,
    LoginName,
    DisplayName,
}

impl UserOrder {
    fn sql(self) -> &'static str {
        match self {
            UserOrder::Created => "users.created_at",
            UserOrder::LoginName => "COALESCE(users.user_name_lower, '')",
            UserOrder::DisplayName => "COALESCE(users.display_name_lower, '')",
        }
    }
}

impl Order {
    /// By id, ascending: the stable order of offset and keyset paging.
    pub fn by_id() -> Order {
        Order::default()
    }

    /// Users, newest first (Logto's lists, the console's default): `created_at` is never
    /// NULL, so the index `users_org_created` serves it.
    pub fn newest_first() -> Order {
        Order::users_by(UserOrder::Created, true)
    }

    /// Users by one of the console's sort keys (each has an index on `(org_id, key, id)`).
    pub fn users_by(key: UserOrder, descending: bool) -> Order {
        Order {
            key: Some(key.sql().into()),
            descending,
            never_null: true,
        }
    }

    /// SCIM's `sortBy` (none: by id) and `sortOrder`; an attribute that cannot be sorted by
    /// is SCIM's 400 `invalidValue`.
    pub fn scim(
        by: Option<&AttrPath>,
        target: Target,
        rt: &ResourceType,
        descending: bool,
    ) -> ScimResult<Order> {
        let key = by
            .map(|p| filter_sql::sort_key(p, target, rt))
            .transpose()?;
        Ok(Order {
            key,
            descending,
            never_null: false,
        })
    }

    /// Whether the order is by a key other than the id (such lists page by offset).
    pub fn is_keyed(&self) -> bool {
        self.key.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::Registry;

    fn users() -> &'static crate::scim::schema::ResourceType {
        Registry::builtin().user()
    }
    use crate::store::user_search::{Field, Mode};

    fn org() -> OrgId {
        OrgId::parse("acme").unwrap()
    }

    fn cond(field: Field, mode: Mode, v: &str) -> Condition {
        Condition {
            field,
            mode,
            values: vec![v.into()],
            case_sensitive: false,
        }
    }

    #[test]
    fn no_condition_reads_every_user() {
        for b in [Backend::Sqlite, Backend::Postgres] {
            assert_eq!(UserFilter::all().sql(b, &org()).unwrap(), None);
            assert_eq!(
                UserFilter::among(Among::default()).sql(b, &org()).unwrap(),
                None
            );
            assert_eq!(
                UserFilter::fields(FieldSearch::default())
                    .sql(b, &org())
                    .unwrap(),
                None
            );
        }
        assert!(GroupFilter::of_kinds(&[]).sql().is_none());
    }

    /// The SQL is the text Logto's handler composed itself before the search spec: each
    /// match an OR of its conditions, the matches joined by the joint, then AND the role.
    #[test]
    fn a_field_search_composes_as_before() {
        let b = Backend::Postgres;
        let email = cond(Field::PrimaryEmail, Mode::Exact, "a@x.co");
        let (n1, n2) = (
            cond(Field::Name, Mode::Like, "%z%"),
            cond(Field::Username, Mode::Like, "%z%"),
        );
        let f = UserFilter::fields(FieldSearch {
            matches: vec![vec![email.clone()], vec![n1.clone(), n2.clone()]],
            joint: Joint::And,
        })
        .and(UserFilter::without_role(7));
        let c = |c: &Condition| user_search::condition(c, &b).unwrap();
        let want = Raw::join(
            "AND",
            Raw::join("AND", c(&email), Raw::join("OR", c(&n1), c(&n2))),
            user_search::without_role(7),
        );
        assert_eq!(f.sql(b, &org()).unwrap(), Some(want));
        // A role alone is the role's condition, unwrapped.
        assert_eq!(
            UserFilter::without_role(7).sql(b, &org()).unwrap(),
            Some(user_search::without_role(7))
        );
    }

    #[test]
    fn parts_are_anded_in_order() {
        let f = crate::scim::filter::Filter::parse("userName sw \"a\"").unwrap();
        let scim = filter_sql::translate(&f, Target::Users, users(), "acme").unwrap();
        let both = UserFilter::text("bo").and(UserFilter::scim(&f, users(), &org()).unwrap());
        assert_eq!(
            both.sql(Backend::Sqlite, &org()).unwrap(),
            Some(Raw::join(
                "AND",
                user_search::text_anywhere("acme", "bo"),
                scim
            ))
        );
    }

    #[test]
    fn regular_expressions_run_on_both_backends_and_bad_ones_are_refused_on_sqlite() {
        let f = UserFilter::fields(FieldSearch::one(Condition {
            case_sensitive: true,
            ..cond(Field::Name, Mode::Posix, "^a")
        }));
        assert!(f.sql(Backend::Sqlite, &org()).unwrap().is_some());
        assert!(f.sql(Backend::Postgres, &org()).unwrap().is_some());
        let bad = UserFilter::fields(FieldSearch::one(cond(Field::Name, Mode::Posix, "(")));
        assert!(matches!(
            bad.sql(Backend::Sqlite, &org()),
            Err(crate::store::StoreError::Invalid(_))
        ));
    }

    #[test]
    fn orders() {
        assert!(!Order::by_id().is_keyed());
        assert!(Order::newest_first().is_keyed());
        let p = crate::scim::filter::AttrPath::parse("name.familyName").unwrap();
        assert!(Order::scim(Some(&p), Target::Users, users(), false)
            .unwrap()
            .is_keyed());
        assert!(!Order::scim(None, Target::Users, users(), true)
            .unwrap()
            .is_keyed());
        let bad = crate::scim::filter::AttrPath::parse("nope").unwrap();
        assert!(Order::scim(Some(&bad), Target::Users, users(), false).is_err());
    }
}

/// See [`UserFilter::plans_with_values`].
fn value_sensitive(f: &Filter) -> bool {
    use crate::scim::filter::{CompValue, CompareOp};
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => value_sensitive(a) || value_sensitive(b),
        Filter::Not(a) | Filter::ValuePath(_, a) => value_sensitive(a),
        Filter::Present(_) => false,
        Filter::Compare(_, op, v) => {
            !matches!(op, CompareOp::Eq | CompareOp::Ne) || matches!(v, CompValue::Bool(_))
        }
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;

    /// Which SCIM filters PostgreSQL plans with their values: ranges, substrings and
    /// booleans anywhere in the filter; equality, presence and value paths of equalities not.
    #[test]
    fn value_sensitive_filters_are_ranges_substrings_and_booleans() {
        let sensitive = |f: &str| value_sensitive(&Filter::parse(f).unwrap());
        for f in [
            r#"meta.created gt "2025-01-01T00:00:00Z""#,
            r#"meta.lastModified le "2025-01-01T00:00:00Z""#,
            r#"userName co "999""#,
            r#"userName sw "a""#,
            r#"title ew "x""#,
            "active eq false",
            r#"userName eq "a" and active eq true"#,
            r#"not (userName co "x")"#,
            r#"emails[value co "x"]"#,
            r#"userName eq "a" or title sw "b""#,
        ] {
            assert!(sensitive(f), "{f}");
        }
        for f in [
            r#"userName eq "a""#,
            r#"id eq "00000000000000AB""#,
            r#"emails[type eq "work"]"#,
            "title pr",
            r#"userName ne "a""#,
            r#"externalId eq "x" or displayName eq "y""#,
        ] {
            assert!(!sensitive(f), "{f}");
        }
    }
}
