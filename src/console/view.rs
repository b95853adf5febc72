//! The console's page frame and shared pieces. maud escapes every interpolated value.

use maud::{html, Markup, DOCTYPE};
use poem::http::{header, StatusCode};
use poem::Response;

use crate::auth::session::Session;

pub(crate) fn html(status: StatusCode, m: Markup) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(m.into_string())
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Muster console" }
            link rel="stylesheet" href="/console/assets/console.css";
            script src="/console/assets/console.js" defer {}
        }
    }
}

/// A page with no session (sign-in, errors).
pub(crate) fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                main.narrow { (body) }
            }
        }
    }
}

/// The landing page at `/`: what this server is and where its parts are (`base`: the
/// configured base URL, ending in `/`).
pub(crate) fn landing(base: &str) -> Markup {
    let base = base.trim_end_matches('/');
    bare(
        "Muster",
        html! {
            h1 { "Muster" }
            p { "An identity provisioning server: one directory of users and groups, served as SCIM 2.0 and as the Logto, Domo, Sumo Logic and Adobe user-management APIs." }
            ul.links {
                li { a href="/console/" { "Console" } br; span.hint { "Sign in as an administrator to manage users, groups and credentials." } }
                li { a href="/docs" { "API documentation" } br; span.hint { "Every route of every dialect (OpenAPI, " a href="/openapi.json" { "openapi.json" } ")." } }
                li { a href="/scim/v2/ServiceProviderConfig" { "SCIM 2.0" } br; span.hint { "Base URL for an identity provider (Entra ID, Okta): " code { (base) "/scim/v2" } } }
            }
        },
    )
}

/// The console's not-found page: the sections to go to instead (this page has no session,
/// so it offers the navigation without the sign-out).
pub(crate) fn not_found(path: &str) -> Response {
    let body = html! {
        (DOCTYPE)
        html lang="en" {
            (head("Not found"))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "Muster" }
                    nav aria-label="Sections" {
                        @for (href, label) in SECTIONS { a href=(href) { (label) } }
                    }
                }
                main id="main" {
                    h1 { "Not found" }
                    p.error role="alert" {
                        @if path.is_empty() { "There is no such page: the item may have been deleted, or the link is wrong." }
                        @else { "There is no page at " code { (path) } "." }
                    }
                    p { "Try one of the sections above, or " a href="/console/users" { "search the users" } "." }
                }
            }
        }
    };
    html(StatusCode::NOT_FOUND, body)
}

/// The console's sections: (path, name), in the navigation's order.
const SECTIONS: [(&str, &str); 7] = [
    ("/console/", "Dashboard"),
    ("/console/users", "Users"),
    ("/console/groups", "Groups"),
    ("/console/organizations", "Organizations"),
    ("/console/credentials", "Credentials"),
    ("/console/schemas", "Schemas"),
    ("/console/activity", "Activity"),
];

/// An error page.
pub(crate) fn bare_page(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    html(
        status,
        bare(
            title,
            html! {
                h1 { (status.as_u16()) " " (title) }
                p.error role="alert" { (message) }
                p { a href="/console/users" { "Back to the console" } }
            },
        ),
    )
}

/// Which section of the navigation is current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Dashboard,
    Users,
    Groups,
    Organizations,
    Credentials,
    Schemas,
    Activity,
}

/// A page of a signed-in session: header with navigation and sign-out, then `body`.
pub(crate) fn page(s: &Session, nav: Nav, title: &str, body: Markup) -> Markup {
    let item = |n: Nav, href: &str, label: &str| {
        html! {
            @if n == nav {
                a href=(href) aria-current="page" { (label) }
            } @else {
                a href=(href) { (label) }
            }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "Muster" }
                    span.org title="Organization" { (s.principal.org_id.as_str()) }
                    nav aria-label="Sections" {
                        (item(Nav::Dashboard, "/console/", "Dashboard"))
                        (item(Nav::Users, "/console/users", "Users"))
                        (item(Nav::Groups, "/console/groups", "Groups"))
                        (item(Nav::Organizations, "/console/organizations", "Organizations"))
                        (item(Nav::Credentials, "/console/credentials", "Credentials"))
                        (item(Nav::Schemas, "/console/schemas", "Schemas"))
                        (item(Nav::Activity, "/console/activity", "Activity"))
                    }
                    form.signout method="post" action="/console/logout" {
                        (csrf(s))
                        span.who { (s.label) }
                        a.sessions href="/console/sessions" { "Sessions" }
                        button type="submit" { "Sign out" }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}

/// The body of a form that carries nothing but its CSRF token (deletes, revokes).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct CsrfOnly {
    pub(crate) csrf: String,
}

/// The hidden CSRF field of a session's form.
pub(crate) fn csrf(s: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}

/// A one-button form drawn as a link (remove a member, leave a group, end a session): posts
/// `fields` and the CSRF token to `action`; `aria` says what the button does to whom.
pub(crate) fn link_action(
    s: &Session,
    action: &str,
    fields: &[(&str, &str)],
    aria: &str,
    text: &str,
) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf(s))
            @for (name, value) in fields {
                input type="hidden" name=(name) value=(value);
            }
            button.link type="submit" aria-label=(aria) { (text) }
        }
    }
}

