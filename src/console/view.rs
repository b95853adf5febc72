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
    Users,
    Groups,
    Credentials,
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
                        (item(Nav::Users, "/console/users", "Users"))
                        (item(Nav::Groups, "/console/groups", "Groups"))
                        (item(Nav::Credentials, "/console/credentials", "Credentials"))
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

/// The page that asks before deleting `name`: a button posting to `{base}/delete`, and a
/// link back to `base`.
pub(crate) fn confirm_delete(
    s: &Session,
    nav: Nav,
    title: &str,
    name: &str,
    consequence: &str,
    base: &str,
) -> Markup {
    page(
        s,
        nav,
        title,
        html! {
            h1 { "Delete " (name) "?" }
            p { (consequence) }
            form.inline method="post" action={ (base) "/delete" } {
                (csrf(s))
                button.danger type="submit" { "Delete " (name) }
                " "
                a href=(base) { "Cancel" }
            }
        },
    )
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
        Some(_) => "other",
        None => "—",
    }
}

pub(crate) fn time(t: &chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
