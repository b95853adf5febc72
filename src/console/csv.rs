//! Users as CSV: the current list exported (`GET /console/users/export.csv`, the list's
//! search and order), and users imported from a file (`/console/users/import`): upload, a
//! preview with each row's errors by the directory's rules, then one transaction that
//! writes every accepted row and its group memberships, or nothing.
//!
//! The judged rows are kept in the database until confirmed (`directory::console_work`,
//! kind `import`), not in this process: the confirmation may reach another instance, which
//! writes exactly the rows previewed. It writes them once: the transaction that writes them
//! first moves the row from `previewed` to `imported`, and a second confirmation (a reload,
//! another tab, another instance) finds nothing to move and writes nothing.
//!
//! The columns are the export's; an import reads them by header name (any order, case and
//! spacing ignored), so an export imports as it is, into another organization too.

use std::collections::BTreeMap;

use maud::{html, Markup};
use poem::http::{header, StatusCode};
use poem::web::{Multipart, Path, Query};
use poem::{handler, Response};

use super::form::{self, Pairs};
use super::user_list::{name_of, thousands, users_count, ListQuery};
use super::users::{rule_message, EditForm};
use super::view::{self, Nav};
use super::{Console, Fail, Out};
use crate::auth::session::Session;
use crate::directory::console_work as work;
use crate::directory::read::{Groups, Search, Window};
use crate::directory::{self, Caller, Conn, StoreError};
use crate::domain::{id_to_hex, GroupData, MultiAttr, Scope, User, UserData};

/// The columns, in the export's order. The last three are the directory's to set: an
/// import reads past them.
pub(crate) const COLUMNS: [&str; 14] = [
    "userName",
    "email",
    "phone",
    "displayName",
    "givenName",
    "familyName",
    "title",
    "department",
    "externalId",
    "active",
    "groups",
    "id",
    "createdAt",
    "lastSignInAt",
];
/// Users read per statement while exporting.
const EXPORT_PAGE: i64 = 1000;
/// Largest file an import takes, and most rows.
const MAX_FILE: usize = 5 * 1024 * 1024;
pub(crate) const MAX_ROWS: usize = 10_000;
/// How groups are separated in the `groups` column.
const GROUP_SEP: char = ';';

/// A CSV field: quoted when it must be. A value a spreadsheet would run as a formula
/// (`=`, `@`, `+` or `-` not starting a number) gets a leading `'`, which the import
/// takes off again.
pub(crate) fn field(v: &str) -> String {
    let formula = match v.chars().next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => !v[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || " ().-".contains(c)),
        _ => false,
    };
    let v = if formula {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) || v.starts_with(' ') || v.ends_with(' ') {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// The value of a field as written by `field` (its formula guard taken off).
fn unguard(v: &str) -> &str {
    match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '@', '+', '-', '\t', '\r']) => rest,
        _ => v,
    }
}

/// The records of a CSV text (RFC 4180: quoted fields with doubled quotes, CRLF or LF),
/// a leading byte-order mark skipped; blank lines dropped. `Err` names the line of an
/// unclosed quote.
pub(crate) fn parse(text: &str) -> Result<Vec<Vec<String>>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut quote_line = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cur.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    cur.push(c);
                }
                _ => cur.push(c),
            }
            continue;
        }
        match c {
            '"' if cur.is_empty() => {
                quoted = true;
                quote_line = line;
            }
            ',' => row.push(std::mem::take(&mut cur)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                line += 1;
                row.push(std::mem::take(&mut cur));
                if !(row.len() == 1 && row[0].is_empty()) {
                    rows.push(std::mem::take(&mut row));
                }
                row.clear();
            }
            _ => cur.push(c),
        }
    }
    if quoted {
        return Err(format!(
            "A quote opened on line {quote_line} is never closed."
        ));
    }
    row.push(cur);
    if !(row.len() == 1 && row[0].is_empty()) {
        rows.push(row);
    }
    Ok(rows)
}

fn primary(u: &User, attr: MultiAttr) -> String {
    u.data
        .primary(attr)
        .and_then(|v| v.value.clone())
        .unwrap_or_default()
}

