//! OAuth client-credentials token endpoints in the shapes three vendors' clients expect:
//! Domo `/oauth/token` (HTTP Basic; GET query or POST form), Logto `/oidc/token` (secret in
//! the form or in Basic; `resource`; `scope=all` echoed back) and Adobe IMS
//! `/ims/token/v2/`, `/ims/token/v3` (form body). All mint the same JWT access token.

use base64::Engine;
use poem::Request;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{ApiResponse, Object, Tags};
use serde::Deserialize;

use crate::domain::Scopes;
use crate::request::AppState;

#[derive(Tags)]
enum Tag {
    /// OAuth 2.0 client-credentials token endpoints
    Tokens,
}

/// The form (or query) of a client-credentials token request.
#[derive(Debug, Default, Deserialize, Object)]
#[oai(rename_all = "snake_case")]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    pub grant_type: Option<String>,
    /// The client id, when not sent with HTTP Basic.
    pub client_id: Option<String>,
    /// The client secret, when not sent with HTTP Basic.
    pub client_secret: Option<String>,
    /// Requested scopes: Muster scopes narrow the token; vendor scopes (`all`, `user`,
    /// `openid,AdobeID,...`) are accepted and echoed.
    pub scope: Option<String>,
    /// Logto's API resource indicator; recorded as the token's audience.
    pub resource: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "snake_case")]
pub struct TokenBody {
    /// A JWT with `exp`, `iat`, `sub` (the client id) and `org`.
    pub access_token: String,
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    pub scope: String,
}

/// An RFC 6749 §5.2 error.
#[derive(Debug, Object)]
#[oai(rename_all = "snake_case")]
pub struct OAuthError {
    pub error: String,
    pub error_description: String,
}

