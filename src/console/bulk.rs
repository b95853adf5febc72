//! Acting on many users at once: the rows selected on the list, or every user the list's
//! search matches. The list's toolbar asks what to do (`GET /console/users/bulk`, a page
//! that names what will change and asks to confirm); the confirmation starts a job
//! (`POST`, then a redirect to `/console/jobs/{id}`), which works through the users a
//! chunk at a time, one trip and one directory call per user (per chunk for group
//! changes), so every change carries the rule book and the audit trail as any API's, and
//! the page shows its progress (reloading itself while it runs).
//!
//! A job is a row of the database (`directory::console_work`, kind `job`), not this
//! process's memory: the instance that took the POST runs it and writes its progress to the
//! row after each chunk, and any instance on the database shows its page from the row (a
//! load balancer need not be sticky). Its page answers only the admin (or token) whose
//! session started it, in that organization; the row goes an hour after its last write.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use maud::{html, Markup};
use poem::http::{HeaderName, HeaderValue, StatusCode};
use poem::web::Path;
use poem::{handler, Request, Response};

use super::form::{self, Pairs};
use super::user_list::{thousands, users_count, ListQuery};
use super::view::{self, Nav};
use super::{Console, Fail, Out};
use crate::auth::session::Session;
use crate::directory::console_work as work;
use crate::directory::groups::Members;
use crate::directory::read::{GroupSearch, Order, Search, UserFilter, Window};
use crate::directory::{self, Caller, Conn, Expect, StoreError};
use crate::domain::{id_to_hex, Group, Scope};
use crate::request::AppState;

/// Users changed per trip.
const CHUNK: i64 = 100;
/// Most rows a selection may name (a page is at most 200).
const MAX_SELECTED: usize = 1000;
/// Groups offered for "add to group" (the organization's first, by name).
const GROUPS: i64 = 500;

/// What a bulk action does to each user.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Action {
    Suspend,
    Reactivate,
    Delete,
    AddToGroup,
    RemoveFromGroup,
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "suspend" => Action::Suspend,
            "reactivate" => Action::Reactivate,
            "delete" => Action::Delete,
            "add-to-group" => Action::AddToGroup,
            "remove-from-group" => Action::RemoveFromGroup,
            _ => return None,
        })
    }

    fn value(self) -> &'static str {
        match self {
            Action::Suspend => "suspend",
            Action::Reactivate => "reactivate",
            Action::Delete => "delete",
            Action::AddToGroup => "add-to-group",
            Action::RemoveFromGroup => "remove-from-group",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Action::Suspend => "Suspend",
            Action::Reactivate => "Reactivate",
            Action::Delete => "Delete",
            Action::AddToGroup => "Add to a group",
            Action::RemoveFromGroup => "Remove from a group",
        }
    }

    fn past(self) -> &'static str {
        match self {
            Action::Suspend => "suspended",
            Action::Reactivate => "reactivated",
            Action::Delete => "deleted",
            Action::AddToGroup => "added to the group",
            Action::RemoveFromGroup => "removed from the group",
        }
    }

    fn needs_group(self) -> bool {
        matches!(self, Action::AddToGroup | Action::RemoveFromGroup)
    }

    /// An admin does not suspend or delete themself with the rest (they would lose the
    /// console midway).
    fn spares_self(self) -> bool {
        matches!(self, Action::Suspend | Action::Delete)
    }

    const ALL: [Action; 5] = [
        Action::Suspend,
        Action::Reactivate,
        Action::Delete,
        Action::AddToGroup,
        Action::RemoveFromGroup,
    ];
}