/// A user as a CSV line (the `COLUMNS`), with their direct groups.
fn line(u: &User, groups: &[String]) -> String {
    let d = &u.data;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let values = [
        s(&d.user_name),
        primary(u, MultiAttr::Emails),
        primary(u, MultiAttr::PhoneNumbers),
        s(&d.display_name),
        s(&d.name.given),
        s(&d.name.family),
        s(&d.title),
        s(&d.enterprise.department),
        s(&d.external_id),
        // Unassigned (`None`) is active to every dialect.
        (d.active != Some(false)).to_string(),
        groups.join(&format!("{GROUP_SEP} ")),
        id_to_hex(u.id),
        u.created_at.and_utc().to_rfc3339(),
        d.vendor
            .last_sign_in_at
            .map(|t| t.and_utc().to_rfc3339())
            .unwrap_or_default(),
    ];
    let mut out = values
        .iter()
        .map(|v| field(v))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

/// The list `q` shows, every page of it, as CSV (header first): the list's search and
/// order, read `EXPORT_PAGE` users a statement, in one trip.
#[handler]
pub(crate) async fn export(at: Console<'_>, Query(q): Query<ListQuery>) -> Response {
    let trip = at.state.session_trip(at.secret(), Scope::UsersRead);
    let made = trip
        .run(move |conn, s, _c| {
            let cond = match q.condition(conn, s)? {
                Ok(c) => c,
                Err((_, m)) => return Err(Fail::Forbidden(m)),
            };
            let mut out = COLUMNS.join(",");
            out.push_str("\r\n");
            let mut offset = 0;
            loop {
                let search = Search {
                    filter: cond.clone(),
                    order: q.sort().order(),
                    window: Window::Offset {
                        offset,
                        limit: EXPORT_PAGE,
                    },
                    total: false,
                    groups: Groups::Load,
                };
                let (loaded, _) = directory::users::search(conn, &s.principal.org_id, &search)?;
                let n = loaded.users.len() as i64;
                for u in &loaded.users {
                    let groups: Vec<String> = loaded
                        .groups
                        .get(&u.id)
                        .into_iter()
                        .flatten()
                        .filter(|g| g.direct)
                        .map(|g| g.display_name.clone())
                        .collect();
                    out.push_str(&line(u, &groups));
                }
                if n < EXPORT_PAGE {
                    break;
                }
                offset += n;
            }
            Ok::<_, Fail>((s.principal.org_id.as_str().to_string(), out))
        })
        .await;
    match made {
        Ok((org, body)) => {
            let day = chrono::Utc::now().format("%Y-%m-%d");
            Response::builder()
                .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
                .header(
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"users-{org}-{day}.csv\""),
                )
                .body(body)
        }
        Err(f) => f.into_response(),
    }
}

/// One row of an import, as read and judged.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Row {
    /// The file's line of the record.
    line: usize,
    data: UserData,
    groups: Vec<String>,
    /// What is wrong with it, by column; empty when it can be imported.
    errors: Vec<String>,
}

/// An uploaded file, judged: kept (the body of its `console_work` row) until it is imported
/// or an hour has passed.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Upload {
    name: String,
    rows: Vec<Row>,
    /// Groups its rows name that the organization lacks (the import makes them).
    new_groups: Vec<String>,
}

/// An import's row kind, and its states.
const IMPORT: &str = "import";
const PREVIEWED: &str = "previewed";
const IMPORTED: &str = "imported";

/// Upload `id` of this session's holder, and how many users it added once imported.
fn kept(conn: &mut Conn, s: &Session, id: &str) -> Result<(Upload, Option<i64>), Fail> {
    let w =
        work::get(conn, &s.principal.org_id, form::owner(s), IMPORT, id)?.ok_or(Fail::NotFound)?;
    let u: Upload = serde_json::from_str(&w.body).map_err(|_| Fail::Internal)?;
    Ok((u, (w.state == IMPORTED).then_some(w.done)))
}

/// A column's canonical name (`userName` for `User Name`, `user_name`, `USERNAME`).
fn column(h: &str) -> Option<&'static str> {
    let key: String = h
        .trim()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    let alias = match key.as_str() {
        "username" | "login" | "loginname" => "userName",
        "email" | "primaryemail" | "emailaddress" => "email",
        "phone" | "phonenumber" | "primaryphone" => "phone",
        "displayname" | "name" => "displayName",
        "givenname" | "firstname" => "givenName",
        "familyname" | "lastname" | "surname" => "familyName",
        "title" | "jobtitle" => "title",
        "department" => "department",
        "externalid" => "externalId",
        "active" | "status" => "active",
        "groups" => "groups",
        "id" => "id",
        "createdat" | "created" => "createdAt",
        "lastsigninat" | "lastsignin" => "lastSignInAt",
        _ => return None,
    };
    Some(alias)
}

