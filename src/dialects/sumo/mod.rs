//! The Sumo Logic dialect (vendor-apis.md §2, §3): user and role management
//! (`/api/v1/users`, `/api/v1/roles`) and the organizations management API
//! (`/api/v1/organizations`, `/api/v1/deployments`) over the one store. HTTP Basic with an
//! OAuth client's id and secret (`accessId:accessKey`), or Bearer. Every error is Sumo's
//! `{id, errors: [{code, message}]}`.

pub mod body;
pub mod cursor;
pub mod error;
pub mod model;
pub mod orgs;
pub mod roles;
pub mod users;

use poem::web::Data;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};
use serde_json::Value;

use crate::auth::schemes::BearerOrBasic;
use crate::directory::seam::{id_and, Dialect};
use crate::directory::{Caller, Conn};
use crate::domain::Scope::{OrgsAdmin, UsersRead, UsersWrite};
use crate::http::RequestId;
use crate::request::{AppState, ByCredential, Trip};
use body::SumoJson;
use cursor::Paging;
use error::{SumoError, SumoResult};
use model::*;

#[derive(Tags)]
enum Tag {
    /// Sumo Logic user and role management
    SumoUsers,
    /// Sumo Logic organizations management (child organizations, credits)
    SumoOrganizations,
}

#[derive(ApiResponse)]
pub enum NoContent {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}

