//! Change events as a pure library: which directory verb is which event (Logto's webhook
//! event names), the state an event carries, the webhook body, its signature, and the SCIM
//! form of an event (a Security Event Token, RFC 8417). No I/O: `directory/` writes events
//! with it, `events/` and the dialects render them.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::domain::{id_to_hex, Group, MemberChange, MultiAttr, User};

/// Every event a hook may subscribe to: Logto's data-hook events for users, roles and
/// organizations, and Muster's own for groups (Logto has none) named the same way.
pub const EVENTS: &[&str] = &[
    "User.Created",
    "User.Deleted",
    "User.Data.Updated",
    "User.SuspensionStatus.Updated",
    "Role.Created",
    "Role.Deleted",
    "Role.Data.Updated",
    "Organization.Created",
    "Organization.Deleted",
    "Organization.Data.Updated",
    "Organization.Membership.Updated",
    "Group.Created",
    "Group.Deleted",
    "Group.Data.Updated",
    "Group.Membership.Updated",
];

/// Logto's interaction and exception events: accepted on a hook (so a Logto hook
/// definition is taken unchanged) but never fired, since Muster runs no sign-in flows.
pub const LOGTO_ONLY_EVENTS: &[&str] = &[
    "PostRegister",
    "PostSignIn",
    "PostResetPassword",
    "PostSignInAdaptiveMfaTriggered",
    "Identifier.Lockout",
    "Message.RateLimited",
    "Grant.LimitExceeded",
    "Scope.Created",
    "Scope.Deleted",
    "Scope.Data.Updated",
    "Role.Scopes.Updated",
    "OrganizationRole.Created",
    "OrganizationRole.Deleted",
    "OrganizationRole.Data.Updated",
    "OrganizationRole.Scopes.Updated",
    "OrganizationScope.Created",
    "OrganizationScope.Deleted",
    "OrganizationScope.Data.Updated",
];

/// Whether a hook may name `event`.
pub fn is_known(event: &str) -> bool {
    EVENTS.contains(&event) || LOGTO_ONLY_EVENTS.contains(&event)
}

/// The event a directory verb (`User.Update`, `Group.Create`, ...) fires, if any. Entries
/// that record a request and change no state (an invitation, a pending email change, a
/// password-reset request, a minted key) fire none.
pub fn event_type(action: &str) -> Option<&'static str> {
    Some(match action {
        "User.Create" => "User.Created",
        "User.Delete" => "User.Deleted",
        "User.Suspend" | "User.Reinstate" => "User.SuspensionStatus.Updated",
        "User.Invite" | "User.Email.RequestChange" | "User.Password.Reset" => return None,
        a if a.starts_with("User.") => "User.Data.Updated",
        "Group.Create" => "Group.Created",
        "Group.Delete" => "Group.Deleted",
        "Group.Update" => "Group.Data.Updated",
        "Role.Create" => "Role.Created",
        "Role.Delete" => "Role.Deleted",
        "Role.Update" => "Role.Data.Updated",
        "Organization.Create" => "Organization.Created",
        "Organization.Update" | "Organization.Deactivate" | "Organization.Delink" => {
            "Organization.Data.Updated"
        }
        _ => return None,
    })
}

/// What a change was made to, with its new state (a deleted resource's last state).
pub enum Subject<'a> {
    /// No resource state (an entry that fires no event).
    None,
    User(&'a User),
    /// A user changed from `before` to `after`: `User.SuspensionStatus.Updated` when its
    /// `active` changed (a SCIM PATCH of `active`, Entra's deprovisioning), and
    /// `User.Data.Updated` when anything else did (both when both did).
    UserUpdate {
        before: &'a User,
        after: &'a User,
    },
    /// A group, whether its own fields changed, and the membership change asked for.
    Group {
        group: &'a Group,
        data_changed: bool,
        members: Option<&'a MemberChange>,
    },
    /// A role or an organization: the audit entry's payload is its state (`roleId` /
    /// `orgId`).
    Payload,
}

/// An event to write beside an audit entry: type, resource type and id, state.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub event: &'static str,
    pub resource_type: &'static str,
    pub resource_id: String,
    pub data: Value,
}

