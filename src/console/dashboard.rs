//! The dashboard (`/console/`): counts of users, active, suspended and groups; changes per
//! day over two weeks (a small server-drawn SVG chart with its numbers in a table); the
//! latest changes; and this instance's requests per dialect from the request metrics.
//! Seven statements: the session, the user count (kept by triggers), the suspended count
//! (a partial index), the group count, the changes per day, the latest changes and the
//! names of whom they concern and who made them (as the activity page shows them).

use maud::{html, Markup};
use poem::{handler, Response};

use super::view::{self, Nav};
use super::{Console, Out};
use crate::directory::{audit, groups, users};
use crate::domain::{AuditEntry, Scope};
use crate::http::metrics::DialectRate;

/// Days in the chart.
pub(crate) const DAYS: u32 = 14;
/// Latest changes shown.
const LATEST: i64 = 10;

struct Dashboard {
    users: i64,
    suspended: i64,
    groups: i64,
    /// Changes on each of the last [`DAYS`] days, oldest first, and the last day.
    per_day: Vec<i64>,
    last_day: chrono::NaiveDate,
    latest: Vec<AuditEntry>,
    /// The names the latest changes mention.
    names: view::Names,
}

#[handler]
pub(crate) async fn show(at: Console<'_>) -> Response {
    let (rates, window) = at.state.metrics.dialect_rates();
    at.page(Scope::UsersRead, move |conn, s| {
        let org = &s.principal.org_id;
        let users = users::count(conn, org)?;
        let suspended = users::suspended_count(conn, org)?;
        let groups = groups::count(conn, org)?;
        let last_day = chrono::Utc::now().date_naive();
        let per_day = audit::per_day(conn, org, last_day, DAYS)?;
        let latest = audit::recent(conn, org, LATEST)?;
        let names = view::names_of(conn, org, &latest)?;
        let d = Dashboard {
            users,
            suspended,
            groups,
            per_day,
            last_day,
            latest,
            names,
        };
        Ok(Out::Page(render(s, &d, &rates, window)))
    })
    .await
}

fn render(
    s: &crate::auth::session::Session,
    d: &Dashboard,
    rates: &[DialectRate],
    window: std::time::Duration,
) -> Markup {
    let stat = |label: &str, n: i64, href: &str| {
        html! {
            a.stat href=(href) {
                span.n { (thousands(n)) }
                span.label { (label) }
            }
        }
    };
    let secs = window.as_secs();
    let over = if secs >= 120 {
        format!("the last {} min", secs / 60)
    } else {
        format!("the last {secs} s")
    };
    let measured = window >= crate::http::metrics::MIN_RATE_WINDOW;
    view::page(
        s,
        Nav::Dashboard,
        "Dashboard",
        html! {
            h1 { "Dashboard" }
            section.stats aria-label="Counts" {
                (stat("Users", d.users, "/console/users"))
                (stat("Active", d.users - d.suspended, "/console/users?filter=active%20eq%20true"))
                (stat("Suspended", d.suspended, "/console/users?filter=active%20eq%20false"))
                (stat("Groups", d.groups, "/console/groups"))
            }
            div.columns {
                section aria-labelledby="changes-h" {
                    h2 id="changes-h" { "Changes per day" }
                    (chart(&d.per_day, d.last_day))
                    details {
                        summary { "The numbers" }
                        table.list.compact {
                            thead { tr { th scope="col" { "Day (UTC)" } th scope="col" { "Changes" } } }
                            tbody { @for (i, n) in d.per_day.iter().enumerate() { tr {
                                td { (day_of(d.last_day, d.per_day.len(), i)) }
                                td.num { (n) }
                            } } }
                        }
                    }
                    h2 id="latest-h" { "Latest changes" }
                    @if d.latest.is_empty() { p.empty { "No changes recorded yet." } }
                    @else {
                        div.scroll { table.list aria-labelledby="latest-h" {
                            thead { tr { th scope="col" { "When" } th scope="col" { "What" }
                                th scope="col" { "Dialect" } th scope="col" { "By" } } }
                            tbody { @for a in &d.latest { tr {
                                td { (view::when(&a.created_at)) }
                                td { (view::change_link(a, &d.names)) }
                                td { (view::dialect_label(Some(&a.actor))) }
                                td { (view::actor_cell(&a.actor, &d.names)) }
                            } } }
                        } }
                        p { a href="/console/activity" { "All activity" } }
                    }
                }
                section aria-labelledby="rates-h" {
                    h2 id="rates-h" { "Requests by dialect" }
                    p.hint id="rates-window" { "This instance, from its request metrics (/metrics): requests in " (over)
                        @if measured { ", per minute over that time," } @else { " (a rate per minute is shown once a minute has been measured)," }
                        " and in all since it started." }
                    table.list.rates {
                        thead { tr { th scope="col" { "Dialect" } th scope="col" { "In " (over) }
                            th scope="col" { "Per minute" } th scope="col" { "Since start" } } }
                        tbody { @for r in rates.iter().filter(|r| r.total > 0 || r.dialect != "other") { tr {
                            td { (view::dialect_label(Some(r.dialect))) }
                            td.num { (thousands(r.in_window as i64)) }
                            td.num { @if let Some(p) = r.per_minute { (format!("{p:.1}")) } @else { "—" } }
                            td.num { (thousands(r.total as i64)) }
                        } } }
                    }
                }
            }
        },
    )
}

