//! A one-time message carried across a redirect (post/redirect/get): what a form made that
//! is shown only once — a generated password, a new credential's secret. The form's answer
//! is a redirect that sets it as a cookie; the page it leads to shows it and removes the
//! cookie, so a reload shows the page without it and posts nothing again.
//!
//! The cookie is sealed with a key derived from the session's own secret (which only the
//! browser holds: the server stores its hash): a stream of HMAC-SHA-256 blocks over a fresh
//! nonce, and a tag over nonce and text. Another session, or anyone reading the cookie jar
//! after the session ended, cannot open it, and an altered cookie is ignored.

use base64::Engine;
use hmac::{Hmac, Mac};
use poem::http::header;
use poem::{Request, Response};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The cookie's name (its `Path` is the console's).
pub(crate) const COOKIE: &str = "muster_console_flash";

/// What a flash carries.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct Flash {
    /// The page (path) that shows it; another page ignores it.
    pub(crate) to: String,
    /// What it is (`password`, `credential`).
    pub(crate) kind: String,
    /// The one-time text (a secret).
    pub(crate) text: String,
    /// What it belongs to (a credential's id), if anything.
    #[serde(default)]
    pub(crate) about: String,
}

type H = Hmac<Sha256>;

fn key(session_secret: &str) -> [u8; 32] {
    let mut m = H::new_from_slice(session_secret.as_bytes()).expect("any key length");
    m.update(b"muster console flash");
    m.finalize().into_bytes().into()
}

fn keystream(key: &[u8; 32], nonce: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut i: u32 = 0;
    while out.len() < len {
        let mut m = H::new_from_slice(key).expect("any key length");
        m.update(b"stream");
        m.update(nonce);
        m.update(&i.to_be_bytes());
        out.extend_from_slice(&m.finalize().into_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

fn tag(key: &[u8; 32], nonce: &[u8], sealed: &[u8]) -> [u8; 32] {
    let mut m = H::new_from_slice(key).expect("any key length");
    m.update(b"tag");
    m.update(nonce);
    m.update(sealed);
    m.finalize().into_bytes().into()
}

/// The cookie value of `f` for the session whose secret is `session_secret`.
pub(crate) fn seal(session_secret: &str, f: &Flash) -> String {
    let k = key(session_secret);
    let nonce: [u8; 16] = rand::random();
    let plain = serde_json::to_vec(f).unwrap_or_default();
    let sealed: Vec<u8> = plain
        .iter()
        .zip(keystream(&k, &nonce, plain.len()))
        .map(|(a, b)| a ^ b)
        .collect();
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    out.extend_from_slice(&tag(&k, &nonce, &sealed)[..16]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
}

/// The flash in a cookie value, if it was sealed for this session and not altered.
pub(crate) fn open(session_secret: &str, value: &str) -> Option<Flash> {
    use subtle::ConstantTimeEq;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .ok()?;
    if raw.len() < 32 || raw.len() > 4096 {
        return None;
    }
    let (nonce, rest) = raw.split_at(16);
    let (sealed, t) = rest.split_at(rest.len() - 16);
    let k = key(session_secret);
    if !bool::from(tag(&k, nonce, sealed)[..16].ct_eq(t)) {
        return None;
    }
    let plain: Vec<u8> = sealed
        .iter()
        .zip(keystream(&k, nonce, sealed.len()))
        .map(|(a, b)| a ^ b)
        .collect();
    serde_json::from_slice(&plain).ok()
}

/// The request's flash cookie, if it has one.
pub(crate) fn of_request(req: &Request) -> Option<String> {
    super::cookie(req, COOKIE).filter(|v| !v.is_empty())
}

/// Set the flash on a response (a redirect).
pub(crate) fn set(resp: &mut Response, value: &str) {
    let c = format!("{COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=300");
    if let Ok(v) = c.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Remove the flash cookie (it has been shown, or it was not for this page).
pub(crate) fn clear(resp: &mut Response) {
    let c = format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(v) = c.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flash_opens_only_for_its_session_and_unaltered() {
        let f = Flash {
            to: "/console/users/00ab".into(),
            kind: "password".into(),
            text: "s3cret-0123456789".into(),
            about: String::new(),
        };
        let v = seal("mcs_one", &f);
        assert!(!v.contains("s3cret"));
        assert_eq!(open("mcs_one", &v), Some(f.clone()));
        assert_eq!(open("mcs_two", &v), None, "another session's key");
        let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&v)
            .unwrap();
        raw[20] ^= 1;
        let altered = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        assert_eq!(open("mcs_one", &altered), None, "altered");
        assert_ne!(seal("mcs_one", &f), v, "a fresh nonce each time");
    }
}
