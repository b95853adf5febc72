//! The users list: a total, plain search (as you type) and SCIM filter, sortable columns
//! (each order served by an index), numbered pages of a chosen size, a selection for bulk
//! actions (`bulk.rs`) and the current list as CSV (`csv.rs`).

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::Query;
use poem::{handler, Response};
use serde::Deserialize;

use super::view::{self, Nav};
use super::{Console, Fail, Out};
use crate::auth::session::Session;
use crate::directory::read::{Order, Search, UserFilter, UserOrder, Window};
use crate::directory::{self, Conn, StoreError};
use crate::domain::{id_to_hex, MultiAttr, Scope, User, UserData};

/// The page sizes offered; the default is the first of the second half.
pub(crate) const SIZES: [i64; 4] = [25, 50, 100, 200];
const DEFAULT_SIZE: i64 = 100;
/// Longest plain search.
const MAX_SEARCH: usize = 256;

/// What the list shows: the search, the order and the page. Bulk actions and the CSV export
/// carry the same fields, so they act on exactly what the admin sees.
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub(crate) struct ListQuery {
    /// Plain search over user name, display name, title, department, external id, emails
    /// and phone numbers.
    pub(crate) q: String,
    /// A SCIM filter (RFC 7644 §3.4.2.2).
    pub(crate) filter: String,
    /// `created` (oldest first), `user`, `name`; a leading `-` reverses. Default `-created`.
    pub(crate) sort: String,
    /// 1-based page number.
    pub(crate) page: String,
    pub(crate) size: String,
    pub(crate) done: String,
}

/// A sort the list offers: its query value, its index-served order, its column.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Sort {
    pub(crate) key: UserOrder,
    pub(crate) descending: bool,
}

impl Sort {
    pub(crate) fn parse(s: &str) -> Sort {
        let (descending, name) = match s.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, s),
        };
        match name {
            "user" => Sort {
                key: UserOrder::LoginName,
                descending,
            },
            "name" => Sort {
                key: UserOrder::DisplayName,
                descending,
            },
            "created" => Sort {
                key: UserOrder::Created,
                descending,
            },
            // The default, and any older value (`givenName`, `email`, …): newest first.
            _ => Sort {
                key: UserOrder::Created,
                descending: true,
            },
        }
    }

    fn name(key: UserOrder) -> &'static str {
        match key {
            UserOrder::Created => "created",
            UserOrder::LoginName => "user",
            UserOrder::DisplayName => "name",
        }
    }

    pub(crate) fn value(self) -> String {
        let n = Sort::name(self.key);
        if self.descending {
            format!("-{n}")
        } else {
            n.to_string()
        }
    }

    pub(crate) fn order(self) -> Order {
        Order::users_by(self.key, self.descending)
    }
}

impl ListQuery {
    pub(crate) fn size(&self) -> i64 {
        self.size
            .parse::<i64>()
            .ok()
            .filter(|s| SIZES.contains(s))
            .unwrap_or(DEFAULT_SIZE)
    }

    fn page(&self) -> i64 {
        self.page
            .parse::<i64>()
            .ok()
            .filter(|p| *p >= 1)
            .unwrap_or(1)
    }

    pub(crate) fn sort(&self) -> Sort {
        Sort::parse(&self.sort)
    }

    /// The query string of this list with `page` (and the other fields as they are).
    pub(crate) fn link(&self, page: Option<i64>, sort: Option<Sort>) -> String {
        let mut u = url::form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            u.append_pair("q", &self.q);
        }
        if !self.filter.is_empty() {
            u.append_pair("filter", &self.filter);
        }
        let sort = sort.unwrap_or(self.sort());
        if sort != Sort::parse("") {
            u.append_pair("sort", &sort.value());
        }
        if self.size() != DEFAULT_SIZE {
            u.append_pair("size", &self.size().to_string());
        }
        if let Some(p) = page.filter(|p| *p > 1) {
            u.append_pair("page", &p.to_string());
        }
        u.finish()
    }

    /// The users this list selects, or what is wrong with its search (by field: `q` or
    /// `filter`).
    pub(crate) fn condition(
        &self,
        conn: &mut Conn,
        s: &Session,
    ) -> Result<Result<UserFilter, (&'static str, String)>, Fail> {
        let mut cond = UserFilter::all();
        let plain = self.q.trim();
        if !plain.is_empty() {
            if plain.chars().count() > MAX_SEARCH {
                return Ok(Err(("q", "The search is at most 256 characters.".into())));
            }
            cond = UserFilter::text(plain);
        }
        let advanced = self.filter.trim();
        if !advanced.is_empty() {
            let reg = directory::schemas::registry(
                conn,
                &s.principal.org_id,
                s.principal.schemas_version,
            )?;
            match crate::scim::filter::Filter::parse(advanced)
                .map_err(|e| format!("At position {}: {}", e.position, e.message))
                .and_then(|f| {
                    UserFilter::scim(&f, reg.user(), &s.principal.org_id).map_err(|e| e.detail)
                }) {
                Ok(r) => cond = cond.and(r),
                Err(m) => return Ok(Err(("filter", m))),
            }
        }
        Ok(Ok(cond))
    }

    fn searching(&self) -> bool {
        !self.q.trim().is_empty() || !self.filter.trim().is_empty()
    }
}

