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
use crate::config::Config;
use crate::directory::seam::{id_and, Dialect};
use crate::directory::{Caller, Conn};
use crate::domain::Scope::{UsersRead, UsersWrite};
use crate::request::{AppState, ByCredential, Trip};
use body::{paging, DomoBody};
use error::{DomoError, DomoErrorBody, DomoResult};
use model::{DomoGroup, DomoGroupInput, DomoUser, DomoUserInput, GroupFields, UserFields};

#[derive(Tags)]
enum Tag {
    /// Domo Users and Groups API
    Domo,
}

/// A route's response, from its operation's result: the value, or Domo's error body for
/// the request.
trait Answer<T> {
    fn answer(r: DomoResult<T>, req: &Request) -> Self;
}

/// Run `op` in the request's one trip (`trip`, with the scope the route needs) on what the
/// route prepared from the request, as Domo's caller; answer with its value or Domo's error.
async fn answer<P, T, R: Answer<T>>(
    req: &Request,
    trip: Trip<'_, ByCredential>,
    prepared: DomoResult<P>,
    op: impl FnOnce(&mut Conn, &Caller<'_>, P) -> DomoResult<T> + Send + 'static,
) -> R
where
    P: Send + 'static,
    T: Send + 'static,
{
    R::answer(trip.judged(prepared, op).await, req)
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

        impl Answer<$ty> for $name {
            fn answer(r: DomoResult<$ty>, req: &Request) -> $name {
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

impl Answer<()> for DoneResponse {
    fn answer(r: DomoResult<()>, req: &Request) -> DoneResponse {
        match r {
            Ok(()) => DoneResponse::NoContent,
            Err(e) => DoneResponse::Error(e.status, e.body(req)),
        }
    }
}

/// A users operation with the server's configuration (a user's avatar URL is under the
/// server's own), as a trip runs it.
fn with_config<P, T>(
    state: &AppState,
    op: fn(&mut Conn, &Caller<'_>, &Config, P) -> DomoResult<T>,
) -> impl FnOnce(&mut Conn, &Caller<'_>, P) -> DomoResult<T> + Send + 'static
where
    P: 'static,
    T: 'static,
{
    let cfg = state.config.clone();
    move |conn, p, prepared| op(conn, p, &cfg, prepared)
}

pub struct DomoApi;

// Each route parses what the request carries, then makes its one trip with the scope it
// needs and runs its operation as Domo's caller (a malformed id or body is refused after
// the credential).
super::routes::api! {
    #[OpenApi(prefix_path = "/v1", tag = "Tag::Domo")]
    impl DomoApi;
    each(req: &Request, auth: BearerOrBasic, state: Data<&AppState>);

    /// Create a user (`sendInvite`: `true`/`false` in any case; an invitation is recorded
    /// in the audit trail, nothing is mailed).
    #[oai(path = "/users", method = "post")]
    fn create_user(
        body: DomoBody<DomoUserInput>,
        #[oai(name = "sendInvite")] send_invite: Query<Option<String>>,
    ) -> UserResponse {
        let prepared = users::send_invite(send_invite.as_deref()).and_then(|invite| {
            let fields = UserFields::parse(&body.object()?)?;
            Ok(users::NewUser { fields, invite })
        });
        let op = with_config(&state, users::create);
        answer(req, state.trip(&auth, UsersWrite), prepared, op).await
    }

    /// List users in id order (`limit` 1–500, default 50; `offset`).
    #[oai(path = "/users", method = "get")]
    fn list_users(limit: Query<Option<String>>, offset: Query<Option<String>>) -> UsersResponse {
        let prepared = paging(limit.as_deref(), offset.as_deref());
        let op = with_config(&state, users::list);
        answer(req, state.trip(&auth, UsersRead), prepared, op).await
    }

    /// Read a user.
    #[oai(path = "/users/:id", method = "get")]
    fn get_user(id: Path<String>) -> UserResponse {
        let op = with_config(&state, users::get);
        answer(req, state.trip(&auth, UsersRead), DomoError::id(&id, "user"), op).await
    }

    /// Update a user: fields given are written, omitted fields keep their value.
    #[oai(path = "/users/:id", method = "put")]
    fn update_user(id: Path<String>, body: DomoBody<DomoUserInput>) -> UserResponse {
        let prepared = id_and(&id, "user", body.object().and_then(|o| UserFields::parse(&o)));
        let op = with_config(&state, users::update);
        answer(req, state.trip(&auth, UsersWrite), prepared, op).await
    }

    /// Delete a user.
    #[oai(path = "/users/:id", method = "delete")]
    fn delete_user(id: Path<String>) -> DoneResponse {
        answer(req, state.trip(&auth, UsersWrite), DomoError::id(&id, "user"), users::delete).await
    }

    /// Create a group (`active` a boolean or the string `"true"`/`"false"`).
    #[oai(path = "/groups", method = "post")]
    fn create_group(body: DomoBody<DomoGroupInput>) -> GroupResponse {
        let prepared = body.object().and_then(|o| GroupFields::parse(&o));
        answer(req, state.trip(&auth, UsersWrite), prepared, groups::create).await
    }

    /// List groups in id order (`limit` 1–500, default 50; `offset`).
    #[oai(path = "/groups", method = "get")]
    fn list_groups(limit: Query<Option<String>>, offset: Query<Option<String>>) -> GroupsResponse {
        let prepared = paging(limit.as_deref(), offset.as_deref());
        answer(req, state.trip(&auth, UsersRead), prepared, groups::list).await
    }

    /// Read a group.
    #[oai(path = "/groups/:id", method = "get")]
    fn get_group(id: Path<String>) -> GroupResponse {
        answer(req, state.trip(&auth, UsersRead), DomoError::id(&id, "group"), groups::get).await
    }

    /// Update a group: fields given are written, omitted fields keep their value.
    #[oai(path = "/groups/:id", method = "put")]
    fn update_group(id: Path<String>, body: DomoBody<DomoGroupInput>) -> GroupResponse {
        let prepared = id_and(&id, "group", body.object().and_then(|o| GroupFields::parse(&o)));
        answer(req, state.trip(&auth, UsersWrite), prepared, groups::update).await
    }

    /// Delete a group (its memberships go with it; its users stay).
    #[oai(path = "/groups/:id", method = "delete")]
    fn delete_group(id: Path<String>) -> DoneResponse {
        let prepared = DomoError::id(&id, "group");
        answer(req, state.trip(&auth, UsersWrite), prepared, groups::delete).await
    }

    /// The ids of a group's users, in id order (`limit` 1–500, default 50; `offset`).
    #[oai(path = "/groups/:id/users", method = "get")]
    fn list_group_users(
        id: Path<String>,
        limit: Query<Option<String>>,
        offset: Query<Option<String>>,
    ) -> UserIdsResponse {
        let prepared = id_and(&id, "group", paging(limit.as_deref(), offset.as_deref()));
        answer(req, state.trip(&auth, UsersRead), prepared, groups::users).await
    }

    /// Add a user to a group (already a member: no change).
    #[oai(path = "/groups/:id/users/:user_id", method = "put")]
    fn add_group_user(id: Path<String>, user_id: Path<String>) -> DoneResponse {
        let prepared = id_and(&id, "group", DomoError::id(&user_id, "user"));
        answer(req, state.trip(&auth, UsersWrite), prepared, groups::add_user).await
    }

    /// Remove a user from a group (not a member: no change).
    #[oai(path = "/groups/:id/users/:user_id", method = "delete")]
    fn remove_group_user(id: Path<String>, user_id: Path<String>) -> DoneResponse {
        let prepared = id_and(&id, "group", DomoError::id(&user_id, "user"));
        answer(req, state.trip(&auth, UsersWrite), prepared, groups::remove_user).await
    }
}
