//! The SCIM 2.0 dialect at `/scim/v2` (RFC 7643/7644).

pub mod bulk;
pub mod common;
pub mod discovery;
pub mod error;
pub mod groups;
pub mod list;
pub mod paths;
pub mod resources;
pub mod users;

use poem::http::StatusCode;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::Tags;
use serde_json::Value;

use crate::auth::schemes::BearerOrBasic;
use crate::request::AppState;
use crate::scim::projection::Projection;
use crate::scim::schema::Registry;
use crate::scim::ScimError;
use crate::scim::ScimResult;
use common::{
    done, list_response, paging, read_trip, run, run_counted, trip, Change, Prehashed, ScimBody,
    ScimJson, ScimResponse,
};

#[derive(Tags)]
enum Tag {
    /// SCIM 2.0 (RFC 7643, RFC 7644)
    Scim,
}

/// The parameters of a query, from the URL or a SearchRequest body.
struct Search {
    params: list::Params,
    projection: Projection,
}

/// A SearchRequest body (RFC 7644 §3.4.3); member names in any case, `schemas` optional.
fn search_body(body: &Value) -> Result<Search, ScimError> {
    let Value::Object(o) = body else {
        return Err(ScimError::invalid_syntax(
            "the SearchRequest must be a JSON object",
        ));
    };
    let get = |k: &str| {
        o.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v)
    };
    let text = |k: &str| -> Result<Option<String>, ScimError> {
        match get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ScimError::invalid_value(format!("{k} must be a string"))),
        }
    };
    // RFC 7644 §3.4.3: startIndex and count are integers (strict: not "1").
    let int = |k: &str| -> Result<Option<String>, ScimError> {
        match get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(Some(n.to_string())),
            Some(_) => Err(ScimError::invalid_value(format!("{k} must be an integer"))),
        }
    };
    let list = |k: &str| -> Result<Vec<String>, ScimError> {
        match get(k) {
            None | Some(Value::Null) => Ok(vec![]),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        ScimError::invalid_value(format!("{k} must be an array of strings"))
                    })
                })
                .collect(),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(_) => Err(ScimError::invalid_value(format!(
                "{k} must be an array of strings"
            ))),
        }
    };
    Ok(Search {
        params: list::Params {
            filter: text("filter")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            start_index: int("startIndex")?,
            count: int("count")?,
            cursor: text("cursor")?,
        },
        projection: Projection::parse(&list("attributes")?, &list("excludedAttributes")?)?,
    })
}

fn projection(
    attributes: &Query<Option<String>>,
    excluded: &Query<Option<String>>,
) -> Result<Projection, ScimError> {
    Projection::from_query(attributes.0.as_deref(), excluded.0.as_deref())
}

/// A PUT or PATCH of the resource `id`, as its request carries it (the body read first).
fn change<'a>(
    id: &'a Path<String>,
    body: &ScimBody,
    attributes: &Query<Option<String>>,
    excluded: &Query<Option<String>>,
    if_match: &'a Header<Option<String>>,
) -> ScimResult<Change<'a>> {
    Ok(Change {
        id: &id.0,
        body: body.value()?,
        proj: projection(attributes, excluded)?,
        if_match: if_match.0.as_deref(),
    })
}

/// How a resource type answers a query on the caller's connection (`users::list_in`,
/// `groups::list_in`).
type ListIn = fn(
    &mut crate::directory::Conn,
    &crate::directory::KeyCache,
    &crate::config::Config,
    &crate::directory::Caller<'_>,
    list::Params,
    &Projection,
) -> crate::scim::ScimResult<Value>;

/// A query of one resource type, in the request's one trip.
/// Whether a user search finds at most one user by a unique index (`userName eq "…"`,
/// `id eq "…"`): a short read (`Trip::short_read`). Anything else — a page, a range, an `or`
/// — may read as many rows as the caller asks for and goes to the blocking pool.
fn finds_one_user(s: &ScimResult<Search>) -> bool {
    let Ok(s) = s else { return false };
    let Some(text) = s.params.filter.as_deref() else {
        return false;
    };
    match crate::scim::filter::Filter::parse(text) {
        Ok(crate::scim::filter::Filter::Compare(path, crate::scim::filter::CompareOp::Eq, _)) => {
            path.sub.is_none()
                && path
                    .urn
                    .as_deref()
                    .is_none_or(|u| u.eq_ignore_ascii_case(crate::scim::schema::USER_SCHEMA))
                && (path.name.eq_ignore_ascii_case("userName")
                    || path.name.eq_ignore_ascii_case("id"))
        }
        _ => false,
    }
}

