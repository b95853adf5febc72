//! Logto's response and request wire types for `/api/users` and `/api/logs` (the user
//! itself, `LogtoUser`, is in `user.rs`).

use std::collections::BTreeMap;

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};
use serde_json::Value;

use super::user::{LogtoIdentity, LogtoProfile, LogtoUser};

#[derive(ApiResponse)]
pub enum UserResponse {
    /// The user.
    #[oai(status = 200)]
    Ok(Json<LogtoUser>),
}

#[derive(ApiResponse)]
pub enum UsersResponse {
    /// A page of users, newest first.
    #[oai(status = 200)]
    Ok(
        Json<Vec<LogtoUser>>,
        /// How many users match.
        #[oai(header = "Total-Number")]
        String,
        /// `first`, `prev`, `next`, `last` pages.
        #[oai(header = "Link")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum NoContent {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
pub enum IdentitiesResponse {
    /// The identity replaced an existing one at the target; the user's identities.
    #[oai(status = 200)]
    Replaced(Json<BTreeMap<String, LogtoIdentity>>),
    /// The identity is new at the target; the user's identities.
    #[oai(status = 201)]
    Created(Json<BTreeMap<String, LogtoIdentity>>),
}

#[derive(ApiResponse)]
pub enum CustomDataResponse {
    /// The user's custom data.
    #[oai(status = 200)]
    Ok(Json<BTreeMap<String, Value>>),
}

#[derive(ApiResponse)]
pub enum ProfileResponse {
    /// The user's profile.
    #[oai(status = 200)]
    Ok(Json<LogtoProfile>),
}

#[derive(Object)]
#[oai(rename = "LogtoHasPassword", rename_all = "camelCase")]
pub struct HasPassword {
    pub has_password: bool,
}

#[derive(ApiResponse)]
pub enum HasPasswordResponse {
    /// Whether the user has a password.
    #[oai(status = 200)]
    Ok(Json<HasPassword>),
}

#[derive(Object)]
#[oai(rename = "LogtoErrorBody", rename_all = "camelCase")]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

#[derive(ApiResponse)]
pub enum VerifyResponse {
    /// The password matches.
    #[oai(status = 204)]
    Match,
    /// The password does not match (or the user has none).
    #[oai(status = 422)]
    Mismatch(Json<ErrorBody>),
}

/// An audit entry as a Logto log.
#[derive(Object)]
#[oai(rename = "LogtoLog", rename_all = "camelCase")]
pub struct LogtoLog {
    /// The organization.
    pub tenant_id: String,
    pub id: String,
    pub key: String,
    /// `key`, `result`, `userId`, `dialect`, `credentialId` and `applicationId` (the
    /// credential that made the change), `action` and the change's own fields.
    pub payload: BTreeMap<String, Value>,
    /// Epoch milliseconds.
    pub created_at: i64,
}

#[derive(ApiResponse)]
pub enum LogsResponse {
    /// A page of logs, newest first.
    #[oai(status = 200)]
    Ok(
        Json<Vec<LogtoLog>>,
        #[oai(header = "Total-Number")] String,
        #[oai(header = "Link")] String,
    ),
}

#[derive(ApiResponse)]
pub enum LogResponse {
    /// The log.
    #[oai(status = 200)]
    Ok(Json<LogtoLog>),
}

#[derive(Object)]
#[oai(rename = "LogtoPassword", rename_all = "camelCase")]
pub struct PasswordBody {
    pub password: String,
}

#[derive(Object)]
#[oai(rename = "LogtoSuspension", rename_all = "camelCase")]
pub struct SuspensionBody {
    pub is_suspended: bool,
}

#[derive(Object)]
#[oai(rename = "LogtoCustomDataPatch", rename_all = "camelCase")]
pub struct CustomDataBody {
    pub custom_data: BTreeMap<String, Value>,
}

#[derive(Object)]
#[oai(rename = "LogtoProfilePatch", rename_all = "camelCase")]
pub struct ProfileBody {
    pub profile: LogtoProfile,
}

#[derive(Object)]
#[oai(rename = "LogtoIdentityBody", rename_all = "camelCase")]
pub struct IdentityBody {
    /// The user's id at the target.
    pub user_id: String,
    pub details: Option<BTreeMap<String, Value>>,
}