/// The events `action` on `subject` fires (none, one, or for a user update two); `payload`
/// is the audit entry's.
pub fn changes(action: &str, subject: &Subject<'_>, payload: &Value) -> Vec<Change> {
    if let (Some("User.Data.Updated"), Subject::UserUpdate { before, after }) =
        (event_type(action), subject)
    {
        let mut out = Vec::new();
        let active_changed = before.data.is_active() != after.data.is_active();
        let rest_changed = {
            let mut b = before.data.clone();
            b.active = after.data.active;
            b != after.data || before.has_password != after.has_password || action != "User.Update"
        };
        let one = |event| Change {
            event,
            resource_type: "User",
            resource_id: id_to_hex(after.id),
            data: user_state(after),
        };
        if active_changed {
            out.push(one("User.SuspensionStatus.Updated"));
        }
        if rest_changed || out.is_empty() {
            out.push(one("User.Data.Updated"));
        }
        return out;
    }
    change(action, subject, payload).into_iter().collect()
}

/// The one event `action` on `subject` fires, if any; `payload` is the audit entry's.
fn change(action: &str, subject: &Subject<'_>, payload: &Value) -> Option<Change> {
    let mut event = event_type(action)?;
    let (resource_type, resource_id, data) = match subject {
        Subject::None => return None,
        Subject::User(u) | Subject::UserUpdate { after: u, .. } => {
            ("User", id_to_hex(u.id), user_state(u))
        }
        Subject::Group {
            group,
            data_changed,
            members,
        } => {
            let mut data = group_state(group);
            if let Some(m) = members.filter(|m| !m.is_empty()) {
                if event == "Group.Data.Updated" && !data_changed {
                    event = "Group.Membership.Updated";
                }
                let hex = |ids: &[i64]| ids.iter().map(|i| id_to_hex(*i)).collect::<Vec<_>>();
                if let Some(o) = data.as_object_mut() {
                    if m.clear {
                        o.insert("memberIds".into(), json!(hex(&m.add)));
                    } else {
                        o.insert("addedMemberIds".into(), json!(hex(&m.add)));
                        o.insert("removedMemberIds".into(), json!(hex(&m.remove)));
                    }
                }
            }
            ("Group", id_to_hex(group.id), data)
        }
        Subject::Payload => {
            let p = payload;
            let (kind, key) = if action.starts_with("Role.") {
                ("Role", "roleId")
            } else {
                ("Organization", "orgId")
            };
            let id = p.get(key).and_then(Value::as_str).unwrap_or_default();
            let mut data = p.clone();
            if let Some(o) = data.as_object_mut() {
                o.remove("action");
                o.insert("id".into(), json!(id));
            }
            (kind, id.to_string(), data)
        }
    };
    Some(Change {
        event,
        resource_type,
        resource_id,
        data,
    })
}

fn millis(t: chrono::NaiveDateTime) -> i64 {
    t.and_utc().timestamp_millis()
}

/// A user as Logto's webhooks carry it (`data` of the `User.*` events), plus the user's
/// roles by name. Identities are not part of an event (they are not read by the change).
pub fn user_state(u: &User) -> Value {
    let d = &u.data;
    let value = |a: MultiAttr| d.primary(a).and_then(|v| v.value.clone());
    let name = &d.name;
    let profile: Map<String, Value> = [
        ("givenName", &name.given),
        ("familyName", &name.family),
        ("middleName", &name.middle),
        ("nickname", &d.nick_name),
        ("locale", &d.locale),
        ("zoneinfo", &d.timezone),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k.to_string(), json!(v.as_ref()?))))
    .collect();
    let mut state = json!({
        "id": id_to_hex(u.id),
        "username": d.user_name,
        "primaryEmail": value(MultiAttr::Emails),
        "primaryPhone": value(MultiAttr::PhoneNumbers),
        "name": d.display_name,
        "avatar": value(MultiAttr::Photos),
        "customData": if d.vendor.custom_data.is_object() { d.vendor.custom_data.clone() } else { json!({}) },
        "profile": profile,
        "applicationId": d.vendor.application_id,
        // Logto's user type has it (a client-ID metadata document sign-up); Muster has none.
        "cimdClientId": Value::Null,
        "isSuspended": !d.is_active(),
        "hasPassword": u.has_password,
        "lastSignInAt": d.vendor.last_sign_in_at.map(millis),
        "createdAt": millis(u.created_at),
        "updatedAt": millis(u.updated_at),
        "externalId": d.external_id,
        "roles": d.roles.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
    });
    with_extensions(&mut state, &d.extensions);
    state
}

