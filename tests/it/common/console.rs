//! A web console client for the tests: keeps the session cookie by hand, never follows
//! redirects (so each test sees the 303s), and fills in each form's CSRF token.

use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{json, Value};

use super::{TestServer, ADMIN_TOKEN};

pub struct Console {
    pub base: String,
    pub http: reqwest::Client,
    /// `muster_console=...` once signed in.
    pub cookie: Option<String>,
}

/// A response, read.
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn csrf(&self) -> String {
        csrf_of(&self.body).unwrap_or_else(|| panic!("no CSRF field in: {}", self.body))
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    }

    #[track_caller]
    pub fn has(&self, text: &str) -> &Page {
        assert!(
            self.body.contains(text),
            "page ({}) lacks {text:?}:\n{}",
            self.status,
            self.body
        );
        self
    }

    #[track_caller]
    pub fn lacks(&self, text: &str) -> &Page {
        assert!(
            !self.body.contains(text),
            "page ({}) has {text:?}:\n{}",
            self.status,
            self.body
        );
        self
    }
}

/// The value of the first `name="csrf"` field of a page.
pub fn csrf_of(body: &str) -> Option<String> {
    let i = body.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let rest = &body[i..];
    Some(rest[..rest.find('"')?].to_string())
}

async fn read(r: reqwest::Response) -> Page {
    Page {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.text().await.unwrap(),
    }
}

impl Console {
    pub fn new(base: &str) -> Console {
        Console {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        read(req.send().await.unwrap()).await
    }

    /// POST a form as it is (no CSRF added).
    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        read(req.send().await.unwrap()).await
    }

    /// POST a form with the session's CSRF token (read off `/console/users`).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let token = self.get("/console/users").await.csrf();
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(form);
        self.post_raw(path, &all).await
    }

    async fn sign_in_with(&mut self, form: &[(&str, &str)]) -> Page {
        let login = self.get("/console/login").await;
        assert_eq!(login.status, 200);
        let pre = login
            .set_cookies()
            .into_iter()
            .find(|c| c.starts_with("muster_console_login="))
            .expect("a login cookie");
        let pre = pre.split(';').next().unwrap().to_string();
        let token = login.csrf();
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(form);
        let r = self
            .http
            .post(format!("{}/console/login", self.base))
            .header(COOKIE, pre)
            .form(&all)
            .send()
            .await
            .unwrap();
        let page = read(r).await;
        if let Some(c) = page
            .set_cookies()
            .into_iter()
            .find(|c| c.starts_with("muster_console="))
        {
            self.cookie = Some(c.split(';').next().unwrap().to_string());
        }
        page
    }

    pub async fn sign_in(&mut self, org: &str, login: &str, password: &str) -> Page {
        self.sign_in_with(&[
            ("method", "password"),
            ("org", org),
            ("login", login),
            ("password", password),
        ])
        .await
    }

    pub async fn sign_in_token(&mut self, token: &str) -> Page {
        self.sign_in_with(&[("method", "token"), ("token", token)])
            .await
    }
}

/// Create a user with a password through SCIM (as `token`); returns the SCIM resource.
pub async fn scim_user(s: &TestServer, token: &str, user_name: &str, password: &str) -> Value {
    let r = s
        .post("/scim/v2/Users")
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "password": password,
                "name": {"givenName": "Ada", "familyName": "Lovelace"},
                "displayName": format!("Ada {user_name}"),
                "emails": [{"value": format!("{user_name}@example.com"), "type": "work", "primary": true}]
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    super::json(r, 201).await
}

/// Give a user the Administrator role (as `muster user grant-admin` does).
pub async fn grant_admin(s: &TestServer, org: &str, scim_id: &str) {
    let store = s.store.clone();
    let org = muster::domain::OrgId::parse(org).unwrap();
    let uid = muster::domain::id_from_hex(scim_id).expect("a hex id");
    tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        let p = muster::domain::Principal {
            org_id: org,
            scopes: muster::domain::Scopes::all(),
            credential_id: "test".into(),
            user_id: None,
            schemas_version: None,
        };
        let caller = muster::directory::Caller {
            principal: &p,
            dialect: "admin",
            bcrypt_cost: 4,
        };
        muster::directory::roles::grant_admin(&mut conn, &caller, uid).unwrap();
    })
    .await
    .unwrap();
}

/// A server with an admin user `ada` (password `correct horse 1`) in organization
/// `default`, and a console signed in as her.
pub async fn signed_in(s: &TestServer) -> (Console, Value) {
    let ada = scim_user(s, ADMIN_TOKEN, "ada", "correct horse 1").await;
    grant_admin(s, "default", ada["id"].as_str().unwrap()).await;
    let mut c = Console::new(&s.base);
    let r = c.sign_in("default", "ada", "correct horse 1").await;
    assert_eq!(r.status, 303, "sign-in: {}", r.body);
    (c, ada)
}

impl Console {
    /// POST a multipart form (`fields`, then one file field `file` named `filename`) with
    /// the session's CSRF token.
    pub async fn post_file(&self, path: &str, filename: &str, content: &str) -> Page {
        let token = self.get("/console/users").await.csrf();
        let boundary = "muster-test-boundary-7d1f";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: text/csv\r\n\r\n{content}\r\n--{boundary}--\r\n"
        );
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        read(req.send().await.unwrap()).await
    }

    /// Follow a bulk job's page until it ends; its last page.
    pub async fn wait_for_job(&self, path: &str) -> Page {
        for _ in 0..300 {
            let p = self.get(path).await;
            assert_eq!(p.status, 200, "{}", p.body);
            if p.headers.get("refresh").is_none() {
                return p;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the job at {path} did not end");
    }
}

/// Organization `acme` with an API token (`ACME_TOKEN`, every scope) and an admin user `eve`
/// (password `correct horse 1`), and a console signed in as her; eve's SCIM resource.
pub async fn acme_admin(s: &TestServer) -> (Console, Value) {
    s.org("acme", None).await;
    s.credential("acme", super::kind_token(), "acme-admin", ACME_TOKEN, "all")
        .await;
    let eve = scim_user(s, ACME_TOKEN, "eve", "correct horse 1").await;
    grant_admin(s, "acme", eve["id"].as_str().unwrap()).await;
    let mut c = Console::new(&s.base);
    let r = c.sign_in("acme", "eve", "correct horse 1").await;
    assert_eq!(r.status, 303, "sign-in: {}", r.body);
    (c, eve)
}

/// `acme_admin`'s token.
pub const ACME_TOKEN: &str = "acme-admin-secret-0123456789";
