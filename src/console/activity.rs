//! The organization's activity (`/console/activity`): the audit trail of every dialect,
//! newest first, filtered by dialect, action, user and time range, 50 to a page. A plain
//! GET form, so a filtered view is a link. Bad filters get a message by their field and no
//! rows. Each entry reads as a person would say it: who (an admin or a credential, by name,
//! linked), whom (the user or group, by name, linked), and what changed (each attribute
//! before → after, the members added or removed); console sign-ins (successful, failed,
//! throttled) and sign-outs are entries too. `/console/activity.csv` exports the same
//! filtered view (up to 10,000 entries). Four statements (the session, the count, the page,
//! the names), five with a user to look up.

use std::collections::BTreeMap;

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::Query;
use poem::{handler, Response};
use serde::Deserialize;

use super::view::{self, Names, Nav};
use super::{Console, Fail, Out};
use crate::auth::session::Session;
use crate::directory::audit::{self, Filter};
use crate::directory::users;
use crate::domain::{id_from_hex, AuditEntry, Scope};

const PAGE: i64 = 50;
/// The furthest page (so a hand-written URL cannot ask for a huge OFFSET).
const MAX_PAGE: i64 = 2_000;

/// The dialects an entry can be made in: (value, label).
const DIALECTS: [(&str, &str); 7] = [
    ("scim", "SCIM"),
    ("logto", "Logto"),
    ("domo", "Domo"),
    ("sumo", "Sumo Logic"),
    ("adobe", "Adobe"),
    ("admin", "Admin API"),
    ("console", "Console"),
];

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct ActivityQuery {
    dialect: String,
    /// Text the entry's key contains (`User.Create`, `Group`, `Password`).
    action: String,
    /// A user name, an email or a 16-hex-digit user id.
    user: String,
    /// `YYYY-MM-DD`, inclusive (UTC).
    from: String,
    to: String,
    page: String,
}

impl ActivityQuery {
    /// The filters given: (name, trimmed value).
    fn filters(&self) -> impl Iterator<Item = (&'static str, &str)> {
        let all = [
            ("dialect", &self.dialect),
            ("action", &self.action),
            ("user", &self.user),
            ("from", &self.from),
            ("to", &self.to),
        ];
        all.into_iter()
            .map(|(k, v)| (k, v.trim()))
            .filter(|(_, v)| !v.is_empty())
    }

    fn is_filtered(&self) -> bool {
        self.filters().next().is_some()
    }

    /// The CSV export of the same filters.
    fn csv_link(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.filters() {
            q.append_pair(k, v);
        }
        format!("/console/activity.csv?{}", q.finish())
    }

    /// The link to page `page` of the same filters.
    fn link(&self, page: i64) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.filters() {
            q.append_pair(k, v);
        }
        if page > 1 {
            q.append_pair("page", &page.to_string());
        }
        format!("/console/activity?{}", q.finish())
    }
}

type Errors = BTreeMap<&'static str, String>;

fn date(s: &str) -> Result<Option<chrono::NaiveDate>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| "Enter a date as YYYY-MM-DD.".to_string())
}

/// The filter `q` asks for (the user still to be looked up), or the messages of its fields.
fn parse(q: &ActivityQuery) -> Result<(Filter, i64), Errors> {
    let mut errors = Errors::new();
    let mut f = Filter::default();
    let dialect = q.dialect.trim();
    if !dialect.is_empty() {
        if DIALECTS.iter().any(|(v, _)| *v == dialect) {
            f.dialect = Some(dialect.to_string());
        } else {
            errors.insert("dialect", "Choose a dialect from the list.".into());
        }
    }
    let action = q.action.trim();
    if action.chars().count() > 100 {
        errors.insert("action", "At most 100 characters.".into());
    } else if !action.is_empty() {
        f.key_contains = Some(action.to_string());
    }
    if q.user.trim().chars().count() > 256 {
        errors.insert("user", "At most 256 characters.".into());
    }
    let from = date(&q.from)
        .map_err(|m| errors.insert("from", m))
        .ok()
        .flatten();
    let to = date(&q.to)
        .map_err(|m| errors.insert("to", m))
        .ok()
        .flatten();
    if let (Some(a), Some(b)) = (from, to) {
        if a > b {
            errors.insert("to", "The end is before the start.".into());
        }
    }
    f.from = from.and_then(|d| d.and_hms_opt(0, 0, 0));
    f.to = to.and_then(|d| d.and_hms_milli_opt(23, 59, 59, 999));
    let page = match q.page.trim() {
        "" => 1,
        p => match p.parse::<i64>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                errors.insert("page", format!("A page from 1 to {MAX_PAGE}."));
                1
            }
        },
    };
    if errors.is_empty() {
        Ok((f, page))
    } else {
        Err(errors)
    }
}

