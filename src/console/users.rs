//! A user's page (profile, edit, suspend / reactivate, password, delete, activity); the
//! list is `user_list.rs`.

use std::collections::BTreeMap;

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::{Form, Path, Query};
use poem::{handler, Response};
use serde::Deserialize;

use super::confirm;
use super::delete::Deletable;
use super::extensions;
use super::flash::Flash;
use super::view::{self, CsrfOnly, Nav};
use super::{Console, Fail, Out};
use crate::auth::session::Session;
use crate::directory::read::Groups;
use crate::directory::seam::Dialect;
use crate::directory::{self, Expect, NewPassword};
use crate::directory::{Caller, Conn, StoreError, StoreResult};
use crate::domain::{
    id_to_hex, AuditEntry, GroupRef, Identity, MultiAttr, Scope, UniqueField, User, UserData,
};

/// Activity entries on a user's page.
const ACTIVITY: i64 = 20;

fn notice_of(done: &str) -> Option<&'static str> {
    Some(match done {
        "saved" => "Changes saved.",
        "suspended" => "User suspended.",
        "reactivated" => "User reactivated.",
        "password" => "Password set.",
        "identity" => "Identity removed.",
        "deleted" => "User deleted.",
        "admin" => "The user is now an administrator.",
        "unadmin" => "The user is no longer an administrator.",
        "joined" => "Added to the groups.",
        "left" => "Removed from the group.",
        "role" => "Role given.",
        "unrole" => "Role taken.",
        _ => return None,
    })
}

fn primary_value(d: &UserData, attr: MultiAttr) -> String {
    d.primary(attr)
        .and_then(|v| v.value.clone())
        .unwrap_or_default()
}

fn attr_label(a: MultiAttr) -> &'static str {
    match a {
        MultiAttr::Emails => "Email",
        MultiAttr::PhoneNumbers => "Phone",
        MultiAttr::Ims => "Messaging",
        MultiAttr::Photos => "Photo",
        MultiAttr::Addresses => "Address",
        MultiAttr::Entitlements => "Entitlement",
        MultiAttr::X509Certificates => "Certificate",
    }
}

fn badge(active: bool) -> Markup {
    html! {
        @if active {
            span.badge.active { "Active" }
        } @else {
            span.badge.suspended { "Suspended" }
        }
    }
}

/// What a user's page shows.
struct UserPage {
    user: User,
    groups: Vec<GroupRef>,
    identities: Vec<Identity>,
    activity: Vec<AuditEntry>,
    /// The names of the users, groups and credentials its activity mentions.
    names: view::Names,
    /// The organization's schemas (its extensions' attributes get inputs by type).
    schemas: std::sync::Arc<crate::scim::schema::Registry>,
    /// The groups and roles the page offers.
    choices: super::memberships::Choices,
}

fn load(conn: &mut Conn, s: &Session, uid: i64) -> Result<UserPage, Fail> {
    let org = &s.principal.org_id;
    let v = directory::users::get(conn, org, uid, Groups::Load)?;
    let identities = directory::identities::of_user(conn, uid)?;
    let activity = directory::audit::list(conn, org, Some(uid), ACTIVITY)?;
    let names = view::names_of(conn, org, &activity)?;
    let schemas = directory::schemas::registry(conn, org, s.principal.schemas_version)?;
    let choices = super::memberships::choices(conn, s)?;
    Ok(UserPage {
        choices,
        user: v.user,
        groups: v.groups.unwrap_or_default(),
        identities,
        activity,
        names,
        schemas,
    })
}

/// The edit form's values and their messages.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct EditForm {
    pub(crate) csrf: String,
    /// The version of the user the form was filled from: a save made against an older one
    /// is refused ("changed since you opened it") instead of undoing the change between.
    pub(crate) version: String,
    pub(crate) user_name: String,
    pub(crate) display_name: String,
    pub(crate) given_name: String,
    pub(crate) family_name: String,
    pub(crate) email: String,
    pub(crate) phone: String,
    pub(crate) title: String,
    /// Extension attributes, as `x.<urn>:<attribute>` (the single-valued simple ones of the
    /// organization's registered extensions; docs/scim-extensions.md).
    #[serde(flatten)]
    pub(crate) extensions: BTreeMap<String, String>,
}

