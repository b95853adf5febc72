//! A user's groups and roles, managed from the user's page: join or leave groups (several
//! at once), give or take roles. Each is one directory call (`groups::add_members`,
//! `users::assign_role`, …), so every API sees it at once, with the audit trail and the
//! no-escalation rule as for any caller. The Administrator role has its own section of the
//! page (it ends console sessions and needs `orgs:admin`), so it is not offered here.

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::Path;
use poem::{handler, Response};

use super::form::Pairs;
use super::view;
use super::{Console, Fail, Out};
use crate::auth::session::Session;
use crate::directory::read::GroupSearch;
use crate::directory::seam::Dialect;
use crate::directory::{self, Conn, StoreError};
use crate::domain::{id_to_hex, Group, GroupRef, Role, Scope, UserData};

/// What the section offers: the organization's groups and roles.
pub(crate) struct Choices {
    groups: Vec<Group>,
    roles: Vec<Role>,
}

/// The organization's groups (first 500, by name) and roles: two statements.
pub(crate) fn choices(conn: &mut Conn, s: &Session) -> Result<Choices, Fail> {
    let org = &s.principal.org_id;
    let (mut groups, _) = directory::groups::search(conn, org, &GroupSearch::page(0, 500))?;
    groups.sort_by_key(|g| g.data.display_name.to_lowercase());
    Ok(Choices {
        groups,
        roles: directory::roles::names(conn, org)?,
    })
}

fn is_admin_role(name: &str) -> bool {
    name.eq_ignore_ascii_case(directory::roles::ADMIN_ROLE)
}

/// The "Roles" and "Groups" parts of a user's page.
pub(crate) fn section(
    s: &Session,
    uid: i64,
    d: &UserData,
    groups: &[GroupRef],
    c: &Choices,
) -> Markup {
    let base = format!("/console/users/{}", id_to_hex(uid));
    let joinable: Vec<&Group> = c
        .groups
        .iter()
        .filter(|g| !groups.iter().any(|m| m.direct && m.id == g.id))
        .collect();
    let assignable: Vec<&Role> = c
        .roles
        .iter()
        .filter(|r| !is_admin_role(&r.name))
        .filter(|r| !d.roles.iter().any(|h| h.name.eq_ignore_ascii_case(&r.name)))
        .collect();
    html! {
        h3 id="roles-h" { "Roles" }
        @if d.roles.is_empty() { p.empty { "None." } }
        ul.memberships { @for r in &d.roles { li {
            (r.name)
            @if !is_admin_role(&r.name) {
                " "
                (view::link_action(s, &format!("{base}/roles"),
                    &[("action", "unassign"), ("role", &r.name)],
                    &format!("Take the role {}", r.name), "Remove"))
            }
        } } }
        @if !assignable.is_empty() {
            form.inline-form method="post" action={ (base) "/roles" } {
                (view::csrf(s))
                input type="hidden" name="action" value="assign";
                div.field {
                    label for="f-role" { "Give a role" }
                    select id="f-role" name="role" {
                        @for r in &assignable { option value=(r.name) { (r.name) } }
                    }
                }
                button type="submit" { "Give role" }
            }
        }
        h3 id="groups-h" { "Groups" }
        @if groups.is_empty() { p.empty { "None." } }
        ul.memberships { @for g in groups { li {
            a href={ "/console/groups/" (id_to_hex(g.id)) } { (g.display_name) }
            @if !g.direct { " " span.tag { "through a nested group" } }
            @else {
                " "
                (view::link_action(s, &format!("{base}/groups"),
                    &[("action", "leave"), ("group", &id_to_hex(g.id))],
                    &format!("Leave {}", g.display_name), "Remove"))
            }
        } } }
        @if !joinable.is_empty() {
            form.inline-form method="post" action={ (base) "/groups" } {
                (view::csrf(s))
                input type="hidden" name="action" value="join";
                div.field {
                    label for="f-join" { "Add to groups" }
                    select id="f-join" name="group" multiple size=(joinable.len().clamp(2, 5)) {
                        @for g in &joinable { option value=(id_to_hex(g.id)) { (g.data.display_name) } }
                    }
                }
                button type="submit" { "Add to groups" }
            }
        }
    }
}

fn refused(m: &str) -> Fail {
    Fail::Page(
        StatusCode::UNPROCESSABLE_ENTITY,
        view::bare("Not changed", html! { p.error role="alert" { (m) } }),
    )
}

/// Join (`action=join`, every `group` chosen) or leave (`leave`) groups.
#[handler]
pub(crate) async fn set_groups(at: Console<'_>, Path(id): Path<String>, f: Pairs) -> Response {
    let csrf = f.get("csrf").to_string();
    let join = f.get("action") == "join";
    let gids = f.ids("group");
    at.form(csrf, Scope::UsersWrite, move |conn, s, c| {
        let uid = Fail::id(&id, "page")?;
        directory::users::get(
            conn,
            &s.principal.org_id,
            uid,
            directory::read::Groups::Skip,
        )?;
        if gids.is_empty() {
            return Err(refused("Choose a group."));
        }
        for g in &gids {
            let r = if join {
                directory::groups::add_members(conn, c, *g, &[uid])
            } else {
                directory::groups::remove_members(conn, c, *g, &[uid])
            };
            match r {
                Ok(_) => {}
                Err(StoreError::NotFound) => return Err(refused("There is no such group.")),
                Err(e) => return Err(e.into()),
            }
        }
        let done = if join { "joined" } else { "left" };
        Ok(Out::Redirect(format!(
            "/console/users/{id}?done={done}#groups-h"
        )))
    })
    .await
}

/// Give (`action=assign`) or take (`unassign`) a role, by name.
#[handler]
pub(crate) async fn set_roles(at: Console<'_>, Path(id): Path<String>, f: Pairs) -> Response {
    let csrf = f.get("csrf").to_string();
    let assign = f.get("action") == "assign";
    let role = f.get("role").trim().to_string();
    at.form(csrf, Scope::UsersWrite, move |conn, s, c| {
        let uid = Fail::id(&id, "page")?;
        if is_admin_role(&role) {
            return Err(refused(
                "The Administrator role is given and taken in the page's Administrator section.",
            ));
        }
        let known = directory::roles::names(conn, &s.principal.org_id)?
            .into_iter()
            .any(|r| r.name.eq_ignore_ascii_case(&role));
        if !known {
            return Err(refused("There is no such role."));
        }
        let r = if assign {
            directory::users::assign_role(conn, c, uid, &role)
        } else {
            directory::users::unassign_role(conn, c, uid, &role)
        };
        match r {
            Ok(_) => {}
            Err(StoreError::Forbidden(m)) => return Err(Fail::Forbidden(m)),
            Err(e) => return Err(e.into()),
        }
        let done = if assign { "role" } else { "unrole" };
        Ok(Out::Redirect(format!(
            "/console/users/{id}?done={done}#roles-h"
        )))
    })
    .await
}
