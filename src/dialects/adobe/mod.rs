//! The Adobe dialect: the User Management API (UMAPI) under `/v2/usermanagement`, as the
//! official `umapi-client` and Adobe's User Sync Tool call it, over the one store. Access
//! tokens come from `/ims/token/v2/` and `/ims/token/v3` (`dialects::oauth`); every
//! call carries `X-Api-Key`, which must be the calling client's id. `{orgId}` is the
//! caller's organization id, optionally suffixed `@AdobeOrg`.

pub mod action;
pub mod body;
pub mod command;
pub mod error;
pub mod model;
pub mod parse;
pub mod reads;

use poem::web::Data;
use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, Response};
use poem_openapi::{OpenApi, SecurityScheme, Tags};
use serde_json::Value;

use crate::auth::schemes::{BearerAuth, BearerOrBasic};
use crate::auth::Presented;
use crate::directory::{Caller, Conn};
use crate::domain::{Principal, Scope};
use crate::request::AppState;
use body::{ActionCommand, AdobeBody};
use error::{AdobeError, AdobeResult};

#[derive(Tags)]
enum Tag {
    /// Adobe User Management API (UMAPI)
    Adobe,
}

async fn check_bearer(_req: &Request, bearer: Bearer) -> poem::Result<Presented> {
    Ok(Presented::bearer(bearer.token)?)
}

/// `Authorization: Bearer <access token>` from `/ims/token/v3` (or an API token), with
/// `X-Api-Key: <client id>` beside it.
#[derive(SecurityScheme)]
#[oai(
    rename = "adobe_ims",
    ty = "bearer",
    checker = "check_bearer",
    bearer_format = "IMS access token"
)]
pub struct ImsAuth(Presented);

fn bearer(auth: ImsAuth) -> BearerOrBasic {
    BearerOrBasic::Bearer(BearerAuth(auth.0))
}

/// What every call carries besides its token: the `X-Api-Key` header and the `{orgId}`.
#[derive(Clone)]
pub struct Call {
    api_key: Option<String>,
    org: String,
}

impl Call {
    fn new(req: &Request, org: String) -> Call {
        Call {
            api_key: req
                .headers()
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
                .map(|s| s.trim().to_string()),
            org,
        }
    }

    /// After the token is good: the API key names the calling client (403 otherwise), and
    /// `{orgId}` its organization (`error.organization.invalid_id` otherwise).
    fn check(&self, p: &Principal) -> AdobeResult<()> {
        if self.api_key.as_deref() != Some(p.credential_id.as_str()) {
            return Err(AdobeError::api_key());
        }
        let org = p.org_id.as_str();
        let named = self.org.as_str();
        let bare = named
            .len()
            .checked_sub("@AdobeOrg".len())
            .filter(|&n| named.is_char_boundary(n) && named[n..].eq_ignore_ascii_case("@AdobeOrg"))
            .map(|n| &named[..n]);
        if named == org || bare == Some(org) {
            Ok(())
        } else {
            Err(AdobeError::invalid_org())
        }
    }

    /// The call's one trip with `scope`, as Adobe's caller: `op` runs once the token is good
    /// and the call checks out ([`Call::check`]).
    async fn trip<T, F>(
        self,
        state: &AppState,
        auth: ImsAuth,
        scope: Scope,
        op: F,
    ) -> AdobeResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn, &Caller<'_>) -> AdobeResult<T> + Send + 'static,
    {
        state
            .trip(&bearer(auth), scope)
            .run(move |conn, p| {
                self.check(p)?;
                op(conn, p)
            })
            .await
    }
}

/// A read of the organization `{orgId}` names: `op` in the request's one trip, once the
/// call checks out.
async fn read<T, F>(
    req: &Request,
    state: &AppState,
    auth: ImsAuth,
    org: String,
    op: F,
) -> AdobeResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Conn, &Caller<'_>) -> AdobeResult<T> + Send + 'static,
{
    Call::new(req, org)
        .trip(state, auth, Scope::UsersRead, op)
        .await
}

/// `/users/{orgId}/{page}` and `/users/{orgId}/{page}/{group}`: a page of users, with
/// Adobe's paging headers.
async fn users_page(
    req: &Request,
    state: &AppState,
    auth: ImsAuth,
    org: String,
    q: reads::UsersQuery,
) -> poem::Result<Response<Json<Value>>> {
    let r = read(req, state, auth, org, move |conn, p| {
        reads::users(conn, p, q)
    });
    Ok(r.await?.respond())
}

/// A page of a list: the body and Adobe's paging headers.
pub struct Paged {
    pub body: Value,
    pub total: i64,
    pub page: i64,
    pub size: i64,
}

impl Paged {
    fn respond(self) -> Response<Json<Value>> {
        let pages = ((self.total + self.size - 1) / self.size).max(1);
        Response::new(Json(self.body))
            .header("X-Total-Count", self.total.to_string())
            .header("X-Page-Count", pages.to_string())
            .header("X-Current-Page", self.page.to_string())
            .header("X-Page-Size", self.size.to_string())
    }
}

pub struct AdobeApi;

