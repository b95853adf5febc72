//! What the vendor dialects' route tables share: [`api!`], a dialect's `#[OpenApi]` impl
//! written as a table of operations that all take the same leading extractors.

/// A whole `#[OpenApi]` impl whose every operation takes the same three leading extractors
/// (the credential, the state and the request, in the order given), named once in
/// `each(…)`; each operation then
/// lists only what is its own: its attributes (doc comment, `#[oai(…)]`) as poem-openapi
/// reads them, its parameters, its response and its body.
///
/// The attribute macro reads only the methods written in the impl it is on (a macro
/// invoked inside it is not expanded first), so the table writes the impl whole. Parameters
/// are passed on as written (as token trees, not as parsed types), so poem-openapi sees a
/// `Path<…>` as the path parameter it is.
///
/// ```ignore
/// api! {
///     #[OpenApi(prefix_path = "/v1")]
///     impl DomoApi;
///     each(auth: BearerOrBasic, state: Data<&AppState>, req: &Request);
///
///     /// Read a user.
///     #[oai(path = "/users/:id", method = "get")]
///     fn get_user(id: Path<String>) -> UserResponse { … }
/// }
/// ```
macro_rules! api {
    (
        $(#[$($attr:tt)*])*
        impl $api:ident;
        each($a:ident: $at:ty, $b:ident: $bt:ty, $c:ident: $ct:ty);
        $(
            $(#[$($op_attr:tt)*])*
            fn $name:ident($($param:tt)*) -> $ret:ty $body:block
        )*
    ) => {
        $(#[$($attr)*])*
        impl $api {
            $(
                $(#[$($op_attr)*])*
                #[allow(clippy::too_many_arguments)] // `each`'s and the operation's own
                async fn $name(&self, $a: $at, $b: $bt, $c: $ct, $($param)*) -> $ret $body
            )*
        }
    };
}
pub(crate) use api;
