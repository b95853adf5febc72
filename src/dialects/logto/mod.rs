//! Logto's Management API for users and logs (`/api/users`, `/api/logs`; vendor-apis.md §1):
//! the routes. Each handler's work is one database trip (`users.rs`, `logs.rs`) that
//! authenticates first; a bad body or query is judged inside it, after the credential.

pub mod body;
pub mod error;
pub mod hooks;
pub mod logs;
pub mod model;
pub mod query;
pub mod roles;
pub mod search;
pub mod user;
pub mod users;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::Tags;

use crate::auth::schemes::{BearerAuth, BearerOrBasic};
use body::LogtoJson;
pub use error::LogtoResult;
pub use model::*;
use user::{NewUserBody, UserPatchBody};
pub use users::console_view;

#[derive(Tags)]
enum Tag {
    /// Logto Management API: users and logs
    Logto,
}

fn bearer(auth: BearerAuth) -> BearerOrBasic {
    BearerOrBasic::Bearer(auth)
}

async fn respond<T>(f: impl std::future::Future<Output = LogtoResult<T>>) -> poem::Result<T> {
    f.await.map_err(poem::Error::from)
}

pub struct LogtoApi;

crate::request::routes! {
    #[OpenApi(prefix_path = "/api", tag = "Tag::Logto")]
    impl LogtoApi(auth: BearerAuth, state) {
        /// List users, newest first: `page` (from 1), `page_size` (default 20, at most 100);
        /// `search` (all five fields) or `search.<field>` (`id`, `primaryEmail`, `primaryPhone`,
        /// `username`, `name`; repeat for several values), `mode` / `mode.<field>` (`like`
        /// (default; no implicit wildcards), `exact`, `similar_to`, `posix`), `joint`
        /// (`or`/`and`), `isCaseSensitive`, `excludeRoleId`, `includePasswordHash` (needs
        /// `users:write`; the read is audited).
        #[oai(path = "/users", method = "get", operation_id = "ListUsers")]
        #[allow(clippy::too_many_arguments)]
        async fn list_users(
            req: &Request,
            /// Page number, from 1.
            page: Query<Option<String>>,
            /// Page size, 1 to 100 (default 20).
            page_size: Query<Option<String>>,
            /// Search all searchable fields.
            search: Query<Option<String>>,
            /// Default match mode.
            mode: Query<Option<String>>,
            /// How conditions on several fields combine: `or` (default) or `and`.
            joint: Query<Option<String>>,
            #[oai(name = "isCaseSensitive")] is_case_sensitive: Query<Option<String>>,
            #[oai(name = "excludeRoleId")] exclude_role_id: Query<Option<String>>,
            #[oai(name = "includePasswordHash")] include_password_hash: Query<Option<String>>,
        ) -> poem::Result<UsersResponse> {
            // Described for the document; read from the whole query (`query::pairs`).
            let _ = (page, page_size, search, mode, joint, is_case_sensitive);
            let _ = (exclude_role_id, include_password_hash);
            let listing = query::Listing::of(req, &state.config);
            respond(users::list(&state, &bearer(auth), listing)).await
        }

        /// Create a user (200, as Logto answers). Every field is optional; `password`, or
        /// `passwordDigest` with `passwordAlgorithm` (imported unchanged).
        #[oai(path = "/users", method = "post", operation_id = "CreateUser")]
        async fn create_user(body: LogtoJson<NewUserBody>) -> poem::Result<UserResponse> {
            respond(users::create(&state, &bearer(auth), body)).await
        }

        /// Get a user. `includeSsoIdentities=true` adds `ssoIdentities`;
        /// `includePasswordHash=true` adds `passwordDigest` and `passwordAlgorithm` (needs
        /// `users:write`; the read is audited).
        #[oai(path = "/users/:userId", method = "get", operation_id = "GetUser")]
        async fn get_user(
            #[oai(name = "userId")] id: Path<String>,
            #[oai(name = "includeSsoIdentities")] include_sso_identities: Query<Option<String>>,
            #[oai(name = "includePasswordHash")] include_password_hash: Query<Option<String>>,
        ) -> poem::Result<UserResponse> {
            let include = users::Include {
                sso_identities: include_sso_identities.0,
                password_hash: include_password_hash.0,
            };
            respond(users::get(&state, &bearer(auth), id.0, include)).await
        }

        /// Update a user: the fields given change (`""` or null clears one); `customData` and
        /// `profile` replace the whole object.
        #[oai(path = "/users/:userId", method = "patch", operation_id = "UpdateUser")]
        async fn update_user(
            #[oai(name = "userId")] id: Path<String>,
            body: LogtoJson<UserPatchBody>,
        ) -> poem::Result<UserResponse> {
            respond(users::update(&state, &bearer(auth), id.0, body)).await
        }

        /// Delete a user (204). A credential bound to a user cannot delete that user.
        #[oai(path = "/users/:userId", method = "delete", operation_id = "DeleteUser")]
        async fn delete_user(#[oai(name = "userId")] id: Path<String>) -> poem::Result<NoContent> {
            respond(users::delete(&state, &bearer(auth), id.0)).await
        }

        /// Set a user's password (hashed with bcrypt).
        #[oai(
            path = "/users/:userId/password",
            method = "patch",
            operation_id = "UpdateUserPassword"
        )]
        async fn set_password(
            #[oai(name = "userId")] id: Path<String>,
            body: LogtoJson<PasswordBody>,
        ) -> poem::Result<UserResponse> {
            respond(users::set_password(&state, &bearer(auth), id.0, body)).await
        }

        /// Check a password against the user's (204 when it matches, 422 when not). bcrypt and
        /// imported Argon2, SHA-1, SHA-256 and MD5 digests are checked.
        #[oai(path = "/users/:userId/password/verify", method = "post")]
        async fn verify_password(
            #[oai(name = "userId")] id: Path<String>,
            body: LogtoJson<PasswordBody>,
        ) -> poem::Result<VerifyResponse> {
            respond(users::verify_password(&state, &bearer(auth), id.0, body)).await
        }

        /// Whether the user has a password.
        #[oai(path = "/users/:userId/has-password", method = "get")]
        async fn has_password(
            #[oai(name = "userId")] id: Path<String>,
        ) -> poem::Result<HasPasswordResponse> {
            respond(users::has_password(&state, &bearer(auth), id.0)).await
        }

        /// Suspend (`true`) or reinstate a user: SCIM's `active`, seen from the other side.
        #[oai(
            path = "/users/:userId/is-suspended",
            method = "patch",
            operation_id = "UpdateUserIsSuspended"
        )]
        async fn set_suspended(
            #[oai(name = "userId")] id: Path<String>,
            body: LogtoJson<SuspensionBody>,
        ) -> poem::Result<UserResponse> {
            respond(users::set_suspended(&state, &bearer(auth), id.0, body)).await
        }

        /// A user's custom data.
        #[oai(path = "/users/:userId/custom-data", method = "get")]
        async fn get_custom_data(
            #[oai(name = "userId")] id: Path<String>,
        ) -> poem::Result<CustomDataResponse> {
            respond(users::get_custom_data(&state, &bearer(auth), id.0)).await
        }

        /// Merge into a user's custom data (top-level keys given replace theirs).
        #[oai(path = "/users/:userId/custom-data", method = "patch")]
        async fn patch_custom_data(
            #[oai(name = "userId")] id: Path<String>,
            body: LogtoJson<CustomDataBody>,
        ) -> poem::Result<CustomDataResponse> {
            respond(users::patch_custom_data(&state, &bearer(auth), id.0, body)).await
        }

        /// Merge into a user's profile (the claims given replace theirs).
        #[oai(path = "/users/:userId/profile", method = "patch")]
        async fn patch_profile(
            #[oai(name = "userId")] id: Path<String>,
            body: LogtoJson<ProfileBody>,
        ) -> poem::Result<ProfileResponse> {
            respond(users::patch_profile(&state, &bearer(auth), id.0, body)).await
        }

        /// Link (or replace) the user's identity at `target`: 201 when the target is new, 200
        /// when it replaced one; the user's identities.
        #[oai(
            path = "/users/:userId/identities/:target",
            method = "put",
            operation_id = "ReplaceUserIdentity"
        )]
        async fn put_identity(
            #[oai(name = "userId")] id: Path<String>,
            target: Path<String>,
            body: LogtoJson<IdentityBody>,
        ) -> poem::Result<IdentitiesResponse> {
            let auth = bearer(auth);
            respond(users::put_identity(&state, &auth, id.0, target.0, body)).await
        }

        /// Remove the user's identity at `target`; the user (200).
        #[oai(
            path = "/users/:userId/identities/:target",
            method = "delete",
            operation_id = "DeleteUserIdentity"
        )]
        async fn delete_identity(
            #[oai(name = "userId")] id: Path<String>,
            target: Path<String>,
        ) -> poem::Result<UserResponse> {
            respond(users::delete_identity(&state, &bearer(auth), id.0, target.0)).await
        }

        /// The organization's roles (the ones SCIM `roles`, Sumo Logic and the console show),
        /// paged and searched as users are (`search`, `search.<field>` over `id`, `name`,
        /// `description`); `excludeUserId`, `type`. Each with `usersCount` and up to three
        /// `featuredUsers`.
        #[oai(path = "/roles", method = "get", operation_id = "ListRoles")]
        #[allow(clippy::too_many_arguments)]
        async fn list_roles(
            req: &Request,
            page: Query<Option<String>>,
            page_size: Query<Option<String>>,
            search: Query<Option<String>>,
            #[oai(name = "excludeUserId")] exclude_user_id: Query<Option<String>>,
            #[oai(name = "type")] kind: Query<Option<String>>,
        ) -> poem::Result<roles::RolesResponse> {
            // Described for the document; read from the whole query (`query::pairs`).
            let _ = (page, page_size, search, exclude_user_id, kind);
            let listing = query::Listing::of(req, &state.config);
            respond(roles::list(&state, &bearer(auth), listing)).await
        }

        /// Create a role (200, as Logto answers): `name`, `description`; `type` `User`.
        #[oai(path = "/roles", method = "post", operation_id = "CreateRole")]
        async fn create_role(
            body: LogtoJson<roles::NewRoleBody>,
        ) -> poem::Result<roles::RoleResponse> {
            respond(roles::create(&state, &bearer(auth), body)).await
        }

        /// Get a role.
        #[oai(path = "/roles/:id", method = "get", operation_id = "GetRole")]
        async fn get_role(id: Path<String>) -> poem::Result<roles::RoleResponse> {
            respond(roles::get(&state, &bearer(auth), id.0)).await
        }

        /// Change a role's `name` or `description`.
        #[oai(path = "/roles/:id", method = "patch", operation_id = "UpdateRole")]
        async fn update_role(
            id: Path<String>,
            body: LogtoJson<roles::RolePatchBody>,
        ) -> poem::Result<roles::RoleResponse> {
            respond(roles::update(&state, &bearer(auth), id.0, body)).await
        }

        /// Delete a role (204); its holders lose it.
        #[oai(path = "/roles/:id", method = "delete", operation_id = "DeleteRole")]
        async fn delete_role(id: Path<String>) -> poem::Result<NoContent> {
            respond(roles::delete(&state, &bearer(auth), id.0)).await
        }

        /// The roles a user holds, paged and searched as `GET /api/roles`.
        #[oai(path = "/users/:userId/roles", method = "get", operation_id = "ListUserRoles")]
        async fn list_user_roles(
            req: &Request,
            #[oai(name = "userId")] id: Path<String>,
            page: Query<Option<String>>,
            page_size: Query<Option<String>>,
        ) -> poem::Result<roles::UserRolesResponse> {
            let _ = (page, page_size);
            let listing = query::Listing::of(req, &state.config);
            respond(roles::of_user(&state, &bearer(auth), id.0, listing)).await
        }

        /// Give a user roles (`{roleIds}`; those held stay): 201 `{roleIds, addedRoleIds}`.
        #[oai(path = "/users/:userId/roles", method = "post", operation_id = "AssignUserRoles")]
        async fn add_user_roles(
            #[oai(name = "userId")] id: Path<String>,
            body: LogtoJson<roles::RoleIdsBody>,
        ) -> poem::Result<roles::RolesAddedResponse> {
            respond(roles::add_to_user(&state, &bearer(auth), id.0, body)).await
        }

        /// Make a user hold exactly these roles (`{roleIds}`): 200 `{roleIds}`.
        #[oai(path = "/users/:userId/roles", method = "put", operation_id = "ReplaceUserRoles")]
        async fn replace_user_roles(
            #[oai(name = "userId")] id: Path<String>,
            body: LogtoJson<roles::RoleIdsBody>,
        ) -> poem::Result<roles::RolesReplacedResponse> {
            respond(roles::replace_of_user(&state, &bearer(auth), id.0, body)).await
        }

        /// Take a role from a user (204; 404 when they do not hold it).
        #[oai(
            path = "/users/:userId/roles/:roleId",
            method = "delete",
            operation_id = "DeleteUserRole"
        )]
        async fn remove_user_role(
            #[oai(name = "userId")] id: Path<String>,
            #[oai(name = "roleId")] role: Path<String>,
        ) -> poem::Result<NoContent> {
            respond(roles::remove_from_user(&state, &bearer(auth), id.0, role.0)).await
        }

        /// The audit trail as Logto logs, newest first: every change any dialect made.
        /// `userId`, `logKey`, `applicationId` (the credential), `start_time` / `end_time`
        /// (epoch ms, inclusive), `page`, `page_size`.
        #[oai(path = "/logs", method = "get", operation_id = "ListLogs")]
        #[allow(clippy::too_many_arguments)]
        async fn list_logs(
            req: &Request,
            #[oai(name = "userId")] user_id_q: Query<Option<String>>,
            #[oai(name = "logKey")] log_key: Query<Option<String>>,
            #[oai(name = "applicationId")] application_id: Query<Option<String>>,
            start_time: Query<Option<String>>,
            end_time: Query<Option<String>>,
            page: Query<Option<String>>,
            page_size: Query<Option<String>>,
        ) -> poem::Result<LogsResponse> {
            // Described for the document; read from the whole query (`query::pairs`).
            let _ = (user_id_q, log_key, application_id, start_time, end_time);
            let _ = (page, page_size);
            let listing = query::Listing::of(req, &state.config);
            respond(logs::list(&state, &bearer(auth), listing)).await
        }

        /// One log.
        #[oai(path = "/logs/:id", method = "get", operation_id = "GetLog")]
        async fn get_log(id: Path<String>) -> poem::Result<LogResponse> {
            respond(logs::get(&state, &bearer(auth), id.0)).await
        }
    }
}
