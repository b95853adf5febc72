//! Credentials of the organization: API tokens and OAuth clients. Create (the secret is shown
//! once, on the page that answers the form, never again), list with last use, revoke. A
//! credential never gets a scope the session lacks.

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::{Form, Path, Query};
use poem::{handler, Response};
use serde::Deserialize;

use super::view::{self, CsrfOnly, Nav};
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
}

struct Created {
    cred: Credential,
    secret: String,
}

fn kind_label(k: CredentialKind) -> &'static str {
    match k {
        CredentialKind::Token => "API token",
        CredentialKind::Client => "OAuth client",
    }
}

fn render(
    s: &Session,
    creds: &[Credential],
    form: &NewForm,
    errors: &std::collections::BTreeMap<&'static str, String>,
    created: Option<&Created>,
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
    view::page(
        s,
        Nav::Credentials,
        "Credentials",
        html! {
            h1 { "Credentials" }
            (view::notice(notice))
            @if let Some(c) = created {
                div.secret role="status" {
                    p { (kind_label(c.cred.kind)) " " code { (c.cred.id) } " created. Its secret is shown only now:" }
                    code id="new-secret" { (c.secret) }
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
                (view::field("Label", "label", "text", &form.label, errors.get("label")))
                fieldset.field.invalid[errors.contains_key("scopes")] {
                    legend { "Scopes" }
                    (scope_box("scim", "scim", fresh || !form.scim.is_empty()))
                    (scope_box("users_read", "users:read", fresh || !form.users_read.is_empty()))
                    (scope_box("users_write", "users:write", fresh || !form.users_write.is_empty()))
                    (scope_box("orgs_admin", "orgs:admin", !form.orgs_admin.is_empty()))
                    @if let Some(m) = errors.get("scopes") { span.message role="alert" { (m) } }
                }
                button type="submit" { "Create" }
            }
            table.list {
                thead { tr {
                    th scope="col" { "Id" } th scope="col" { "Kind" } th scope="col" { "Label" }
                    th scope="col" { "Scopes" } th scope="col" { "Created" } th scope="col" { "Last used" }
                    th scope="col" { "Status" }
                } }
                tbody { @for c in creds { tr {
                    td { code { (c.id) } }
                    td { (kind_label(c.kind)) }
                    td { (c.label) }
                    td { (c.scopes.to_string()) }
                    td { (view::time(&c.created_at)) }
                    td { (c.last_used_at.as_ref().map(view::time).unwrap_or_else(|| "never".into())) }
                    td {
                        @if let Some(t) = &c.revoked_at {
                            span.badge.suspended title=(view::time(t)) { "Revoked" }
                        } @else {
                            form.inline method="post" action={ "/console/credentials/" (c.id) "/revoke" } {
                                (view::csrf(s))
                                button.warn type="submit" aria-label={ "Revoke " (c.id) } { "Revoke" }
                            }
                        }
                    }
                } } }
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
    at.page(Scope::OrgsAdmin, move |conn, s| {
        let creds = list_of(conn, s)?;
        let notice = (q.done == "revoked").then_some("Credential revoked.");
        let (form, errors) = (NewForm::default(), Default::default());
        Ok(Out::Page(render(s, &creds, &form, &errors, None, notice)))
    })
    .await
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
        if label.len() > 255 || label.chars().any(|c| c.is_control()) {
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
        let mut created = None;
        if errors.is_empty() {
            // No escalation: the directory refuses a scope this session lacks.
            match crate::directory::credentials::mint(conn, c, kind, label, &scopes) {
                Ok((cred, secret)) => created = Some(Created { cred, secret }),
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
        match created {
            Some(c) => {
                let page = render(s, &creds, &NewForm::default(), &errors, Some(&c), None);
                Ok(Out::Page(page))
            }
            None => {
                let page = render(s, &creds, &f, &errors, None, None);
                Err(Fail::Page(StatusCode::UNPROCESSABLE_ENTITY, page))
            }
        }
    })
    .await
}

#[handler]
pub(crate) async fn revoke(at: Console<'_>, Path(id): Path<String>, f: Form<CsrfOnly>) -> Response {
    at.form(f.0.csrf, Scope::OrgsAdmin, move |conn, _s, c| {
        if id.len() > 256 {
            return Err(Fail::NotFound);
        }
        match crate::directory::credentials::revoke(conn, c, &id) {
            Ok(_) => Ok(Out::Redirect("/console/credentials?done=revoked".into())),
            Err(StoreError::NotFound) => Err(Fail::NotFound),
            Err(e) => Err(e.into()),
        }
    })
    .await
}
