//! The Domo dialect: Domo's public Users and Groups API (`/v1/users`, `/v1/groups`) as
//! Domo's SDKs (pydomo) call it, over the one store. Access tokens come from
//! `/oauth/token` (`dialects::oauth`); `Authorization: bearer` in any case.

pub mod body;
pub mod error;
pub mod groups;
pub mod model;
pub mod users;

use poem::http::StatusCode;
use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};

use crate::auth::schemes::BearerOrBasic;
use crate::request::AppState;
use body::DomoBody;
use error::{DomoErrorBody, DomoResult};
use model::{DomoGroup, DomoGroupInput, DomoUser, DomoUserInput};

#[derive(Tags)]
enum Tag {
    /// Domo Users and Groups API
    Domo,
}

/// A response of this dialect: 200 with `$ty`, or Domo's error body.
macro_rules! domo_response {
    ($name:ident, $ty:ty, $doc:literal) => {
        // Built once per response and moved straight into the body: no reason to box.
        #[allow(clippy::large_enum_variant)]
        #[derive(ApiResponse)]
        pub enum $name {
            #[doc = $doc]
            #[oai(status = 200)]
            Ok(Json<$ty>),
            /// Domo's error body.
            Error(StatusCode, Json<DomoErrorBody>),
        }

        impl $name {
            fn from(r: DomoResult<$ty>, req: &Request) -> $name {
                match r {
                    Ok(v) => $name::Ok(Json(v)),
                    Err(e) => $name::Error(e.status, e.body(req)),
                }
            }
        }
    };
}

domo_response!(UserResponse, DomoUser, "The user.");
domo_response!(
    UsersResponse,
    Vec<DomoUser>,
    "A page of users (empty past the end)."
);
domo_response!(GroupResponse, DomoGroup, "The group.");
domo_response!(
    GroupsResponse,
    Vec<DomoGroup>,
    "A page of groups (empty past the end)."
);
domo_response!(
    UserIdsResponse,
    Vec<i64>,
    "A page of the ids of the group's users (empty past the end)."
);

#[derive(ApiResponse)]
pub enum DoneResponse {
    /// Done.
    #[oai(status = 204)]
    NoContent,
    /// Domo's error body.
    Error(StatusCode, Json<DomoErrorBody>),
}

impl DoneResponse {
    fn from(r: DomoResult<()>, req: &Request) -> DoneResponse {
        match r {
            Ok(()) => DoneResponse::NoContent,
            Err(e) => DoneResponse::Error(e.status, e.body(req)),
        }
    }
}

pub struct DomoApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Domo")]
#[allow(clippy::too_many_arguments)]
impl DomoApi {
    /// Create a user (`sendInvite`: `true`/`false` in any case; an invitation is recorded
    /// in the audit trail, nothing is mailed).
    #[oai(path = "/users", method = "post")]
    async fn create_user(
        &self,
        req: &Request,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        body: DomoBody<DomoUserInput>,
        #[oai(name = "sendInvite")] send_invite: Query<Option<String>>,
    ) -> UserResponse {
        UserResponse::from(users::create(&state, &auth, body, send_invite.0).await, req)
    }

    /// List users in id order (`limit` 1–500, default 50; `offset`).
    #[oai(path = "/users", method = "get")]
    async fn list_users(
        &self,
        req: &Request,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        limit: Query<Option<String>>,
        offset: Query<Option<String>>,
    ) -> UsersResponse {
        UsersResponse::from(users::list(&state, &auth, limit.0, offset.0).await, req)
    }

    /// Read a user.
    #[oai(path = "/users/:id", method = "get")]
    async fn get_user(
        &self,
        req: &Request,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        id: Path<String>,
    ) -> UserResponse {
        UserResponse::from(users::get(&state, &auth, id.0).await, req)
    }

    /// Update a user: fields given are written, omitted fields keep their value.
    #[oai(path = "/users/:id", method = "put")]
    async fn update_user(
        &self,
        req: &Request,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        id: Path<String>,
        body: DomoBody<DomoUserInput>,
    ) -> UserResponse {
        UserResponse::from(users::update(&state, &auth, id.0, body).await, req)
    }

    /// Delete a user.
    #[oai(path = "/users/:id", method = "delete")]
    async fn delete_user(
        &self,
        req: &Request,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        id: Path<String>,
    ) -> DoneResponse {
        DoneResponse::from(users::delete(&state, &auth, id.0).await, req)
    }

    /// Create a group (`active` a boolean or the string `"true"`/`"false"`).
    #[oai(path = "/groups", method = "post")]
    async fn create_group(
        &self,
        req: &Request,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        body: DomoBody<DomoGroupInput>,
    ) -> GroupResponse {
        GroupResponse::from(groups::create(&state, &auth, body).await, req)
    }

    /// List groups in id order (`limit` 1–500, default 50; `offset`).
    #[oai(path = "/groups", method = "get")]
    async fn list_groups(
        &self,
        req: &Request,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        limit: Query<Option<String>>,
        offset: Query<Option<String>>,
    ) -> GroupsResponse {
        GroupsResponse::from(groups::list(&state, &auth, limit.0, offset.0).await, req)
    }

    /// Read a group.
    #[oai(path = "/groups/:id", method = "get")]
    async fn get_group(
        &self,
        req: &Request,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        id: Path<String>,
    ) -> GroupResponse {
        GroupResponse::from(groups::get(&state, &auth, id.0).await, req)
    }

    /// Update a group: fields given are written, omitted fields keep their value.
    #[oai(path = "/groups/:id", method = "put")]
    async fn update_group(
        &self,
        req: &Request,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        id: Path<String>,
        body: DomoBody<DomoGroupInput>,
    ) -> GroupResponse {
        GroupResponse::from(groups::update(&state, &auth, id.0, body).await, req)
    }

    /// Delete a group (its memberships go with it; its users stay).
    #[oai(path = "/groups/:id", method = "delete")]
    async fn delete_group(
        &self,
        req: &Request,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        id: Path<String>,
    ) -> DoneResponse {
        DoneResponse::from(groups::delete(&state, &auth, id.0).await, req)
    }

    /// The ids of a group's users, in id order (`limit` 1–500, default 50; `offset`).
    #[oai(path = "/groups/:id/users", method = "get")]
    async fn list_group_users(
        &self,
        req: &Request,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        id: Path<String>,
        limit: Query<Option<String>>,
        offset: Query<Option<String>>,
    ) -> UserIdsResponse {
        UserIdsResponse::from(
            groups::users(&state, &auth, id.0, limit.0, offset.0).await,
            req,
        )
    }

    /// Add a user to a group (already a member: no change).
    #[oai(path = "/groups/:id/users/:user_id", method = "put")]
    async fn add_group_user(
        &self,
        req: &Request,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        id: Path<String>,
        user_id: Path<String>,
    ) -> DoneResponse {
        DoneResponse::from(
            groups::member(&state, &auth, id.0, user_id.0, true).await,
            req,
        )
    }

    /// Remove a user from a group (not a member: no change).
    #[oai(path = "/groups/:id/users/:user_id", method = "delete")]
    async fn remove_group_user(
        &self,
        req: &Request,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        id: Path<String>,
        user_id: Path<String>,
    ) -> DoneResponse {
        DoneResponse::from(
            groups::member(&state, &auth, id.0, user_id.0, false).await,
            req,
        )
    }
}