impl EditForm {
    fn of(u: &User, rt: &crate::scim::schema::ResourceType) -> EditForm {
        let d = &u.data;
        EditForm {
            csrf: String::new(),
            version: u.version.to_string(),
            user_name: d.user_name.clone().unwrap_or_default(),
            display_name: d.display_name.clone().unwrap_or_default(),
            given_name: d.name.given.clone().unwrap_or_default(),
            family_name: d.name.family.clone().unwrap_or_default(),
            email: primary_value(d, MultiAttr::Emails),
            phone: primary_value(d, MultiAttr::PhoneNumbers),
            title: d.title.clone().unwrap_or_default(),
            extensions: extensions::values(rt, &d.extensions),
        }
    }

    /// The form's inputs (the edit form's, and the add form's), each with its message.
    pub(crate) fn inputs(&self, errors: &BTreeMap<&'static str, String>) -> Markup {
        html! {
            (view::field("User name", "user_name", "text", &self.user_name, errors.get("user_name")))
            (view::field("Display name", "display_name", "text", &self.display_name, errors.get("display_name")))
            (view::field("Given name", "given_name", "text", &self.given_name, errors.get("given_name")))
            (view::field("Family name", "family_name", "text", &self.family_name, errors.get("family_name")))
            (view::field("Email (primary)", "email", "email", &self.email, errors.get("email")))
            (view::field("Phone (primary)", "phone", "tel", &self.phone, errors.get("phone")))
            (view::field("Title", "title", "text", &self.title, errors.get("title")))
        }
    }

    /// The version the form was filled from; a form without one (not one this console
    /// served) is made against whatever is current.
    fn expect(&self) -> Expect {
        super::expected_version(&self.version)
    }

    /// Messages by field name; empty when the form is good. Whether a user name is needed
    /// is the directory's rule (`domain::rules::prepare`): a user made without one (by
    /// Domo, Sumo Logic, Adobe) is saved without one.
    pub(crate) fn check(&self) -> BTreeMap<&'static str, String> {
        let mut e = BTreeMap::new();
        let text = |v: &str| v.len() > 255 || v.chars().any(|c| c.is_control());
        for (name, v) in [
            ("user_name", &self.user_name),
            ("display_name", &self.display_name),
            ("given_name", &self.given_name),
            ("family_name", &self.family_name),
            ("title", &self.title),
        ] {
            if text(v) {
                e.entry(name).or_insert_with(|| {
                    "At most 255 characters, without control characters.".to_string()
                });
            }
        }
        let email = self.email.trim();
        if !email.is_empty() {
            let ok = email.len() <= 254
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
                && email
                    .split_once('@')
                    .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.contains('@'));
            if !ok {
                e.insert(
                    "email",
                    "Enter an email address such as ada@example.com.".to_string(),
                );
            }
        }
        let phone = self.phone.trim();
        if !phone.is_empty()
            && (phone.len() > 32
                || !phone.chars().any(|c| c.is_ascii_digit())
                || !phone
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c)))
        {
            e.insert(
                "phone",
                "Digits, spaces and + - ( ) . only, up to 32 characters.".to_string(),
            );
        }
        e
    }

    /// The user's data with this form's fields applied (an error names the extension
    /// attribute whose text is not what its type takes).
    pub(crate) fn apply(
        &self,
        d: &UserData,
        rt: &crate::scim::schema::ResourceType,
    ) -> Result<UserData, String> {
        let opt = |v: &str| {
            let v = v.trim();
            (!v.is_empty()).then(|| v.to_string())
        };
        let mut d = d.clone();
        d.user_name = opt(&self.user_name);
        d.display_name = opt(&self.display_name);
        d.name.given = opt(&self.given_name);
        d.name.family = opt(&self.family_name);
        d.title = opt(&self.title);
        d.set_primary_email(opt(&self.email));
        d.set_primary(MultiAttr::PhoneNumbers, opt(&self.phone), Some("work"));
        // Extension fields as text: the directory types them by the registry ("7" for an
        // integer, "true" for a boolean), as it does a SCIM client's.
        extensions::apply(rt, &self.extensions, &mut d.extensions)?;
        Ok(d)
    }
}

/// Replace the primary (else first) value of `attr`, add one, or remove it when `value` is
/// `None`; the other values stay as they are.
/// What a save made against an older version of the user shows, above the fresh values.
const STALE: &str = "This user was changed since you opened it (by another admin or an \
     identity provider). The form now shows the current values: make your change again.";

