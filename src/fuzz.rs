//! Entry points for the fuzz targets (`fuzz/`) and their regression tests
//! (`tests/it/fuzz_regressions.rs`): each takes arbitrary bytes, runs one parser the way a
//! request would reach it, and must return without panicking, whatever the bytes. Errors
//! are the expected outcome for most inputs; only a panic (or a hang) is a finding.
//! Not part of the server's API; kept to these functions.

use serde_json::{json, Value};

use crate::dialects::{adobe, domo, logto, scim as scim_dialect, sumo};
use crate::http::body;
use crate::scim::filter::{Filter, PatchPath};
use crate::scim::lookup::JsonLookup;
use crate::scim::schema::Registry;
use crate::scim::{normalize, patch};
use crate::store::filter_sql::{self, Target};
use crate::store::user_search;

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Barbara Jensen with Enterprise User values.
fn sample_user() -> Value {
    let mut user = crate::scim::sample_user();
    user[crate::scim::schema::ENTERPRISE_SCHEMA] =
        json!({"employeeNumber": "42", "manager": {"value": "00000000000000AB"}});
    user
}

fn sample_group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "G1", "displayName": "Eng",
        "members": [{"value": "A"}, {"value": "B", "type": "User"}]
    })
}

/// A SCIM filter: parsed, evaluated against a user and a group, and translated to SQL for
/// both resource types.
pub fn scim_filter(data: &[u8]) {
    let Some(s) = text(data) else { return };
    let Ok(f) = Filter::parse(s) else { return };
    let (user, group) = (sample_user(), sample_group());
    crate::scim::filter::evaluate(
        &f,
        &user,
        &JsonLookup {
            rt: Registry::builtin().user(),
        },
        None,
    );
    crate::scim::filter::evaluate(
        &f,
        &group,
        &JsonLookup {
            rt: Registry::builtin().group(),
        },
        None,
    );
    let _ = filter_sql::translate(&f, Target::Users, Registry::builtin().user(), "default");
    let _ = filter_sql::translate(&f, Target::Groups, Registry::builtin().group(), "default");
}

/// A PATCH path, then the same path in a replace and a remove of a user and a group.
pub fn scim_patch_path(data: &[u8]) {
    let Some(s) = text(data) else { return };
    let _ = PatchPath::parse(s);
    for op in ["replace", "remove", "add"] {
        let body = json!({"Operations": [{"op": op, "path": s, "value": "x"}]});
        if let Ok(ops) = patch::parse_request(&body) {
            let _ = patch::apply(&sample_user(), &ops, Registry::builtin().user());
            let _ = patch::apply(&sample_group(), &ops, Registry::builtin().group());
        }
    }
}

/// A PatchOp body, parsed and applied to a user and a group.
pub fn scim_patch(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(ops) = patch::parse_request(&v) else {
        return;
    };
    if let Ok(out) = patch::apply(&sample_user(), &ops, Registry::builtin().user()) {
        let _ = normalize::check_required(&out, Registry::builtin().user());
    }
    let _ = patch::apply(&sample_group(), &ops, Registry::builtin().group());
}

/// A POST/PUT body through the normalisation pass, for users and groups.
pub fn scim_normalize(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for rt in [Registry::builtin().user(), Registry::builtin().group()] {
        if let Ok(out) = normalize::resource(&v, rt) {
            let _ = normalize::check_required(&out, rt);
        }
    }
}

const FUZZ_KEY: &[u8] = b"fuzz-signing-key-0123456789abcdef";

/// A paging cursor, SCIM's and Sumo's: as a token (header, key id, signature), and its bytes
/// as the claims of a token signed with the right key (so the claims parser is reached).
pub fn cursor(data: &[u8]) {
    use base64::Engine;
    if let Some(token) = text(data) {
        let _ = crate::auth::cursor::key_id(token);
        let _ = scim_dialect::list::verify_cursor(token, FUZZ_KEY);
        let _ = sumo::cursor::verify(token, FUZZ_KEY, "q");
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#);
    let payload = b64.encode(data);
    let signing_input = format!("{header}.{payload}");
    let Ok(sig) = jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &jsonwebtoken::EncodingKey::from_secret(FUZZ_KEY),
        jsonwebtoken::Algorithm::HS256,
    ) else {
        return;
    };
    let token = format!("{signing_input}.{sig}");
    let _ = scim_dialect::list::verify_cursor(&token, FUZZ_KEY);
    let _ = sumo::cursor::verify(&token, FUZZ_KEY, "q");
}

/// Each vendor dialect's request parsing: its bodies through the shared extractor and the
/// dialect's own field readers, and its query parameters.
pub fn dialect_request(data: &[u8]) {
    // Logto: typed bodies, then the search and paging query parsers.
    let _ = body::parse::<logto::user::NewUserBody, logto::error::LogtoError>(data);
    let _ = body::parse::<logto::user::UserPatchBody, logto::error::LogtoError>(data);
    let _ = body::parse::<logto::ProfileBody, logto::error::LogtoError>(data);
    let _ = body::parse::<logto::CustomDataBody, logto::error::LogtoError>(data);
    let _ = body::parse::<logto::IdentityBody, logto::error::LogtoError>(data);
    if let Some(q) = text(data) {
        let pairs = logto::query::pairs(Some(q));
        let _ = logto::query::Page::parse(&pairs);
        if let Ok(search) = logto::query::search(&pairs) {
            for conds in &search.matches {
                for c in conds {
                    let _ = user_search::condition(c, &user_search::Backend::Sqlite);
                    let _ = user_search::condition(c, &user_search::Backend::Postgres);
                }
            }
        }
        let _ = logto::query::exclusions(&pairs);
        // Domo and Sumo query values.
        let mut halves = q.splitn(2, '&');
        let (a, b) = (halves.next(), halves.next());
        let _ = domo::body::paging(a, b);
        let _ = <domo::error::DomoError as crate::directory::seam::Dialect>::id(q, "user");
        let _ = sumo::cursor::limit(a);
    }
    // Sumo: typed bodies.
    let _ = body::parse::<sumo::model::CreateUserBody, sumo::error::SumoError>(data);
    let _ = body::parse::<sumo::model::UpdateUserBody, sumo::error::SumoError>(data);
    let _ = body::parse::<sumo::model::CreateRoleBody, sumo::error::SumoError>(data);
    let _ = body::parse::<sumo::orgs::CreateOrgBody, sumo::error::SumoError>(data);
    // Domo: the object, then its user and group fields.
    if let Ok(Value::Object(o)) = body::value::<domo::error::DomoError>(data) {
        if let Ok(f) = domo::model::UserFields::parse(&o) {
            let _ = f.role_ref();
            let _ = f.check_create();
            let _ = f.apply(&mut Default::default(), None);
        }
        let _ = domo::model::GroupFields::parse(&o);
    }
    // Adobe: the array of commands, each entry parsed.
    if let Ok(Value::Array(entries)) = body::value::<adobe::error::AdobeError>(data) {
        for e in &entries {
            let _ = adobe::parse::parse_entry(e);
        }
    }
}
