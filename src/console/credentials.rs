//! Credentials of the organization: API tokens and OAuth clients. Create one (a label is
//! required; an expiry is optional), rotate it (a new secret while the old one keeps working
//! for a grace period the admin chooses), revoke it; the list shows each one's last use (to
//! the minute: it is written at most once a minute, never per request), expiry and status.
//! A new or rotated secret is shown once, on the page the form redirects to (a one-time
//! flash): a reload shows the list without it and mints nothing. Revoking and rotating ask
//! first, with the admin's password, and say when the credential is the one this session
//! signed in with or one an identity provider uses. A credential never gets a scope the
//! session lacks.

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::{Form, Path, Query};
use poem::{handler, Response};
use serde::Deserialize;

use super::confirm::{self, Ask};
use super::flash::Flash;
use super::view::{self, Nav};
use super::{Console, Fail, Out};
use crate::auth::session::Session;
use crate::directory::{Conn, StoreError};
use crate::domain::{Credential, CredentialKind, Scope, Scopes};

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct NewForm {
    csrf: String,
    kind: String,
    label: String,
    scim: String,
    users_read: String,
    users_write: String,
    orgs_admin: String,
    /// Days until it expires (`never`, `7`, `30`, `90`, `365`), or `date` for `expires_on`.
    expires: String,
    /// `YYYY-MM-DD`: it stops working at the start of that day (UTC).
    expires_on: String,
}

fn kind_label(k: CredentialKind) -> &'static str {
    match k {
        CredentialKind::Token => "API token",
        CredentialKind::Client => "OAuth client",
    }
}

