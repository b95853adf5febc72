//! Groups: list, create, rename, delete; members paged (a group of any size opens at once),
//! added by search and removed.

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::{Form, Path, Query};
use poem::{handler, Response};
use serde::Deserialize;

use super::delete::Deletable;
use super::extensions;
use super::form::Pairs;
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
        "added-many" => "Members added.",
        "removed" => "Member removed.",
        "extensions" => "Extension values saved.",
        _ => return None,
    })
}

/// A group's description: optional, at most 1,000 characters, line breaks allowed.
fn check_description(d: &str) -> Result<Option<String>, String> {
    let d = d.trim();
    if d.chars().count() > 1000 || d.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(
            "A description is at most 1,000 characters, without control characters.".into(),
        );
    }
    Ok((!d.is_empty()).then(|| d.replace("\r\n", "\n")))
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
    counts: &Counts,
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
                (view::field("Description (optional)", "description", "text", "", None))
                button type="submit" { "Create group" }
            }
            @if groups.is_empty() { p.empty { "No groups yet." } }
            @else {
                table.list {
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Description" }
                        th scope="col" { "Direct members" } th scope="col" { "Kind" }
                    } }
                    tbody { @for g in groups { tr {
                        td { a href={ "/console/groups/" (id_to_hex(g.id)) } { (g.data.display_name) } }
                        td { (g.data.description.clone().unwrap_or_default()) }
                        td { (members_text(counts.of(g.id))) }
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

/// How many users and nested groups are directly in each group of a page.
pub(crate) struct Counts {
    users: std::collections::HashMap<i64, i64>,
    groups: std::collections::HashMap<i64, i64>,
}

impl Counts {
    fn load(conn: &mut Conn, groups: &[Group]) -> Result<Counts, Fail> {
        Ok(Counts {
            users: directory::groups::user_counts(conn, groups)?,
            groups: directory::groups::group_counts(conn, groups)?,
        })
    }

    /// Users and nested groups directly in `gid`.
    fn of(&self, gid: i64) -> (i64, i64) {
        let n = |m: &std::collections::HashMap<i64, i64>| m.get(&gid).copied().unwrap_or(0);
        (n(&self.users), n(&self.groups))
    }
}

/// "12", "12 (10 users, 2 groups)".
fn members_text((users, groups): (i64, i64)) -> String {
    if groups == 0 {
        return users.to_string();
    }
    let plural = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{} ({}, {})",
        users + groups,
        plural(users, "user", "users"),
        plural(groups, "group", "groups")
    )
}

/// A page of groups, their direct member counts, and the cursor of the next page.
type GroupList = (Vec<Group>, Counts, Option<i64>);

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
    let counts = Counts::load(conn, &groups)?;
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
    description: String,
    /// The group's version the rename form was shown at (absent on the create form): a
    /// rename of a group changed since is refused instead of undoing that change.
    version: String,
}

#[handler]
pub(crate) async fn create(at: Console<'_>, Form(f): Form<NameForm>) -> Response {
    at.form(f.csrf.clone(), Scope::UsersWrite, move |conn, s, c| {
        let error = match check_name(&f.name)
            .and_then(|n| Ok((n, check_description(&f.description)?)))
        {
            Ok((name, description)) => {
                let data = GroupData {
                    display_name: name,
                    description,
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
    /// Found users after this user id (hex): "more results".
    find_after: String,
    done: String,
}

struct GroupPage {
    group: Group,
    members: Vec<User>,
    /// Users and groups directly in the group.
    count: (i64, i64),
    next: Option<i64>,
    /// Groups nested in this one (id, name).
    nested: Vec<(i64, String)>,
    /// Groups that could be nested in it (not itself, not nested already).
    nestable: Vec<Group>,
    found: Vec<User>,
    /// The cursor of more found users, when there are more.
    found_more: Option<i64>,
    /// The organization's schemas, and the extension fields as shown (the group's values,
    /// or what a refused form sent) with the directory's message.
    schemas: std::sync::Arc<crate::scim::schema::Registry>,
    ext_form: extensions::Fields,
    ext_error: Option<String>,
}

fn load(conn: &mut Conn, s: &Session, gid: i64, q: &ShowQuery) -> Result<GroupPage, Fail> {
    let org = &s.principal.org_id;
    let group = directory::groups::get(conn, org, gid, Members::Skip)?;
    let count = Counts::load(conn, std::slice::from_ref(&group))?.of(gid);
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
    let nested = directory::groups::member_groups(conn, gid)?;
    let (mut nestable, _) = directory::groups::search(conn, org, &GroupSearch::page(0, 500))?;
    nestable.retain(|g| g.id != gid && !nested.iter().any(|(id, _)| *id == g.id));
    nestable.sort_by_key(|g| g.data.display_name.to_lowercase());
    let find = q.find.trim();
    let (found, found_more) = if find.is_empty() || find.len() > 256 {
        (vec![], None)
    } else {
        // People already in the group are not offered again.
        let after = crate::domain::id_from_hex(&q.find_after).map(|id| (String::new(), id));
        let filter = UserFilter::text(find).and(UserFilter::not_in_group(gid));
        let mut found =
            directory::users::page_by_key(conn, org, &filter, SortKey::Id, after, SEARCH + 1)?
                .users;
        let more = if cut(&mut found, SEARCH) {
            found.last().map(|u| u.id)
        } else {
            None
        };
        (found, more)
    };
    let schemas = directory::schemas::registry(conn, org, s.principal.schemas_version)?;
    let ext_form = extensions::values(schemas.group(), &group.data.extensions);
    Ok(GroupPage {
        group,
        members,
        count,
        next,
        nested,
        nestable,
        found,
        found_more,
        schemas,
        ext_form,
        ext_error: None,
    })
}

/// The "add members" results: every user found (not yet a member), ticked to add several
/// at once, and a link to more.
fn found_list(s: &Session, p: &GroupPage, q: &ShowQuery, base: &str) -> Markup {
    let more = p.found_more.map(|id| {
        let mut u = url::form_urlencoded::Serializer::new(String::new());
        u.append_pair("find", &q.find);
        u.append_pair("find_after", &id_to_hex(id));
        format!("{base}?{}#add-h", u.finish())
    });
    html! {
        div.found {
            @if !q.find.trim().is_empty() && p.found.is_empty() {
                p.empty { "No users match who are not members already." }
            }
            @if !p.found.is_empty() {
                form method="post" action={ (base) "/members/add" } {
                    (view::csrf(s))
                    ul.found { @for u in &p.found { li {
                        label.check {
                            input type="checkbox" name="user" value=(id_to_hex(u.id));
                            " " (u.shown_name()) " "
                            span.hint { (u.data.display_name.clone().unwrap_or_default()) }
                        }
                    } } }
                    button type="submit" { "Add selected" }
                }
            }
            @if let Some(m) = more { p { a.more href=(m) { "More results" } } }
        }
    }
}

fn render(
    s: &Session,
    p: &GroupPage,
    q: &ShowQuery,
    edit: (&str, &str, Option<&String>),
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
            @if let Some(d) = &g.data.description { p.description { (d) } }
            (view::notice(notice_of(&q.done)))
            @if let Some(e) = error { p.error role="alert" { (e) } }
            div.columns {
                section aria-labelledby="members-h" {
                    h2 id="members-h" { "Members (" (members_text(p.count)) ")" }
                    @if p.members.is_empty() && p.nested.is_empty() { p.empty { "No members." } }
                    @if !p.nested.is_empty() {
                        h3 { "Groups" }
                        table.list aria-label="Nested groups" { tbody { @for (id, n) in &p.nested { tr {
                            td { a href={ "/console/groups/" (id_to_hex(*id)) } { (n) } " " span.tag { "group" } }
                            td {
                                (view::link_action(s, &format!("{base}/members/remove"),
                                    &[("user", &id_to_hex(*id))],
                                    &format!("Remove group {n}"), "Remove"))
                            }
                        } } } }
                        p.hint { "Members of a nested group are members of this one too, in every API." }
                    }
                    @if !p.members.is_empty() {
                        @if !p.nested.is_empty() { h3 { "Users" } }
                        table.list aria-label="Users" { tbody { @for u in &p.members { tr {
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
                    h2 id="add-h" { "Add members" }
                    form.search method="get" action=(base) role="search" data-live="true" {
                        (view::field("Find users", "find", "search", &q.find, None))
                        button type="submit" { "Find" }
                    }
                    (found_list(s, p, q, &base))
                    @if !p.nestable.is_empty() {
                        form.inline-form method="post" action={ (base) "/members/add" } {
                            (view::csrf(s))
                            div.field {
                                label for="f-nest" { "Nest a group" }
                                select id="f-nest" name="user" {
                                    @for o in &p.nestable { option value=(id_to_hex(o.id)) { (o.data.display_name) } }
                                }
                            }
                            button type="submit" { "Add group" }
                        }
                    }
                    h2 { "Name and description" }
                    form.card method="post" action=(base) novalidate {
                        (view::csrf(s))
                        input type="hidden" name="version" value=(g.version);
                        (view::field("Name", "name", "text", edit.0, edit.2))
                        div.field {
                            label for="f-description" { "Description" }
                            textarea id="f-description" name="description" rows="3" { (edit.1) }
                        }
                        button type="submit" { "Save" }
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
        let description = p.group.data.description.clone().unwrap_or_default();
        Ok(Out::Page(render(
            s,
            &p,
            &q,
            (&name, &description, None),
            None,
        )))
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
        let expected = super::expected_version(&f.version);
        let mut stale = false;
        let error = match check_name(&f.name)
            .and_then(|n| Ok((n, check_description(&f.description)?)))
        {
            Ok((name, description)) => {
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
                                description: description.clone(),
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
                             current name and description: make your change again."
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
            let fresh_d = p.group.data.description.clone().unwrap_or_default();
            return Err(Fail::Page(
                StatusCode::CONFLICT,
                render(s, &p, &q, (&fresh, &fresh_d, Some(&error)), None),
            ));
        }
        Err(Fail::Page(
            StatusCode::UNPROCESSABLE_ENTITY,
            render(s, &p, &q, (&f.name, &f.description, Some(&error)), None),
        ))
    })
    .await
}

/// Add (`add`) or remove the form's members: every `user` field (users, or groups to nest),
/// one membership change.
async fn members(at: Console<'_>, id: Path<String>, f: Pairs, add: bool) -> Response {
    let id = id.0;
    let csrf = f.get("csrf").to_string();
    let ids = f.ids("user");
    at.form(csrf, Scope::UsersWrite, move |conn, s, c| {
        let gid = Fail::id(&id, "page")?;
        let error = if ids.is_empty() {
            if add {
                "Choose the users to add.".to_string()
            } else {
                "Choose a member to remove.".to_string()
            }
        } else {
            let r = if add {
                directory::groups::add_members(conn, c, gid, &ids)
            } else {
                directory::groups::remove_members(conn, c, gid, &ids)
            };
            match r {
                Ok(_) => {
                    let done = match (add, ids.len()) {
                        (true, 1) => "added",
                        (true, _) => "added-many",
                        (false, _) => "removed",
                    };
                    return Ok(Out::Redirect(format!("/console/groups/{id}?done={done}")));
                }
                Err(StoreError::Invalid(m)) if m.contains("cycle") || m.contains("itself") => {
                    sentence_of(&m)
                }
                Err(StoreError::Invalid(_)) => {
                    "There is no such user in the organization.".to_string()
                }
                Err(e) => return Err(e.into()),
            }
        };
        let q = ShowQuery::default();
        let p = load(conn, s, gid, &q)?;
        let name = p.group.data.display_name.clone();
        let description = p.group.data.description.clone().unwrap_or_default();
        Err(Fail::Page(
            StatusCode::UNPROCESSABLE_ENTITY,
            render(s, &p, &q, (&name, &description, None), Some(&error)),
        ))
    })
    .await
}

/// A directory message as a sentence.
fn sentence_of(m: &str) -> String {
    let mut c = m.chars();
    let first: String = c
        .next()
        .map(|f| f.to_uppercase().collect())
        .unwrap_or_default();
    let rest = c.as_str().trim_end_matches('.');
    format!("{first}{rest}.")
}

#[handler]
pub(crate) async fn add_member(at: Console<'_>, id: Path<String>, f: Pairs) -> Response {
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
pub(crate) async fn remove_member(at: Console<'_>, id: Path<String>, f: Pairs) -> Response {
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
        let expected = super::expected_version(&f.version);
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
        let description = p.group.data.description.clone().unwrap_or_default();
        Err(Fail::Page(
            status,
            render(s, &p, &q, (&name, &description, None), None),
        ))
    })
    .await
}