/// Custom SCIM extension values, by URN, when the resource has any.
fn with_extensions(state: &mut Value, ext: &crate::domain::Extensions) {
    if !ext.is_empty() {
        state["extensions"] = Value::Object(ext.clone());
    }
}

/// A group's state in an event.
pub fn group_state(g: &Group) -> Value {
    let mut state = json!({
        "id": id_to_hex(g.id),
        "name": g.data.display_name,
        "description": g.data.description,
        "externalId": g.data.external_id,
        "version": g.version,
        "createdAt": millis(g.created_at),
        "updatedAt": millis(g.updated_at),
    });
    with_extensions(&mut state, &g.data.extensions);
    state
}

/// An event as stored, for rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub id: String,
    pub org_id: String,
    pub seq: i64,
    pub event: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub actor: String,
    pub dialect: String,
    pub data: Value,
    /// Epoch milliseconds.
    pub created_at: i64,
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The body Logto's data hooks POST (`hookId`, `event`, `createdAt`, `data`, ...), with
/// Muster's `eventId` (for de-duplication), `sequence`, and who made the change.
pub fn hook_body(hook_id: &str, e: &Recorded) -> Value {
    json!({
        "hookId": hook_id,
        "event": e.event,
        "createdAt": iso(e.created_at),
        "userAgent": "Muster",
        "eventId": e.id,
        "sequence": e.seq,
        "params": {"id": e.resource_id},
        "data": e.data,
        "muster": {
            "organizationId": e.org_id,
            "resourceType": e.resource_type,
            "action": e.action,
            "dialect": e.dialect,
            "actor": e.actor,
        },
    })
}

/// Logto's `logto-signature-sha-256`: the HMAC-SHA256 of the raw body with the hook's
/// signing key, in lower-case hex.
pub fn sign(signing_key: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(signing_key.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The URI naming an event type in a SET's `events` claim.
pub const SET_EVENT_BASE: &str = "urn:muster:params:events:";

/// SCIM's event URIs (draft-ietf-scim-events) for the events that have one.
fn scim_event_uri(e: &Recorded) -> String {
    let scim = match (e.resource_type.as_str(), e.event.as_str()) {
        (_, ev) if ev.ends_with(".Created") => Some("prov:create:full"),
        (_, ev) if ev.ends_with(".Deleted") => Some("prov:delete"),
        ("User" | "Group", _) => Some("prov:put:full"),
        _ => None,
    };
    match scim {
        Some(s) => format!("urn:ietf:params:SCIM:event:{s}"),
        None => format!("{SET_EVENT_BASE}{}", e.event),
    }
}

/// An event as a Security Event Token's claims (RFC 8417), unsigned: `iss` the server,
/// `aud` the organization, `jti` the event id, `sub` the resource's path, `events` keyed
/// by SCIM's event URI (draft-ietf-scim-events) with the new state, plus Muster's own
/// event name and sequence.
pub fn set_claims(issuer: &str, e: &Recorded) -> Value {
    let path = match e.resource_type.as_str() {
        "User" => format!("Users/{}", e.resource_id),
        "Group" => format!("Groups/{}", e.resource_id),
        "Role" => format!("Roles/{}", e.resource_id),
        _ => format!("Organizations/{}", e.resource_id),
    };
    let mut events = BTreeMap::new();
    events.insert(
        scim_event_uri(e),
        json!({"id": e.resource_id, "data": e.data}),
    );
    json!({
        "iss": issuer,
        "aud": [e.org_id],
        "jti": e.id,
        "iat": e.created_at / 1000,
        "sub": path,
        "txn": e.seq.to_string(),
        "events": events,
        "muster": {"event": e.event, "sequence": e.seq, "dialect": e.dialect, "actor": e.actor},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_map_to_logto_events() {
        assert_eq!(event_type("User.Create"), Some("User.Created"));
        assert_eq!(
            event_type("User.Suspend"),
            Some("User.SuspensionStatus.Updated")
        );
        assert_eq!(event_type("User.Role.Assign"), Some("User.Data.Updated"));
        assert_eq!(event_type("User.Invite"), None);
        assert_eq!(event_type("Organization.AccessKey.Create"), None);
        assert!(EVENTS.iter().all(|e| is_known(e)));
    }

    #[test]
    fn signature_is_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
