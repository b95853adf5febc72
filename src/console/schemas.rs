//! Custom SCIM schema extensions of the organization (docs/scim-extensions.md): the list with
//! each schema's attributes, and a form to register one from a pasted schema document. The
//! same validation as the admin API; an error names the attribute at fault.

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::{Form, Query};
use poem::{handler, Response};
use serde::Deserialize;

use super::view::{self, Nav};
use super::{Console, Fail, Out};
use crate::auth::session::Session;
use crate::directory::schemas::{self, NewSchema, Registered};
use crate::directory::{Conn, StoreError};
use crate::domain::Scope;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct NewForm {
    csrf: String,
    document: String,
    resource_type: String,
    required: String,
}

/// One attribute's line: name, type, and what is not the default about it.
fn attribute_line(a: &serde_json::Value) -> String {
    let s = |k: &str| a.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let mut out = format!("{} ({})", s("name"), s("type"));
    let mut notes = Vec::new();
    if a.get("multiValued") == Some(&serde_json::Value::Bool(true)) {
        notes.push("multi-valued".to_string());
    }
    if a.get("required") == Some(&serde_json::Value::Bool(true)) {
        notes.push("required".to_string());
    }
    for (k, default) in [
        ("mutability", "readWrite"),
        ("returned", "default"),
        ("uniqueness", "none"),
    ] {
        let v = s(k);
        if !v.is_empty() && v != default {
            notes.push(format!("{k} {v}"));
        }
    }
    if let Some(subs) = a.get("subAttributes").and_then(|v| v.as_array()) {
        let names: Vec<&str> = subs
            .iter()
            .filter_map(|x| x.get("name").and_then(|n| n.as_str()))
            .collect();
        notes.push(format!("sub-attributes {}", names.join(", ")));
    }
    if !notes.is_empty() {
        out.push_str(&format!(": {}", notes.join("; ")));
    }
    out
}

fn remove_link(urn: &str) -> String {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("urn", urn)
        .finish();
    format!("/console/schemas/remove?{q}")
}

fn render(
    s: &Session,
    schemas: &[Registered],
    form: &NewForm,
    error: Option<&str>,
    notice: Option<&str>,
) -> Markup {
    view::page(
        s,
        Nav::Schemas,
        "Schema extensions",
        html! {
            h1 { "Schema extensions" }
            (view::notice(notice))
            p.hint {
                "Attributes an identity provider sends under a schema extension of its own "
                "(Entra ID's " code { "urn:…:CustomExtensionName:2.0:User" } ", Okta's namespaces). "
                "Register the schema and SCIM types, filters and serves them; the user page shows them."
            }
            @if schemas.is_empty() { p.empty { "No schema extension is registered." } }
            @for r in schemas {
                section.card aria-label=(r.urn) {
                    h2 { code { (r.urn) } }
                    p {
                        "Extends " (r.kind.as_str()) "s"
                        @if r.required { " · required" }
                        " · " @if r.org_id.is_some() { "this organization" } @else { "every organization (the operator's)" }
                        @if r.from_file { " · from a schema file" }
                    }
                    ul { @for a in r.document.get("attributes").and_then(|v| v.as_array()).into_iter().flatten() {
                        li { (attribute_line(a)) }
                    } }
                    @if r.org_id.is_some() {
                        p { a.danger href=(remove_link(&r.urn)) { "Remove…" } }
                    }
                }
            }
            form.card method="post" action="/console/schemas" novalidate {
                h2 { "Register a schema" }
                (view::csrf(s))
                div.field.invalid[error.is_some()] {
                    label for="f-document" { "Schema document (JSON, RFC 7643 §7)" }
                    textarea id="f-document" name="document" rows="14" spellcheck="false" { (form.document) }
                    @if let Some(m) = error { span.message role="alert" { (m) } }
                }
                div.field {
                    label for="f-resource-type" { "Extends" }
                    select id="f-resource-type" name="resource_type" {
                        option value="" selected[form.resource_type.is_empty()] { "As its URN ends (…:User or …:Group)" }
                        option value="User" selected[form.resource_type == "User"] { "Users" }
                        option value="Group" selected[form.resource_type == "Group"] { "Groups" }
                    }
                }
                label.check for="f-required" {
                    input id="f-required" type="checkbox" name="required" value="on" checked[!form.required.is_empty()];
                    " Every user (or group) must carry it"
                }
                button type="submit" { "Register" }
            }
        },
    )
}