fn active_of(v: &str) -> Result<Option<bool>, String> {
    Ok(match v.trim().to_lowercase().as_str() {
        "" => None,
        "true" | "yes" | "1" | "active" => Some(true),
        "false" | "no" | "0" | "suspended" => Some(false),
        other => {
            return Err(format!(
                "active: {other:?} is not true or false (nor yes / no, active / suspended)."
            ))
        }
    })
}

/// Read a file into rows (each judged by its own columns), or what makes the whole file
/// unreadable.
fn read_rows(text: &str) -> Result<Vec<Row>, String> {
    let records = parse(text)?;
    let Some((head, body)) = records.split_first() else {
        return Err("The file is empty.".into());
    };
    let mut cols = Vec::with_capacity(head.len());
    for h in head {
        match column(h) {
            Some(c) if cols.contains(&Some(c)) => {
                return Err(format!("The column {h:?} appears twice."))
            }
            Some(c) => cols.push(Some(c)),
            None if h.trim().is_empty() => cols.push(None),
            None => {
                return Err(format!(
                    "Unknown column {h:?}. The columns are: {}.",
                    COLUMNS.join(", ")
                ))
            }
        }
    }
    if !cols
        .iter()
        .any(|c| matches!(c, Some("userName" | "email" | "phone")))
    {
        return Err("The file needs a userName, email or phone column.".into());
    }
    if body.len() > MAX_ROWS {
        return Err(format!(
            "The file has {} rows; an import takes at most {}.",
            thousands(body.len() as i64),
            thousands(MAX_ROWS as i64)
        ));
    }
    let mut rows = Vec::with_capacity(body.len());
    for (i, rec) in body.iter().enumerate() {
        let mut v: BTreeMap<&str, String> = BTreeMap::new();
        for (c, val) in cols.iter().zip(rec) {
            if let Some(c) = c {
                v.insert(c, unguard(val.trim()).to_string());
            }
        }
        let get = |k: &str| v.get(k).cloned().unwrap_or_default();
        let mut errors = Vec::new();
        if rec.len() > cols.len() {
            errors.push(format!(
                "{} fields, but the header names {}.",
                rec.len(),
                cols.len()
            ));
        }
        let form = EditForm {
            user_name: get("userName"),
            display_name: get("displayName"),
            given_name: get("givenName"),
            family_name: get("familyName"),
            email: get("email"),
            phone: get("phone"),
            title: get("title"),
            ..EditForm::default()
        };
        for (f, m) in form.check() {
            errors.push(format!("{}: {m}", label(f)));
        }
        if [&form.user_name, &form.email, &form.phone]
            .iter()
            .all(|x| x.is_empty())
        {
            errors.push("No userName, email or phone: the user could not sign in.".into());
        }
        // No extension columns: the built-in schemas are all `apply` reads.
        let builtin = crate::scim::schema::Registry::builtin();
        let Ok(mut data) = form.apply(&UserData::default(), builtin.user()) else {
            continue;
        };
        for (k, slot) in [
            ("department", &mut data.enterprise.department),
            ("externalId", &mut data.external_id),
        ] {
            let x = get(k);
            if x.len() > 255 || x.chars().any(|c| c.is_control()) {
                errors.push(format!(
                    "{k}: at most 255 characters, without control characters."
                ));
            }
            *slot = (!x.is_empty()).then_some(x);
        }
        match active_of(&get("active")) {
            Ok(a) => data.active = Some(a.unwrap_or(true)),
            Err(m) => errors.push(m),
        }
        let mut groups: Vec<String> = Vec::new();
        for g in get("groups")
            .split(GROUP_SEP)
            .map(str::trim)
            .filter(|g| !g.is_empty())
        {
            if g.len() > 255 || g.chars().any(|c| c.is_control()) {
                errors.push(format!("groups: {g:?} is not a group name."));
            } else if !groups.iter().any(|x| x.eq_ignore_ascii_case(g)) {
                groups.push(g.to_string());
            }
        }
        rows.push(Row {
            line: i + 2,
            data,
            groups,
            errors,
        });
    }
    Ok(rows)
}

/// A form field's name as the file's column.
fn label(f: &str) -> &'static str {
    match f {
        "user_name" => "userName",
        "display_name" => "displayName",
        "given_name" => "givenName",
        "family_name" => "familyName",
        "email" => "email",
        "phone" => "phone",
        "title" => "title",
        _ => "row",
    }
}

