//! Custom SCIM schema extensions of the caller's organization (`/admin/v1/schemas`,
//! docs/scim-extensions.md): register one (an RFC 7643 §7 schema document, validated), list,
//! read and remove them. Discovery (`/scim/v2/Schemas`, `/ResourceTypes`) serves them at once.

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use serde_json::{json, Value};

use super::{admin, rfc3339, AdminError, Created, Tag};
use crate::auth::schemes::BearerOrBasic;
use crate::directory::schemas::{self, NewSchema, Registered};
use crate::domain::Scope;

pub struct AdminSchemasApi;

/// A registration as the admin API shows it.
fn shown(r: &Registered, values: Option<i64>) -> Value {
    let mut v = json!({
        "id": r.urn,
        "resourceType": r.kind.as_str(),
        "required": r.required,
        // `organization`: registered for this one; `all`: for every organization, by the
        // operator (a schema file or `muster schema add` without --org).
        "scope": if r.org_id.is_some() { "organization" } else { "all" },
        "source": if r.from_file { "file" } else { "database" },
        "name": r.document.get("name").cloned().unwrap_or(Value::Null),
        "attributes": r.document.get("attributes").map(|a| a.as_array().map_or(0, Vec::len)).unwrap_or(0),
    });
    if !r.from_file {
        v["createdAt"] = json!(rfc3339(r.created_at));
        v["createdBy"] = json!(r.created_by);
    }
    if let Some(n) = values {
        v["values"] = json!(n);
        v["schema"] = r.document.clone();
    }
    v
}

/// A registration request: `{"schema": {…}, "resourceType": "User", "required": false}`, or
/// the bare schema document (its resource type then from its URN's last segment).
fn new_schema(body: Value) -> Result<NewSchema, AdminError> {
    let Value::Object(mut o) = body else {
        return Err(AdminError::bad("the body must be a JSON object"));
    };
    let rt = match o.remove("resourceType") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            return Err(AdminError::bad(
                "resourceType must be \"User\" or \"Group\"",
            ))
        }
    };
    let required = match o.remove("required") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => return Err(AdminError::bad("required must be true or false")),
    };
    let document = match o.remove("schema") {
        Some(doc @ Value::Object(_)) => doc,
        Some(_) => {
            return Err(AdminError::bad(
                "schema must be a schema document (an object)",
            ))
        }
        None => Value::Object(o),
    };
    let new = NewSchema {
        document,
        resource_type: rt,
        required,
    };
    schemas::prepare(&new).map_err(AdminError::bad)?;
    Ok(new)
}

crate::request::routes! {
    #[OpenApi(prefix_path = "/admin/v1", tag = "Tag::Admin")]
    impl AdminSchemasApi(auth: BearerOrBasic, state) {
        /// The schema extensions of the caller's organization: its own and those registered
        /// for every organization.
        #[oai(path = "/schemas", method = "get")]
        async fn list_schemas() -> poem::Result<Json<Value>> {
            admin(state.trip(&auth, Scope::OrgsAdmin).run(|conn, p| {
                let all = schemas::list(conn, &p.org_id)?;
                let shown: Vec<Value> = all.iter().map(|r| shown(r, None)).collect();
                Ok(Json(json!({"schemas": shown})))
            }))
            .await
        }

        /// Register a schema extension for the caller's organization: an RFC 7643 schema
        /// document, as `{"schema": {…}, "resourceType": "User", "required": false}` or bare.
        /// A malformed document is a 400 naming the attribute at fault.
        #[oai(path = "/schemas", method = "post")]
        async fn create_schema(body: Json<Value>) -> poem::Result<Created<Value>> {
            let prepared = new_schema(body.0);
            let trip = state.trip(&auth, Scope::OrgsAdmin);
            admin(trip.judged(prepared, move |conn, p, new| {
                let r = schemas::register(conn, p, &new)?;
                Ok(Created::Created(Json(shown(&r, Some(0)))))
            }))
            .await
        }

        /// One schema extension, with its document and how many values it holds here.
        #[oai(path = "/schemas/:urn", method = "get")]
        async fn get_schema(urn: Path<String>) -> poem::Result<Json<Value>> {
            admin(state.trip(&auth, Scope::OrgsAdmin).run(move |conn, p| {
                let r = schemas::get(conn, &p.org_id, &urn.0)
                    .map_err(super::missing("schema"))?;
                let n = schemas::values(conn, &p.org_id, &r.urn)?;
                Ok(Json(shown(&r, Some(n))))
            }))
            .await
        }

        /// Remove a schema extension of the caller's organization. One that holds values
        /// is removed only with `force=true`, its values with it; without, 409 says how many.
        #[oai(path = "/schemas/:urn", method = "delete")]
        async fn delete_schema(urn: Path<String>, force: Query<Option<bool>>) -> poem::Result<Json<Value>> {
            let force = force.0.unwrap_or(false);
            admin(state.trip(&auth, Scope::OrgsAdmin).run(move |conn, p| {
                let removed = schemas::remove(conn, p, &urn.0, force)
                    .map_err(super::missing("schema"))?;
                Ok(Json(json!({
                    "removed": removed.schema.urn,
                    "valuesDeleted": removed.values,
                })))
            }))
            .await
        }
    }
}
