//! Discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas — generated from
//! the same registry that validates requests, advertising only what works.

use serde_json::{json, Value};

use super::common::MAX_RESULTS;
use crate::config::Config;
use crate::scim::schema::{Registry, Schema};
use crate::scim::ScimError;

pub fn service_provider_config(cfg: &Config) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": cfg.url("/docs"),
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": super::bulk::MAX_OPERATIONS,
            "maxPayloadSize": super::bulk::payload_limit(cfg.max_body_bytes),
        },
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": true},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": super::common::DEFAULT_COUNT,
            "maxPageSize": MAX_RESULTS,
            "cursorTimeout": super::list::CURSOR_TIMEOUT,
        },
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "An API token, or an access token from a token endpoint, as Authorization: Bearer",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": true
            },
            {
                "type": "httpbasic",
                "name": "HTTP Basic",
                "description": "An OAuth client's id and secret as HTTP Basic credentials",
                "specUri": "https://www.rfc-editor.org/info/rfc7617"
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": cfg.url("/scim/v2/ServiceProviderConfig"),
        }
    })
}

fn resource_type_json(cfg: &Config, reg: &Registry, name: &str) -> Option<Value> {
    let rt = reg.resource_type(name)?;
    let exts: Vec<Value> = rt
        .extensions
        .iter()
        .map(|e| json!({"schema": e.urn(), "required": e.required}))
        .collect();
    let mut v = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": rt.name,
        "name": rt.name,
        "endpoint": rt.endpoint,
        "description": rt.description,
        "schema": rt.schema,
        "meta": {"resourceType": "ResourceType", "location": cfg.url(&format!("/scim/v2/ResourceTypes/{}", rt.name))},
    });
    if !exts.is_empty() {
        v["schemaExtensions"] = Value::Array(exts);
    }
    Some(v)
}

/// The resource types of an organization (its registry: the extensions registered for it).
pub fn resource_types(cfg: &Config, reg: &Registry) -> Vec<Value> {
    reg.resource_types()
        .iter()
        .filter_map(|r| resource_type_json(cfg, reg, r.name))
        .collect()
}

pub fn resource_type(cfg: &Config, reg: &Registry, name: &str) -> Result<Value, ScimError> {
    resource_type_json(cfg, reg, name)
        .ok_or_else(|| ScimError::not_found(format!("resource type {name:?} not found")))
}

fn schema_json(cfg: &Config, s: &Schema) -> Value {
    let mut doc = s.document.clone();
    doc["meta"] = json!({"resourceType": "Schema", "location": cfg.url(&format!("/scim/v2/Schemas/{}", s.id))});
    doc
}

pub fn schemas(cfg: &Config, reg: &Registry) -> Vec<Value> {
    reg.schemas()
        .into_iter()
        .map(|s| schema_json(cfg, s))
        .collect()
}

pub fn schema(cfg: &Config, reg: &Registry, urn: &str) -> Result<Value, ScimError> {
    reg.schema(urn)
        .map(|s| schema_json(cfg, s))
        .ok_or_else(|| ScimError::not_found(format!("schema {urn:?} not found")))
}