#[handler]
pub(crate) async fn list(at: Console<'_>, Query(q): Query<ActivityQuery>) -> Response {
    at.page(Scope::UsersRead, move |conn, s| {
        let org = &s.principal.org_id;
        let bad = |s: &Session, q: &ActivityQuery, e: &Errors| {
            let none = (&[][..], &Names::default());
            Fail::Page(StatusCode::BAD_REQUEST, render(s, q, e, none, 0, 1))
        };
        let (mut f, page) = parse(&q).map_err(|e| bad(s, &q, &e))?;
        with_user(conn, s, &q, &mut f).map_err(|e| e.unwrap_or_else(|e| bad(s, &q, &e)))?;
        let (entries, total) = audit::search(conn, org, &f, (page - 1) * PAGE, PAGE)?;
        let names = view::names_of(conn, org, &entries)?;
        Ok(Out::Page(render(
            s,
            &q,
            &Errors::new(),
            (&entries, &names),
            total,
            page,
        )))
    })
    .await
}

/// Add the query's user (a user name, an email or an id) to `f`: `Err(Err(messages))` when
/// there is no such user.
fn with_user(
    conn: &mut crate::directory::Conn,
    s: &Session,
    q: &ActivityQuery,
    f: &mut Filter,
) -> Result<(), Result<Fail, Errors>> {
    let user = q.user.trim();
    if user.is_empty() {
        return Ok(());
    }
    let id = match id_from_hex(user) {
        Some(id) if user.len() == 16 => Some(id),
        _ => users::find_by_key(conn, &s.principal.org_id, user).map_err(|e| Ok(e.into()))?,
    };
    match id {
        Some(id) => {
            f.user_id = Some(id);
            Ok(())
        }
        None => Err(Err(Errors::from([(
            "user",
            format!("No user {user} here."),
        )]))),
    }
}

/// Most entries one CSV export holds.
const CSV_MAX: i64 = 10_000;

/// The filtered activity as CSV (newest first, at most `CSV_MAX` entries): when (UTC,
/// RFC 3339), action, result, dialect, by (name and credential), whom (name and id), what
/// changed, and the entry's whole payload as JSON.
#[handler]
pub(crate) async fn csv(at: Console<'_>, Query(q): Query<ActivityQuery>) -> Response {
    at.page(Scope::UsersRead, move |conn, s| {
        let org = &s.principal.org_id;
        let (mut f, _) = parse(&q).map_err(|_| bad_csv())?;
        with_user(conn, s, &q, &mut f).map_err(|e| e.unwrap_or_else(|_| bad_csv()))?;
        let (entries, _) = audit::search(conn, org, &f, 0, CSV_MAX)?;
        let names = view::names_of(conn, org, &entries)?;
        Ok(Out::Csv(to_csv(&entries, &names)))
    })
    .await
}

fn bad_csv() -> Fail {
    Fail::Page(
        StatusCode::BAD_REQUEST,
        view::bare(
            "Bad filter",
            html! { p.error role="alert" { "The filter is not valid: correct it on the activity page, then export." } },
        ),
    )
}