super::routes::api! {
    #[OpenApi(prefix_path = "/v2/usermanagement", tag = "Tag::Adobe")]
    impl AdobeApi;
    each(req: &Request, auth: ImsAuth, state: Data<&AppState>);

    /// Run up to 10 command entries about users (`addAdobeID`, `createEnterpriseID`,
    /// `createFederatedID`, `update`, `add`, `remove`, `removeFromOrg`) or user groups
    /// (`createUserGroup`, `updateUserGroup`, `deleteUserGroup`, `add`, `remove`). Each entry
    /// applies whole or not at all; the batch may be partial. `testOnly=true` changes nothing.
    #[oai(path = "/action/:org_id", method = "post")]
    fn action(
        org_id: Path<String>,
        #[oai(name = "testOnly")] test_only: Query<Option<String>>,
        body: AdobeBody<Vec<ActionCommand>>,
    ) -> poem::Result<Json<Value>> {
        let r = Call::new(req, org_id.0).trip(&state, auth, Scope::UsersWrite, move |conn, p| {
            let test_only = reads::flag(test_only.0.as_deref(), "testOnly", false)?;
            let items = body.array()?;
            if items.len() > command::MAX_ENTRIES {
                return Err(AdobeError::bad_request(
                    "error.command.malformed",
                    format!(
                        "Too many commands: {}, at most {} per request",
                        items.len(),
                        command::MAX_ENTRIES
                    ),
                ));
            }
            let entries: Vec<command::Entry> = items.iter().map(parse::parse_entry).collect();
            let out = action::run(conn, p, &entries, test_only)?;
            Ok(out.body())
        });
        Ok(Json(r.await?))
    }

    /// A page (0-based) of the organization's users; `domain` keeps those of one domain,
    /// `directOnly=false` also lists the groups users are in through other groups.
    #[oai(path = "/users/:org_id/:page", method = "get")]
    fn users(
        org_id: Path<String>,
        page: Path<String>,
        domain: Query<Option<String>>,
        #[oai(name = "directOnly")] direct_only: Query<Option<String>>,
    ) -> poem::Result<Response<Json<Value>>> {
        let q = reads::UsersQuery {
            page: page.0,
            domain: domain.0,
            direct_only: direct_only.0,
            ..Default::default()
        };
        users_page(req, &state, auth, org_id.0, q).await
    }

    /// A page (0-based) of the users of a group (user group, product profile or admin
    /// group); `directOnly=false` adds those in it through nested groups, `excludeGroups=true`
    /// leaves out each user's groups, `status=active|inactive` keeps those.
    #[oai(path = "/users/:org_id/:page/:group", method = "get")]
    fn users_in_group(
        org_id: Path<String>,
        page: Path<String>,
        group: Path<String>,
        #[oai(name = "directOnly")] direct_only: Query<Option<String>>,
        #[oai(name = "excludeGroups")] exclude_groups: Query<Option<String>>,
        status: Query<Option<String>>,
    ) -> poem::Result<Response<Json<Value>>> {
        let q = reads::UsersQuery {
            page: page.0,
            direct_only: direct_only.0,
            group: Some(group.0),
            exclude_groups: exclude_groups.0,
            status: status.0,
            ..Default::default()
        };
        users_page(req, &state, auth, org_id.0, q).await
    }

    /// One user, by email or username (case-insensitive).
    #[oai(path = "/organizations/:org_id/users/:user", method = "get")]
    fn user(
        org_id: Path<String>,
        user: Path<String>,
        domain: Query<Option<String>>,
    ) -> poem::Result<Json<Value>> {
        let r = read(req, &state, auth, org_id.0, move |conn, p| {
            reads::user(conn, p, &user, domain.as_deref())
        });
        Ok(Json(r.await?))
    }

    /// A page (0-based) of the organization's groups: user groups, product profiles, admin
    /// groups, with their member counts.
    #[oai(path = "/groups/:org_id/:page", method = "get")]
    fn groups(org_id: Path<String>, page: Path<String>) -> poem::Result<Response<Json<Value>>> {
        let r = read(req, &state, auth, org_id.0, move |conn, p| reads::groups(conn, p, &page));
        Ok(r.await?.respond())
    }

    /// Deprecated: a page (`page`, 0-based) of users as a bare array with camelCase fields.
    #[oai(path = "/:org_id/users", method = "get", deprecated)]
    fn legacy_users(
        org_id: Path<String>,
        page: Query<Option<String>>,
        #[oai(name = "directOnly")] direct_only: Query<Option<String>>,
    ) -> poem::Result<Response<Json<Value>>> {
        let r = read(req, &state, auth, org_id.0, move |conn, p| {
            reads::legacy_users(conn, p, page.as_deref(), direct_only.as_deref())
        });
        Ok(r.await?.respond())
    }

    /// Deprecated: a page (`page`, 0-based) of user groups as a bare array.
    #[oai(path = "/:org_id/user-groups", method = "get", deprecated)]
    fn legacy_user_groups(
        org_id: Path<String>,
        page: Query<Option<String>>,
    ) -> poem::Result<Response<Json<Value>>> {
        let r = read(req, &state, auth, org_id.0, move |conn, p| {
            reads::legacy_groups(conn, p, page.as_deref())
        });
        Ok(r.await?.respond())
    }

    /// Deprecated: one user group by its id.
    #[oai(path = "/:org_id/user-groups/:group_id", method = "get", deprecated)]
    fn legacy_user_group(
        org_id: Path<String>,
        group_id: Path<String>,
    ) -> poem::Result<Json<Value>> {
        let r = read(req, &state, auth, org_id.0, move |conn, p| {
            reads::legacy_group(conn, p, &group_id)
        });
        Ok(Json(r.await?))
    }

    /// Deprecated: a page (`page`, 0-based) of a user group's users as a bare array.
    #[oai(path = "/:org_id/user-groups/:group_id/users", method = "get", deprecated)]
    fn legacy_user_group_users(
        org_id: Path<String>,
        group_id: Path<String>,
        page: Query<Option<String>>,
    ) -> poem::Result<Response<Json<Value>>> {
        let r = read(req, &state, auth, org_id.0, move |conn, p| {
            reads::legacy_group_users(conn, p, &group_id, page.as_deref())
        });
        Ok(r.await?.respond())
    }
}
