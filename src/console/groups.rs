//! Groups: list, create, rename, delete; members paged (a group of any size opens at once),
//! added by search and removed.

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::{Form, Path, Query};
use poem::{handler, Response};
use serde::Deserialize;

use super::delete::Deletable;
use super::extensions;
use super::view::{self, Nav};
use super::{cut, Console, Fail, ListQuery, Out};
use crate::auth::session::Session;
use crate::directory::groups::Members;
use crate::directory::read::{
    Among, GroupFilter, GroupSearch, Order, Search, SortKey, UserFilter, Window,
};
use crate::directory::seam::Dialect;
use crate::directory::{self, Expect};
use crate::directory::{Caller, Conn, StoreError, StoreResult};
use crate::domain::{id_to_hex, Group, GroupData, MemberChange, Scope, User};

/// Groups per page, members per page, users offered by a member search.
const PAGE: i64 = 50;
const SEARCH: i64 = 10;

fn notice_of(done: &str) -> Option<&'static str> {
    Some(match done {
        "created" => "Group created.",
        "renamed" => "Group renamed.",
        "deleted" => "Group deleted.",
        "added" => "Member added.",
        "removed" => "Member removed.",
        "extensions" => "Extension values saved.",
        _ => return None,
    })
}

fn check_name(name: &str) -> Result<String, String> {
    let n = name.trim();
    if n.is_empty() {
        return Err("A group name is required.".into());
    }
    if n.len() > 255 || n.chars().any(|c| c.is_control()) {
        return Err("At most 255 characters, without control characters.".into());
    }
    Ok(n.to_string())
}

fn render_list(
    s: &Session,
    groups: &[Group],
    counts: &std::collections::HashMap<i64, i64>,
    next: Option<i64>,
    name: &str,
    error: Option<&String>,
    notice: Option<&str>,
) -> Markup {
    view::page(
        s,
        Nav::Groups,
        "Groups",
        html! {
            h1 { "Groups" }
            (view::notice(notice))
            form.card.inline-form method="post" action="/console/groups" novalidate {
                (view::csrf(s))
                (view::field("New group name", "name", "text", name, error))
                button type="submit" { "Create group" }
            }
            @if groups.is_empty() { p.empty { "No groups yet." } }
            @else {
                table.list {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Direct members" } th scope="col" { "Kind" } } }
                    tbody { @for g in groups { tr {
                        td { a href={ "/console/groups/" (id_to_hex(g.id)) } { (g.data.display_name) } }
                        td { (counts.get(&g.id).copied().unwrap_or(0)) }
                        td { (g.data.kind.as_str()) }
                    } } }
                }
            }
            nav.pager aria-label="Pages" {
                @if let Some(n) = next { a rel="next" href={ "/console/groups?after=" (id_to_hex(n)) } { "Next page" } }
            }
        },
    )
}

/// A page of groups, their direct member counts, and the cursor of the next page.
type GroupList = (Vec<Group>, std::collections::HashMap<i64, i64>, Option<i64>);

fn load_list(conn: &mut Conn, s: &Session, after: Option<i64>) -> Result<GroupList, Fail> {
    let (mut groups, _) = directory::groups::search(
        conn,
        &s.principal.org_id,
        &GroupSearch {
            filter: GroupFilter::all(),
            order: Order::by_id(),
            window: Window::After {
                id: after,
                limit: PAGE + 1,
            },
            total: false,
            members: false,
        },
    )?;
    let next = if cut(&mut groups, PAGE) {
        groups.last().map(|g| g.id)
    } else {
        None
    };
    let counts = directory::groups::user_counts(conn, &groups)?;
    Ok((groups, counts, next))
}

