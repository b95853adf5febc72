//! What a dangerous action asks first, as small pieces any console page can use (a single
//! user's, and later the bulk actions'): a confirmation page that names what is about to
//! happen and posts the action's form (`Ask`, `page`); for a sensitive action the signed-in
//! admin's password again (`reauth_field`, `reauthenticate`: a token session gives its
//! token); and a refusal page for what an admin may not do to themself (`refused`).
//!
//! The confirmation is its own page (`GET` of the action's path) that the item's page links
//! to, so it works without JavaScript and a reload of it changes nothing; the form it shows
//! posts to the same path, which acts and redirects (post/redirect/get).

use maud::{html, Markup};
use poem::http::StatusCode;

use super::view::{self, Nav};
use super::Fail;
use crate::auth::session::Session;
use crate::directory::Conn;
use crate::http::throttle::Throttle;

/// A confirmation page's content.
pub(crate) struct Ask {
    pub(crate) nav: Nav,
    /// The question, as the page's title ("Suspend Grace Hopper?").
    pub(crate) title: String,
    /// What doing it does, and anything the admin should know first.
    pub(crate) consequence: Markup,
    /// Where the form posts (the action's path).
    pub(crate) action: String,
    /// The form's other fields.
    pub(crate) hidden: Vec<(&'static str, String)>,
    /// Fields the admin fills in (a choice the action needs), before the password.
    pub(crate) fields: Markup,
    /// The button's words ("Suspend").
    pub(crate) button: String,
    /// Where "Cancel" goes (the item's page).
    pub(crate) cancel: String,
    /// Ask for the admin's password (or token) again.
    pub(crate) reauth: bool,
    /// What was wrong with the last attempt (a wrong password).
    pub(crate) error: Option<String>,
}

/// The confirmation page of `ask`.
pub(crate) fn page(s: &Session, ask: &Ask) -> Markup {
    view::page(
        s,
        ask.nav,
        &ask.title,
        html! {
            p.crumbs { a href=(ask.cancel) { "Back" } }
            h1 { (ask.title) }
            div.consequence { (ask.consequence) }
            form.card.confirm method="post" action=(ask.action) novalidate {
                (view::csrf(s))
                @for (name, value) in &ask.hidden {
                    input type="hidden" name=(name) value=(value);
                }
                (ask.fields)
                @if ask.reauth {
                    (reauth_field(s, ask.error.as_deref()))
                } @else if let Some(e) = &ask.error {
                    p.error role="alert" { (e) }
                }
                div.buttons {
                    button.danger type="submit" { (ask.button) }
                    " "
                    a.cancel href=(ask.cancel) { "Cancel" }
                }
            }
        },
    )
}

/// The field that asks the signed-in admin to prove it is still them: their password (a
/// token session: its token), named `current_password`.
pub(crate) fn reauth_field(s: &Session, error: Option<&str>) -> Markup {
    let (label, hint) = if s.principal.user_id.is_some() {
        (
            "Your password",
            "This is a sensitive action: confirm it is you.",
        )
    } else {
        (
            "The API token you signed in with",
            "This is a sensitive action: confirm it is you.",
        )
    };
    html! {
        div.field.invalid[error.is_some()] {
            label for="f-current_password" { (label) }
            @if let Some(e) = error {
                input id="f-current_password" name="current_password" type="password"
                    autocomplete="current-password" required aria-invalid="true"
                    aria-describedby="f-current_password-error";
                span.message id="f-current_password-error" role="alert" { (e) }
            } @else {
                input id="f-current_password" name="current_password" type="password"
                    autocomplete="current-password" required aria-describedby="f-current_password-hint";
                span.hint id="f-current_password-hint" { (hint) }
            }
        }
    }
}

/// The words for a wrong password (or token) given again.
pub(crate) const WRONG_PASSWORD: &str = "That is not your password. Nothing was changed.";

/// Is `presented` the signed-in admin's password (a token session: its token)? Failures
/// count against the admin's console sign-in limit (`Throttle::console_key`), so this is no
/// way around it; when that limit is reached, `Fail::Throttled`. Runs bcrypt: the trip
/// must be a hashing one (`Console::hashing`).
pub(crate) fn reauthenticate(
    conn: &mut Conn,
    s: &Session,
    throttle: &Throttle,
    presented: &str,
) -> Result<bool, Fail> {
    let org = &s.principal.org_id;
    let key = match s.principal.user_id {
        Some(uid) => Throttle::console_key(org.as_str(), uid),
        None => format!("console-token:{}", s.credential_id.as_deref().unwrap_or("")),
    };
    throttle.check(&key).map_err(Fail::Throttled)?;
    let ok = !presented.is_empty()
        && presented.len() <= 4096
        && match (s.principal.user_id, &s.credential_id) {
            (Some(uid), _) => crate::directory::users::verify_password(conn, org, uid, presented)?,
            (None, Some(cred)) => crate::auth::is_token_secret(conn, cred, presented)?,
            (None, None) => false,
        };
    if !ok {
        throttle.fail(&key);
    }
    Ok(ok)
}

/// A page that says what was refused and why (409), with the way back.
pub(crate) fn refused(s: &Session, nav: Nav, title: &str, why: &str, back: &str) -> Fail {
    Fail::Page(
        StatusCode::CONFLICT,
        view::page(
            s,
            nav,
            title,
            html! {
                h1 { (title) }
                p.error role="alert" { (why) }
                p { a href=(back) { "Back" } }
            },
        ),
    )
}

/// What an admin may not do to themself, in the words `refused` shows.
pub(crate) const NOT_YOURSELF_SUSPEND: &str =
    "You cannot suspend yourself: you would be signed out and could not undo it. Another \
     administrator can.";
pub(crate) const NOT_YOURSELF_DELETE: &str =
    "You cannot delete yourself here. Another administrator can.";
pub(crate) const NOT_YOURSELF_DEMOTE: &str =
    "You cannot take the Administrator role from yourself here; another administrator can.";
