//! Discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas — generated from
//! the same registry that validates requests, advertising only what works.

use serde_json::{json, Value};

use super::common::MAX_RESULTS;
use crate::config::Config;
use crate::scim::schema::Registry;
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

fn resource_type_json(cfg: &Config, name: &str) -> Option<Value> {
    let reg = Registry::get();
    let rt = reg
        .resource_types
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(name))?;
    let exts: Vec<Value> = rt
        .extensions
        .iter()
        .map(|e| json!({"schema": e, "required": false}))
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

pub fn resource_types(cfg: &Config) -> Vec<Value> {
    Registry::get()
        .resource_types
        .iter()
        .filter_map(|r| resource_type_json(cfg, r.name))
        .collect()
}

pub fn resource_type(cfg: &Config, name: &str) -> Result<Value, ScimError> {
    resource_type_json(cfg, name)
        .ok_or_else(|| ScimError::not_found(format!("resource type {name:?} not found")))
}

fn schema_json(cfg: &Config, urn: &str) -> Option<Value> {
    let s = Registry::get().schema(urn)?;
    let mut doc = s.document.clone();
    doc["meta"] = json!({"resourceType": "Schema", "location": cfg.url(&format!("/scim/v2/Schemas/{}", s.id))});
    Some(doc)
}

pub fn schemas(cfg: &Config) -> Vec<Value> {
    Registry::get()
        .schemas
        .iter()
        .filter_map(|s| schema_json(cfg, &s.id))
        .collect()
}

pub fn schema(cfg: &Config, urn: &str) -> Result<Value, ScimError> {
    schema_json(cfg, urn).ok_or_else(|| ScimError::not_found(format!("schema {urn:?} not found")))
}