/// Judge the rows that read well by the directory's rules (as a create would, without
/// writing), and name the groups the organization lacks.
fn judge(conn: &mut Conn, s: &Session, rows: &mut [Row]) -> Result<Vec<String>, Fail> {
    let org = &s.principal.org_id;
    let idx: Vec<usize> = (0..rows.len())
        .filter(|i| rows[*i].errors.is_empty())
        .collect();
    let data: Vec<UserData> = idx.iter().map(|i| rows[*i].data.clone()).collect();
    for (i, (normal, err)) in idx
        .iter()
        .zip(directory::users::check_new(conn, org, &data)?)
    {
        rows[*i].data = normal;
        if let Some(e) = err {
            let (f, m) = rule_message(e)?;
            rows[*i].errors.push(format!("{}: {m}", label(f)));
        }
    }
    let mut names: Vec<String> = Vec::new();
    for r in rows.iter() {
        for g in &r.groups {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(g)) {
                names.push(g.clone());
            }
        }
    }
    let have = directory::groups::find_by_names(conn, org, &names)?;
    Ok(names
        .into_iter()
        .filter(|n| !have.contains_key(&n.to_lowercase()))
        .collect())
}

fn upload_page(s: &Session, error: Option<&str>) -> Markup {
    view::page(
        s,
        Nav::Users,
        "Import users",
        html! {
            p.crumbs { a href="/console/users" { "Users" } " / Import" }
            h1 { "Import users from CSV" }
            @if let Some(e) = error { p.error role="alert" id="import-error" { (e) } }
            form.card.wide method="post" action="/console/users/import" enctype="multipart/form-data" {
                (view::csrf(s))
                div.field {
                    label for="f-file" { "CSV file" }
                    input id="f-file" name="file" type="file" accept=".csv,text/csv" required
                        aria-describedby="import-columns";
                }
                p.hint id="import-columns" {
                    "A header row, then one user a row. Columns (any order; only one of userName, email or phone is needed): "
                    @for (i, c) in COLUMNS.iter().enumerate() { @if i > 0 { ", " } code { (c) } }
                    ". " code { "active" } " is true or false; " code { "groups" } " names groups separated by "
                    code { (GROUP_SEP) } " (missing ones are created). " code { "id" } ", " code { "createdAt" } " and "
                    code { "lastSignInAt" } " are read past: an export imports as it is. No passwords: imported users sign in through "
                    "an identity provider or get a password later. At most " (thousands(MAX_ROWS as i64)) " rows."
                }
                div.buttons {
                    button type="submit" { "Upload and preview" }
                    a href="/console/users" { "Cancel" }
                }
            }
            p.hint { "Nothing is written until you confirm the preview." }
        },
    )
}

#[handler]
pub(crate) async fn import_form(at: Console<'_>) -> Response {
    at.page(Scope::UsersWrite, move |_conn, s| {
        Ok(Out::Page(upload_page(s, None)))
    })
    .await
}

/// The upload's fields: the CSRF token, the file's name and text (or why it cannot be
/// read).
async fn read_upload(mut m: Multipart) -> (String, String, Result<String, String>) {
    let (mut csrf, mut name, mut text) = (
        String::new(),
        String::new(),
        Err("Choose a CSV file.".to_string()),
    );
    loop {
        let field = match m.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                text = Err("The upload could not be read.".into());
                break;
            }
        };
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => {
                name = field.file_name().unwrap_or("upload.csv").to_string();
                text = match field.bytes().await {
                    Ok(b) if b.len() > MAX_FILE => Err(format!(
                        "The file is larger than {} MB.",
                        MAX_FILE / 1024 / 1024
                    )),
                    Ok(b) if b.is_empty() => Err("The file is empty.".into()),
                    Ok(b) => String::from_utf8(b)
                        .map_err(|_| "The file is not UTF-8 text (save it as “CSV UTF-8”).".into()),
                    Err(_) => Err("The upload could not be read.".into()),
                };
            }
            _ => {}
        }
    }
    (csrf, name, text)
}