async fn search(
    state: &AppState,
    auth: &BearerOrBasic,
    s: ScimResult<Search>,
    list_in: ListIn,
    short: bool,
) -> ScimResponse {
    let cfg = state.config.clone();
    let keys = state.store.keys();
    read_trip(state, auth, short, s, move |conn, p, s| {
        let body = list_in(conn, &keys, &cfg, p, s.params, &s.projection)?;
        Ok(ScimResponse::Ok(ScimJson::new(body), None))
    })
    .await
}

#[allow(clippy::too_many_arguments)]
fn url_search(
    filter: Query<Option<String>>,
    sort_by: Query<Option<String>>,
    sort_order: Query<Option<String>>,
    start_index: Query<Option<String>>,
    count: Query<Option<String>>,
    cursor: Query<Option<String>>,
    attributes: &Query<Option<String>>,
    excluded: &Query<Option<String>>,
) -> Result<Search, ScimError> {
    Ok(Search {
        params: list::Params {
            filter: filter.0,
            sort_by: sort_by.0,
            sort_order: sort_order.0,
            start_index: start_index.0,
            count: count.0,
            cursor: cursor.0,
        },
        projection: projection(attributes, excluded)?,
    })
}

fn not_implemented(what: &str) -> ScimResponse {
    ScimResponse::from(ScimError::status(
        StatusCode::NOT_IMPLEMENTED,
        format!("{what} is not implemented"),
    ))
}

/// One resource (or the error instead), as a discovery endpoint answers it.
fn one(v: ScimResult<Value>) -> ScimResponse {
    done(v.map(|v| ScimResponse::Ok(ScimJson::new(v), None)))
}

/// Every item at once, as a discovery endpoint lists them.
fn whole_list(items: Vec<Value>) -> ScimResponse {
    let n = items.len() as i64;
    list_response(items, n, 1)
}

/// Changing `/Me` is not implemented: said once the credential checks out with `scim` (a
/// credential without it is refused before it learns what is implemented).
async fn me_not_implemented(state: &AppState, auth: &BearerOrBasic, what: &str) -> ScimResponse {
    let scope = Some(crate::domain::Scope::Scim);
    authenticated_with(state, auth, scope, |_| not_implemented(what)).await
}

/// Answer with `respond()` once the credential checks out (one trip, no other work there).
async fn authenticated(
    state: &AppState,
    auth: &BearerOrBasic,
    respond: impl FnOnce(&Registry) -> ScimResponse,
) -> ScimResponse {
    // Discovery answers any valid credential.
    authenticated_with(state, auth, None, respond).await
}

/// `authenticated`, requiring `scope` too; `respond` is given the caller's organization's
/// schema registry.
async fn authenticated_with(
    state: &AppState,
    auth: &BearerOrBasic,
    scope: Option<crate::domain::Scope>,
    respond: impl FnOnce(&Registry) -> ScimResponse,
) -> ScimResponse {
    // The organization's extensions are shown to a credential that may use SCIM; any other
    // valid credential sees the built-in schemas only (nothing of the tenant).
    let found = state
        .trip(auth, scope)
        .run(|conn, c| {
            if c.has(crate::domain::Scope::Scim) {
                c.schemas(conn).map(Some).map_err(ScimError::from)
            } else {
                Ok(None)
            }
        })
        .await;
    match found {
        Ok(Some(reg)) => respond(&reg),
        Ok(None) => respond(Registry::builtin()),
        Err(e) => ScimResponse::from(e),
    }
}

pub struct ScimApi;