#[derive(ApiResponse)]
pub enum TokenResponse {
    /// The access token.
    #[oai(status = 200)]
    Ok(
        Json<TokenBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// Malformed request or unsupported grant type.
    #[oai(status = 400)]
    BadRequest(Json<OAuthError>),
    /// Unknown client or wrong secret.
    #[oai(status = 401)]
    Unauthorized(Json<OAuthError>, #[oai(header = "WWW-Authenticate")] String),
    /// Too many failed attempts for this client: wait `Retry-After` seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<OAuthError>, #[oai(header = "Retry-After")] String),
    /// The credential store is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<OAuthError>),
}

fn bad_request(error: &str, description: &str) -> TokenResponse {
    TokenResponse::BadRequest(Json(OAuthError {
        error: error.into(),
        error_description: description.into(),
    }))
}

fn invalid_client() -> TokenResponse {
    TokenResponse::Unauthorized(
        Json(OAuthError {
            error: "invalid_client".into(),
            error_description: "client authentication failed".into(),
        }),
        "Basic realm=\"muster\"".into(),
    )
}

/// `Authorization: Basic` credentials, scheme matched case-insensitively, each half
/// form-urlencoded as RFC 6749 §2.3.1 says.
/// `Err` means the header is Basic but malformed.
fn basic_credentials(req: &Request) -> Result<Option<(String, String)>, ()> {
    let Some(value) = req.headers().get(poem::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or("");
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(())?;
    let (id, secret) = decoded.split_once(':').ok_or(())?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

async fn issue(state: &AppState, req: &Request, form: TokenRequest) -> TokenResponse {
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        None => return bad_request("invalid_request", "grant_type is required"),
        Some(_) => {
            return bad_request(
                "unsupported_grant_type",
                "only grant_type=client_credentials is supported",
            )
        }
    }
    let basic = match basic_credentials(req) {
        Ok(b) => b,
        Err(()) => return bad_request("invalid_request", "malformed Basic credentials"),
    };
    let (id, secret) = match (basic, form.client_id, form.client_secret) {
        (Some((id, secret)), form_id, form_secret) => {
            if form_id.is_some_and(|f| f != id) || form_secret.is_some_and(|f| f != secret) {
                return bad_request(
                    "invalid_request",
                    "client credentials sent twice and they differ",
                );
            }
            (id, secret)
        }
        (None, Some(id), Some(secret)) => (id, secret),
        (None, _, _) => return invalid_client(),
    };
    let requested = form.scope.clone();
    let audience = form.resource.clone();
    let issuer = state.config.url("");
    let ttl = state.config.access_token_ttl;
    let throttle_key = crate::http::throttle::Throttle::client_key(&id);
    let Ok(presented) = crate::auth::Presented::basic(id, secret) else {
        return invalid_client();
    };
    if let Err(seconds) = state.throttle.check(&throttle_key) {
        return TokenResponse::TooManyRequests(
            Json(OAuthError {
                error: "slow_down".into(),
                error_description: format!(
                    "too many failed attempts for this client; retry in {seconds} seconds"
                ),
            }),
            seconds.to_string(),
        );
    }
    let keys = state.store.keys();
    // One trip: check the client, narrow the scopes, mint.
    let minted = state
        .store
        .run_with(move |conn| {
            let principal = match crate::auth::resolve(conn, &keys, &presented) {
                Ok(p) => p,
                Err(crate::auth::AuthError::Unavailable(e)) => return Err(e),
                Err(_) => return Ok(Err(None)),
            };
            let granted = match requested.as_deref().map(Scopes::parse) {
                // Muster scopes narrow the token to what was asked and the client holds.
                Some(Ok(asked)) => {
                    let g = principal.scopes.intersect(&asked);
                    if g.is_empty() {
                        return Ok(Err(Some(bad_request(
                            "invalid_scope",
                            "the client holds none of these scopes",
                        ))));
                    }
                    g
                }
                // Vendor scope words say nothing about Muster's scopes: grant the client's.
                _ => principal.scopes.clone(),
            };
            let scope_echo = requested.unwrap_or_else(|| granted.to_string());
            let client = crate::directory::credentials::get(conn, &principal.credential_id)?;
            let m = crate::auth::jwt::mint(
                conn,
                &keys,
                &issuer,
                &client,
                &granted,
                audience.as_deref(),
                ttl,
            )?;
            Ok(Ok((m, scope_echo)))
        })
        .await;
    let minted = match minted {
        Ok(Err(Some(refused))) => return refused,
        Ok(Err(None)) => {
            state.throttle.fail(&throttle_key);
            return invalid_client();
        }
        Ok(Ok(m)) => Ok(m),
        Err(e) => Err(e),
    };
    match minted {
        Ok((m, scope_echo)) => TokenResponse::Ok(
            Json(TokenBody {
                access_token: m.access_token,
                token_type: "Bearer".into(),
                expires_in: m.expires_in,
                scope: scope_echo,
            }),
            "no-store".into(),
            "no-cache".into(),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "cannot mint an access token");
            let description = match e {
                crate::directory::StoreError::Overloaded => {
                    "the server is overloaded; retry after the Retry-After interval"
                }
                _ => "cannot mint a token now",
            };
            TokenResponse::Unavailable(Json(OAuthError {
                error: "temporarily_unavailable".into(),
                error_description: description.into(),
            }))
        }
    }
}

pub struct TokenApi;

crate::request::routes! {
    #[OpenApi(tag = "Tag::Tokens")]
    impl TokenApi(req: &Request, state) {
        /// Domo-style token request: HTTP Basic client credentials, parameters in the query.
        #[oai(path = "/oauth/token", method = "get")]
        async fn domo_get(
            grant_type: poem_openapi::param::Query<Option<String>>,
            scope: poem_openapi::param::Query<Option<String>>,
        ) -> TokenResponse {
            let form = TokenRequest {
                grant_type: grant_type.0,
                scope: scope.0,
                ..TokenRequest::default()
            };
            issue(&state, req, form).await
        }

        /// Domo-style token request: HTTP Basic client credentials, form body.
        #[oai(path = "/oauth/token", method = "post")]
        async fn domo_post(form: Form<TokenRequest>) -> TokenResponse {
            issue(&state, req, form.0).await
        }

        /// Logto-style token request: client secret in the form (client_secret_post) or in
        /// HTTP Basic (client_secret_basic); `resource` and `scope=all`.
        #[oai(path = "/oidc/token", method = "post")]
        async fn logto(form: Form<TokenRequest>) -> TokenResponse {
            issue(&state, req, form.0).await
        }

        /// Adobe IMS-style token request (OAuth server-to-server): credentials in the form body.
        /// umapi-client posts to `/ims/token/v2/`; the trailing slash is normalised away.
        #[oai(path = "/ims/token/v2", method = "post")]
        async fn adobe_v2(form: Form<TokenRequest>) -> TokenResponse {
            issue(&state, req, form.0).await
        }

        /// Adobe IMS v3 token request.
        #[oai(path = "/ims/token/v3", method = "post")]
        async fn adobe_v3(form: Form<TokenRequest>) -> TokenResponse {
            issue(&state, req, form.0).await
        }
    }
}

/// Framework errors on the token paths (unparsable form, wrong method) as OAuth errors.
pub fn framework_error(
    status: poem::http::StatusCode,
    message: &str,
    _: &crate::http::errors::ErrorContext<'_>,
) -> poem::Response {
    let error = match status.as_u16() {
        401 => "invalid_client",
        400 | 404 | 405 | 413 | 415 => "invalid_request",
        _ => "server_error",
    };
    poem::Response::builder()
        .status(status)
        .content_type("application/json")
        .body(serde_json::json!({ "error": error, "error_description": message }).to_string())
}