/// Read and judge an upload, keep it, and show its preview.
#[handler]
pub(crate) async fn upload(at: Console<'_>, m: Multipart) -> Response {
    let (csrf, name, text) = read_upload(m).await;
    at.form(csrf, Scope::UsersWrite, move |conn, s, _c| {
        let bad = |m: &str| Fail::Page(StatusCode::UNPROCESSABLE_ENTITY, upload_page(s, Some(m)));
        let text = text.map_err(|m| bad(&m))?;
        let mut rows = read_rows(&text).map_err(|m| bad(&m))?;
        if rows.is_empty() {
            return Err(bad("The file has a header but no users."));
        }
        let new_groups = judge(conn, s, &mut rows)?;
        let total = rows.len() as i64;
        let u = Upload {
            name,
            rows,
            new_groups,
        };
        let id = form::keep(conn, s, (IMPORT, PREVIEWED), (&u.name, total), &u)?;
        Ok(Out::Redirect(format!("/console/users/import/{id}")))
    })
    .await
}

/// An upload's preview (`imported`: how many users it added, once confirmed).
fn preview(
    s: &Session,
    id: &str,
    (u, imported): (&Upload, Option<i64>),
    error: Option<&str>,
) -> Markup {
    let bad = u.rows.iter().filter(|r| !r.errors.is_empty()).count();
    let good = u.rows.len() - bad;
    view::page(
        s,
        Nav::Users,
        "Import preview",
        html! {
            p.crumbs { a href="/console/users" { "Users" } " / " a href="/console/users/import" { "Import" } " / " (u.name) }
            h1 { "Import " (u.name) }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            @if let Some(n) = imported {
                p.notice role="status" { "Imported: " (users_count(n)) " added." }
                p { a href="/console/users" { "See the users" } }
            } @else {
                p role="status" id="import-summary" {
                    (users_count(good as i64)) " can be added"
                    @if bad > 0 { "; " (thousands(bad as i64)) " " (if bad == 1 { "row has" } else { "rows have" }) " errors and would be left out" }
                    "."
                    @if !u.new_groups.is_empty() {
                        " Groups to create: " (u.new_groups.join(", ")) "."
                    }
                }
                @if good > 0 {
                    form.inline method="post" action={ "/console/users/import/" (id) } {
                        (view::csrf(s))
                        button type="submit" {
                            @if bad > 0 { "Import the " (users_count(good as i64)) " without errors" }
                            @else { "Import " (users_count(good as i64)) }
                        }
                        " "
                        a href="/console/users/import" { "Upload another file" }
                    }
                    p.hint { "One transaction: every row shown as ready is added, with its groups, or nothing is." }
                } @else {
                    p { a href="/console/users/import" { "Fix the file and upload it again" } }
                }
            }
            table.list.preview {
                thead { tr {
                    th scope="col" { "Line" } th scope="col" { "User name" } th scope="col" { "Email" }
                    th scope="col" { "Name" } th scope="col" { "Groups" } th scope="col" { "Status" }
                } }
                tbody { @for r in u.rows.iter().take(1000) {
                    @let d = &r.data;
                    tr.invalid[!r.errors.is_empty()] {
                        td.num { (r.line) }
                        td { (d.user_name.clone().unwrap_or_default()) }
                        td { (d.primary(MultiAttr::Emails).and_then(|e| e.value.clone()).unwrap_or_default()) }
                        td { (name_of(d)) }
                        td { (r.groups.join(", ")) }
                        td {
                            @if r.errors.is_empty() {
                                @if d.active == Some(false) { "ready (suspended)" } @else { "ready" }
                            } @else {
                                ul.errors { @for e in &r.errors { li { (e) } } }
                            }
                        }
                    }
                } }
            }
            @if u.rows.len() > 1000 { p.hint { "The first 1,000 rows are shown." } }
        },
    )
}

/// An upload's preview, from its row (on whichever instance).
#[handler]
pub(crate) async fn show(at: Console<'_>, Path(id): Path<String>) -> Response {
    at.page(Scope::UsersWrite, move |conn, s| {
        let (u, imported) = kept(conn, s, &id)?;
        Ok(Out::Page(preview(s, &id, (&u, imported), None)))
    })
    .await
}