#[handler]
pub(crate) async fn list(at: Console<'_>, Query(q): Query<ListQuery>) -> Response {
    at.page(Scope::UsersRead, move |conn, s| {
        let after = crate::domain::id_from_hex(&q.after);
        let (groups, counts, next) = load_list(conn, s, after)?;
        let notice = notice_of(&q.done);
        Ok(Out::Page(render_list(
            s, &groups, &counts, next, "", None, notice,
        )))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct NameForm {
    csrf: String,
    name: String,
    /// The group's version the rename form was shown at (absent on the create form): a
    /// rename of a group changed since is refused instead of undoing that change.
    version: String,
}

#[handler]
pub(crate) async fn create(at: Console<'_>, Form(f): Form<NameForm>) -> Response {
    at.form(f.csrf.clone(), Scope::UsersWrite, move |conn, s, c| {
        let error = match check_name(&f.name) {
            Ok(name) => {
                let data = GroupData {
                    display_name: name,
                    ..GroupData::default()
                };
                match directory::groups::create(conn, c, &data, &[]) {
                    Ok(g) => {
                        return Ok(Out::Redirect(format!(
                            "/console/groups/{}?done=created",
                            id_to_hex(g.id)
                        )))
                    }
                    Err(StoreError::Conflict(_)) => "A group with this name exists.".to_string(),
                    Err(StoreError::Invalid(m)) => m,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(m) => m,
        };
        let (groups, counts, next) = load_list(conn, s, None)?;
        Err(Fail::Page(
            StatusCode::UNPROCESSABLE_ENTITY,
            render_list(s, &groups, &counts, next, &f.name, Some(&error), None),
        ))
    })
    .await
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct ShowQuery {
    /// Members after this user id (hex).
    after: String,
    /// Find users to add.
    find: String,
    done: String,
}

struct GroupPage {
    group: Group,
    members: Vec<User>,
    count: i64,
    next: Option<i64>,
    found: Vec<User>,
    /// The organization's schemas, and the extension fields as shown (the group's values,
    /// or what a refused form sent) with the directory's message.
    schemas: std::sync::Arc<crate::scim::schema::Registry>,
    ext_form: extensions::Fields,
    ext_error: Option<String>,
}

fn load(conn: &mut Conn, s: &Session, gid: i64, q: &ShowQuery) -> Result<GroupPage, Fail> {
    let org = &s.principal.org_id;
    let group = directory::groups::get(conn, org, gid, Members::Skip)?;
    let count = directory::groups::user_counts(conn, std::slice::from_ref(&group))?
        .get(&gid)
        .copied()
        .unwrap_or(0);
    let among = Among {
        group: Some((gid, false)),
        ..Among::default()
    };
    let (loaded, _) = directory::users::search(
        conn,
        org,
        &Search {
            filter: UserFilter::among(among),
            order: Order::by_id(),
            window: Window::After {
                id: crate::domain::id_from_hex(&q.after),
                limit: PAGE + 1,
            },
            total: false,
            groups: directory::users::Groups::Skip,
        },
    )?;
    let mut members = loaded.users;
    let next = if cut(&mut members, PAGE) {
        members.last().map(|u| u.id)
    } else {
        None
    };
    let find = q.find.trim();
    let found = if find.is_empty() || find.len() > 256 {
        vec![]
    } else {
        directory::users::page_by_key(
            conn,
            org,
            &UserFilter::text(find),
            SortKey::Id,
            None,
            SEARCH,
        )?
        .users
    };
    let schemas = directory::schemas::registry(conn, org, s.principal.schemas_version)?;
    let ext_form = extensions::values(schemas.group(), &group.data.extensions);
    Ok(GroupPage {
        group,
        members,
        count,
        next,
        found,
        schemas,
        ext_form,
        ext_error: None,
    })
}

fn render(
    s: &Session,
    p: &GroupPage,
    q: &ShowQuery,
    name_field: (&str, Option<&String>),
    error: Option<&str>,
) -> Markup {
    let g = &p.group;
    let hex = id_to_hex(g.id);
    let base = format!("/console/groups/{hex}");
    let name = &g.data.display_name;
    view::page(
        s,
        Nav::Groups,
        name,
        html! {
            p.crumbs { a href="/console/groups" { "Groups" } " / " (name) }
            h1 { (name) }
            (view::notice(notice_of(&q.done)))
            @if let Some(e) = error { p.error role="alert" { (e) } }
            div.columns {
                section aria-labelledby="members-h" {
                    h2 id="members-h" { "Members (" (p.count) ")" }
                    @if p.members.is_empty() { p.empty { "No members." } }
                    @else {
                        table.list { tbody { @for u in &p.members { tr {
                            td { a href={ "/console/users/" (id_to_hex(u.id)) } { (u.shown_name()) } }
                            td { (u.data.display_name.clone().unwrap_or_default()) }
                            td {
                                a.subtle href={ (base) "/members/remove?user=" (id_to_hex(u.id)) }
                                    aria-label={ "Remove " (u.shown_name()) } { "Remove…" }
                            }
                        } } } }
                    }
                    nav.pager aria-label="Member pages" {
                        @if !q.after.is_empty() { a href=(base) { "First page" } }
                        @if let Some(n) = p.next { a rel="next" href={ (base) "?after=" (id_to_hex(n)) } { "Next page" } }
                    }
                    // Custom SCIM extension values (docs/scim-extensions.md): the registered
                    // ones edited by type, an unregistered one shown as kept.
                    @if p.schemas.group().stored_extensions().next().is_some() {
                        form.card method="post" action={ (base) "/extensions" } novalidate {
                            (view::csrf(s))
                            input type="hidden" name="version" value=(g.version);
                            (extensions::inputs(p.schemas.group(), &p.ext_form, p.ext_error.as_ref()))
                            button type="submit" { "Save extension values" }
                        }
                    }
                    @for (urn, obj) in g.data.extensions.iter().filter(|(u, _)| p.schemas.group().extension(u).is_none()) {
                        h2 { "Schema extensions" }
                        p.urn { code { (urn) } " " span.tag { "not registered: kept as sent" } }
                        dl.profile { @for (k, v) in obj.as_object().into_iter().flatten() {
                            dt { (k) } dd { (extensions::text(v)) }
                        } }
                    }
                }
                section aria-labelledby="add-h" {
                    h2 id="add-h" { "Add a member" }
                    form.search method="get" action=(base) role="search" data-live="true" {
                        (view::field("Find users", "find", "search", &q.find, None))
                        button type="submit" { "Find" }
                    }
                    @if !q.find.trim().is_empty() && p.found.is_empty() { p.empty { "No users match." } }
                    ul.found { @for u in &p.found { li {
                        form.inline method="post" action={ (base) "/members/add" } {
                            (view::csrf(s))
                            input type="hidden" name="user" value=(id_to_hex(u.id));
                            span { (u.shown_name()) " " (u.data.display_name.clone().unwrap_or_default()) }
                            " "
                            button type="submit" aria-label={ "Add " (u.shown_name()) } { "Add" }
                        }
                    } } }
                    h2 { "Rename" }
                    form.card method="post" action=(base) novalidate {
                        (view::csrf(s))
                        input type="hidden" name="version" value=(g.version);
                        (view::field("Name", "name", "text", name_field.0, name_field.1))
                        button type="submit" { "Rename" }
                    }
                    h2 { "Delete" }
                    p { a.danger href={ (base) "/delete" } { "Delete this group…" } }
                }
            }
        },
    )
}

#[handler]
pub(crate) async fn show(
    at: Console<'_>,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Response {
    at.page(Scope::UsersRead, move |conn, s| {
        let p = load(conn, s, Fail::id(&id, "page")?, &q)?;
        let name = p.group.data.display_name.clone();
        Ok(Out::Page(render(s, &p, &q, (&name, None), None)))
    })
    .await
}

#[handler]
pub(crate) async fn rename(
    at: Console<'_>,
    Path(id): Path<String>,
    Form(f): Form<NameForm>,
) -> Response {
    at.form(f.csrf.clone(), Scope::UsersWrite, move |conn, s, c| {
        let gid = Fail::id(&id, "page")?;
        let expected = match f.version.trim().parse::<i64>() {
            Ok(v) => Expect::OneOf(vec![v]),
            Err(_) => Expect::Any,
        };
        let mut stale = false;
        let error = match check_name(&f.name) {
            Ok(name) => {
                let r = directory::groups::update(
                    conn,
                    c,
                    gid,
                    &expected,
                    Members::Skip,
                    Members::Skip,
                    |g: &Group| {
                        Ok::<_, StoreError>((
                            GroupData {
                                display_name: name.clone(),
                                ..g.data.clone()
                            },
                            MemberChange::default(),
                        ))
                    },
                );
                match r {
                    Ok(_) => {
                        return Ok(Out::Redirect(format!("/console/groups/{id}?done=renamed")))
                    }
                    Err(StoreError::Conflict(_)) => "A group with this name exists.".to_string(),
                    Err(StoreError::Invalid(m)) => m,
                    Err(StoreError::VersionMismatch) => {
                        stale = true;
                        "This group was changed since you opened it; it now shows the \
                             current name: rename it again."
                            .to_string()
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(m) => m,
        };
        let q = ShowQuery::default();
        let p = load(conn, s, gid, &q)?;
        if stale {
            let fresh = p.group.data.display_name.clone();
            return Err(Fail::Page(
                StatusCode::CONFLICT,
                render(s, &p, &q, (&fresh, Some(&error)), None),
            ));
        }
        Err(Fail::Page(
            StatusCode::UNPROCESSABLE_ENTITY,
            render(s, &p, &q, (&f.name, Some(&error)), None),
        ))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct MemberForm {
    csrf: String,
    user: String,
}

/// Add (`add`) or remove the form's user.
async fn members(at: Console<'_>, id: Path<String>, f: Form<MemberForm>, add: bool) -> Response {
    let (id, f) = (id.0, f.0);
    at.form(f.csrf.clone(), Scope::UsersWrite, move |conn, s, c| {
        let gid = Fail::id(&id, "page")?;
        let error = match crate::domain::id_from_hex(&f.user) {
            None => "Choose a user to add.".to_string(),
            Some(uid) => {
                let r = if add {
                    directory::groups::add_members(conn, c, gid, &[uid])
                } else {
                    directory::groups::remove_members(conn, c, gid, &[uid])
                };
                match r {
                    Ok(_) => {
                        let done = if add { "added" } else { "removed" };
                        return Ok(Out::Redirect(format!("/console/groups/{id}?done={done}")));
                    }
                    Err(StoreError::Invalid(_)) => {
                        "There is no such user in the organization.".to_string()
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let q = ShowQuery::default();
        let p = load(conn, s, gid, &q)?;
        let name = p.group.data.display_name.clone();
        Err(Fail::Page(
            StatusCode::UNPROCESSABLE_ENTITY,
            render(s, &p, &q, (&name, None), Some(&error)),
        ))
    })
    .await
}

#[handler]
pub(crate) async fn add_member(at: Console<'_>, id: Path<String>, f: Form<MemberForm>) -> Response {
    members(at, id, f, true).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct MemberQuery {
    user: String,
}

/// "Remove … from …?": the page the member list's Remove link opens.
#[handler]
pub(crate) async fn confirm_remove_member(
    at: Console<'_>,
    Path(id): Path<String>,
    Query(q): Query<MemberQuery>,
) -> Response {
    at.page(Scope::UsersWrite, move |conn, s| {
        let gid = Fail::id(&id, "page")?;
        let uid = Fail::id(&q.user, "page")?;
        let org = &s.principal.org_id;
        let group = directory::groups::get(conn, org, gid, Members::Skip)?.data.display_name;
        let user = directory::users::get(conn, org, uid, crate::directory::read::Groups::Skip)?;
        let name = user.user.shown_name();
        let base = format!("/console/groups/{id}");
        let ask = super::confirm::Ask {
            nav: Nav::Groups,
            title: format!("Remove {name} from {group}?"),
            consequence: html! { p { (name) " leaves " (group) " in every dialect at once (SCIM, Logto, Domo, …); what the group gives them (its roles, an Adobe product profile) goes with it." } },
            action: format!("{base}/members/remove"),
            hidden: vec![("user", q.user.clone())],
            fields: html! {},
            button: format!("Remove {name}"),
            cancel: base,
            reauth: false,
            error: None,
        };
        Ok(Out::Page(super::confirm::page(s, &ask)))
    })
    .await
}

#[handler]
pub(crate) async fn remove_member(
    at: Console<'_>,
    id: Path<String>,
    f: Form<MemberForm>,
) -> Response {
    members(at, id, f, false).await
}

/// Groups, as the console deletes one.
pub(crate) struct Groups;

impl Deletable for Groups {
    const LIST: &'static str = "groups";
    const NAV: Nav = Nav::Groups;
    const TITLE: &'static str = "Delete group";
    const CONSEQUENCE: &'static str =
        "Its members stay; they leave the group in every dialect at once.";

    fn name(conn: &mut Conn, s: &Session, id: i64) -> Result<String, Fail> {
        let g = directory::groups::get(conn, &s.principal.org_id, id, Members::Skip)?;
        Ok(g.data.display_name)
    }

    fn delete(conn: &mut Conn, c: &Caller<'_>, id: i64) -> StoreResult<()> {
        directory::groups::delete(conn, c, id, &Expect::Any)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ExtensionsForm {
    csrf: String,
    version: String,
    #[serde(flatten)]
    fields: extensions::Fields,
}

/// Save a group's extension values: typed by the directory as a SCIM client's are, against
/// the version the form was filled from.
#[handler]
pub(crate) async fn save_extensions(
    at: Console<'_>,
    Path(id): Path<String>,
    Form(f): Form<ExtensionsForm>,
) -> Response {
    at.form(f.csrf.clone(), Scope::UsersWrite, move |conn, s, c| {
        let gid = Fail::id(&id, "page")?;
        let expected = match f.version.trim().parse::<i64>() {
            Ok(v) => Expect::OneOf(vec![v]),
            Err(_) => Expect::Any,
        };
        let reg =
            directory::schemas::registry(conn, &s.principal.org_id, s.principal.schemas_version)?;
        let r = directory::groups::update(
            conn,
            c,
            gid,
            &expected,
            Members::Skip,
            Members::Skip,
            |g: &Group| {
                let mut data = g.data.clone();
                extensions::apply(reg.group(), &f.fields, &mut data.extensions)
                    .map_err(StoreError::Invalid)?;
                Ok::<_, StoreError>((data, MemberChange::default()))
            },
        );
        let (status, error, keep) = match r {
            Ok(_) => {
                return Ok(Out::Redirect(format!(
                    "/console/groups/{id}?done=extensions"
                )))
            }
            Err(StoreError::Invalid(m) | StoreError::Conflict(m)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, m, true)
            }
            Err(StoreError::VersionMismatch) => (
                StatusCode::CONFLICT,
                "This group was changed since you opened it; the form now shows the current \
                 values: make your change again."
                    .to_string(),
                false,
            ),
            Err(e) => return Err(e.into()),
        };
        let q = ShowQuery::default();
        let mut p = load(conn, s, gid, &q)?;
        if keep {
            p.ext_form = f.fields.clone();
        }
        p.ext_error = Some(error);
        let name = p.group.data.display_name.clone();
        Err(Fail::Page(status, render(s, &p, &q, (&name, None), None)))
    })
    .await
}