/// One page of the list and how many users match in all.
pub(crate) struct Listed {
    pub(crate) users: Vec<User>,
    pub(crate) total: i64,
}

/// A page of the users `q` selects, in its order, with the total: the total from the
/// counts kept by triggers (no filter) or one `COUNT(*)`; the page from the order's index.
pub(crate) fn read(
    conn: &mut Conn,
    s: &Session,
    q: &ListQuery,
    cond: UserFilter,
) -> Result<Result<Listed, String>, Fail> {
    let size = q.size();
    let search = Search {
        filter: cond,
        order: q.sort().order(),
        window: Window::Offset {
            offset: (q.page() - 1).saturating_mul(size),
            limit: size,
        },
        total: true,
        groups: directory::users::Groups::Skip,
    };
    match directory::users::search(conn, &s.principal.org_id, &search) {
        Ok((loaded, total)) => Ok(Ok(Listed {
            users: loaded.users,
            total: total.unwrap_or(0),
        })),
        // A filter the backend cannot run (a regular expression SQLite refuses, …).
        Err(StoreError::Invalid(m)) => Ok(Err(m)),
        Err(e) => Err(e.into()),
    }
}

#[handler]
pub(crate) async fn list(at: Console<'_>, Query(q): Query<ListQuery>) -> Response {
    at.page(Scope::UsersRead, move |conn, s| {
        let bad = |field: &str, m: String| {
            let page = render(
                s,
                &q,
                &Listed {
                    users: vec![],
                    total: 0,
                },
                Some((field, m)),
            );
            Err(Fail::Page(StatusCode::BAD_REQUEST, page))
        };
        let cond = match q.condition(conn, s)? {
            Ok(c) => c,
            Err((field, m)) => return bad(field, m),
        };
        match read(conn, s, &q, cond)? {
            Ok(listed) => Ok(Out::Page(render(s, &q, &listed, None))),
            Err(m) => bad("filter", m),
        }
    })
    .await
}

pub(crate) fn notice_of(done: &str) -> Option<&'static str> {
    Some(match done {
        "deleted" => "User deleted.",
        _ => return None,
    })
}

pub(crate) use super::dashboard::thousands;

/// "1 user", "2,009 users".
pub(crate) fn users_count(n: i64) -> String {
    if n == 1 {
        "1 user".into()
    } else {
        format!("{} users", thousands(n))
    }
}

fn primary(u: &User, attr: MultiAttr) -> String {
    u.data
        .primary(attr)
        .and_then(|v| v.value.clone())
        .unwrap_or_default()
}

/// A user's name as the list shows it: the display name, else the formatted name, else
/// given and family names.
pub(crate) fn name_of(d: &UserData) -> String {
    d.display_name
        .clone()
        .or_else(|| d.name.formatted.clone())
        .or_else(|| {
            let n = [d.name.given.as_deref(), d.name.family.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!n.is_empty()).then_some(n)
        })
        .unwrap_or_default()
}

fn badge(active: bool) -> Markup {
    html! {
        @if active { span.badge.active { "Active" } } @else { span.badge.suspended { "Suspended" } }
    }
}

/// A sortable column header: a link that sorts by it (ascending first; again reverses),
/// with `aria-sort` on the current one.
fn sort_header(q: &ListQuery, key: UserOrder, label: &str) -> Markup {
    let current = q.sort();
    let here = current.key == key;
    let next = Sort {
        key,
        descending: if here {
            !current.descending
        } else {
            key == UserOrder::Created
        },
    };
    let aria = match (here, current.descending) {
        (false, _) => None,
        (true, true) => Some("descending"),
        (true, false) => Some("ascending"),
    };
    html! {
        th scope="col" aria-sort=[aria] {
            a.sort href={ "/console/users?" (q.link(None, Some(next))) } {
                (label)
                @if here { span aria-hidden="true" { @if current.descending { " ▼" } @else { " ▲" } } }
            }
        }
    }
}