/// A write's refusal by the directory's rules as a form's message, by the field it is
/// about (the edit form's names); any other error as it is.
pub(crate) fn rule_message(e: StoreError) -> Result<(&'static str, String), StoreError> {
    Ok(match e {
        StoreError::Taken(field) => {
            let name = match field {
                UniqueField::LoginName => "user_name",
                UniqueField::Email => "email",
                UniqueField::Phone => "phone",
            };
            let m = format!(
                "Another user of the organization has this {}.",
                field.label()
            );
            (name, m)
        }
        StoreError::Refused(r) => (form_field(r.field), sentence(&r.message)),
        // An extension value's error names its attribute (`urn:…:level must be …`).
        StoreError::Conflict(m) | StoreError::Invalid(m) if m.starts_with("urn:") => {
            ("extensions", sentence(&m))
        }
        StoreError::Conflict(m) | StoreError::Invalid(m) => ("user_name", m),
        e => return Err(e),
    })
}

/// The edit form's field for a field as the directory's rules name it (SCIM's names).
fn form_field(rule_field: &str) -> &'static str {
    match rule_field {
        "emails" => "email",
        "phoneNumbers" => "phone",
        "displayName" => "display_name",
        "name.givenName" => "given_name",
        "name.familyName" => "family_name",
        "title" => "title",
        _ => "user_name",
    }
}

/// A rule's message as a sentence for a form.
fn sentence(m: &str) -> String {
    let mut c = m.chars();
    let first: String = c
        .next()
        .map(|f| f.to_uppercase().collect())
        .unwrap_or_default();
    let rest: String = c.collect();
    if rest.ends_with('.') {
        format!("{first}{rest}")
    } else {
        format!("{first}{rest}.")
    }
}
/// Is the extension attribute `urn:name` one never returned (nor shown here)?
fn never_shown(reg: &crate::scim::schema::Registry, urn: &str, name: &str) -> bool {
    reg.user()
        .extension(urn)
        .and_then(|e| e.schema.attribute(name))
        .is_some_and(|a| a.returned == crate::scim::schema::Returned::Never)
}

/// Inputs for the organization's user extension attributes, by type.
fn extension_fields(p: &UserPage, form: &EditForm, error: Option<&String>) -> Markup {
    extensions::inputs(p.schemas.user(), &form.extensions, error)
}

#[derive(Default)]
struct Shown<'a> {
    edit: Option<(&'a EditForm, &'a BTreeMap<&'static str, String>)>,
    /// A message about the whole form (the user changed meanwhile).
    error: Option<&'a str>,
    password_error: Option<String>,
    /// The admin's own password, asked again to change it, was wrong.
    reauth_error: Option<String>,
    generated: Option<String>,
    notice: Option<&'a str>,
}

