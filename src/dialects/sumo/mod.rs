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
use crate::http::RequestId;
use crate::request::AppState;
use body::SumoJson;
use error::SumoResult;
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

/// Run a handler's work and render its error in Sumo's shape with the request's id.
async fn sumo<T>(
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

async fn done(
    req: &Request,
    f: impl std::future::Future<Output = SumoResult<()>>,
) -> poem::Result<NoContent> {
    sumo(req, f).await.map(|_| NoContent::NoContent)
}

pub struct SumoApi;

#[OpenApi(prefix_path = "/api/v1")]
impl SumoApi {
    /// List users: `limit` (1–1000, default 100), `token` (the previous page's `next`),
    /// `sortBy` (`firstName`, `lastName`, `email`), `email` (exact, case-insensitive).
    #[oai(
        path = "/users",
        method = "get",
        operation_id = "SumoListUsers",
        tag = "Tag::SumoUsers"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list_users(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        limit: Query<Option<String>>,
        token: Query<Option<String>>,
        #[oai(name = "sortBy")] sort_by: Query<Option<String>>,
        email: Query<Option<String>>,
        #[oai(name = "includeServiceAccounts")] include_service_accounts: Query<Option<String>>,
    ) -> poem::Result<Json<SumoUserList>> {
        let q = users::ListParams {
            limit: limit.0,
            token: token.0,
            sort_by: sort_by.0,
            email: email.0,
            include_service_accounts: include_service_accounts.0,
        };
        sumo(req, users::list(&state, &auth, q)).await.map(Json)
    }

    /// Create a user (200, as Sumo answers); `roleIds` must be roles of the organization.
    #[oai(
        path = "/users",
        method = "post",
        operation_id = "SumoCreateUser",
        tag = "Tag::SumoUsers"
    )]
    async fn create_user(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        body: SumoJson<CreateUserBody>,
    ) -> poem::Result<Json<SumoUser>> {
        sumo(req, users::create(&state, &auth, body))
            .await
            .map(Json)
    }

    #[oai(
        path = "/users/:id",
        method = "get",
        operation_id = "SumoGetUser",
        tag = "Tag::SumoUsers"
    )]
    async fn get_user(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        id: Path<String>,
    ) -> poem::Result<Json<SumoUser>> {
        sumo(req, users::get(&state, &auth, id.0)).await.map(Json)
    }

    /// Update a user: names, `isActive` (SCIM `active`), `roleIds` (replace). `email` is
    /// ignored, as Sumo ignores it: use `email/requestChange`.
    #[oai(
        path = "/users/:id",
        method = "put",
        operation_id = "SumoUpdateUser",
        tag = "Tag::SumoUsers"
    )]
    async fn update_user(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        id: Path<String>,
        body: SumoJson<UpdateUserBody>,
    ) -> poem::Result<Json<SumoUser>> {
        sumo(req, users::update(&state, &auth, id.0, body))
            .await
            .map(Json)
    }

    /// Delete a user. `transferTo` (a user id) or `deleteContent=true` say what becomes of
    /// their content; both are recorded in the audit entry.
    #[oai(
        path = "/users/:id",
        method = "delete",
        operation_id = "SumoDeleteUser",
        tag = "Tag::SumoUsers"
    )]
    async fn delete_user(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        id: Path<String>,
        #[oai(name = "transferTo")] transfer_to: Query<Option<String>>,
        #[oai(name = "deleteContent")] delete_content: Query<Option<String>>,
    ) -> poem::Result<NoContent> {
        done(
            req,
            users::delete(&state, &auth, id.0, transfer_to.0, delete_content.0),
        )
        .await
    }

    /// Ask for an email change: stored as pending for 7 days; nothing is mailed. An operator
    /// applies it with `POST /admin/v1/users/{id}/email-change`.
    #[oai(
        path = "/users/:id/email/requestChange",
        method = "post",
        operation_id = "SumoRequestEmailChange",
        tag = "Tag::SumoUsers"
    )]
    async fn request_email_change(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        id: Path<String>,
        body: SumoJson<EmailChangeBody>,
    ) -> poem::Result<NoContent> {
        done(req, users::request_email_change(&state, &auth, id.0, body)).await
    }

    /// Record a password reset (pending for 24 hours; nothing is mailed).
    #[oai(
        path = "/users/:id/password/reset",
        method = "post",
        operation_id = "SumoResetPassword",
        tag = "Tag::SumoUsers"
    )]
    async fn reset_password(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        id: Path<String>,
    ) -> poem::Result<NoContent> {
        done(
            req,
            users::act(&state, &auth, id.0, users::Action::ResetPassword),
        )
        .await
    }

    /// Clear `isLocked`.
    #[oai(
        path = "/users/:id/unlock",
        method = "post",
        operation_id = "SumoUnlockUser",
        tag = "Tag::SumoUsers"
    )]
    async fn unlock_user(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        id: Path<String>,
    ) -> poem::Result<NoContent> {
        done(req, users::act(&state, &auth, id.0, users::Action::Unlock)).await
    }

    /// Record that the welcome email was asked for again (nothing is mailed).
    #[oai(
        path = "/users/:id/resendWelcomeEmail",
        method = "post",
        operation_id = "SumoResendWelcomeEmail",
        tag = "Tag::SumoUsers"
    )]
    async fn resend_welcome(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        id: Path<String>,
    ) -> poem::Result<NoContent> {
        done(
            req,
            users::act(&state, &auth, id.0, users::Action::ResendWelcome),
        )
        .await
    }

    /// Turn MFA off, given the target user's own email and password.
    #[oai(
        path = "/users/:id/mfa/disable",
        method = "put",
        operation_id = "SumoDisableMfa",
        tag = "Tag::SumoUsers"
    )]
    async fn disable_mfa(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        id: Path<String>,
        body: SumoJson<DisableMfaBody>,
    ) -> poem::Result<NoContent> {
        done(req, users::disable_mfa(&state, &auth, id.0, body)).await
    }

    /// List roles: `limit`, `token`, `sortBy=name`, `name` (exact, case-insensitive).
    #[oai(
        path = "/roles",
        method = "get",
        operation_id = "SumoListRoles",
        tag = "Tag::SumoUsers"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list_roles(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        limit: Query<Option<String>>,
        token: Query<Option<String>>,
        #[oai(name = "sortBy")] sort_by: Query<Option<String>>,
        name: Query<Option<String>>,
    ) -> poem::Result<Json<SumoRoleList>> {
        let q = roles::ListParams {
            limit: limit.0,
            token: token.0,
            sort_by: sort_by.0,
            name: name.0,
        };
        sumo(req, roles::list(&state, &auth, q)).await.map(Json)
    }

    #[oai(
        path = "/roles",
        method = "post",
        operation_id = "SumoCreateRole",
        tag = "Tag::SumoUsers"
    )]
    async fn create_role(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        body: SumoJson<CreateRoleBody>,
    ) -> poem::Result<Json<SumoRole>> {
        sumo(req, roles::create(&state, &auth, body))
            .await
            .map(Json)
    }

    #[oai(
        path = "/roles/:id",
        method = "get",
        operation_id = "SumoGetRole",
        tag = "Tag::SumoUsers"
    )]
    async fn get_role(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        id: Path<String>,
    ) -> poem::Result<Json<SumoRole>> {
        sumo(req, roles::get(&state, &auth, id.0)).await.map(Json)
    }

    /// Replace a role (every field but `autofillDependencies` required; `users` exactly).
    #[oai(
        path = "/roles/:id",
        method = "put",
        operation_id = "SumoUpdateRole",
        tag = "Tag::SumoUsers"
    )]
    async fn update_role(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        id: Path<String>,
        body: SumoJson<UpdateRoleBody>,
    ) -> poem::Result<Json<SumoRole>> {
        sumo(req, roles::update(&state, &auth, id.0, body))
            .await
            .map(Json)
    }

    #[oai(
        path = "/roles/:id",
        method = "delete",
        operation_id = "SumoDeleteRole",
        tag = "Tag::SumoUsers"
    )]
    async fn delete_role(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        id: Path<String>,
    ) -> poem::Result<NoContent> {
        done(req, roles::delete(&state, &auth, id.0)).await
    }

    /// Give the role to a user.
    #[oai(
        path = "/roles/:role_id/users/:user_id",
        method = "put",
        operation_id = "SumoAssignRole",
        tag = "Tag::SumoUsers"
    )]
    async fn assign_role(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        role_id: Path<String>,
        user_id: Path<String>,
    ) -> poem::Result<Json<SumoRole>> {
        sumo(req, roles::assign(&state, &auth, role_id.0, user_id.0))
            .await
            .map(Json)
    }

    /// Take the role from a user.
    #[oai(
        path = "/roles/:role_id/users/:user_id",
        method = "delete",
        operation_id = "SumoUnassignRole",
        tag = "Tag::SumoUsers"
    )]
    async fn unassign_role(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        role_id: Path<String>,
        user_id: Path<String>,
    ) -> poem::Result<NoContent> {
        done(req, roles::unassign(&state, &auth, role_id.0, user_id.0)).await
    }

    /// The caller's child organizations: `limit`, `token`, `status` (`Active` default,
    /// `Inactive`, `All`). `{data: ReadOrganizationResponse[], next}`.
    #[oai(
        path = "/organizations",
        method = "get",
        operation_id = "SumoListOrganizations",
        tag = "Tag::SumoOrganizations"
    )]
    async fn list_orgs(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        limit: Query<Option<String>>,
        token: Query<Option<String>>,
        status: Query<Option<String>>,
    ) -> poem::Result<Json<Value>> {
        let q = orgs::ListParams {
            limit: limit.0,
            token: token.0,
            status: status.0,
        };
        sumo(req, orgs::list(&state, &auth, q)).await.map(Json)
    }

    /// Create a child organization of the caller's (id `<deploymentId>-<16 hex>`), with a
    /// Trial plan when `trialPlanPeriod` is given, else Enterprise for a year.
    #[oai(
        path = "/organizations",
        method = "post",
        operation_id = "SumoCreateOrganization",
        tag = "Tag::SumoOrganizations"
    )]
    async fn create_org(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        body: SumoJson<orgs::CreateOrgBody>,
    ) -> poem::Result<Json<Value>> {
        sumo(req, orgs::create(&state, &auth, body)).await.map(Json)
    }

    /// Delink deactivated children: `{orgIds: [...]}`.
    #[oai(
        path = "/organizations/delink",
        method = "put",
        operation_id = "SumoDelinkOrganizations",
        tag = "Tag::SumoOrganizations"
    )]
    async fn delink(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        body: SumoJson<orgs::DelinkBody>,
    ) -> poem::Result<Json<String>> {
        sumo(req, orgs::delink(&state, &auth, body)).await.map(Json)
    }

    /// The caller's own usage in its subscription period (`ParentUsage`, plus `activeUsers`).
    #[oai(
        path = "/organizations/usages",
        method = "get",
        operation_id = "SumoOwnUsage",
        tag = "Tag::SumoOrganizations"
    )]
    async fn own_usage(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
    ) -> poem::Result<Json<Value>> {
        sumo(req, orgs::own_usage(&state, &auth)).await.map(Json)
    }

    /// Children's usage: a JSON array of child ids (paged by `limit`, `token`) gives
    /// `{data: BasicUsage[], next}`; an object `{startDate?, endDate?}` gives every child's
    /// usage in that range (default the last 30 days), `{data: [...]}`.
    #[oai(
        path = "/organizations/usages",
        method = "post",
        operation_id = "SumoChildUsages",
        tag = "Tag::SumoOrganizations"
    )]
    async fn usages(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        limit: Query<Option<String>>,
        token: Query<Option<String>>,
        body: SumoJson<Value>,
    ) -> poem::Result<Json<Value>> {
        sumo(req, orgs::usages(&state, &auth, body, limit.0, token.0))
            .await
            .map(Json)
    }

    /// A child's usage by product variable (`DetailedUsage`, plus `activeUsers`).
    #[oai(
        path = "/organizations/usages/:org_id",
        method = "get",
        operation_id = "SumoDetailedUsage",
        tag = "Tag::SumoOrganizations"
    )]
    async fn detailed_usage(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        org_id: Path<String>,
    ) -> poem::Result<Json<Value>> {
        sumo(req, orgs::detailed_usage(&state, &auth, org_id.0))
            .await
            .map(Json)
    }

    /// `{creditsAllocated}`: credits of active children on paid plans.
    #[oai(
        path = "/organizations/allocatedCredits",
        method = "get",
        operation_id = "SumoAllocatedCredits",
        tag = "Tag::SumoOrganizations"
    )]
    async fn allocated_credits(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
    ) -> poem::Result<Json<Value>> {
        sumo(req, orgs::allocated_credits(&state, &auth))
            .await
            .map(Json)
    }

    #[oai(
        path = "/organizations/parentOrg",
        method = "get",
        operation_id = "SumoParentOrg",
        tag = "Tag::SumoOrganizations"
    )]
    async fn parent_org(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
    ) -> poem::Result<Json<Value>> {
        sumo(req, orgs::parent_org(&state, &auth)).await.map(Json)
    }

    #[oai(
        path = "/organizations/provisioning/:org_id",
        method = "get",
        operation_id = "SumoProvisioning",
        tag = "Tag::SumoOrganizations"
    )]
    async fn provisioning(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        org_id: Path<String>,
    ) -> poem::Result<Json<Value>> {
        sumo(req, orgs::provisioning(&state, &auth, org_id.0))
            .await
            .map(Json)
    }

    #[oai(
        path = "/organizations/:org_id",
        method = "get",
        operation_id = "SumoGetOrganization",
        tag = "Tag::SumoOrganizations"
    )]
    async fn get_org(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        org_id: Path<String>,
    ) -> poem::Result<Json<Value>> {
        sumo(req, orgs::get(&state, &auth, org_id.0))
            .await
            .map(Json)
    }

    /// Change a child's baselines (and so its subscription's credits).
    #[oai(
        path = "/organizations/:org_id",
        method = "put",
        operation_id = "SumoUpdateOrganization",
        tag = "Tag::SumoOrganizations"
    )]
    async fn update_org(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        org_id: Path<String>,
        body: SumoJson<orgs::BaselinesBody>,
    ) -> poem::Result<Json<Value>> {
        sumo(req, orgs::update(&state, &auth, org_id.0, body))
            .await
            .map(Json)
    }

    /// Deactivate a child (200 with the document): subscription canceled, its keys revoked.
    #[oai(
        path = "/organizations/:org_id",
        method = "delete",
        operation_id = "SumoDeactivateOrganization",
        tag = "Tag::SumoOrganizations"
    )]
    async fn deactivate_org(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        org_id: Path<String>,
    ) -> poem::Result<Json<Value>> {
        sumo(req, orgs::deactivate(&state, &auth, org_id.0))
            .await
            .map(Json)
    }

    /// Mint an access id and key of the child: they work with HTTP Basic on the child's
    /// users and nowhere else. The key is shown once, here.
    #[oai(
        path = "/organizations/:org_id/accessKey",
        method = "post",
        operation_id = "SumoCreateChildAccessKey",
        tag = "Tag::SumoOrganizations"
    )]
    async fn access_key(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        org_id: Path<String>,
        body: SumoJson<orgs::AccessKeyBody>,
    ) -> poem::Result<Json<Value>> {
        sumo(req, orgs::access_key(&state, &auth, org_id.0, body))
            .await
            .map(Json)
    }

    #[oai(
        path = "/organizations/:org_id/subdomainLoginUrl",
        method = "get",
        operation_id = "SumoSubdomainLoginUrl",
        tag = "Tag::SumoOrganizations"
    )]
    async fn login_url(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
        org_id: Path<String>,
    ) -> poem::Result<Json<Value>> {
        sumo(req, orgs::login_url(&state, &auth, org_id.0))
            .await
            .map(Json)
    }

    /// Deployments (each is this server).
    #[oai(
        path = "/deployments",
        method = "get",
        operation_id = "SumoDeployments",
        tag = "Tag::SumoOrganizations"
    )]
    async fn deployments(
        &self,
        auth: BearerOrBasic,
        state: Data<&AppState>,
        req: &Request,
    ) -> poem::Result<Json<Value>> {
        sumo(req, orgs::deployments(&state, &auth)).await.map(Json)
    }
}