fn render(s: &Session, q: &ListQuery, l: &Listed, error: Option<(&str, String)>) -> Markup {
    let (q_err, f_err) = match &error {
        Some(("q", m)) => (Some(m.clone()), None),
        Some((_, m)) => (None, Some(m.clone())),
        None => (None, None),
    };
    let size = q.size();
    let page = q.page();
    let last = ((l.total + size - 1) / size).max(1);
    let href = |p: i64| format!("/console/users?{}", q.link(Some(p), None));
    let count_text = if q.searching() {
        match l.total {
            1 => "1 user matches".to_string(),
            n => format!("{} users match", thousands(n)),
        }
    } else {
        users_count(l.total)
    };
    view::page(
        s,
        Nav::Users,
        "Users",
        html! {
            div.titlebar {
                h1 { "Users" }
                div.actions {
                    a.button href="/console/users/new" { "Add user" }
                    a.button.secondary href="/console/users/import" { "Import CSV" }
                }
            }
            (view::notice(notice_of(&q.done)))
            form.search method="get" action="/console/users" role="search" data-live-list="users-results" {
                (view::field("Search", "q", "search", &q.q, q_err.as_ref()))
                details open[!q.filter.is_empty()] {
                    summary { "Advanced: SCIM filter" }
                    (view::field("SCIM filter", "filter", "text", &q.filter, f_err.as_ref()))
                    p.hint { "For example " code { "name.familyName sw \"Sm\" and active eq true" } }
                }
                input type="hidden" name="sort" value=(q.sort().value());
                div.field.narrow {
                    label for="f-size" { "Per page" }
                    select id="f-size" name="size" {
                        @for n in SIZES { option value=(n) selected[n == size] { (n) } }
                    }
                }
                button type="submit" { "Search" }
            }
            div id="users-results" {
                @if error.is_none() {
                    p.total role="status" { (count_text) }
                }
                @if l.users.is_empty() && error.is_none() {
                    div.empty {
                        @if q.searching() {
                            p { "No users match." }
                            p { a href="/console/users" { "Clear the search and show every user" } }
                        } @else if page > 1 {
                            p { "There is no page " (page) "." }
                            p { a href="/console/users" { "Back to the first page" } }
                        } @else {
                            p { "No users yet." }
                            p { a href="/console/users/new" { "Add the first user" } " or "
                                a href="/console/users/import" { "import users from CSV" } "." }
                        }
                    }
                }
                @if !l.users.is_empty() {
                    (super::bulk::toolbar(s, q, l.total, l.users.len()))
                    table.list.users {
                        thead { tr {
                            th scope="col" class="sel" {
                                input type="checkbox" id="select-page" form="bulk" aria-label="Select every user on this page";
                            }
                            (sort_header(q, UserOrder::LoginName, "User name"))
                            (sort_header(q, UserOrder::DisplayName, "Name"))
                            th scope="col" { "Email" }
                            th scope="col" { "Phone" }
                            th scope="col" { "Status" }
                            th scope="col" { "Last sign-in" }
                            (sort_header(q, UserOrder::Created, "Created"))
                        } }
                        tbody {
                            @for u in &l.users {
                                @let hex = id_to_hex(u.id);
                                tr {
                                    td class="sel" {
                                        input type="checkbox" name="ids" value=(hex) form="bulk"
                                            aria-label={ "Select " (u.shown_name()) };
                                    }
                                    td { a href={ "/console/users/" (hex) } { (u.shown_name()) } }
                                    td { (name_of(&u.data)) }
                                    td { (primary(u, MultiAttr::Emails)) }
                                    td { (primary(u, MultiAttr::PhoneNumbers)) }
                                    td { (badge(u.data.is_active())) }
                                    td { @match &u.data.vendor.last_sign_in_at {
                                        Some(t) => (view::time(t)),
                                        None => span.empty { "never" },
                                    } }
                                    td title={ "in " (view::dialect_label(u.created_by.as_deref())) } {
                                        (u.created_at.format("%Y-%m-%d %H:%M"))
                                    }
                                }
                            }
                        }
                    }
                }
                nav.pager aria-label="Pages" {
                    @if page > 1 {
                        a rel="first" href=(href(1)) { "First" }
                        a rel="prev" href=(href((page - 1).min(last))) { "Previous" }
                    }
                    @if l.total > 0 {
                        span.where { "Page " (page) " of " (thousands(last)) }
                    }
                    @if page < last {
                        a rel="next" href=(href(page + 1)) { "Next page" }
                        a rel="last" href=(href(last)) { "Last" }
                    }
                }
                @if l.total > 0 && error.is_none() {
                    p.hint {
                        a href={ "/console/users/export.csv?" (q.link(None, None)) } download {
                            "Export " (if q.searching() { "these " } else { "all " }) (users_count(l.total)) " as CSV"
                        }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_round_trip_and_default_to_newest() {
        for v in ["created", "-created", "user", "-user", "name", "-name"] {
            assert_eq!(Sort::parse(v).value(), v);
        }
        assert_eq!(Sort::parse("givenName").value(), "-created");
        assert_eq!(Sort::parse("").value(), "-created");
    }
}