/// The list's bulk toolbar: what to do, to the selected rows or every match. The rows'
/// checkboxes belong to this form (`form="bulk"`).
pub(crate) fn toolbar(_s: &Session, q: &ListQuery, total: i64, shown: usize) -> Markup {
    html! {
        form.bulk id="bulk" method="get" action="/console/users/bulk" aria-label="Act on several users" {
            input type="hidden" name="q" value=(q.q);
            input type="hidden" name="filter" value=(q.filter);
            fieldset.scope {
                legend.visually-hidden { "Which users" }
                label.check { input type="radio" name="scope" value="selected" checked; " Selected rows" span.selected-count {} }
                @if total as usize > shown {
                    label.check { input type="radio" name="scope" value="all"; " All " (users_count(total)) " matching" }
                } @else {
                    label.check { input type="radio" name="scope" value="all"; " All " (users_count(total)) " listed" }
                }
            }
            label for="f-action" class="visually-hidden" { "Action" }
            select id="f-action" name="action" {
                @for a in Action::ALL { option value=(a.value()) { (a.verb()) "…" } }
            }
            button type="submit" { "Review" }
        }
    }
}

/// The selection a bulk form names: rows by id, or the list's search.
enum Target {
    Selected(Vec<i64>),
    All(ListQuery),
}

impl Target {
    fn of(p: &Pairs) -> Target {
        if p.get("scope") == "all" {
            Target::All(ListQuery {
                q: p.get("q").to_string(),
                filter: p.get("filter").to_string(),
                ..ListQuery::default()
            })
        } else {
            Target::Selected(p.ids("ids"))
        }
    }

    fn hidden(&self) -> Markup {
        html! {
            @match self {
                Target::Selected(ids) => {
                    input type="hidden" name="scope" value="selected";
                    @for id in ids { input type="hidden" name="ids" value=(id_to_hex(*id)); }
                }
                Target::All(q) => {
                    input type="hidden" name="scope" value="all";
                    input type="hidden" name="q" value=(q.q);
                    input type="hidden" name="filter" value=(q.filter);
                }
            }
        }
    }

