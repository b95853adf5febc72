//! Your console sessions (`/console/sessions`): every browser signed in as you (or with the
//! token this session used), when each began and was last used, which one is this browser;
//! end one, or sign out everywhere (each is in the activity log).

use maud::html;
use poem::web::{Data, Form, Query};
use poem::{handler, Request, Response};
use serde::Deserialize;

use super::view::{self, Nav};
use super::{Console, Fail, Out};
use crate::auth::session;
use crate::domain::Scope;
use crate::request::AppState;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Done {
    done: String,
}

#[handler]
pub(crate) async fn list(at: Console<'_>, Query(q): Query<Done>) -> Response {
    let idle = at.state.config.console_sessions.idle;
    at.page(Scope::OrgsAdmin, move |conn, s| {
        let all = session::of_holder(conn, s)?;
        let notice = (q.done == "ended").then_some("That session is signed out.");
        let idle_min = idle.as_secs() / 60;
        Ok(Out::Page(view::page(
            s,
            Nav::Dashboard,
            "Your sessions",
            html! {
                h1 { "Your sessions" }
                (view::notice(notice))
                p.hint { "Every browser signed in as " strong { (s.label) } ". A session ends after "
                    (idle_min) " minutes without a request, when its holder signs out, or when you end it here." }
                div.scroll {
                table.list aria-label="Sessions" {
                    thead { tr { th scope="col" { "Session" } th scope="col" { "Signed in" }
                        th scope="col" { "Last request" } th scope="col" { span.sr { "Actions" } } } }
                    tbody { @for l in &all { tr {
                        td { code { (l.id()) } @if l.token_hash == s.key { " " span.tag { "this browser" } } }
                        td { (view::when(&l.created_at)) }
                        td { (view::when(&l.last_seen_at)) }
                        td { @if l.token_hash != s.key {
                            (view::link_action(s, "/console/sessions/end", &[("id", l.id())],
                                &format!("Sign out session {}", l.id()), "Sign out"))
                        } }
                    } } }
                }
                }
                form.inline method="post" action="/console/sessions/end-all" {
                    (view::csrf(s))
                    button.warn type="submit" { "Sign out everywhere" }
                }
                p.hint { "Ends every session above, this one too." }
            },
        )))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct EndForm {
    csrf: String,
    id: String,
}

#[handler]
pub(crate) async fn end_one(at: Console<'_>, Form(f): Form<EndForm>) -> Response {
    at.form(f.csrf.clone(), Scope::OrgsAdmin, move |conn, s, c| {
        if session::end_one(conn, s, &f.id)? {
            super::signin::record_signout(conn, s, c, "another browser")?;
        }
        Ok(Out::Redirect("/console/sessions?done=ended".into()))
    })
    .await
}

/// Sign out everywhere: every session of this admin (or token) ends, this one included.
#[handler]
pub(crate) async fn end_all(
    req: &Request,
    state: Data<&AppState>,
    Form(f): Form<EndForm>,
) -> Response {
    let secret = super::session_secret(req);
    let r = state
        .session_trip(secret, None)
        .run(move |conn, s, c| {
            super::check_csrf(s, &f.csrf)?;
            session::end_all(conn, s)?;
            super::signin::record_signout(conn, s, c, "every session")?;
            Ok::<_, Fail>(())
        })
        .await;
    match r {
        Ok(()) => {
            let mut resp = super::see_other("/console/login?out=1");
            if let Ok(v) = super::signin::session_cookie_gone(&state).parse() {
                resp.headers_mut().append(poem::http::header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => e.into_response(),
    }
}