fn render_user(s: &Session, p: &UserPage, shown: Shown<'_>) -> Markup {
    let u = &p.user;
    let d = &u.data;
    let hex = id_to_hex(u.id);
    let base = format!("/console/users/{hex}");
    let current = EditForm::of(u, p.schemas.user());
    let no_errors = BTreeMap::new();
    let (form, errors) = shown.edit.unwrap_or((&current, &no_errors));
    let title = u.shown_name();
    let yourself = s.principal.user_id == Some(u.id);
    let row = |label: &str, v: Option<&str>| {
        html! {
            @if let Some(v) = v.filter(|v| !v.is_empty()) {
                dt { (label) } dd { (v) }
            }
        }
    };
    let e = &d.enterprise;
    view::page(
        s,
        Nav::Users,
        &title,
        html! {
            p.crumbs { a href="/console/users" { "Users" } " / " (title)
                " · " a href={ (base) "/apis" } { "How each API sees this user" } }
            h1 { (title) " " (badge(d.is_active())) }
            (view::notice(shown.notice))
            @if let Some(e) = shown.error {
                p.error role="alert" { (e) }
            }
            @if let Some(secret) = &shown.generated {
                div.secret role="status" {
                    p { "New password (shown only now):" }
                    code id="generated-secret" { (secret) }
                    button.copy type="button" data-copy="generated-secret" hidden { "Copy" }
                }
            }
            div.columns {
                section aria-labelledby="profile-h" {
                    h2 id="profile-h" { "Profile" }
                    dl.profile {
                        dt { "Id" } dd { code { (hex) } }
                        (row("User name", d.user_name.as_deref()))
                        (row("Display name", d.display_name.as_deref()))
                        (row("Formatted name", d.name.formatted.as_deref()))
                        (row("Given name", d.name.given.as_deref()))
                        (row("Middle name", d.name.middle.as_deref()))
                        (row("Family name", d.name.family.as_deref()))
                        (row("Nick name", d.nick_name.as_deref()))
                        (row("Title", d.title.as_deref()))
                        (row("User type", d.user_type.as_deref()))
                        (row("External id", d.external_id.as_deref()))
                        (row("Preferred language", d.preferred_language.as_deref()))
                        (row("Locale", d.locale.as_deref()))
                        (row("Time zone", d.timezone.as_deref()))
                        (row("Profile URL", d.profile_url.as_deref()))
                        @for (attr, v) in &d.values {
                            dt { (attr_label(*attr)) @if let Some(k) = &v.kind { " (" (k) ")" } }
                            dd {
                                (v.value.clone().or_else(|| v.address.as_ref().and_then(|a| a.formatted.clone())).unwrap_or_default())
                                @if v.primary == Some(true) { " " span.tag { "primary" } }
                            }
                        }
                        (row("Employee number", e.employee_number.as_deref()))
                        (row("Cost center", e.cost_center.as_deref()))
                        (row("Organization", e.organization.as_deref()))
                        (row("Division", e.division.as_deref()))
                        (row("Department", e.department.as_deref()))
                        (row("Manager", e.manager.as_deref()))
                        dt { "Password" } dd { @if u.has_password { "set" } @else { "none" } }
                        dt { "Created" } dd { (view::time(&u.created_at)) " in " (view::dialect_label(u.created_by.as_deref())) }
                        dt { "Last changed" } dd { (view::time(&u.updated_at)) " in " (view::dialect_label(u.modified_by.as_deref())) }
                        dt { "Version" } dd { (u.version) }
                    }
                    (super::memberships::section(s, u.id, d, &p.groups, &p.choices))
                    h3 { "Identities" }
                    @if p.identities.is_empty() { p.empty { "None." } }
                    ul.identities { @for i in &p.identities { li {
                        (i.target) ": " code { (i.external_user_id) } " "
                        a.subtle href={ (base) "/identities/remove?target=" (super::query_escape(&i.target)) }
                            aria-label={ "Remove identity " (i.target) } { "Remove…" }
                    } } }
                    h3 { "Custom data" }
                    pre.json { (serde_json::to_string_pretty(&d.vendor.custom_data).unwrap_or_default()) }
                    @if !d.extensions.is_empty() {
                        h3 { "Schema extensions" }
                        @for (urn, obj) in &d.extensions {
                            p.urn { code { (urn) }
                                @if p.schemas.user().extension(urn).is_none() { " " span.tag { "not registered: kept as sent" } } }
                            dl.profile { @for (k, v) in obj.as_object().into_iter().flatten() {
                                @if !never_shown(&p.schemas, urn, k) {
                                    dt { (k) } dd { (extensions::text(v)) }
                                }
                            } }
                        }
                    }
                }
                section aria-labelledby="edit-h" {
                    h2 id="edit-h" { "Edit" }
                    form.card method="post" action=(base) novalidate {
                        (view::csrf(s))
                        input type="hidden" name="version" value=(form.version);
                        (form.inputs(errors))
                        (extension_fields(p, form, errors.get("extensions")))
                        button type="submit" { "Save changes" }
                    }
                    h2 { "Status" }
                    form.inline method="post" action={ (base) "/active" } {
                        (view::csrf(s))
                        @if d.is_active() && yourself {
                            p.hint { "You cannot suspend yourself; another administrator can." }
                        } @else if d.is_active() {
                            a.button.warn href={ (base) "/active?to=false" } { "Suspend…" }
                        } @else {
                            input type="hidden" name="active" value="true";
                            button type="submit" { "Reactivate" }
                        }
                    }
                    h2 { "Password" }
                    form.card method="post" action={ (base) "/password" } novalidate {
                        (view::csrf(s))
                        @if yourself {
                            (super::confirm::reauth_field(s, shown.reauth_error.as_deref()))
                        }
                        div.field.invalid[shown.password_error.is_some()] {
                            label for="f-new-password" { "New password" }
                            @if let Some(m) = &shown.password_error {
                                input id="f-new-password" name="password" type="password" autocomplete="new-password"
                                    aria-invalid="true" aria-describedby="f-new-password-error";
                                span.message id="f-new-password-error" role="alert" { (m) }
                            } @else {
                                input id="f-new-password" name="password" type="password" autocomplete="new-password";
                            }
                        }
                        div.buttons {
                            button type="submit" name="mode" value="set" { "Set password" }
                            button type="submit" name="mode" value="generate" { "Generate one" }
                        }
                    }
                    h2 { "Administrator" }
                    @if !d.roles.iter().any(|r| r.name.eq_ignore_ascii_case(directory::roles::ADMIN_ROLE)) {
                        p { a.button href={ (base) "/admin" } { "Make administrator…" } }
                        p.hint { "Gives the Administrator role (orgs:admin): they can then sign in here." }
                    } @else if s.principal.user_id == Some(u.id) {
                        p.hint { "You are an administrator. Another administrator can take the role from you." }
                    } @else {
                        p { a.button.warn href={ (base) "/admin/revoke" } { "Remove administrator…" } }
                        p.hint { "Takes the Administrator role: their console sessions end at once." }
                    }
                    h2 { "Delete" }
                    @if yourself { p.hint { "You cannot delete yourself; another administrator can." } }
                    @else { p { a.danger href={ (base) "/delete" } { "Delete this user…" } } }
                }
            }
            section aria-labelledby="activity-h" {
                h2 id="activity-h" { "Activity" }
                @if p.activity.is_empty() { p.empty { "No activity recorded." } }
                @else {
                    (view::activity_table(&p.activity, "activity-h", &p.names))
                    p { a href={ "/console/activity?user=" (hex) } { "All of this user's activity" } }
                }
            }
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Done {
    done: String,
}

#[handler]
pub(crate) async fn show(
    at: Console<'_>,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Response {
    // A password generated by the form that redirected here: shown this once.
    let generated = at.flash().filter(|f| f.kind == "password").map(|f| f.text);
    at.page(Scope::UsersRead, move |conn, s| {
        let p = load(conn, s, Fail::id(&id, "page")?)?;
        let notice = notice_of(&q.done);
        Ok(Out::Page(render_user(
            s,
            &p,
            Shown {
                notice,
                generated,
                ..Default::default()
            },
        )))
    })
    .await
}

#[handler]
pub(crate) async fn edit(
    at: Console<'_>,
    Path(id): Path<String>,
    Form(f): Form<EditForm>,
) -> Response {
    at.form(f.csrf.clone(), Scope::UsersWrite, move |conn, s, c| {
        let uid = Fail::id(&id, "page")?;
        let mut errors = f.check();
        let mut stale = false;
        if errors.is_empty() {
            let reg = directory::schemas::registry(
                conn,
                &s.principal.org_id,
                s.principal.schemas_version,
            )?;
            let r = directory::users::update(conn, c, uid, &f.expect(), None, |u| {
                f.apply(&u.data, reg.user()).map_err(StoreError::Invalid)
            });
            match r {
                Ok(_) => return Ok(Out::Redirect(format!("/console/users/{id}?done=saved"))),
                Err(StoreError::VersionMismatch) => stale = true,
                Err(e) => {
                    let (field, m) = rule_message(e)?;
                    errors.insert(field, m);
                }
            }
        }
        let p = load(conn, s, uid)?;
        if stale {
            // The fresh values, with their version: what the admin saves next is made
            // against what they now see.
            let fresh = EditForm::of(&p.user, p.schemas.user());
            let page = render_user(
                s,
                &p,
                Shown {
                    edit: Some((&fresh, &errors)),
                    error: Some(STALE),
                    ..Default::default()
                },
            );
            return Err(Fail::Page(StatusCode::CONFLICT, page));
        }
        Err(Fail::Page(
            StatusCode::UNPROCESSABLE_ENTITY,
            render_user(
                s,
                &p,
                Shown {
                    edit: Some((&f, &errors)),
                    ..Default::default()
                },
            ),
        ))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ActiveForm {
    csrf: String,
    active: String,
}

#[handler]
pub(crate) async fn set_active(
    at: Console<'_>,
    Path(id): Path<String>,
    Form(f): Form<ActiveForm>,
) -> Response {
    at.form(f.csrf.clone(), Scope::UsersWrite, move |conn, s, c| {
        let uid = Fail::id(&id, "page")?;
        if f.active == "false" && s.principal.user_id == Some(uid) {
            let back = format!("/console/users/{id}");
            let why = confirm::NOT_YOURSELF_SUSPEND;
            return Err(confirm::refused(
                s,
                Nav::Users,
                "Suspend yourself?",
                why,
                &back,
            ));
        }
        let active = match f.active.as_str() {
            "true" => true,
            "false" => false,
            _ => {
                return Err(Fail::Page(
                    StatusCode::BAD_REQUEST,
                    view::bare(
                        "Bad request",
                        html! { p.error { "active must be true or false." } },
                    ),
                ))
            }
        };
        directory::users::set_active(conn, c, uid, active)?;
        let done = if active { "reactivated" } else { "suspended" };
        Ok(Out::Redirect(format!("/console/users/{id}?done={done}")))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PasswordForm {
    csrf: String,
    mode: String,
    password: String,
    /// The admin's own password, when they change it (`confirm::reauthenticate`).
    current_password: String,
}

#[handler]
pub(crate) async fn password(
    at: Console<'_>,
    Path(id): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Response {
    let throttle = at.state.throttle.clone();
    at.hashing()
        .form(f.csrf.clone(), Scope::UsersWrite, move |conn, s, c| {
            let uid = Fail::id(&id, "page")?;
            // Your own password: asked again first (a stolen session cannot take the
            // account over by changing it).
            if s.principal.user_id == Some(uid)
                && !confirm::reauthenticate(conn, s, &throttle, &f.current_password)?
            {
                let p = load(conn, s, uid)?;
                let shown = Shown {
                    reauth_error: Some(confirm::WRONG_PASSWORD.to_string()),
                    ..Default::default()
                };
                let page = render_user(s, &p, shown);
                return Err(Fail::Page(StatusCode::UNAUTHORIZED, page));
            }
            let (plain, generated) = match f.mode.as_str() {
                "generate" => {
                    let p = crate::auth::generate_secret("")[..20].to_string();
                    (Ok(p.clone()), Some(p))
                }
                _ => {
                    let v = directory::users::get(conn, &s.principal.org_id, uid, Groups::Skip)?;
                    let chosen = directory::passwords::check_chosen(&f.password, &v.user.data);
                    (chosen.map(|_| f.password.clone()), None)
                }
            };
            let error = match plain {
                Ok(plain) => {
                    directory::users::set_password(conn, c, uid, NewPassword::Plain(plain))?;
                    // The directory ends the user's console sessions with their old
                    // password (as for a change through any API).
                    // The page it leads to shows a generated one once (a flash): a reload
                    // there posts nothing again.
                    let to = format!("/console/users/{id}?done=password");
                    return Ok(match generated {
                        None => Out::Redirect(to),
                        Some(text) => Out::Flash(
                            to,
                            Flash {
                                to: format!("/console/users/{id}"),
                                kind: "password".into(),
                                text,
                                about: String::new(),
                            },
                        ),
                    });
                }
                Err(m) => Some(m),
            };
            let p = load(conn, s, uid)?;
            let page = render_user(
                s,
                &p,
                Shown {
                    password_error: error,
                    ..Default::default()
                },
            );
            Err(Fail::Page(StatusCode::UNPROCESSABLE_ENTITY, page))
        })
        .await
}

/// Users, as the console deletes one.
pub(crate) struct Users;

impl Deletable for Users {
    const LIST: &'static str = "users";
    const NAV: Nav = Nav::Users;
    const TITLE: &'static str = "Delete user";
    const CONSEQUENCE: &'static str = "The user is removed from every dialect at once, with \
        their group memberships, roles and identities. This cannot be undone.";

    fn name(conn: &mut Conn, s: &Session, id: i64) -> Result<String, Fail> {
        if s.principal.user_id == Some(id) {
            let back = format!("/console/users/{}", id_to_hex(id));
            let why = confirm::NOT_YOURSELF_DELETE;
            return Err(confirm::refused(
                s,
                Nav::Users,
                "Delete yourself?",
                why,
                &back,
            ));
        }
        user_name(conn, s, id)
    }

    fn delete(conn: &mut Conn, c: &Caller<'_>, id: i64) -> StoreResult<()> {
        if c.principal.user_id == Some(id) {
            return Err(StoreError::Forbidden(confirm::NOT_YOURSELF_DELETE.into()));
        }
        directory::users::delete(conn, c, id, &Expect::Any)
    }
}

/// The shown name of user `uid` of the session's organization.
fn user_name(conn: &mut Conn, s: &Session, uid: i64) -> Result<String, Fail> {
    let v = directory::users::get(conn, &s.principal.org_id, uid, Groups::Skip)?;
    Ok(v.user.shown_name())
}

/// The confirmation page of an action on user `id` (`ask` fills in the rest).
async fn ask_about(
    at: Console<'_>,
    id: String,
    ask: impl FnOnce(&Session, i64, String, String) -> Result<confirm::Ask, Fail> + Send + 'static,
) -> Response {
    at.page(Scope::UsersWrite, move |conn, s| {
        let uid = Fail::id(&id, "page")?;
        let name = user_name(conn, s, uid)?;
        let a = ask(s, uid, name, format!("/console/users/{id}"))?;
        Ok(Out::Page(confirm::page(s, &a)))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ActiveQuery {
    to: String,
}

/// "Suspend …?" (and "Reactivate …?" for a link that asks it).
#[handler]
pub(crate) async fn confirm_active(
    at: Console<'_>,
    Path(id): Path<String>,
    Query(q): Query<ActiveQuery>,
) -> Response {
    ask_about(at, id, move |s, uid, name, base| {
        let suspend = q.to != "true";
        if suspend && s.principal.user_id == Some(uid) {
            let why = confirm::NOT_YOURSELF_SUSPEND;
            return Err(confirm::refused(s, Nav::Users, "Suspend yourself?", why, &base));
        }
        let (title, consequence, button) = if suspend {
            (
                format!("Suspend {name}?"),
                "They can no longer sign in anywhere, and every API shows them suspended (SCIM active: false, Logto isSuspended). Their console sessions end at once. You can reactivate them later.",
                format!("Suspend {name}"),
            )
        } else {
            (
                format!("Reactivate {name}?"),
                "They can sign in again.",
                format!("Reactivate {name}"),
            )
        };
        Ok(confirm::Ask {
            nav: Nav::Users,
            title,
            consequence: html! { p { (consequence) } },
            action: format!("{base}/active"),
            hidden: vec![("active", (!suspend).to_string())],
            fields: html! {},
            button,
            cancel: base,
            reauth: false,
            error: None,
        })
    })
    .await
}

fn grant_admin_ask(name: &str, base: String, error: Option<String>) -> confirm::Ask {
    confirm::Ask {
        nav: Nav::Users,
        title: format!("Make {name} an administrator?"),
        consequence: html! {
            p { "They get the Administrator role (orgs:admin): they can sign in to this console and do everything you can, including making and removing administrators and credentials." }
        },
        action: format!("{base}/admin"),
        hidden: vec![],
        fields: html! {},
        button: format!("Make {name} an administrator"),
        cancel: base,
        reauth: true,
        error,
    }
}

#[handler]
pub(crate) async fn confirm_grant_admin(at: Console<'_>, Path(id): Path<String>) -> Response {
    ask_about(at, id, |_, _, name, base| {
        Ok(grant_admin_ask(&name, base, None))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ReauthForm {
    csrf: String,
    current_password: String,
}

/// Give the user the Administrator role (`directory::roles::grant_admin`), once the admin
/// has given their password again.
#[handler]
pub(crate) async fn grant_admin(
    at: Console<'_>,
    Path(id): Path<String>,
    Form(f): Form<ReauthForm>,
) -> Response {
    let throttle = at.state.throttle.clone();
    at.hashing()
        .form(f.csrf, Scope::OrgsAdmin, move |conn, s, c| {
            let uid = Fail::id(&id, "page")?;
            if !confirm::reauthenticate(conn, s, &throttle, &f.current_password)? {
                let name = user_name(conn, s, uid)?;
                let error = Some(confirm::WRONG_PASSWORD.to_string());
                let ask = grant_admin_ask(&name, format!("/console/users/{id}"), error);
                return Err(Fail::Page(StatusCode::UNAUTHORIZED, confirm::page(s, &ask)));
            }
            match directory::roles::grant_admin(conn, c, uid) {
                Ok(_) => Ok(Out::Redirect(format!("/console/users/{id}?done=admin"))),
                Err(StoreError::Invalid(m)) => Err(Fail::Page(
                    StatusCode::CONFLICT,
                    view::bare("Conflict", html! { p.error role="alert" { (m) } }),
                )),
                Err(e) => Err(e.into()),
            }
        })
        .await
}

#[handler]
pub(crate) async fn confirm_revoke_admin(at: Console<'_>, Path(id): Path<String>) -> Response {
    ask_about(at, id, |s, uid, name, base| {
        if s.principal.user_id == Some(uid) {
            let why = confirm::NOT_YOURSELF_DEMOTE;
            return Err(confirm::refused(s, Nav::Users, "Remove your own role?", why, &base));
        }
        Ok(confirm::Ask {
            nav: Nav::Users,
            title: format!("Remove {name} as an administrator?"),
            consequence: html! { p { "Takes the Administrator role: they can no longer sign in to this console, and their console sessions end at once." } },
            action: format!("{base}/admin/revoke"),
            hidden: vec![],
            fields: html! {},
            button: format!("Remove {name} as an administrator"),
            cancel: base,
            reauth: false,
            error: None,
        })
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct TargetQuery {
    target: String,
}

#[handler]
pub(crate) async fn confirm_remove_identity(
    at: Console<'_>,
    Path(id): Path<String>,
    Query(q): Query<TargetQuery>,
) -> Response {
    ask_about(at, id, move |_, _, name, base| {
        let target = q.target.trim().to_string();
        Ok(confirm::Ask {
            nav: Nav::Users,
            title: format!("Remove {name}'s {target} identity?"),
            consequence: html! { p { "The link to their " (target) " account goes (Logto's identities): signing in through " (target) " no longer finds this user." } },
            action: format!("{base}/identities/remove"),
            hidden: vec![("target", target.clone())],
            fields: html! {},
            button: format!("Remove the {target} identity"),
            cancel: base,
            reauth: false,
            error: None,
        })
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct IdentityForm {
    csrf: String,
    target: String,
}

/// Remove one of the user's identities (Logto's `DELETE /api/users/{userId}/identities/{target}`).
#[handler]
pub(crate) async fn remove_identity(
    at: Console<'_>,
    Path(id): Path<String>,
    Form(f): Form<IdentityForm>,
) -> Response {
    at.form(f.csrf.clone(), Scope::UsersWrite, move |conn, _s, c| {
        directory::users::unlink_identity(conn, c, Fail::id(&id, "page")?, f.target.trim())?;
        Ok(Out::Redirect(format!("/console/users/{id}?done=identity")))
    })
    .await
}

/// The same user as each dialect's read of it returns it, side by side
/// (`request::UserViews`, filled in by the wiring).
#[handler]
pub(crate) async fn apis(at: Console<'_>, Path(id): Path<String>) -> Response {
    let views = at.state.user_views.clone();
    let cfg = at.state.config.clone();
    at.page(Scope::UsersRead, move |conn, s| {
                let uid = Fail::id(&id, "page")?;
                let v = directory::users::get(conn, &s.principal.org_id, uid, Groups::Load)?;
                let (user, groups) = (v.user, v.groups.unwrap_or_default());
                let mut shown = Vec::with_capacity(views.0.len());
                for (name, route, render) in views.0.iter() {
                    let v = render(conn, &cfg, &user, &groups)?;
                    shown.push((*name, *route, serde_json::to_string_pretty(&v).unwrap_or_default()));
                }
                let title = user.shown_name();
                Ok(Out::Page(view::page(
                    s,
                    Nav::Users,
                    &format!("{title}: each API"),
                    html! {
                        p.crumbs { a href="/console/users" { "Users" } " / "
                            a href={ "/console/users/" (id) } { (title) } " / each API" }
                        h1 { "How each API sees " (title) }
                        p.hint { "One user in one store: each dialect's read of it, as that API returns it now." }
                        div.apis {
                            @for (name, route, json) in &shown {
                                section.api aria-label=(name) {
                                    h2 { (name) }
                                    p.hint { code { (route) } }
                                    pre.json { (json) }
                                }
                            }
                        }
                    },
                )))
    })
    .await
}

/// Take the Administrator role (`directory::roles::revoke_admin`); not from oneself, so a
/// session cannot lock its own holder out by a click.
#[handler]
pub(crate) async fn revoke_admin(
    at: Console<'_>,
    Path(id): Path<String>,
    f: Form<CsrfOnly>,
) -> Response {
    at.form(f.0.csrf, Scope::OrgsAdmin, move |conn, s, c| {
        let uid = Fail::id(&id, "page")?;
        if s.principal.user_id == Some(uid) {
            let (back, why) = (format!("/console/users/{id}"), confirm::NOT_YOURSELF_DEMOTE);
            return Err(confirm::refused(
                s,
                Nav::Users,
                "Remove your own role?",
                why,
                &back,
            ));
        }
        directory::roles::revoke_admin(conn, c, uid)?;
        Ok(Out::Redirect(format!("/console/users/{id}?done=unadmin")))
    })
    .await
}