/// A labelled text input with its message (if any) beside it.
pub(crate) fn field(
    label: &str,
    name: &str,
    ty: &str,
    value: &str,
    error: Option<&String>,
) -> Markup {
    let id = format!("f-{name}");
    let err_id = format!("{id}-error");
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            @if let Some(e) = error {
                input id=(id) name=(name) type=(ty) value=(value) aria-invalid="true"
                    aria-describedby=(err_id);
                span.message id=(err_id) role="alert" { (e) }
            } @else {
                input id=(id) name=(name) type=(ty) value=(value);
            }
        }
    }
}

/// A notice at the top of a page after a change.
pub(crate) fn notice(text: Option<&str>) -> Markup {
    html! {
        @if let Some(t) = text {
            p.notice role="status" { (t) }
        }
    }
}

/// A dialect's name as shown.
pub(crate) fn dialect_label(actor: Option<&str>) -> &'static str {
    match actor.and_then(|a| a.split(':').next()) {
        Some("scim") => "SCIM",
        Some("logto") => "Logto",
        Some("domo") => "Domo",
        Some("sumo") => "Sumo Logic",
        Some("adobe") => "Adobe",
        Some("admin") => "Admin API",
        Some("console") => "Console",
        Some("oauth") => "OAuth tokens",
        Some("other") => "Other (health, metrics, unknown paths)",
        Some(_) => "other",
        None => "—",
    }
}

pub(crate) fn time(t: &chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A time as a `<time>` element: UTC as written, the browser's zone once the script has
/// run (with the UTC value on hover).
pub(crate) fn when(t: &chrono::NaiveDateTime) -> Markup {
    let utc = time(t);
    html! { time datetime=(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()) title=(utc) { (utc) } }
}

/// The credential part of an audit entry's actor (`dialect:credential`).
pub(crate) fn actor_credential(actor: &str) -> &str {
    actor.split_once(':').map_or(actor, |x| x.1)
}

/// What an audit entry changed, in a line: its key, the user or group it concerns (by name,
/// linked), and its result when it failed.
pub(crate) fn change_link(a: &crate::domain::AuditEntry, names: &Names) -> Markup {
    html! {
        (a.key) " " (target_cell(a, names))
        @if !a.result.eq_ignore_ascii_case("success") {
            " " span.tag { (a.result) }
        }
    }
}

pub(crate) use crate::directory::audit::Names;

/// The names of the users, groups and credentials `entries` mention, for
/// `activity_table`, `change_link` and the CSV: one statement (none when they mention
/// nothing), on the trip that read the entries.
pub(crate) fn names_of(
    conn: &mut crate::directory::Conn,
    org: &crate::domain::OrgId,
    entries: &[crate::domain::AuditEntry],
) -> crate::directory::StoreResult<Names> {
    let (u, g, c) = ids_of(entries);
    crate::directory::audit::names(conn, org, &u, &g, &c)
}

/// The user, group and credential ids `entries` mention (for `directory::audit::names`).
fn ids_of(entries: &[crate::domain::AuditEntry]) -> (Vec<i64>, Vec<i64>, Vec<String>) {
    let (mut users, mut groups, mut creds) = (vec![], vec![], vec![]);
    let hex = |v: &serde_json::Value| v.as_str().and_then(crate::domain::id_from_hex);
    for a in entries {
        users.extend(a.user_id);
        let cred = actor_credential(&a.actor);
        match cred.strip_prefix("user:") {
            Some(h) => users.extend(crate::domain::id_from_hex(h)),
            None => creds.push(cred.to_string()),
        }
        if let Some(c) = a.payload.get("credentialId").and_then(|v| v.as_str()) {
            creds.push(c.to_string());
        }
        groups.extend(a.payload.get("groupId").and_then(hex));
        for key in ["membersAdded", "membersRemoved"] {
            for v in a
                .payload
                .get(key)
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                users.extend(hex(v));
                groups.extend(hex(v));
            }
        }
    }
    for v in [&mut users, &mut groups] {
        v.sort_unstable();
        v.dedup();
    }
    creds.sort();
    creds.dedup();
    (users, groups, creds)
}