/// Run `op` in the request's one trip (`trip`, with the scope the route needs) on what the
/// route prepared from the request, as Sumo's caller; a failure is rendered in Sumo's shape
/// with the request's id.
async fn sumo<P, T>(
    req: &Request,
    trip: Trip<'_, ByCredential>,
    prepared: SumoResult<P>,
    op: impl FnOnce(&mut Conn, &Caller<'_>, P) -> SumoResult<T> + Send + 'static,
) -> poem::Result<T>
where
    P: Send + 'static,
    T: Send + 'static,
{
    rendered(req, trip.judged(prepared, op)).await
}

/// A handler's work, its error rendered in Sumo's shape with the request's id.
async fn rendered<T>(
    req: &Request,
    f: impl std::future::Future<Output = SumoResult<T>>,
) -> poem::Result<T> {
    let rid = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    f.await
        .map_err(|e| poem::Error::from_response(e.render(&rid)))
}

/// [`sumo`], answering with the value as JSON.
async fn json<P, T>(
    req: &Request,
    trip: Trip<'_, ByCredential>,
    prepared: SumoResult<P>,
    op: impl FnOnce(&mut Conn, &Caller<'_>, P) -> SumoResult<T> + Send + 'static,
) -> poem::Result<Json<T>>
where
    P: Send + 'static,
    T: Send + 'static,
{
    sumo(req, trip, prepared, op).await.map(Json)
}

/// [`sumo`] for an operation that answers 204.
async fn done<P>(
    req: &Request,
    trip: Trip<'_, ByCredential>,
    prepared: SumoResult<P>,
    op: impl FnOnce(&mut Conn, &Caller<'_>, P) -> SumoResult<()> + Send + 'static,
) -> poem::Result<NoContent>
where
    P: Send + 'static,
{
    sumo(req, trip, prepared, op)
        .await
        .map(|()| NoContent::NoContent)
}

pub struct SumoApi;

// Each route makes its request's one trip with the scope it needs, on what it prepared
// from the request (a path's id, the body), and runs its operation as Sumo's caller.
super::routes::api! {
    #[OpenApi(prefix_path = "/api/v1")]
    impl SumoApi;
    each(auth: BearerOrBasic, state: Data<&AppState>, req: &Request);

    /// List users: `limit` (1–1000, default 100), `token` (the previous page's `next`),
    /// `sortBy` (`firstName`, `lastName`, `email`), `email` (exact, case-insensitive).
    #[oai(path = "/users", method = "get",
          operation_id = "SumoListUsers", tag = "Tag::SumoUsers")]
    fn list_users(
        limit: Query<Option<String>>,
        token: Query<Option<String>>,
        #[oai(name = "sortBy")] sort_by: Query<Option<String>>,
        email: Query<Option<String>>,
        #[oai(name = "includeServiceAccounts")] include_service_accounts: Query<Option<String>>,
    ) -> poem::Result<Json<SumoUserList>> {
        let q = users::ListParams {
            page: Paging::new(&state, limit.0, token.0),
            sort_by: sort_by.0,
            email: email.0,
            include_service_accounts: include_service_accounts.0,
        };
        json(req, state.trip(&auth, UsersRead), Ok(q), users::list).await
    }

    /// Create a user (200, as Sumo answers); `roleIds` must be roles of the organization.
    #[oai(path = "/users", method = "post",
          operation_id = "SumoCreateUser", tag = "Tag::SumoUsers")]
    fn create_user(body: SumoJson<CreateUserBody>) -> poem::Result<Json<SumoUser>> {
        json(req, state.trip(&auth, UsersWrite), body.into_result(), users::create).await
    }

    #[oai(path = "/users/:id", method = "get",
          operation_id = "SumoGetUser", tag = "Tag::SumoUsers")]
    fn get_user(id: Path<String>) -> poem::Result<Json<SumoUser>> {
        json(req, state.trip(&auth, UsersRead), SumoError::id(&id, "user"), users::get).await
    }

    /// Update a user: names, `isActive` (SCIM `active`), `roleIds` (replace). `email` is
    /// ignored, as Sumo ignores it: use `email/requestChange`.
    #[oai(path = "/users/:id", method = "put",
          operation_id = "SumoUpdateUser", tag = "Tag::SumoUsers")]
    fn update_user(
        id: Path<String>,
        body: SumoJson<UpdateUserBody>,
    ) -> poem::Result<Json<SumoUser>> {
        let prepared = id_and(&id, "user", body.into_result());
        json(req, state.trip(&auth, UsersWrite), prepared, users::update).await
    }

    /// Delete a user. `transferTo` (a user id) or `deleteContent=true` say what becomes of
    /// their content; both are recorded in the audit entry.
    #[oai(path = "/users/:id", method = "delete",
          operation_id = "SumoDeleteUser", tag = "Tag::SumoUsers")]
    fn delete_user(
        id: Path<String>,
        #[oai(name = "transferTo")] transfer_to: Query<Option<String>>,
        #[oai(name = "deleteContent")] delete_content: Query<Option<String>>,
    ) -> poem::Result<NoContent> {
        let content = users::Content {
            transfer_to: transfer_to.0,
            delete_content: delete_content.0,
        };
        let prepared = id_and(&id, "user", Ok(content));
        done(req, state.trip(&auth, UsersWrite), prepared, users::delete).await
    }

    /// Ask for an email change: stored as pending for 7 days; nothing is mailed. An operator
    /// applies it with `POST /admin/v1/users/{id}/email-change`.
    #[oai(path = "/users/:id/email/requestChange", method = "post",
          operation_id = "SumoRequestEmailChange", tag = "Tag::SumoUsers")]
    fn request_email_change(
        id: Path<String>,
        body: SumoJson<EmailChangeBody>,
    ) -> poem::Result<NoContent> {
        let prepared = id_and(&id, "user", body.into_result());
        done(req, state.trip(&auth, UsersWrite), prepared, users::request_email_change).await
    }

    /// Record a password reset (pending for 24 hours; nothing is mailed).
    #[oai(path = "/users/:id/password/reset", method = "post",
          operation_id = "SumoResetPassword", tag = "Tag::SumoUsers")]
    fn reset_password(id: Path<String>) -> poem::Result<NoContent> {
        let prepared = SumoError::id(&id, "user");
        done(req, state.trip(&auth, UsersWrite), prepared, users::reset_password).await
    }

    /// Clear `isLocked`.
    #[oai(path = "/users/:id/unlock", method = "post",
          operation_id = "SumoUnlockUser", tag = "Tag::SumoUsers")]
    fn unlock_user(id: Path<String>) -> poem::Result<NoContent> {
        done(req, state.trip(&auth, UsersWrite), SumoError::id(&id, "user"), users::unlock).await
    }

    /// Record that the welcome email was asked for again (nothing is mailed).
    #[oai(path = "/users/:id/resendWelcomeEmail", method = "post",
          operation_id = "SumoResendWelcomeEmail", tag = "Tag::SumoUsers")]
    fn resend_welcome(id: Path<String>) -> poem::Result<NoContent> {
        let prepared = SumoError::id(&id, "user");
        done(req, state.trip(&auth, UsersWrite), prepared, users::resend_welcome).await
    }

    /// Turn MFA off, given the target user's own email and password.
    #[oai(path = "/users/:id/mfa/disable", method = "put",
          operation_id = "SumoDisableMfa", tag = "Tag::SumoUsers")]
    fn disable_mfa(id: Path<String>, body: SumoJson<DisableMfaBody>) -> poem::Result<NoContent> {
        let r = rendered(req, users::disable_mfa(&state, &auth, id.0, body)).await;
        r.map(|()| NoContent::NoContent)
    }

    /// List roles: `limit`, `token`, `sortBy=name`, `name` (exact, case-insensitive).
    #[oai(path = "/roles", method = "get",
          operation_id = "SumoListRoles", tag = "Tag::SumoUsers")]
    fn list_roles(
        limit: Query<Option<String>>,
        token: Query<Option<String>>,
        #[oai(name = "sortBy")] sort_by: Query<Option<String>>,
        name: Query<Option<String>>,
    ) -> poem::Result<Json<SumoRoleList>> {
        let q = roles::ListParams {
            page: Paging::new(&state, limit.0, token.0),
            sort_by: sort_by.0,
            name: name.0,
        };
        json(req, state.trip(&auth, UsersRead), Ok(q), roles::list).await
    }

    #[oai(path = "/roles", method = "post",
          operation_id = "SumoCreateRole", tag = "Tag::SumoUsers")]
    fn create_role(body: SumoJson<CreateRoleBody>) -> poem::Result<Json<SumoRole>> {
        json(req, state.trip(&auth, UsersWrite), body.into_result(), roles::create).await
    }

    #[oai(path = "/roles/:id", method = "get",
          operation_id = "SumoGetRole", tag = "Tag::SumoUsers")]
    fn get_role(id: Path<String>) -> poem::Result<Json<SumoRole>> {
        json(req, state.trip(&auth, UsersRead), SumoError::id(&id, "role"), roles::get).await
    }

    /// Replace a role (every field but `autofillDependencies` required; `users` exactly).
    #[oai(path = "/roles/:id", method = "put",
          operation_id = "SumoUpdateRole", tag = "Tag::SumoUsers")]
    fn update_role(
        id: Path<String>,
        body: SumoJson<UpdateRoleBody>,
    ) -> poem::Result<Json<SumoRole>> {
        let prepared = id_and(&id, "role", body.into_result());
        json(req, state.trip(&auth, UsersWrite), prepared, roles::update).await
    }

    #[oai(path = "/roles/:id", method = "delete",
          operation_id = "SumoDeleteRole", tag = "Tag::SumoUsers")]
    fn delete_role(id: Path<String>) -> poem::Result<NoContent> {
        done(req, state.trip(&auth, UsersWrite), SumoError::id(&id, "role"), roles::delete).await
    }

    /// Give the role to a user.
    #[oai(path = "/roles/:role_id/users/:user_id", method = "put",
          operation_id = "SumoAssignRole", tag = "Tag::SumoUsers")]
    fn assign_role(role_id: Path<String>, user_id: Path<String>) -> poem::Result<Json<SumoRole>> {
        let prepared = id_and(&role_id, "role", SumoError::id(&user_id, "user"));
        json(req, state.trip(&auth, UsersWrite), prepared, roles::assign).await
    }

    /// Take the role from a user.
    #[oai(path = "/roles/:role_id/users/:user_id", method = "delete",
          operation_id = "SumoUnassignRole", tag = "Tag::SumoUsers")]
    fn unassign_role(role_id: Path<String>, user_id: Path<String>) -> poem::Result<NoContent> {
        let prepared = id_and(&role_id, "role", SumoError::id(&user_id, "user"));
        done(req, state.trip(&auth, UsersWrite), prepared, roles::unassign).await
    }

    /// The caller's child organizations: `limit`, `token`, `status` (`Active` default,
    /// `Inactive`, `All`). `{data: ReadOrganizationResponse[], next}`.
    #[oai(path = "/organizations", method = "get",
          operation_id = "SumoListOrganizations", tag = "Tag::SumoOrganizations")]
    fn list_orgs(
        limit: Query<Option<String>>,
        token: Query<Option<String>>,
        status: Query<Option<String>>,
    ) -> poem::Result<Json<Value>> {
        let q = orgs::ListParams {
            page: Paging::new(&state, limit.0, token.0),
            status: status.0,
        };
        json(req, state.trip(&auth, OrgsAdmin), Ok(q), orgs::list).await
    }

    /// Create a child organization of the caller's (id `<deploymentId>-<16 hex>`), with a
    /// Trial plan when `trialPlanPeriod` is given, else Enterprise for a year.
    #[oai(path = "/organizations", method = "post",
          operation_id = "SumoCreateOrganization", tag = "Tag::SumoOrganizations")]
    fn create_org(body: SumoJson<orgs::CreateOrgBody>) -> poem::Result<Json<Value>> {
        json(req, state.trip(&auth, OrgsAdmin), body.into_result(), orgs::create).await
    }

    /// Delink deactivated children: `{orgIds: [...]}`.
    #[oai(path = "/organizations/delink", method = "put",
          operation_id = "SumoDelinkOrganizations", tag = "Tag::SumoOrganizations")]
    fn delink(body: SumoJson<orgs::DelinkBody>) -> poem::Result<Json<String>> {
        json(req, state.trip(&auth, OrgsAdmin), body.into_result(), orgs::delink).await
    }

    /// The caller's own usage in its subscription period (`ParentUsage`, plus `activeUsers`).
    #[oai(path = "/organizations/usages", method = "get",
          operation_id = "SumoOwnUsage", tag = "Tag::SumoOrganizations")]
    fn own_usage() -> poem::Result<Json<Value>> {
        rendered(req, state.trip(&auth, OrgsAdmin).run(orgs::own_usage)).await.map(Json)
    }

    /// Children's usage: a JSON array of child ids (paged by `limit`, `token`) gives
    /// `{data: BasicUsage[], next}`; an object `{startDate?, endDate?}` gives every child's
    /// usage in that range (default the last 30 days), `{data: [...]}`.
    #[oai(path = "/organizations/usages", method = "post",
          operation_id = "SumoChildUsages", tag = "Tag::SumoOrganizations")]
    fn usages(
        limit: Query<Option<String>>,
        token: Query<Option<String>>,
        body: SumoJson<Value>,
    ) -> poem::Result<Json<Value>> {
        let page = Paging::new(&state, limit.0, token.0);
        let prepared = body.into_result().map(|b| (b, page));
        json(req, state.trip(&auth, OrgsAdmin), prepared, orgs::usages).await
    }

    /// A child's usage by product variable (`DetailedUsage`, plus `activeUsers`).
    #[oai(path = "/organizations/usages/:org_id", method = "get",
          operation_id = "SumoDetailedUsage", tag = "Tag::SumoOrganizations")]
    fn detailed_usage(org_id: Path<String>) -> poem::Result<Json<Value>> {
        json(req, state.trip(&auth, OrgsAdmin), orgs::org_id(&org_id), orgs::detailed_usage).await
    }

    /// `{creditsAllocated}`: credits of active children on paid plans.
    #[oai(path = "/organizations/allocatedCredits", method = "get",
          operation_id = "SumoAllocatedCredits", tag = "Tag::SumoOrganizations")]
    fn allocated_credits() -> poem::Result<Json<Value>> {
        rendered(req, state.trip(&auth, OrgsAdmin).run(orgs::allocated_credits)).await.map(Json)
    }

    #[oai(path = "/organizations/parentOrg", method = "get",
          operation_id = "SumoParentOrg", tag = "Tag::SumoOrganizations")]
    fn parent_org() -> poem::Result<Json<Value>> {
        rendered(req, state.trip(&auth, OrgsAdmin).run(orgs::parent_org)).await.map(Json)
    }

    #[oai(path = "/organizations/provisioning/:org_id", method = "get",
          operation_id = "SumoProvisioning", tag = "Tag::SumoOrganizations")]
    fn provisioning(org_id: Path<String>) -> poem::Result<Json<Value>> {
        json(req, state.trip(&auth, OrgsAdmin), orgs::org_id(&org_id), orgs::provisioning).await
    }

    #[oai(path = "/organizations/:org_id", method = "get",
          operation_id = "SumoGetOrganization", tag = "Tag::SumoOrganizations")]
    fn get_org(org_id: Path<String>) -> poem::Result<Json<Value>> {
        json(req, state.trip(&auth, OrgsAdmin), orgs::org_id(&org_id), orgs::get).await
    }

    /// Change a child's baselines (and so its subscription's credits).
    #[oai(path = "/organizations/:org_id", method = "put",
          operation_id = "SumoUpdateOrganization", tag = "Tag::SumoOrganizations")]
    fn update_org(
        org_id: Path<String>,
        body: SumoJson<orgs::BaselinesBody>,
    ) -> poem::Result<Json<Value>> {
        let prepared = orgs::org_and(&org_id, body.into_result());
        json(req, state.trip(&auth, OrgsAdmin), prepared, orgs::update).await
    }

    /// Deactivate a child (200 with the document): subscription canceled, its keys revoked.
    #[oai(path = "/organizations/:org_id", method = "delete",
          operation_id = "SumoDeactivateOrganization", tag = "Tag::SumoOrganizations")]
    fn deactivate_org(org_id: Path<String>) -> poem::Result<Json<Value>> {
        json(req, state.trip(&auth, OrgsAdmin), orgs::org_id(&org_id), orgs::deactivate).await
    }

    /// Mint an access id and key of the child: they work with HTTP Basic on the child's
    /// users and nowhere else. The key is shown once, here.
    #[oai(path = "/organizations/:org_id/accessKey", method = "post",
          operation_id = "SumoCreateChildAccessKey", tag = "Tag::SumoOrganizations")]
    fn access_key(
        org_id: Path<String>,
        body: SumoJson<orgs::AccessKeyBody>,
    ) -> poem::Result<Json<Value>> {
        let prepared = orgs::org_and(&org_id, body.into_result());
        json(req, state.trip(&auth, OrgsAdmin), prepared, orgs::access_key).await
    }

    #[oai(path = "/organizations/:org_id/subdomainLoginUrl", method = "get",
          operation_id = "SumoSubdomainLoginUrl", tag = "Tag::SumoOrganizations")]
    fn login_url(org_id: Path<String>) -> poem::Result<Json<Value>> {
        let prepared = orgs::org_and(&org_id, Ok(state.config.url("/")));
        json(req, state.trip(&auth, OrgsAdmin), prepared, orgs::login_url).await
    }

    /// Deployments (each is this server).
    #[oai(path = "/deployments", method = "get",
          operation_id = "SumoDeployments", tag = "Tag::SumoOrganizations")]
    fn deployments() -> poem::Result<Json<Value>> {
        let base = state.config.url("");
        json(req, state.trip(&auth, OrgsAdmin), Ok(base), orgs::deployments).await
    }
}
