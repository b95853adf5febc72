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
        let notice = (q.done == "registered").then_some("Schema registered.");
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
