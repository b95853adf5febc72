//! Child organizations (`/console/organizations`), for an admin of a parent organization:
//! each child's status, plan and credits (Sumo Logic's organizations model: the credits its
//! subscription allocates and those its usage records say it used in the last 30 days),
//! 50 to a page in id order; and deactivation, which cancels the child's subscription and
//! revokes its credentials (`directory::orgs::deactivate`, the same call Sumo's
//! `POST /api/v1/organizations/{id}/deactivate` makes, with the same audit entry).
//! Three statements a page: the session, the children, their usage summed in SQL.

use std::collections::HashMap;

use maud::{html, Markup};
use poem::web::{Form, Path, Query};
use poem::{handler, Response};

use super::view::{self, CsrfOnly, Nav};
use super::{cut, Console, Fail, ListQuery, Out};
use crate::auth::session::Session;
use crate::directory::{self, orgs::ACTIVE, orgs::INACTIVE};
use crate::domain::{OrgDetails, OrgId, Scope};

const PAGE: i64 = 50;
/// Days of usage summed.
const USAGE_DAYS: i64 = 30;

fn child_id(s: &str) -> Result<OrgId, Fail> {
    OrgId::parse(s).map_err(|_| Fail::NotFound)
}

#[handler]
pub(crate) async fn list(at: Console<'_>, Query(q): Query<ListQuery>) -> Response {
    at.page(Scope::OrgsAdmin, move |conn, s| {
        let org = &s.principal.org_id;
        let after = OrgId::parse(q.after.trim()).ok();
        let mut children = directory::orgs::children(
            conn,
            org,
            &[ACTIVE, INACTIVE],
            after.as_ref().map(OrgId::as_str),
            PAGE + 1,
        )?;
        let more = cut(&mut children, PAGE);
        let ids: Vec<OrgId> = children.iter().map(|c| c.org.id.clone()).collect();
        let today = chrono::Utc::now().date_naive();
        let from = today - chrono::Duration::days(USAGE_DAYS - 1);
        let mut used: HashMap<String, f64> = HashMap::new();
        for (o, _, _, credits) in directory::usage::totals(conn, &ids, Some(from), Some(today))? {
            *used.entry(o).or_default() += credits;
        }
        let notice = (q.done == "deactivated").then_some(
            "Organization deactivated: its subscription is canceled and its credentials revoked.",
        );
        Ok(Out::Page(render(s, &children, &used, more, notice)))
    })
    .await
}

fn render(
    s: &Session,
    children: &[OrgDetails],
    used: &HashMap<String, f64>,
    more: bool,
    notice: Option<&str>,
) -> Markup {
    view::page(
        s,
        Nav::Organizations,
        "Organizations",
        html! {
            h1 { "Child organizations" }
            (view::notice(notice))
            p.hint { "Organizations made under " code { (s.principal.org_id.as_str()) } " (Sumo Logic's organizations API: "
                code { "POST /api/v1/organizations" } "). Credits used are the last " (USAGE_DAYS) " days of usage records." }
            @if children.is_empty() {
                p.empty { "This organization has no child organizations." }
            } @else {
                table.list aria-label="Child organizations" {
                    thead { tr {
                        th scope="col" { "Organization" } th scope="col" { "Status" } th scope="col" { "Plan" }
                        th scope="col" { "Credits allocated" } th scope="col" { "Credits used (" (USAGE_DAYS) " days)" }
                        th scope="col" { "Contact" } th scope="col" { span.visually-hidden { "Actions" } }
                    } }
                    tbody { @for c in children {
                        @let id = c.org.id.as_str();
                        tr {
                            td { strong { (c.org.name) } br; code { (id) } }
                            td { @if c.status == ACTIVE { span.badge.active { "Active" } } @else { span.badge.suspended { (c.status) } } }
                            td { (c.subscription.plan_name.as_deref().unwrap_or("—"))
                                 @if let Some(st) = &c.subscription.status { br; span.tag { (st) } } }
                            td.num { (c.subscription.credits.map_or("—".to_string(), |n| n.to_string())) }
                            td.num { (format!("{:.2}", used.get(id).copied().unwrap_or(0.0))) }
                            td { (c.email.as_deref().unwrap_or("—")) }
                            td { @if c.status == ACTIVE {
                                a.danger href={ "/console/organizations/" (id) "/deactivate" }
                                    aria-label={ "Deactivate " (id) } { "Deactivate…" }
                            } }
                        }
                    } }
                }
                @if more {
                    @if let Some(last) = children.last() {
                        nav.pager aria-label="Pages" {
                            a rel="next" href={ "/console/organizations?after=" (last.org.id.as_str()) } { "Next page" }
                        }
                    }
                }
            }
        },
    )
}

#[handler]
pub(crate) async fn confirm_deactivate(at: Console<'_>, Path(id): Path<String>) -> Response {
    at.page(Scope::OrgsAdmin, move |conn, s| {
        let child = directory::orgs::child(conn, &s.principal.org_id, &child_id(&id)?)?;
        let id = child.org.id.as_str();
        Ok(Out::Page(view::page(
            s,
            Nav::Organizations,
            "Deactivate organization",
            html! {
                h1 { "Deactivate " (child.org.name) "?" }
                p { "Its subscription is canceled and every API token and OAuth client of "
                    code { (id) } " is revoked at once. Its users and data stay, unreachable." }
                form.inline method="post" action={ "/console/organizations/" (id) "/deactivate" } {
                    (view::csrf(s))
                    button.danger type="submit" { "Deactivate " (id) }
                    " "
                    a href="/console/organizations" { "Cancel" }
                }
            },
        )))
    })
    .await
}

#[handler]
pub(crate) async fn deactivate(
    at: Console<'_>,
    Path(id): Path<String>,
    f: Form<CsrfOnly>,
) -> Response {
    at.form(f.0.csrf, Scope::OrgsAdmin, move |conn, _s, c| {
        directory::orgs::deactivate(conn, c, &child_id(&id)?)?;
        Ok(Out::Redirect(
            "/console/organizations?done=deactivated".into(),
        ))
    })
    .await
}