/// Write upload `id`'s good rows and their groups, in one transaction that first claims the
/// upload (previewed → imported): how many users it made, or `None` when the upload was no
/// longer there to claim (imported already, by this confirmation's twin), writing nothing.
fn write(
    conn: &mut Conn,
    (s, c): (&Session, &Caller<'_>),
    id: &str,
    u: &Upload,
) -> Result<Option<usize>, StoreError> {
    let rows: Vec<&Row> = u.rows.iter().filter(|r| r.errors.is_empty()).collect();
    let data: Vec<&UserData> = rows.iter().map(|r| &r.data).collect();
    directory::write_tx(conn, |conn| {
        let org = &s.principal.org_id;
        let moved = (PREVIEWED, IMPORTED);
        if !work::claim(conn, org, form::owner(s), id, moved, data.len() as i64)? {
            return Ok(None);
        }
        let users = directory::users::create_many(conn, c, &data)?;
        let mut by_group: Vec<(String, Vec<i64>)> = Vec::new();
        for (r, user) in rows.iter().zip(&users) {
            for g in &r.groups {
                match by_group.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(g)) {
                    Some((_, ids)) => ids.push(user.id),
                    None => by_group.push((g.clone(), vec![user.id])),
                }
            }
        }
        let names: Vec<String> = by_group.iter().map(|(n, _)| n.clone()).collect();
        let have = directory::groups::find_by_names(conn, c.org(), &names)?;
        for (name, ids) in by_group {
            match have.get(&name.to_lowercase()) {
                Some(g) => {
                    directory::groups::add_members(conn, c, g.id, &ids)?;
                }
                None => {
                    let data = GroupData {
                        display_name: name,
                        ..GroupData::default()
                    };
                    directory::groups::create(conn, c, &data, &ids)?;
                }
            }
        }
        Ok(Some(users.len()))
    })
}

/// Import a previewed upload (once: a second confirmation, here or on another instance,
/// writes nothing and shows the result), then show its page.
#[handler]
pub(crate) async fn commit(at: Console<'_>, Path(id): Path<String>, p: Pairs) -> Response {
    let csrf = p.get("csrf").to_string();
    at.form(csrf, Scope::UsersWrite, move |conn, s, c| {
        let (u, imported) = kept(conn, s, &id)?;
        if imported.is_none() {
            if let Err(e) = write(conn, (s, c), &id, &u) {
                // The directory changed since the preview (another user took a name):
                // nothing was written; say what, and let the admin upload again.
                let m = match rule_message(e) {
                    Ok((f, m)) => format!(
                        "Nothing was imported: {}: {m} Upload the file again for a fresh preview.",
                        label(f)
                    ),
                    Err(e) => return Err(e.into()),
                };
                return Err(Fail::Page(
                    StatusCode::CONFLICT,
                    preview(s, &id, (&u, None), Some(&m)),
                ));
            }
        }
        Ok(Out::Redirect(format!("/console/users/import/{id}")))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_through_the_parser() {
        let values = [
            "plain",
            "with, comma",
            "with \"quotes\"",
            "two\nlines",
            " padded ",
            "=SUM(A1)",
            "+1 555 0100",
            "-x",
            "@handle",
            "",
        ];
        let line: Vec<String> = values.iter().map(|v| field(v)).collect();
        let text = format!("{}\r\n{}\n", line.join(","), line.join(","));
        let rows = parse(&text).unwrap();
        assert_eq!(rows.len(), 2);
        let back: Vec<&str> = rows[0].iter().map(|v| unguard(v)).collect();
        assert_eq!(back, values);
        // A phone number is not a formula.
        assert_eq!(field("+1 555 0100"), "+1 555 0100");
        assert_eq!(field("=SUM(A1)"), "'=SUM(A1)");
    }

    #[test]
    fn a_bom_blank_lines_and_an_open_quote() {
        let rows = parse("\u{feff}a,b\n\n1,2\n").unwrap();
        assert_eq!(rows, vec![vec!["a", "b"], vec!["1", "2"]]);
        assert!(parse("a\n\"open\n").unwrap_err().contains("line 2"));
    }

    #[test]
    fn rows_are_judged_by_their_columns() {
        let rows = read_rows(
            "User Name,EMAIL,active,groups\nada,ada@example.com,yes,eng; ops\nbob,not an email,maybe,\n,,,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows[0].errors.is_empty(), "{:?}", rows[0].errors);
        assert_eq!(rows[0].groups, vec!["eng", "ops"]);
        assert_eq!(rows[0].data.active, Some(true));
        assert_eq!(rows[1].errors.len(), 2, "{:?}", rows[1].errors);
        assert!(rows[2].errors[0].contains("No userName"));
        assert!(read_rows("nickname\nx\n")
            .unwrap_err()
            .contains("Unknown column"));
    }
}
