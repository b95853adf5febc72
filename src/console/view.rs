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

/// The credential part of an audit entry's actor (`dialect:credential`).
pub(crate) fn actor_credential(actor: &str) -> &str {
    actor.split_once(':').map_or(actor, |x| x.1)
}

/// What an audit entry changed: its key, and a link to the user it concerns (if any).
pub(crate) fn change_link(a: &crate::domain::AuditEntry) -> Markup {
    html! {
        (a.key)
        @if let Some(u) = a.user_id {
            @let hex = crate::domain::id_to_hex(u);
            " " a.subtle href={ "/console/users/" (hex) } { "user " (hex) }
        }
        @if !a.result.eq_ignore_ascii_case("success") {
            " " span.tag { (a.result) }
        }
    }
}

/// Audit entries as a table, newest first: when, what, dialect and who (the credential).
pub(crate) fn activity_table(entries: &[crate::domain::AuditEntry], label: &str) -> Markup {
    html! {
        table.list aria-labelledby=(label) {
            thead { tr {
                th scope="col" { "When" } th scope="col" { "What" }
                th scope="col" { "Dialect" } th scope="col" { "By" }
            } }
            tbody { @for a in entries { tr {
                td { (time(&a.created_at)) }
                td { (change_link(a)) }
                td { (dialect_label(Some(&a.actor))) }
                td { code { (actor_credential(&a.actor)) } }
            } } }
        }
    }
}