/// The day of bar `i` of `n` ending with `last`.
fn day_of(last: chrono::NaiveDate, n: usize, i: usize) -> String {
    let back = (n - 1 - i) as i64;
    (last - chrono::Duration::days(back))
        .format("%Y-%m-%d")
        .to_string()
}

/// A bar chart of `per_day`, drawn as SVG (presentation attributes only: the CSP allows no
/// inline style), each bar titled with its day and count for screen readers and hover.
fn chart(per_day: &[i64], last: chrono::NaiveDate) -> Markup {
    const W: i64 = 560;
    const H: i64 = 140;
    const TOP: i64 = 14;
    const BASE: i64 = 120;
    let max = per_day.iter().copied().max().unwrap_or(0).max(1);
    let n = per_day.len().max(1) as i64;
    let slot = W / n;
    let total: i64 = per_day.iter().sum();
    html! {
        svg.chart viewBox={ "0 0 " (W) " " (H) } role="img"
            aria-label={ (total) " changes in the last " (per_day.len()) " days" } {
            line x1="0" y1=(BASE) x2=(W) y2=(BASE) stroke="#aab4bf" stroke-width="1" {}
            @for (i, v) in per_day.iter().enumerate() {
                @let h = if *v == 0 { 0 } else { ((v * (BASE - TOP)) / max).max(2) };
                @let x = i as i64 * slot + 3;
                @let day = day_of(last, per_day.len(), i);
                g {
                    title { (day) ": " (v) " changes" }
                    rect x=(x) y=(BASE - h) width=(slot - 6) height=(h) fill="#1f5fbf" {}
                    @if *v > 0 {
                        text x=(x + (slot - 6) / 2) y=(BASE - h - 3) text-anchor="middle"
                            font-size="10" fill="#1d232b" { (v) }
                    }
                    @if i % 2 == (per_day.len() - 1) % 2 {
                        text x=(x + (slot - 6) / 2) y=(H - 4) text-anchor="middle"
                            font-size="10" fill="#5b6673" { (&day[5..]) }
                    }
                }
            }
        }
    }
}

/// `n` with thousands separated by commas.
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_separated() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(100_000), "100,000");
        assert_eq!(super::thousands(-1_234_567), "-1,234,567");
    }

    #[test]
    fn days_end_with_the_last() {
        let last = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert_eq!(super::day_of(last, 14, 13), "2026-12-04");
        assert_eq!(super::day_of(last, 14, 0), "2026-11-21");
    }
}