fn list_of(conn: &mut Conn, s: &Session) -> Result<Vec<Registered>, Fail> {
    Ok(schemas::list(conn, &s.principal.org_id)?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Done {
    done: String,
}

#[handler]
pub(crate) async fn list(at: Console<'_>, Query(q): Query<Done>) -> Response {
    at.page(Scope::UsersRead, move |conn, s| {
        let list = list_of(conn, s)?;
        let notice = match q.done.as_str() {
            "registered" => Some("Schema registered."),
            "removed" => Some("Schema removed."),
            _ => None,
        };
        Ok(Out::Page(render(
            s,
            &list,
            &NewForm::default(),
            None,
            notice,
        )))
    })
    .await
}

#[handler]
pub(crate) async fn create(at: Console<'_>, Form(f): Form<NewForm>) -> Response {
    at.form(f.csrf.clone(), Scope::OrgsAdmin, move |conn, s, c| {
        let error = match serde_json::from_str::<serde_json::Value>(&f.document) {
            Err(e) => format!("This is not JSON: {e}."),
            Ok(document) => {
                let new = NewSchema {
                    document,
                    resource_type: (!f.resource_type.is_empty()).then(|| f.resource_type.clone()),
                    required: !f.required.is_empty(),
                };
                match schemas::register(conn, c, &new) {
                    Ok(_) => return Ok(Out::Redirect("/console/schemas?done=registered".into())),
                    Err(StoreError::Invalid(m) | StoreError::Conflict(m)) => m,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let all = list_of(conn, s)?;
        let page = render(s, &all, &f, Some(&error), None);
        Err(Fail::Page(StatusCode::UNPROCESSABLE_ENTITY, page))
    })
    .await
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct RemoveForm {
    csrf: String,
    urn: String,
    /// The count of values the admin was shown and agreed to delete.
    values: String,
}

/// Asks first: what removing `urn` deletes (the values users and groups of this organization
/// hold under it), and a button that removes it with them.
fn confirm(s: &Session, urn: &str, values: i64, error: Option<&str>) -> Markup {
    view::page(
        s,
        Nav::Schemas,
        "Remove a schema extension",
        html! {
            h1 { "Remove " code { (urn) } "?" }
            @if let Some(m) = error { p.error role="alert" { (m) } }
            form.card method="post" action="/console/schemas/remove" {
                (view::csrf(s))
                input type="hidden" name="urn" value=(urn);
                input type="hidden" name="values" value=(values);
                @if values > 0 {
                    p { strong { (values) " value" @if values != 1 { "s" } } " of users and groups in this "
                        "organization are kept under it. Removing the schema deletes "
                        @if values == 1 { "it" } @else { "them" } " too, and those users and groups change "
                        "(a new version each). What identity providers still send under it is then an "
                        "unregistered extension (kept as sent, untyped, by default)." }
                } @else {
                    p { "No user or group holds a value under it." }
                }
                button.danger type="submit" {
                    @if values > 0 { "Remove the schema and " (values) " value" @if values != 1 { "s" } }
                    @else { "Remove the schema" }
                }
                " " a href="/console/schemas" { "Cancel" }
            }
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Urn {
    urn: String,
}

#[handler]
pub(crate) async fn remove_page(at: Console<'_>, Query(q): Query<Urn>) -> Response {
    at.page(Scope::OrgsAdmin, move |conn, s| {
        let found = schemas::get(conn, &s.principal.org_id, &q.urn)?;
        let values = schemas::values(conn, &s.principal.org_id, &found.urn)?;
        Ok(Out::Page(confirm(s, &found.urn, values, None)))
    })
    .await
}

#[handler]
pub(crate) async fn remove(at: Console<'_>, Form(f): Form<RemoveForm>) -> Response {
    at.form(f.csrf.clone(), Scope::OrgsAdmin, move |conn, s, c| {
        // Deletes exactly as many values as the admin was shown: more arrived since is a
        // conflict, shown with the new count.
        let agreed: i64 = f.values.parse().unwrap_or(0);
        let now = schemas::values(conn, &s.principal.org_id, &f.urn)?;
        let message = if now > agreed {
            format!(
                "Values arrived since this page was shown: {now} now, not {agreed}. Check and confirm again."
            )
        } else {
            match schemas::remove(conn, c, &f.urn, now > 0) {
                Ok(_) => return Ok(Out::Redirect("/console/schemas?done=removed".into())),
                Err(StoreError::Conflict(m) | StoreError::Forbidden(m)) => m,
                Err(e) => return Err(e.into()),
            }
        };
        let page = confirm(s, &f.urn, now, Some(&message));
        Err(Fail::Page(StatusCode::CONFLICT, page))
    })
    .await
}
