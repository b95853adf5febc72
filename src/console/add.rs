//! Adding a user (`/console/users/new`): a login name and/or email and/or phone, names,
//! a title, an optional password (typed, or generated and shown once), optional groups.
//! The user is made by `directory::users::create` and added to the groups in the same
//! transaction, so the rule book (normalisation, uniqueness, refusals) answers exactly as it
//! does every API, and a refusal leaves nothing behind.

use std::collections::BTreeMap;

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::{handler, Request, Response};

use super::form::{self, Pairs};
use super::users::{rule_message, EditForm};
use super::view::{self, Nav};
use super::{Console, Fail, Out};
use crate::auth::session::Session;
use crate::directory::read::{GroupSearch, Groups};
use crate::directory::seam::Dialect;
use crate::directory::{self, Conn, NewPassword, StoreError};
use crate::domain::{id_to_hex, Group, Scope, UserData};

/// Groups offered on the form (the organization's first, by name).
const GROUPS: i64 = 500;
/// The page the form redirects to after a create: it shows a generated password once.
const CREATED: &str = "/console/users/new/created";

/// What the form was filled with.
#[derive(Default)]
struct Filled {
    fields: EditForm,
    password_mode: String,
    groups: Vec<i64>,
}

impl Filled {
    fn of(p: &Pairs) -> Filled {
        Filled {
            fields: EditForm {
                user_name: p.get("user_name").to_string(),
                display_name: p.get("display_name").to_string(),
                given_name: p.get("given_name").to_string(),
                family_name: p.get("family_name").to_string(),
                email: p.get("email").to_string(),
                phone: p.get("phone").to_string(),
                title: p.get("title").to_string(),
                ..EditForm::default()
            },
            password_mode: p.get("password_mode").to_string(),
            groups: p.ids("groups"),
        }
    }
}

/// The organization's groups the form offers, by name.
fn groups(conn: &mut Conn, s: &Session) -> Result<Vec<Group>, Fail> {
    let (mut gs, _) =
        directory::groups::search(conn, &s.principal.org_id, &GroupSearch::page(0, GROUPS))?;
    gs.sort_by_key(|g| g.data.display_name.to_lowercase());
    Ok(gs)
}

fn render(
    s: &Session,
    f: &Filled,
    errors: &BTreeMap<&'static str, String>,
    groups: &[Group],
) -> Markup {
    let x = &f.fields;
    let mode = if f.password_mode.is_empty() {
        "none"
    } else {
        f.password_mode.as_str()
    };
    let radio = |value: &str, label: &str| {
        html! {
            label.check {
                input type="radio" name="password_mode" value=(value) checked[mode == value];
                " " (label)
            }
        }
    };
    view::page(
        s,
        Nav::Users,
        "Add user",
        html! {
            p.crumbs { a href="/console/users" { "Users" } " / Add user" }
            h1 { "Add user" }
            @if !errors.is_empty() {
                p.error role="alert" { "The user was not added: see the messages below." }
            }
            form.card.wide method="post" action="/console/users/new" novalidate {
                (view::csrf(s))
                p.hint { "A user signs in with their user name, email or phone number: give at least one. \
                          The same rules apply as in every API (unique in the organization, trimmed, no look-alike letters)." }
                div.grid2 { (x.inputs(errors)) }
                fieldset.field.invalid[errors.contains_key("password")] {
                    legend { "Password" }
                    (radio("none", "None: the user signs in through an identity provider, or gets one later"))
                    (radio("set", "Set one now:"))
                    @if let Some(e) = errors.get("password") {
                        input id="f-password" name="password" type="password" autocomplete="new-password"
                            aria-label="Password" aria-invalid="true" aria-describedby="f-password-error";
                        span.message id="f-password-error" role="alert" { (e) }
                    } @else {
                        input id="f-password" name="password" type="password" autocomplete="new-password"
                            aria-label="Password";
                    }
                    (radio("generate", "Generate one (shown once, after the user is added)"))
                    p.hint { "At least 8 characters, not only spaces, not the user's own name or email." }
                }
                @if !groups.is_empty() {
                    div.field {
                        label for="f-groups" { "Groups" }
                        select id="f-groups" name="groups" multiple size=(groups.len().clamp(2, 8)) {
                            @for g in groups {
                                option value=(id_to_hex(g.id)) selected[f.groups.contains(&g.id)] { (g.data.display_name) }
                            }
                        }
                        span.hint { "Optional. Ctrl- or ⌘-click to choose several." }
                    }
                }
                div.buttons {
                    button type="submit" { "Add user" }
                    a href="/console/users" { "Cancel" }
                }
            }
        },
    )
}

#[handler]
pub(crate) async fn new_form(at: Console<'_>) -> Response {
    at.page(Scope::UsersWrite, move |conn, s| {
        let gs = groups(conn, s)?;
        Ok(Out::Page(render(
            s,
            &Filled::default(),
            &BTreeMap::new(),
            &gs,
        )))
    })
    .await
}

