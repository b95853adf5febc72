//! Deleting a user or a group: the page that asks (`GET /console/{list}/{id}/delete`) and
//! the form that deletes (`POST`, back to the list with a notice). A kind says how to name
//! and delete one of its items.

use std::marker::PhantomData;

use maud::html;
use poem::web::{Form, Path};
use poem::{handler, FromRequest, Request, RequestBody, Response};

use super::view::{self, CsrfOnly, Nav};
use super::{Console, Fail, Out};
use crate::auth::session::Session;
use crate::directory::seam::Dialect;
use crate::directory::{Caller, Conn, StoreResult};
use crate::domain::Scope;

/// The kind `K` a route of this module serves: the route's choice, nothing read from the
/// request.
pub(crate) struct Kind<K>(PhantomData<K>);

impl<'a, K: Deletable> FromRequest<'a> for Kind<K> {
    async fn from_request(_: &'a Request, _: &mut RequestBody) -> poem::Result<Self> {
        Ok(Kind(PhantomData))
    }
}

/// What the console deletes from an item's page.
pub(crate) trait Deletable: Send + Sync + 'static {
    /// The list's path segment: the list is `/console/{LIST}`, an item `/console/{LIST}/{id}`.
    const LIST: &'static str;
    const NAV: Nav;
    /// The confirmation page's title.
    const TITLE: &'static str;
    /// What deleting an item does, as the confirmation page says it.
    const CONSEQUENCE: &'static str;
    /// The shown name of item `id` of the session's organization.
    fn name(conn: &mut Conn, s: &Session, id: i64) -> Result<String, Fail>;
    fn delete(conn: &mut Conn, c: &Caller<'_>, id: i64) -> StoreResult<()>;
}

#[handler]
pub(crate) async fn confirm<K: Deletable>(
    _: Kind<K>,
    at: Console<'_>,
    Path(id): Path<String>,
) -> Response {
    at.page(Scope::UsersWrite, move |conn, s| {
        let name = K::name(conn, s, Fail::id(&id, "page")?)?;
        let base = format!("/console/{}/{id}", K::LIST);
        Ok(Out::Page(view::page(
            s,
            K::NAV,
            K::TITLE,
            html! {
                h1 { "Delete " (name) "?" }
                p { (K::CONSEQUENCE) }
                form.inline method="post" action={ (base) "/delete" } {
                    (view::csrf(s))
                    button.danger type="submit" { "Delete " (name) }
                    " "
                    a href=(base) { "Cancel" }
                }
            },
        )))
    })
    .await
}

#[handler]
pub(crate) async fn submit<K: Deletable>(
    _: Kind<K>,
    at: Console<'_>,
    Path(id): Path<String>,
    f: Form<CsrfOnly>,
) -> Response {
    at.form(f.0.csrf, Scope::UsersWrite, move |conn, _s, c| {
        K::delete(conn, c, Fail::id(&id, "page")?)?;
        Ok(Out::Redirect(format!("/console/{}?done=deleted", K::LIST)))
    })
    .await
}