crate::request::routes! {
    #[OpenApi(prefix_path = "/scim/v2", tag = "Tag::Scim")]
    #[allow(clippy::too_many_arguments)]
    impl ScimApi(auth: BearerOrBasic, state) {
        /// List or query users.
        #[oai(path = "/Users", method = "get")]
        async fn list_users(
            filter: Query<Option<String>>,
            #[oai(name = "sortBy")] sort_by: Query<Option<String>>,
            #[oai(name = "sortOrder")] sort_order: Query<Option<String>>,
            #[oai(name = "startIndex")] start_index: Query<Option<String>>,
            count: Query<Option<String>>,
            cursor: Query<Option<String>>,
            attributes: Query<Option<String>>,
            #[oai(name = "excludedAttributes")] excluded: Query<Option<String>>,
        ) -> ScimResponse {
            let s = url_search(
                filter,
                sort_by,
                sort_order,
                start_index,
                count,
                cursor,
                &attributes,
                &excluded,
            );
            {
                let short = finds_one_user(&s);
                search(&state, &auth, s, users::list_in, short).await
            }
        }

        /// Create a user.
        #[oai(path = "/Users", method = "post")]
        async fn create_user(
            body: ScimBody,
            attributes: Query<Option<String>>,
            #[oai(name = "excludedAttributes")] excluded: Query<Option<String>>,
        ) -> ScimResponse {
            let prepared = body.value().and_then(|b| {
                let proj = projection(&attributes, &excluded)?;
                users::create(&state.config, &Prehashed::default(), b, proj)
            });
            run(&state, &auth, prepared).await
        }

        /// Query users with a SearchRequest body.
        #[oai(path = "/Users/.search", method = "post")]
        async fn search_users(body: ScimBody) -> ScimResponse {
            let s = body.value().and_then(|b| search_body(&b));
            {
                let short = finds_one_user(&s);
                search(&state, &auth, s, users::list_in, short).await
            }
        }

        /// Read a user.
        #[oai(path = "/Users/:id", method = "get")]
        async fn get_user(
            id: Path<String>,
            attributes: Query<Option<String>>,
            #[oai(name = "excludedAttributes")] excluded: Query<Option<String>>,
            #[oai(name = "If-None-Match")] if_none_match: Header<Option<String>>,
        ) -> ScimResponse {
            let proj = projection(&attributes, &excluded);
            users::get(
                &state,
                &auth,
                users::IdOrMe::Id(&id.0),
                proj,
                if_none_match.0,
            )
            .await
        }

        /// Replace a user.
        #[oai(path = "/Users/:id", method = "put")]
        async fn replace_user(
            id: Path<String>,
            body: ScimBody,
            attributes: Query<Option<String>>,
            #[oai(name = "excludedAttributes")] excluded: Query<Option<String>>,
            #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        ) -> ScimResponse {
            let c = change(&id, &body, &attributes, &excluded, &if_match);
            let prepared = c.and_then(|c| users::replace(&state.config, &Prehashed::default(), c));
            run(&state, &auth, prepared).await
        }

        /// Modify a user with PATCH operations.
        #[oai(path = "/Users/:id", method = "patch")]
        async fn patch_user(
            id: Path<String>,
            body: ScimBody,
            attributes: Query<Option<String>>,
            #[oai(name = "excludedAttributes")] excluded: Query<Option<String>>,
            #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        ) -> ScimResponse {
            let c = change(&id, &body, &attributes, &excluded, &if_match);
            let prepared = c.and_then(|c| users::modify(&state.config, &Prehashed::default(), c));
            run(&state, &auth, prepared).await
        }

        /// Delete a user.
        #[oai(path = "/Users/:id", method = "delete")]
        async fn delete_user(
            id: Path<String>,
            #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        ) -> ScimResponse {
            let prepared = common::delete(
                &id.0,
                "user",
                if_match.0.as_deref(),
                crate::directory::users::delete,
            );
            run(&state, &auth, prepared).await
        }

        /// List or query groups.
        #[oai(path = "/Groups", method = "get")]
        async fn list_groups(
            filter: Query<Option<String>>,
            #[oai(name = "sortBy")] sort_by: Query<Option<String>>,
            #[oai(name = "sortOrder")] sort_order: Query<Option<String>>,
            #[oai(name = "startIndex")] start_index: Query<Option<String>>,
            count: Query<Option<String>>,
            cursor: Query<Option<String>>,
            attributes: Query<Option<String>>,
            #[oai(name = "excludedAttributes")] excluded: Query<Option<String>>,
        ) -> ScimResponse {
            let s = url_search(
                filter,
                sort_by,
                sort_order,
                start_index,
                count,
                cursor,
                &attributes,
                &excluded,
            );
            search(&state, &auth, s, groups::list_in, false).await
        }

        /// Create a group.
        #[oai(path = "/Groups", method = "post")]
        async fn create_group(
            body: ScimBody,
            attributes: Query<Option<String>>,
            #[oai(name = "excludedAttributes")] excluded: Query<Option<String>>,
        ) -> ScimResponse {
            run_counted(&state, &auth, |tally| {
                let proj = projection(&attributes, &excluded);
                groups::create(&state.config, tally, body.value()?, proj?)
            })
            .await
        }

        /// Query groups with a SearchRequest body.
        #[oai(path = "/Groups/.search", method = "post")]
        async fn search_groups(body: ScimBody) -> ScimResponse {
            let s = body.value().and_then(|b| search_body(&b));
            search(&state, &auth, s, groups::list_in, false).await
        }

        /// Read a group.
        #[oai(path = "/Groups/:id", method = "get")]
        async fn get_group(
            id: Path<String>,
            attributes: Query<Option<String>>,
            #[oai(name = "excludedAttributes")] excluded: Query<Option<String>>,
            #[oai(name = "If-None-Match")] if_none_match: Header<Option<String>>,
        ) -> ScimResponse {
            let proj = projection(&attributes, &excluded);
            groups::get(&state, &auth, &id.0, proj, if_none_match.0).await
        }

        /// Replace a group.
        #[oai(path = "/Groups/:id", method = "put")]
        async fn replace_group(
            id: Path<String>,
            body: ScimBody,
            attributes: Query<Option<String>>,
            #[oai(name = "excludedAttributes")] excluded: Query<Option<String>>,
            #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        ) -> ScimResponse {
            run_counted(&state, &auth, |tally| {
                let c = change(&id, &body, &attributes, &excluded, &if_match)?;
                groups::replace(&state.config, tally, c)
            })
            .await
        }

        /// Modify a group with PATCH operations; member changes touch only those members.
        #[oai(path = "/Groups/:id", method = "patch")]
        async fn patch_group(
            id: Path<String>,
            body: ScimBody,
            attributes: Query<Option<String>>,
            #[oai(name = "excludedAttributes")] excluded: Query<Option<String>>,
            #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        ) -> ScimResponse {
            run_counted(&state, &auth, |tally| {
                let c = change(&id, &body, &attributes, &excluded, &if_match)?;
                groups::modify(&state.config, tally, c)
            })
            .await
        }

        /// Delete a group.
        #[oai(path = "/Groups/:id", method = "delete")]
        async fn delete_group(
            id: Path<String>,
            #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        ) -> ScimResponse {
            let prepared = common::delete(
                &id.0,
                "group",
                if_match.0.as_deref(),
                crate::directory::groups::delete,
            );
            run(&state, &auth, prepared).await
        }

        /// Query across resource types with a SearchRequest body.
        #[oai(path = "/.search", method = "post")]
        async fn search_all(body: ScimBody) -> ScimResponse {
            let prepared = body.value().and_then(|b| {
                let s = search_body(&b)?;
                if s.params.cursor.is_some() {
                    return Err(ScimError::invalid_value(
                        "cursor paging is per resource type: use /Users/.search or /Groups/.search",
                    ));
                }
                let (start, count) =
                    paging(s.params.start_index.as_deref(), s.params.count.as_deref())?;
                // Users then groups, each in its stable order; paging runs over the
                // concatenation. One trip: both queries on the caller's connection.
                let each = list::Params {
                    start_index: None,
                    count: Some(common::MAX_RESULTS.to_string()),
                    cursor: None,
                    ..s.params.clone()
                };
                Ok((s.projection, each, start, count))
            });
            let cfg = state.config.clone();
            let keys = state.store.keys();
            trip(
                &state,
                &auth,
                false,
                prepared,
                move |conn, p, (proj, each, start, count)| {
                    let u = users::list_in(conn, &keys, &cfg, p, each.clone(), &proj);
                    let g = groups::list_in(conn, &keys, &cfg, p, each, &proj);
                    let mut resources = Vec::new();
                    let mut total = 0;
                    let mut ok = false;
                    let mut first_err = None;
                    for r in [u, g] {
                        match r {
                            Ok(v) => {
                                ok = true;
                                total += v["totalResults"].as_i64().unwrap_or(0);
                                if let Some(items) = v["Resources"].as_array() {
                                    resources.extend(items.iter().cloned());
                                }
                            }
                            Err(e) => first_err = first_err.or(Some(e)),
                        }
                    }
                    if !ok {
                        return Err(first_err.unwrap_or_else(|| {
                            ScimError::invalid_filter("no resource type can answer this filter")
                        }));
                    }
                    let page: Vec<Value> = resources
                        .into_iter()
                        .skip((start - 1) as usize)
                        .take(count as usize)
                        .collect();
                    Ok(list_response(page, total, start))
                },
            )
            .await
        }

        /// The resource of the calling credential's user.
        #[oai(path = "/Me", method = "get")]
        async fn me(
            attributes: Query<Option<String>>,
            #[oai(name = "excludedAttributes")] excluded: Query<Option<String>>,
        ) -> ScimResponse {
            let proj = projection(&attributes, &excluded);
            users::get(&state, &auth, users::IdOrMe::Me, proj, None).await
        }

        /// Changing /Me is not implemented.
        #[oai(path = "/Me", method = "put")]
        async fn me_put() -> ScimResponse {
            me_not_implemented(&state, &auth, "PUT /Me").await
        }

        /// Changing /Me is not implemented.
        #[oai(path = "/Me", method = "patch")]
        async fn me_patch() -> ScimResponse {
            me_not_implemented(&state, &auth, "PATCH /Me").await
        }

        /// Deleting /Me is not implemented.
        #[oai(path = "/Me", method = "delete")]
        async fn me_delete() -> ScimResponse {
            me_not_implemented(&state, &auth, "DELETE /Me").await
        }

        /// Several writes of Users and Groups in one request (RFC 7644 §3.7), `bulkId`
        /// references resolved in any order; at most `bulk.maxOperations` operations and
        /// `bulk.maxPayloadSize` bytes.
        #[oai(path = "/Bulk", method = "post")]
        async fn bulk(body: ScimBody) -> ScimResponse {
            bulk::bulk(&state, &auth, body.value()).await
        }

        /// What this service provider supports.
        #[oai(path = "/ServiceProviderConfig", method = "get")]
        async fn service_provider_config() -> ScimResponse {
            authenticated(&state, &auth, |_| {
                one(Ok(discovery::service_provider_config(&state.config)))
            })
            .await
        }

        /// The resource types.
        #[oai(path = "/ResourceTypes", method = "get")]
        async fn resource_types() -> ScimResponse {
            let items = |reg: &Registry| whole_list(discovery::resource_types(&state.config, reg));
            authenticated(&state, &auth, items).await
        }

        /// One resource type.
        #[oai(path = "/ResourceTypes/:name", method = "get")]
        async fn resource_type(name: Path<String>) -> ScimResponse {
            let item = |reg: &Registry| one(discovery::resource_type(&state.config, reg, &name.0));
            authenticated(&state, &auth, item).await
        }

        /// The schemas.
        #[oai(path = "/Schemas", method = "get")]
        async fn schemas() -> ScimResponse {
            let items = |reg: &Registry| whole_list(discovery::schemas(&state.config, reg));
            authenticated(&state, &auth, items).await
        }

        /// One schema by URN.
        #[oai(path = "/Schemas/:urn", method = "get")]
        async fn schema(urn: Path<String>) -> ScimResponse {
            let item = |reg: &Registry| one(discovery::schema(&state.config, reg, &urn.0));
            authenticated(&state, &auth, item).await
        }
    }
}