/// Who made an entry, by name, linked: an admin (their user page), a credential (its label),
/// the command line.
pub(crate) fn actor_cell(actor: &str, names: &Names) -> Markup {
    let cred = actor_credential(actor);
    html! {
        @if let Some(h) = cred.strip_prefix("user:") {
            @let name = crate::domain::id_from_hex(h).and_then(|id| names.users.get(&id));
            a href={ "/console/users/" (h) } { (name.map_or(h, |n| n.as_str())) }
        } @else if cred == "anonymous" {
            "someone (no such user)"
        } @else if cred == "cli" {
            "the command line"
        } @else if let Some(label) = names.credentials.get(cred) {
            a href="/console/credentials" title=(cred) { (label) }
        } @else {
            code { (cred) }
        }
    }
}

/// A member id of a group change, by name.
fn member_link(hex: &str, names: &Names) -> Markup {
    let id = crate::domain::id_from_hex(hex);
    html! {
        @if let Some(n) = id.and_then(|id| names.users.get(&id)) {
            a href={ "/console/users/" (hex) } { (n) }
        } @else if let Some(n) = id.and_then(|id| names.groups.get(&id)) {
            a href={ "/console/groups/" (hex) } { (n) } " (group)"
        } @else {
            code { (hex) }
        }
    }
}

/// What an entry changed, as a person reads it: each attribute before → after, the
/// members added and removed, the credential made or revoked.
fn what_changed(a: &crate::domain::AuditEntry, names: &Names) -> Markup {
    let p = &a.payload;
    let shown = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "(none)".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    html! {
        ul.changes {
            @if let Some(ch) = p.get("changes").and_then(|c| c.as_object()) {
                @for (attr, v) in ch {
                    li { code { (attr) } ": "
                        span.before { (shown(&v[0])) } " → " span.after { (shown(&v[1])) } }
                }
            }
            @for (key, words) in [("membersAdded", "added"), ("membersRemoved", "removed")] {
                @if let Some(ids) = p.get(key).and_then(|v| v.as_array()) {
                    li { (words) ": "
                        @for (i, v) in ids.iter().enumerate() {
                            @if i > 0 { ", " }
                            (member_link(v.as_str().unwrap_or_default(), names))
                        }
                        @let total = p.get(format!("{key}Count")).and_then(|v| v.as_i64()).unwrap_or(0);
                        @if total > ids.len() as i64 { " and " (total - ids.len() as i64) " more" }
                    }
                }
            }
            @for key in ["rolesGranted", "rolesRevoked"] {
                @if let Some(r) = p.get(key).and_then(|v| v.as_array()) {
                    li { @if key == "rolesGranted" { "role given: " } @else { "role taken: " }
                        (r.iter().map(shown).collect::<Vec<_>>().join(", ")) }
                }
            }
            @if let Some(c) = p.get("credentialId").and_then(|v| v.as_str()) {
                li { "credential "
                    @if let Some(l) = names.credentials.get(c) { (l) " " }
                    @else if let Some(l) = p.get("label").and_then(|v| v.as_str()) { (l) " " }
                    code { (c) } }
            }
            @if let Some(l) = p.get("login").and_then(|v| v.as_str()) {
                li { "as " code { (l) } }
            }
        }
    }
}

/// The user or group an entry concerns, by name and linked.
fn target_cell(a: &crate::domain::AuditEntry, names: &Names) -> Markup {
    html! {
        @if let Some(u) = a.user_id {
            @let hex = crate::domain::id_to_hex(u);
            a href={ "/console/users/" (hex) } { (names.users.get(&u).cloned().unwrap_or(hex.clone())) }
        } @else if let Some(g) = a.payload.get("groupId").and_then(|v| v.as_str()) {
            @let name = crate::domain::id_from_hex(g).and_then(|id| names.groups.get(&id));
            a href={ "/console/groups/" (g) } { (name.map_or(g, |n| n.as_str())) }
        }
    }
}

/// Audit entries as a table, newest first: when, what, whom, what changed, dialect and who,
/// by name (`names`, read for them with `names_of(entries)`).
pub(crate) fn activity_table(
    entries: &[crate::domain::AuditEntry],
    label: &str,
    names: &Names,
) -> Markup {
    html! {
        div.scroll {
        table.list.activity aria-labelledby=(label) {
            thead { tr {
                th scope="col" { "When" } th scope="col" { "What" } th scope="col" { "Whom" }
                th scope="col" { "Changes" } th scope="col" { "Dialect" } th scope="col" { "By" }
            } }
            tbody { @for a in entries { tr {
                td { (when(&a.created_at)) }
                td { (a.key)
                    @if !a.result.eq_ignore_ascii_case("success") {
                        " " span.tag { (a.result) }
                    } }
                td { (target_cell(a, names)) }
                td { (what_changed(a, names)) }
                td { (dialect_label(Some(&a.actor))) }
                td { (actor_cell(&a.actor, names)) }
            } } }
        }
        }
    }
}