    /// How many users it names (the search's count: one statement), or why it names none.
    fn count(&self, conn: &mut Conn, s: &Session) -> Result<Result<i64, String>, Fail> {
        match self {
            Target::Selected(ids) if ids.is_empty() => Ok(Err(
                "No rows were selected: tick the users to act on, or choose “All matching”.".into(),
            )),
            Target::Selected(ids) if ids.len() > MAX_SELECTED => Ok(Err(format!(
                "At most {MAX_SELECTED} rows at once; choose “All matching” for more."
            ))),
            Target::Selected(ids) => Ok(Ok(ids.len() as i64)),
            Target::All(q) => {
                let cond = match q.condition(conn, s)? {
                    Ok(c) => c,
                    Err((_, m)) => return Ok(Err(m)),
                };
                let search = Search {
                    filter: cond,
                    order: Order::by_id(),
                    window: Window::Offset {
                        offset: 0,
                        limit: 0,
                    },
                    total: true,
                    groups: directory::users::Groups::Skip,
                };
                match directory::users::search(conn, &s.principal.org_id, &search) {
                    Ok((_, n)) => Ok(Ok(n.unwrap_or(0))),
                    Err(StoreError::Invalid(m)) => Ok(Err(m)),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    fn back(&self) -> String {
        match self {
            Target::Selected(_) => "/console/users".into(),
            Target::All(q) => format!("/console/users?{}", q.link(None, None)),
        }
    }
}

fn groups(conn: &mut Conn, s: &Session) -> Result<Vec<Group>, Fail> {
    let (mut gs, _) =
        directory::groups::search(conn, &s.principal.org_id, &GroupSearch::page(0, GROUPS))?;
    gs.sort_by_key(|g| g.data.display_name.to_lowercase());
    Ok(gs)
}

/// The query string of a GET request as a form's pairs.
fn query_pairs(req: &Request) -> Pairs {
    Pairs(
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    )
}

fn bad_request(s: &Session, back: &str, m: &str) -> Fail {
    Fail::Page(
        StatusCode::BAD_REQUEST,
        view::page(
            s,
            Nav::Users,
            "Nothing to do",
            html! {
                h1 { "Nothing to do" }
                p.error role="alert" { (m) }
                p { a href=(back) { "Back to the users" } }
            },
        ),
    )
}

/// The confirmation: what will happen to how many users.
#[handler]
pub(crate) async fn confirm(at: Console<'_>, req: &Request) -> Response {
    let p = query_pairs(req);
    at.page(Scope::UsersWrite, move |conn, s| {
        let target = Target::of(&p);
        let back = target.back();
        let Some(action) = Action::parse(p.get("action")) else {
            return Err(bad_request(s, &back, "Choose an action."));
        };
        let n = match target.count(conn, s)? {
            Ok(0) => return Err(bad_request(s, &back, "No users match.")),
            Ok(n) => n,
            Err(m) => return Err(bad_request(s, &back, &m)),
        };
        let gs = if action.needs_group() {
            groups(conn, s)?
        } else {
            vec![]
        };
        if action.needs_group() && gs.is_empty() {
            return Err(bad_request(s, &back, "The organization has no groups yet."));
        }
        let whom = match &target {
            Target::Selected(_) => format!("the {} selected", users_count(n)),
            Target::All(q) if q.q.trim().is_empty() && q.filter.trim().is_empty() => {
                format!("all {} of the organization", users_count(n))
            }
            Target::All(_) => format!("all {} matching the search", users_count(n)),
        };
        let danger = matches!(action, Action::Delete | Action::Suspend);
        Ok(Out::Page(view::page(
            s,
            Nav::Users,
            action.verb(),
            html! {
                p.crumbs { a href=(back) { "Users" } " / " (action.verb()) }
                h1 { (action.verb()) " " (users_count(n)) "?" }
                form.card method="post" action="/console/users/bulk" {
                    (view::csrf(s))
                    input type="hidden" name="action" value=(action.value());
                    (target.hidden())
                    p { "This applies to " (whom) "." }
                    @match action {
                        Action::Delete => p { strong { "They are removed from every API at once, with their group memberships, roles and identities. This cannot be undone." } },
                        Action::Suspend => p { "They can no longer sign in; every API shows them suspended (SCIM " code { "active: false" } ", Logto " code { "isSuspended" } ")." },
                        _ => {}
                    }
                    @if action.spares_self() {
                        p.hint { "You are left out if you are among them." }
                    }
                    @if action.needs_group() {
                        div.field {
                            label for="f-group" { "Group" }
                            select id="f-group" name="group" {
                                @for g in &gs { option value=(id_to_hex(g.id)) { (g.data.display_name) } }
                            }
                        }
                    }
                    div.buttons {
                        @if danger {
                            button.danger type="submit" { (action.verb()) " " (users_count(n)) }
                        } @else {
                            button type="submit" { (action.verb()) " " (users_count(n)) }
                        }
                        a href=(back) { "Cancel" }
                    }
                }
            },
        )))
    })
    .await
}

/// A job's row kind, and its states.
const JOB: &str = "job";
const RUNNING: &str = "running";
const DONE: &str = "done";
const FAILED: &str = "failed";
/// Reasons for users left alone kept with a job (its page shows as many).
const SKIPPED_KEPT: usize = 50;
/// A running job whose row has not been written for this long lost its runner (the
/// instance stopped): its page says so instead of waiting forever. A chunk takes seconds.
const STALLED: chrono::Duration = chrono::Duration::minutes(5);

/// What a job's row holds beside its progress: the action, and where its page leads back.
#[derive(serde::Serialize, serde::Deserialize)]
struct JobBody {
    action: String,
    back: String,
}

/// A job's progress as its runner keeps it and writes it to the row after each chunk.
#[derive(Clone, Default)]
struct Tally {
    total: i64,
    /// Users changed or left alone.
    done: i64,
    /// The first reasons for users left alone (yourself; gone meanwhile), and how many.
    skipped: Vec<String>,
    skipped_count: i64,
}

impl Tally {
    /// Count a chunk's users: changed, and left alone (which count toward the progress too).
    fn add(&mut self, changed: i64, skipped: Vec<String>) {
        let n = skipped.len() as i64;
        self.done += changed + n;
        self.skipped_count += n;
        let room = SKIPPED_KEPT.saturating_sub(self.skipped.len());
        self.skipped.extend(skipped.into_iter().take(room));
        self.total = self.total.max(self.done);
    }

    /// Write it to job `id`'s row, in `state` (with why it stopped): one statement.
    fn write(
        &self,
        conn: &mut Conn,
        id: &str,
        state: &str,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        let skipped = serde_json::to_string(&self.skipped).unwrap_or_else(|_| "[]".into());
        work::progress(
            conn,
            id,
            work::Progress {
                state,
                total: self.total,
                done: self.done,
                skipped: &skipped,
                skipped_count: self.skipped_count,
                message,
            },
        )
    }
}

/// What one chunk did: the last id it reached (the cursor of "all matching"), the progress
/// so far, and whether there is more.
struct Step {
    last: Option<i64>,
    /// The job's progress with this chunk counted (and written).
    tally: Tally,
    more: bool,
}

/// Apply `action` to `ids` (group: `group`) as `c`; the session's own user is spared by
/// the actions that would lock them out.
fn apply(
    conn: &mut Conn,
    s: &Session,
    c: &Caller<'_>,
    action: Action,
    group: Option<i64>,
    ids: &[i64],
) -> Result<(i64, Vec<String>), Fail> {
    let mut skipped = Vec::new();
    let mine = |id: i64| action.spares_self() && s.principal.user_id == Some(id);
    let ids: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| {
            if mine(*id) {
                skipped.push("You (an administrator cannot suspend or delete themself)".into());
                false
            } else {
                true
            }
        })
        .collect();
    if let (Some(g), true) = (group, action.needs_group()) {
        // One membership delta for the chunk. Ids of users deleted meanwhile are refused
        // by the directory: fall back to one at a time so the others still go in.
        let r = if action == Action::AddToGroup {
            directory::groups::add_members(conn, c, g, &ids)
        } else {
            directory::groups::remove_members(conn, c, g, &ids)
        };
        match r {
            Ok(_) => return Ok((ids.len() as i64, skipped)),
            Err(StoreError::Invalid(_)) if ids.len() > 1 => {
                let mut changed = 0;
                for id in &ids {
                    let (n, more) = apply(conn, s, c, action, group, &[*id])?;
                    changed += n;
                    skipped.extend(more);
                }
                return Ok((changed, skipped));
            }
            Err(StoreError::Invalid(_)) => {
                skipped.push(format!("{}: no longer exists", id_to_hex(ids[0])));
                return Ok((0, skipped));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut changed = 0;
    for id in ids {
        let r = match action {
            Action::Suspend => directory::users::set_active(conn, c, id, false).map(|_| ()),
            Action::Reactivate => directory::users::set_active(conn, c, id, true).map(|_| ()),
            Action::Delete => directory::users::delete(conn, c, id, &Expect::Any),
            Action::AddToGroup | Action::RemoveFromGroup => Ok(()),
        };
        match r {
            Ok(()) => changed += 1,
            Err(StoreError::NotFound) => {
                skipped.push(format!("{}: no longer exists", id_to_hex(id)));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok((changed, skipped))
}

/// Apply `action` to a chunk (`ids`) and write the job's progress with it, on the chunk's
/// trip: one write of the row per chunk, not per user.
fn chunk(
    conn: &mut Conn,
    (s, c): (&Session, &Caller<'_>),
    (id, action, group): (&str, Action, Option<i64>),
    ids: &[i64],
    (mut tally, more): (Tally, bool),
) -> Result<Tally, Fail> {
    let (changed, skipped) = apply(conn, s, c, action, group, ids)?;
    tally.add(changed, skipped);
    tally.write(conn, id, if more { RUNNING } else { DONE }, None)?;
    Ok(tally)
}

/// Run job `id` to its end, a chunk per trip, as the session that started it.
async fn run(
    state: AppState,
    secret: Option<String>,
    id: String,
    (action, group): (Action, Option<i64>),
    target: Target,
    mut tally: Tally,
) {
    let mut cursor: Option<i64> = None;
    let mut offset = 0usize;
    loop {
        let (job, t) = (id.clone(), tally.clone());
        let step = match &target {
            Target::Selected(ids) => {
                let chunk_ids: Vec<i64> = ids
                    .iter()
                    .skip(offset)
                    .take(CHUNK as usize)
                    .copied()
                    .collect();
                offset += chunk_ids.len();
                let more = offset < ids.len();
                let ids = chunk_ids;
                state
                    .session_trip(secret.clone(), Scope::UsersWrite)
                    .run(move |conn, s, c| {
                        let tally = chunk(conn, (s, c), (&job, action, group), &ids, (t, more))?;
                        Ok::<_, Fail>(Step {
                            last: None,
                            tally,
                            more,
                        })
                    })
                    .await
            }
            Target::All(q) => {
                let q = q.clone();
                state
                    .session_trip(secret.clone(), Scope::UsersWrite)
                    .run(move |conn, s, c| {
                        let cond: UserFilter = match q.condition(conn, s)? {
                            Ok(c) => c,
                            Err((_, m)) => return Err(Fail::Forbidden(m)),
                        };
                        let (loaded, _) = directory::users::search(
                            conn,
                            &s.principal.org_id,
                            &Search {
                                filter: cond,
                                order: Order::by_id(),
                                window: Window::After {
                                    id: cursor,
                                    limit: CHUNK,
                                },
                                total: false,
                                groups: directory::users::Groups::Skip,
                            },
                        )?;
                        let ids: Vec<i64> = loaded.users.iter().map(|u| u.id).collect();
                        let more = ids.len() as i64 == CHUNK;
                        let tally = chunk(conn, (s, c), (&job, action, group), &ids, (t, more))?;
                        Ok::<_, Fail>(Step {
                            last: ids.last().copied(),
                            tally,
                            more,
                        })
                    })
                    .await
            }
        };
        match step {
            Ok(step) => {
                tally = step.tally;
                cursor = step.last.or(cursor);
                if !step.more {
                    return;
                }
            }
            Err(f) => {
                let why = match f {
                    Fail::SignIn => "The session ended: sign in again to finish.".to_string(),
                    Fail::Forbidden(m) => m,
                    Fail::Busy => "The directory was busy; run it again for the rest.".into(),
                    _ => "Something went wrong; it has been logged.".into(),
                };
                // Its own trip: the session that ran the chunks may be the reason it stopped.
                let wrote = state
                    .store
                    .run_with(move |conn| tally.write(conn, &id, FAILED, Some(&why)))
                    .await;
                if let Err(e) = wrote {
                    tracing::warn!(error = %e, "console: a bulk job's end could not be written");
                }
                return;
            }
        }
    }
}

/// Start the job the confirmation page asked for, then show its progress.
#[handler]
pub(crate) async fn submit(at: Console<'_>, p: Pairs) -> Response {
    let csrf = p.get("csrf").to_string();
    let state = at.state.clone();
    let secret = at.secret();
    let action = Action::parse(p.get("action"));
    let group = crate::domain::id_from_hex(p.get("group"));
    let target = Target::of(&p);
    at.form(csrf, Scope::UsersWrite, move |conn, s, _c| {
        let back = target.back();
        let Some(action) = action else {
            return Err(bad_request(s, &back, "Choose an action."));
        };
        let group_name = match (action.needs_group(), group) {
            (false, _) => None,
            (true, None) => return Err(bad_request(s, &back, "Choose a group.")),
            (true, Some(g)) => {
                let g = directory::groups::get(conn, &s.principal.org_id, g, Members::Skip)?;
                Some(g.data.display_name)
            }
        };
        let n = match target.count(conn, s)? {
            Ok(n) => n,
            Err(m) => return Err(bad_request(s, &back, &m)),
        };
        let mut title = format!("{} {}", action.verb(), users_count(n));
        if let Some(g) = &group_name {
            title = format!(
                "{} {} {g}",
                if action == Action::AddToGroup {
                    "Add"
                } else {
                    "Remove"
                },
                if action == Action::AddToGroup {
                    format!("{} to", users_count(n))
                } else {
                    format!("{} from", users_count(n))
                }
            );
        }
        let body = JobBody {
            action: action.value().into(),
            back,
        };
        let id = form::keep(conn, s, (JOB, RUNNING), (&title, n), &body)?;
        let tally = Tally {
            total: n,
            ..Tally::default()
        };
        tokio::spawn(run(
            state,
            secret,
            id.clone(),
            (action, group),
            target,
            tally,
        ));
        Ok(Out::Redirect(format!("/console/jobs/{id}")))
    })
    .await
}

/// Whether a job is still being worked on: running, and its row written lately (else its
/// instance stopped, `STALLED`).
fn running(w: &work::Work) -> bool {
    w.state == RUNNING && chrono::Utc::now().naive_utc() - w.updated_at <= STALLED
}

/// A job's progress as its row says, with the way back.
fn progress(w: &work::Work, body: &JobBody) -> Markup {
    let past = Action::parse(&body.action).map_or("changed", Action::past);
    let total = w.total.max(1);
    let done = w.done;
    let skipped: Vec<String> = serde_json::from_str(&w.skipped).unwrap_or_default();
    let stalled = w.state == RUNNING && !running(w);
    let failed = match (&w.message, stalled) {
        (Some(m), _) => Some(m.as_str()),
        (None, true) => {
            Some("The instance running it stopped before the end; run it again for the rest.")
        }
        (None, false) => None,
    };
    let pct = (done * 100 / total).min(100);
    html! {
        h1 { (w.title) }
        @if running(w) {
            p role="status" { "Working: " (thousands(done)) " of " (thousands(total)) " (" (pct) "%)…" }
            progress max=(total) value=(done) aria-label="Progress" {}
            p.hint { "This page updates itself. You can leave it: the job goes on." }
        } @else if let Some(f) = failed {
            p.error role="alert" { "Stopped after " (thousands(done)) " of " (thousands(total)) ": " (f) }
        } @else {
            p.notice role="status" { "Done: " (users_count(done - w.skipped_count)) " " (past) "." }
            progress max=(total) value=(total) aria-label="Progress" {}
        }
        @if w.skipped_count > 0 {
            h2 { "Left alone (" (w.skipped_count) ")" }
            ul { @for sk in &skipped { li { (sk) } } }
            @if w.skipped_count > skipped.len() as i64 {
                p.hint { "The first " (skipped.len()) " are shown." }
            }
        }
        p { a href=(body.back) { "Back to the users" } }
    }
}

/// A job's page, from its row (on whichever instance): its progress, reloading itself every
/// second while it runs. Two statements: the session, the row.
#[handler]
pub(crate) async fn job_page(at: Console<'_>, Path(id): Path<String>) -> Response {
    let refresh = Arc::new(AtomicBool::new(false));
    let seen = refresh.clone();
    let mut resp = at
        .page(Scope::UsersRead, move |conn, s| {
            let w = work::get(conn, &s.principal.org_id, form::owner(s), JOB, &id)?
                .ok_or(Fail::NotFound)?;
            let body: JobBody = serde_json::from_str(&w.body).map_err(|_| Fail::Internal)?;
            seen.store(running(&w), Ordering::SeqCst);
            Ok(Out::Page(view::page(
                s,
                Nav::Users,
                &w.title,
                html! {
                    p.crumbs { a href=(body.back) { "Users" } " / Bulk action" }
                    div.job { (progress(&w, &body)) }
                },
            )))
        })
        .await;
    if refresh.load(Ordering::SeqCst) && resp.status() == StatusCode::OK {
        resp.headers_mut().insert(
            HeaderName::from_static("refresh"),
            HeaderValue::from_static("1"),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_counts_every_user_and_keeps_the_first_reasons() {
        let mut t = Tally {
            total: 120,
            ..Tally::default()
        };
        t.add(40, (0..30).map(|i| format!("gone {i}")).collect());
        t.add(10, (30..70).map(|i| format!("gone {i}")).collect());
        assert_eq!((t.done, t.skipped_count), (120, 70));
        assert_eq!(t.skipped.len(), SKIPPED_KEPT);
        assert_eq!(t.skipped[49], "gone 49");
        // More done than first counted (users added to "all matching" meanwhile).
        t.add(5, vec![]);
        assert_eq!((t.total, t.done), (125, 125));
    }
}