/// The expiry choices of the form: (value, words).
const EXPIRIES: [(&str, &str); 6] = [
    ("never", "Never"),
    ("7", "In 7 days"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
    ("date", "On the date below"),
];

/// The grace periods a rotation offers: (seconds, words).
const GRACES: [(i64, &str); 5] = [
    (0, "None: the old secret stops at once"),
    (3600, "1 hour"),
    (86_400, "24 hours"),
    (7 * 86_400, "7 days"),
    (30 * 86_400, "30 days"),
];

/// A credential's state as the list shows it.
fn status(c: &Credential, now: chrono::NaiveDateTime) -> Markup {
    html! {
        @if let Some(t) = &c.revoked_at {
            span.badge.suspended { "Revoked " (view::when(t)) }
        } @else if c.expires_at.is_some_and(|e| e <= now) {
            span.badge.suspended { "Expired " (view::when(c.expires_at.as_ref().unwrap_or(&now))) }
        } @else {
            span.badge.active { "Active" }
            @if let Some(until) = c.previous_expires_at.filter(|u| *u > now) {
                br; span.hint { "Old secret works until " (view::when(&until)) }
            }
        }
    }
}

fn render(
    s: &Session,
    creds: &[Credential],
    form: &NewForm,
    errors: &std::collections::BTreeMap<&'static str, String>,
    shown: Option<&Flash>,
    notice: Option<&str>,
) -> Markup {
    let scope_box = |name: &str, label: &str, checked: bool| {
        let id = format!("f-{name}");
        html! {
            label.check for=(id) {
                input id=(id) type="checkbox" name=(name) value="on" checked[checked];
                " " (label)
            }
        }
    };
    let fresh = form.csrf.is_empty();
    let now = chrono::Utc::now().naive_utc();
    view::page(
        s,
        Nav::Credentials,
        "Credentials",
        html! {
            h1 { "Credentials" }
            (view::notice(notice))
            @if let Some(f) = shown {
                div.secret role="status" {
                    p {
                        "Credential " code { (f.about) }
                        @if f.kind == "rotated" { " rotated. Its new secret is shown only now:" }
                        @else { " created. Its secret is shown only now:" }
                    }
                    code id="new-secret" { (f.text) }
                    button.copy type="button" data-copy="new-secret" hidden { "Copy" }
                }
            }
            form.card method="post" action="/console/credentials" novalidate {
                h2 { "New credential" }
                (view::csrf(s))
                div.field {
                    label for="f-kind" { "Kind" }
                    select id="f-kind" name="kind" {
                        option value="token" selected[form.kind != "client"] { "API token (bearer secret)" }
                        option value="client" selected[form.kind == "client"] { "OAuth client (id and secret)" }
                    }
                }
                (view::field("Label (what it is for, such as Entra ID)", "label", "text", &form.label, errors.get("label")))
                fieldset.field.invalid[errors.contains_key("scopes")] {
                    legend { "Scopes" }
                    (scope_box("scim", "scim", fresh || !form.scim.is_empty()))
                    (scope_box("users_read", "users:read", fresh || !form.users_read.is_empty()))
                    (scope_box("users_write", "users:write", fresh || !form.users_write.is_empty()))
                    (scope_box("orgs_admin", "orgs:admin", !form.orgs_admin.is_empty()))
                    @if let Some(m) = errors.get("scopes") { span.message role="alert" { (m) } }
                }
                div.field.invalid[errors.contains_key("expires")] {
                    label for="f-expires" { "Expires" }
                    select id="f-expires" name="expires" {
                        @for (v, words) in EXPIRIES {
                            option value=(v) selected[form.expires == v || (form.expires.is_empty() && v == "never")] { (words) }
                        }
                    }
                    input id="f-expires_on" name="expires_on" type="date" value=(form.expires_on)
                        aria-label="Expiry date";
                    @if let Some(m) = errors.get("expires") {
                        span.message role="alert" { (m) }
                    }
                }
                button type="submit" { "Create" }
            }
            div.scroll {
            table.list {
                thead { tr {
                    th scope="col" { "Label" } th scope="col" { "Id" } th scope="col" { "Kind" }
                    th scope="col" { "Scopes" } th scope="col" { "Created" } th scope="col" { "Last used" }
                    th scope="col" { "Expires" } th scope="col" { "Status" } th scope="col" { span.sr { "Actions" } }
                } }
                tbody { @for c in creds { tr {
                    td { (c.label) }
                    td { code { (c.id) } }
                    td { (kind_label(c.kind)) }
                    td { (c.scopes.to_string()) }
                    td { (view::when(&c.created_at)) }
                    td { @if let Some(t) = &c.last_used_at { (view::when(t)) } @else { "never" } }
                    td { @if let Some(t) = &c.expires_at { (view::when(t)) } @else { "never" } }
                    td { (status(c, now)) }
                    td {
                        @if c.revoked_at.is_none() && c.expires_at.is_none_or(|e| e > now) {
                            a.subtle href={ "/console/credentials/" (c.id) "/rotate" }
                                aria-label={ "Rotate " (c.id) } { "Rotate…" }
                            " "
                            a.subtle.danger href={ "/console/credentials/" (c.id) "/revoke" }
                                aria-label={ "Revoke " (c.id) } { "Revoke…" }
                        }
                    }
                } } }
            }
            }
        },
    )
}

fn list_of(conn: &mut Conn, s: &Session) -> Result<Vec<Credential>, Fail> {
    let mut creds = crate::directory::credentials::list(conn, Some(&s.principal.org_id))?;
    creds.sort_by(|a, b| {
        a.revoked_at
            .is_some()
            .cmp(&b.revoked_at.is_some())
            .then(b.created_at.cmp(&a.created_at))
    });
    Ok(creds)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Done {
    done: String,
}

#[handler]
pub(crate) async fn list(at: Console<'_>, Query(q): Query<Done>) -> Response {
    let shown = at
        .flash()
        .filter(|f| f.kind == "created" || f.kind == "rotated");
    at.page(Scope::OrgsAdmin, move |conn, s| {
        let creds = list_of(conn, s)?;
        let notice = match q.done.as_str() {
            "revoked" => Some("Credential revoked."),
            "created" if shown.is_none() => Some(
                "Credential created. Its secret was shown once, on the page after the form; \
                 rotate it for a new one.",
            ),
            _ => None,
        };
        let (form, errors) = (NewForm::default(), Default::default());
        Ok(Out::Page(render(
            s,
            &creds,
            &form,
            &errors,
            shown.as_ref(),
            notice,
        )))
    })
    .await
}

/// The expiry a form asks for; `Err` with the message for the form.
fn expiry(f: &NewForm) -> Result<Option<chrono::NaiveDateTime>, String> {
    let now = chrono::Utc::now().naive_utc();
    match f.expires.as_str() {
        "" | "never" => Ok(None),
        "date" => {
            let d = chrono::NaiveDate::parse_from_str(f.expires_on.trim(), "%Y-%m-%d")
                .map_err(|_| "Choose the day it expires.".to_string())?;
            let t = d.and_hms_opt(0, 0, 0).unwrap_or_default();
            if t <= now {
                return Err("The expiry date must be in the future.".into());
            }
            Ok(Some(t))
        }
        days => match days.parse::<i64>() {
            Ok(n @ 1..=3650) => Ok(Some(now + chrono::Duration::days(n))),
            _ => Err("Choose when it expires.".into()),
        },
    }
}

#[handler]
pub(crate) async fn create(at: Console<'_>, Form(f): Form<NewForm>) -> Response {
    at.form(f.csrf.clone(), Scope::OrgsAdmin, move |conn, s, c| {
        let mut errors = std::collections::BTreeMap::new();
        let kind = match f.kind.as_str() {
            "client" => CredentialKind::Client,
            _ => CredentialKind::Token,
        };
        let label = f.label.trim();
        if label.is_empty() {
            errors.insert(
                "label",
                "Say what it is for (such as Entra ID): the list and the activity log show it."
                    .to_string(),
            );
        } else if label.chars().count() > crate::directory::credentials::MAX_LABEL
            || label.chars().any(|c| c.is_control())
        {
            errors.insert(
                "label",
                "At most 255 characters, without control characters.".to_string(),
            );
        }
        let mut chosen = Vec::new();
        for (on, scope) in [
            (&f.scim, Scope::Scim),
            (&f.users_read, Scope::UsersRead),
            (&f.users_write, Scope::UsersWrite),
            (&f.orgs_admin, Scope::OrgsAdmin),
        ] {
            if !on.is_empty() {
                chosen.push(scope.as_str());
            }
        }
        let scopes = Scopes::parse(&chosen.join(" ")).unwrap_or_default();
        if chosen.is_empty() {
            errors.insert("scopes", "Choose at least one scope.".to_string());
        }
        let expires_at = expiry(&f).unwrap_or_else(|m| {
            errors.insert("expires", m);
            None
        });
        if errors.is_empty() {
            // No escalation: the directory refuses a scope this session lacks.
            let minted =
                crate::directory::credentials::mint(conn, c, kind, label, &scopes, expires_at);
            match minted {
                Ok((cred, secret)) => {
                    // The secret rides to the list in a one-time flash: a reload of the
                    // list mints nothing and shows it no more.
                    return Ok(Out::Flash(
                        "/console/credentials?done=created".into(),
                        Flash {
                            to: "/console/credentials".into(),
                            kind: "created".into(),
                            text: secret,
                            about: cred.id,
                        },
                    ));
                }
                Err(StoreError::Forbidden(_)) => {
                    errors.insert(
                        "scopes",
                        "A credential cannot have a scope this session lacks.".to_string(),
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        let creds = list_of(conn, s)?;
        let page = render(s, &creds, &f, &errors, None, None);
        Err(Fail::Page(StatusCode::UNPROCESSABLE_ENTITY, page))
    })
    .await
}

/// What the admin should know before revoking or rotating `c`: it is this session's own,
/// or an identity provider (or another API client) uses it.
fn in_use(conn: &mut Conn, s: &Session, c: &Credential) -> Result<Markup, Fail> {
    let filter = crate::directory::audit::Filter {
        credential: Some(c.id.clone()),
        ..Default::default()
    };
    let (last, _) = crate::directory::audit::search(conn, &s.principal.org_id, &filter, 0, 1)?;
    let by = last
        .first()
        .map(|a| (view::dialect_label(Some(&a.actor)), a.created_at));
    let ours = s.credential_id.as_deref() == Some(c.id.as_str());
    Ok(html! {
        @if ours {
            p.warning role="alert" { strong { "This is the token your console session signed in with." }
                " Revoking it signs you out at once." }
        }
        @if let Some((dialect, at)) = by.filter(|(d, _)| *d != "Console") {
            p.warning role="alert" { strong { "An identity provider or API client uses it:" }
                " its last change through " (dialect) " was " (view::when(&at)) ". "
                "It gets 401 once the secret stops working; give it the new secret first." }
        } @else if let Some(t) = &c.last_used_at {
            p.warning { "It was last used " (view::when(t)) "." }
        } @else {
            p { "It has never been used." }
        }
    })
}

/// The credential `id` of the session's organization.
fn credential_of(conn: &mut Conn, s: &Session, id: &str) -> Result<Credential, Fail> {
    if id.len() > 256 {
        return Err(Fail::NotFound);
    }
    match crate::directory::credentials::get(conn, id) {
        Ok(c) if c.org_id == s.principal.org_id => Ok(c),
        Ok(_) | Err(StoreError::NotFound) => Err(Fail::NotFound),
        Err(e) => Err(e.into()),
    }
}

fn revoke_ask(
    conn: &mut Conn,
    s: &Session,
    c: &Credential,
    error: Option<String>,
) -> Result<Ask, Fail> {
    Ok(Ask {
        nav: Nav::Credentials,
        title: format!("Revoke {} ({})?", c.label, c.id),
        consequence: html! {
            p { "Every request made with it gets 401 from now on, in every dialect; tokens an \
                 OAuth client obtained end with it. This cannot be undone." }
            (in_use(conn, s, c)?)
        },
        action: format!("/console/credentials/{}/revoke", c.id),
        hidden: vec![],
        fields: html! {},
        button: format!("Revoke {}", c.id),
        cancel: "/console/credentials".into(),
        reauth: true,
        error,
    })
}

#[handler]
pub(crate) async fn confirm_revoke(at: Console<'_>, Path(id): Path<String>) -> Response {
    at.page(Scope::OrgsAdmin, move |conn, s| {
        let c = credential_of(conn, s, &id)?;
        Ok(Out::Page(confirm::page(s, &revoke_ask(conn, s, &c, None)?)))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ActForm {
    csrf: String,
    current_password: String,
    /// A rotation's grace period, in seconds.
    grace: String,
}

#[handler]
pub(crate) async fn revoke(
    at: Console<'_>,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    let throttle = at.state.throttle.clone();
    at.hashing()
        .form(f.csrf.clone(), Scope::OrgsAdmin, move |conn, s, c| {
            let cred = credential_of(conn, s, &id)?;
            if !confirm::reauthenticate(conn, s, &throttle, &f.current_password)? {
                let ask = revoke_ask(conn, s, &cred, Some(confirm::WRONG_PASSWORD.into()))?;
                return Err(Fail::Page(StatusCode::UNAUTHORIZED, confirm::page(s, &ask)));
            }
            match crate::directory::credentials::revoke(conn, c, &id) {
                Ok(_) => Ok(Out::Redirect("/console/credentials?done=revoked".into())),
                Err(StoreError::NotFound) => Err(Fail::NotFound),
                Err(e) => Err(e.into()),
            }
        })
        .await
}

fn rotate_ask(
    conn: &mut Conn,
    s: &Session,
    c: &Credential,
    grace: i64,
    error: Option<String>,
) -> Result<Ask, Fail> {
    Ok(Ask {
        nav: Nav::Credentials,
        title: format!("Rotate {} ({})?", c.label, c.id),
        consequence: html! {
            p { "It gets a new secret, shown once on the next page. The old secret keeps \
                 working for the grace period you choose, so an identity provider can be given \
                 the new one without a failed sync; then it stops." }
            (in_use(conn, s, c)?)
        },
        action: format!("/console/credentials/{}/rotate", c.id),
        hidden: vec![],
        fields: html! {
            div.field {
                label for="f-grace" { "The old secret keeps working for" }
                select id="f-grace" name="grace" {
                    @for (secs, words) in GRACES {
                        option value=(secs) selected[secs == grace] { (words) }
                    }
                }
            }
        },
        button: format!("Rotate {}", c.id),
        cancel: "/console/credentials".into(),
        reauth: true,
        error,
    })
}

#[handler]
pub(crate) async fn confirm_rotate(at: Console<'_>, Path(id): Path<String>) -> Response {
    at.page(Scope::OrgsAdmin, move |conn, s| {
        let c = credential_of(conn, s, &id)?;
        Ok(Out::Page(confirm::page(
            s,
            &rotate_ask(conn, s, &c, 86_400, None)?,
        )))
    })
    .await
}

#[handler]
pub(crate) async fn rotate(
    at: Console<'_>,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    let throttle = at.state.throttle.clone();
    at.hashing()
        .form(f.csrf.clone(), Scope::OrgsAdmin, move |conn, s, c| {
            let cred = credential_of(conn, s, &id)?;
            let grace = f
                .grace
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|g| GRACES.iter().any(|(v, _)| v == g));
            let Some(grace) = grace else {
                let ask = rotate_ask(
                    conn,
                    s,
                    &cred,
                    86_400,
                    Some("Choose a grace period.".into()),
                )?;
                return Err(Fail::Page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    confirm::page(s, &ask),
                ));
            };
            if !confirm::reauthenticate(conn, s, &throttle, &f.current_password)? {
                let ask = rotate_ask(conn, s, &cred, grace, Some(confirm::WRONG_PASSWORD.into()))?;
                return Err(Fail::Page(StatusCode::UNAUTHORIZED, confirm::page(s, &ask)));
            }
            let grace = chrono::Duration::seconds(grace);
            match crate::directory::credentials::rotate(conn, c, &id, grace) {
                Ok((cred, secret)) => Ok(Out::Flash(
                    "/console/credentials?done=rotated".into(),
                    Flash {
                        to: "/console/credentials".into(),
                        kind: "rotated".into(),
                        text: secret,
                        about: cred.id,
                    },
                )),
                Err(StoreError::Conflict(m)) => {
                    let ask = rotate_ask(conn, s, &cred, grace.num_seconds(), Some(m))?;
                    Err(Fail::Page(StatusCode::CONFLICT, confirm::page(s, &ask)))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
}