#[handler]
pub(crate) async fn submit(at: Console<'_>, p: Pairs) -> Response {
    let f = Filled::of(&p);
    let csrf = p.get("csrf").to_string();
    let typed = p.get("password").to_string();
    // A generated password is made before the trip, so that the redirect can carry it.
    let generated =
        (f.password_mode == "generate").then(|| crate::auth::generate_secret("")[..20].to_string());
    let plain = match f.password_mode.as_str() {
        "set" => Some(typed),
        "generate" => generated.clone(),
        _ => None,
    };
    let state = at.state.clone();
    let hashing = plain.is_some();
    let at = if hashing { at.hashing() } else { at };
    let mut resp = at
        .form(csrf, Scope::UsersWrite, move |conn, s, c| {
            let mut errors = f.fields.check();
            // Active from the start, as every API makes a user.
            let reg = c.schemas(conn)?;
            let data = f
                .fields
                .apply(
                    &UserData {
                        active: Some(true),
                        ..UserData::default()
                    },
                    reg.user(),
                )
                .map_err(|_| Fail::Internal)?;
            let x = &f.fields;
            if [&x.user_name, &x.email, &x.phone]
                .iter()
                .all(|v| v.trim().is_empty())
            {
                errors.entry("user_name").or_insert_with(|| {
                    "Give a user name, an email or a phone number to sign in with.".into()
                });
            }
            if f.password_mode == "set" {
                if let Err(m) =
                    directory::passwords::check_chosen(plain.as_deref().unwrap_or(""), &data)
                {
                    errors.insert("password", m);
                }
            }
            if errors.is_empty() {
                // Hashed before the transaction opens (no lock held while bcrypt runs).
                let hash = plain
                    .map(|p| directory::hash_password(conn, NewPassword::Plain(p), c.bcrypt_cost))
                    .transpose()?;
                let made = directory::write_tx(conn, |conn| {
                    let u =
                        directory::users::create(conn, c, &data, hash.map(NewPassword::Digest))?;
                    for g in &f.groups {
                        directory::groups::add_members(conn, c, *g, &[u.id])?;
                    }
                    Ok::<_, StoreError>(u)
                });
                match made {
                    Ok(u) => return Ok(Out::Redirect(format!("{CREATED}?id={}", id_to_hex(u.id)))),
                    // A group deleted since the form was shown.
                    Err(StoreError::NotFound) => {
                        errors.insert("groups", "A chosen group no longer exists.".into());
                    }
                    Err(e) => {
                        let (field, m) = rule_message(e)?;
                        errors.insert(field, m);
                    }
                }
            }
            let gs = groups(conn, s)?;
            Err(Fail::Page(
                StatusCode::UNPROCESSABLE_ENTITY,
                render(s, &f, &errors, &gs),
            ))
        })
        .await;
    if let Some(g) = &generated {
        form::flash(&state, &mut resp, CREATED, g);
    }
    resp
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct CreatedQuery {
    id: String,
}

/// After a create: the new user, and their generated password once (from the flash cookie,
/// cleared by this response: a reload shows it no more).
#[handler]
pub(crate) async fn created(
    at: Console<'_>,
    req: &Request,
    poem::web::Query(q): poem::web::Query<CreatedQuery>,
) -> Response {
    let secret = form::flashed(req);
    let shown = secret.is_some();
    let state = at.state.clone();
    let mut resp = at
        .page(Scope::UsersRead, move |conn, s| {
            let uid = Fail::id(&q.id, "page")?;
            let v = directory::users::get(conn, &s.principal.org_id, uid, Groups::Load)?;
            let name = v.user.shown_name();
            let hex = id_to_hex(uid);
            Ok(Out::Page(view::page(
                s,
                Nav::Users,
                "User added",
                html! {
                    p.crumbs { a href="/console/users" { "Users" } " / " (name) }
                    h1 { "User added" }
                    p.notice role="status" { (name) " was added. Every API sees them now." }
                    @if let Some(secret) = &secret {
                        div.secret role="status" {
                            p { "Their password (shown only now):" }
                            code id="generated-secret" { (secret) }
                            button.copy type="button" data-copy="generated-secret" hidden { "Copy" }
                        }
                    }
                    @let groups = v.groups.unwrap_or_default();
                    @if !groups.is_empty() {
                        p { "Groups: " @for (i, g) in groups.iter().enumerate() {
                            @if i > 0 { ", " } (g.display_name)
                        } }
                    }
                    p.buttons {
                        a.button href={ "/console/users/" (hex) } { "Open " (name) }
                        a.button.secondary href="/console/users/new" { "Add another user" }
                        a href="/console/users" { "Back to users" }
                    }
                },
            )))
        })
        .await;
    if shown {
        form::clear_flash(&state, &mut resp, CREATED);
    }
    resp
}