/// One CSV field: quoted, quotes doubled, and a leading `=`, `+`, `-`, `@` (or tab, CR)
/// neutralised with a `'` so a spreadsheet never runs it as a formula.
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn to_csv(entries: &[AuditEntry], names: &Names) -> String {
    let mut out = String::from(
        "time_utc,action,result,dialect,by,by_credential,user,user_id,changes,payload\r\n",
    );
    for a in entries {
        let cred = view::actor_credential(&a.actor);
        let by = match cred.strip_prefix("user:") {
            Some(h) => id_from_hex(h)
                .and_then(|id| names.users.get(&id).cloned())
                .unwrap_or_else(|| h.to_string()),
            None => names.credentials.get(cred).cloned().unwrap_or_default(),
        };
        let (user, user_id) = match a.user_id {
            Some(u) => (
                names.users.get(&u).cloned().unwrap_or_default(),
                crate::domain::id_to_hex(u),
            ),
            None => (String::new(), String::new()),
        };
        let changes = a
            .payload
            .get("changes")
            .and_then(|c| c.as_object())
            .map(|c| {
                c.iter()
                    .map(|(k, v)| format!("{k}: {} -> {}", v[0], v[1]))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let row = [
            a.created_at.and_utc().to_rfc3339(),
            a.key.clone(),
            a.result.clone(),
            view::dialect_label(Some(&a.actor)).to_string(),
            by,
            cred.to_string(),
            user,
            user_id,
            changes,
            a.payload.to_string(),
        ];
        let line: Vec<String> = row.iter().map(|v| field(v)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

fn render(
    s: &Session,
    q: &ActivityQuery,
    errors: &Errors,
    (entries, names): (&[AuditEntry], &Names),
    total: i64,
    page: i64,
) -> Markup {
    let first = (page - 1) * PAGE + 1;
    let last = (page - 1) * PAGE + entries.len() as i64;
    let dialect_error = errors.get("dialect");
    view::page(
        s,
        Nav::Activity,
        "Activity",
        html! {
            h1 { "Activity" }
            form.search.filters method="get" action="/console/activity" aria-label="Filter the activity" novalidate {
                div.field.invalid[dialect_error.is_some()] {
                    label for="f-dialect" { "Dialect" }
                    select id="f-dialect" name="dialect" {
                        option value="" { "Any" }
                        @for (v, l) in DIALECTS {
                            option value=(v) selected[q.dialect.trim() == v] { (l) }
                        }
                    }
                    @if let Some(e) = dialect_error {
                        span.message id="f-dialect-error" role="alert" { (e) }
                    }
                }
                (view::field("Action contains", "action", "text", &q.action, errors.get("action")))
                (view::field("User (name, email or id)", "user", "text", &q.user, errors.get("user")))
                (view::field("From (UTC)", "from", "date", &q.from, errors.get("from")))
                (view::field("To (UTC)", "to", "date", &q.to, errors.get("to")))
                @if let Some(e) = errors.get("page") {
                    p.message role="alert" { (e) }
                }
                div.buttons {
                    button type="submit" { "Filter" }
                    @if q.is_filtered() { a href="/console/activity" { "Clear" } }
                }
            }
            @if errors.is_empty() {
                @if entries.is_empty() {
                    p.empty { @if q.is_filtered() { "No activity matches." } @else { "No activity recorded yet." } }
                } @else {
                    p.hint id="activity-count" { "Showing " (first) "–" (last) " of " (total) ", newest first." }
                    (view::activity_table(entries, "activity-count", names))
                    p { a href=(q.csv_link()) download="activity.csv" { "Export these entries as CSV" } }
                    nav.pager aria-label="Pages" {
                        @if page > 1 { a rel="prev" href=(q.link(page - 1)) { "Newer" } }
                        @if last < total && page < MAX_PAGE { a rel="next" href=(q.link(page + 1)) { "Older" } }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> ActivityQuery {
        let mut q = ActivityQuery::default();
        for (k, v) in pairs {
            let v = v.to_string();
            match *k {
                "dialect" => q.dialect = v,
                "action" => q.action = v,
                "user" => q.user = v,
                "from" => q.from = v,
                "to" => q.to = v,
                "page" => q.page = v,
                _ => unreachable!(),
            }
        }
        q
    }

    #[test]
    fn filters_parse_or_say_what_is_wrong() {
        let (f, page) = parse(&q(&[
            ("dialect", "scim"),
            ("action", " User.Create "),
            ("from", "2026-12-01"),
            ("to", "2026-12-03"),
            ("page", "2"),
        ]))
        .unwrap();
        assert_eq!(f.dialect.as_deref(), Some("scim"));
        assert_eq!(f.key_contains.as_deref(), Some("User.Create"));
        assert_eq!(f.from.unwrap().to_string(), "2026-12-01 00:00:00");
        assert_eq!(f.to.unwrap().to_string(), "2026-12-03 23:59:59.999");
        assert_eq!(page, 2);

        let e = parse(&q(&[
            ("dialect", "ldap"),
            ("from", "yesterday"),
            ("page", "0"),
        ]))
        .unwrap_err();
        assert_eq!(
            e.keys().copied().collect::<Vec<_>>(),
            ["dialect", "from", "page"]
        );
        let e = parse(&q(&[("from", "2026-12-03"), ("to", "2026-12-01")])).unwrap_err();
        assert_eq!(e["to"], "The end is before the start.");
    }

    #[test]
    fn links_keep_the_filters() {
        let l = q(&[("dialect", "logto"), ("action", "User & Group")]).link(3);
        assert_eq!(
            l,
            "/console/activity?dialect=logto&action=User+%26+Group&page=3"
        );
    }
}
