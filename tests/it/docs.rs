//! The documentation's examples, run as a reader would: every ```` ```sh ```` block of the
//! README and of `docs/*.md`, page by page in order, by bash against a fresh server (the
//! real binary on a fresh database), with the output each page shows compared to what the
//! server answers. And every relative link and anchor of those pages resolves.
//!
//! The convention (docs/testing.md#the-documentations-examples):
//! - ```` ```sh ```` blocks run; ```` ```sh no-run ```` blocks (installing, starting the
//!   server, scripts that take minutes) and other languages do not. `bash`/`shell` blocks
//!   are refused, so a new example is one or the other on purpose.
//! - A page's blocks run in one shell, in order (`set -euo pipefail`: a variable never set
//!   is an error), with `TOKEN` set to the admin token of organization `default`,
//!   `DATABASE_URL` set and `muster` on the `PATH`, in an empty folder. The server answers
//!   at the page's `http://127.0.0.1:8080` (rewritten to its real port, and back in output).
//! - Comment lines right under a command (no blank line between) are its output: the end of
//!   what the commands since the previous shown output printed must match them, with
//!   whitespace at line ends ignored and `…` standing for anything (ids, times, the rest).
//!   Other comments are prose.
//! - An assignment whose value holds `…` (`TOKEN=mst_8kQ…`) is a placeholder the reader
//!   fills in: skipped, its variable set by the test (`TOKEN`).
//! - ```` ```sh sqlite ```` and ```` ```sh postgres ```` blocks run on that backend only.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;

both_backends!(examples_of_every_page_run_as_shown);

const DOC_TOKEN: &str = "mst_doc-examples-admin-token-0123";

/// The pages whose examples run, from the repository root.
fn pages() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// One step of a page: shell text, and the output shown under its last command (if any).
#[derive(Debug)]
struct Step {
    line: usize,
    script: String,
    shown: Option<Vec<String>>,
}

/// The runnable steps of a page's ```sh blocks, in order.
fn steps(page: &Path, text: &str, backend: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut in_block = false;
    let mut script = String::new();
    let mut start = 0;
    let mut shown: Vec<String> = Vec::new();
    let mut last_was_command = false;
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        if !in_block {
            if let Some(info) = line.trim_start().strip_prefix("```") {
                let info = info.trim();
                assert!(
                    !matches!(info, "bash" | "shell" | "console"),
                    "{}:{n}: a ```{info} block: write ```sh (run by tests/it/docs.rs) or ```sh no-run",
                    page.display()
                );
                if info == "sh" || info == format!("sh {backend}") {
                    in_block = true;
                    last_was_command = false;
                    start = n + 1;
                }
            }
            continue;
        }
        let flush = |script: &mut String, shown: &mut Vec<String>, steps: &mut Vec<Step>| {
            if !script.trim().is_empty() || !shown.is_empty() {
                steps.push(Step {
                    line: start,
                    script: std::mem::take(script),
                    shown: (!shown.is_empty()).then(|| std::mem::take(shown)),
                });
            }
        };
        if line.trim_start().starts_with("```") {
            flush(&mut script, &mut shown, &mut steps);
            in_block = false;
            continue;
        }
        let trimmed = line.trim_start();
        if open_quote(&script) {
            // Inside a quoted multi-line argument: the command goes on, `#` and all.
            script.push_str(line);
            script.push('\n');
            last_was_command = !open_quote(&script) && !trimmed.ends_with('\\');
            continue;
        }
        if placeholder(trimmed) {
            // `TOKEN=mst_8kQ…`: the reader fills it in; the test has set it.
            script.push('\n');
            last_was_command = false;
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            if last_was_command || !shown.is_empty() {
                shown.push(comment.strip_prefix(' ').unwrap_or(comment).to_string());
            } else {
                script.push('\n');
            }
            continue;
        }
        if !shown.is_empty() {
            flush(&mut script, &mut shown, &mut steps);
        }
        if script.trim().is_empty() {
            start = n;
        }
        script.push_str(line);
        script.push('\n');
        last_was_command = !trimmed.is_empty() && !trimmed.ends_with('\\') && !open_quote(&script);
    }
    steps
}

/// An assignment whose value the reader fills in (`TOKEN=mst_8kQ…  # the token printed`).
fn placeholder(line: &str) -> bool {
    let code = line.split(" #").next().unwrap_or("").trim();
    let Some((name, value)) = code.split_once('=') else {
        return false;
    };
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && value.contains('…')
        && !value.contains(char::is_whitespace)
}

/// Whether `script` ends inside a single- or double-quoted string.
fn open_quote(script: &str) -> bool {
    let mut single = false;
    let mut double = false;
    let mut escaped = false;
    let mut comment = false;
    let mut prev = '\n';
    for c in script.chars() {
        let word_start = prev.is_whitespace();
        prev = c;
        if comment {
            comment = c != '\n';
            continue;
        }
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if !single => escaped = true,
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            // As in bash: `#` starts a comment only at the start of a word.
            '#' if !single && !double && word_start => comment = true,
            _ => {}
        }
    }
    single || double
}

/// Lines trimmed at both ends and joined: how output and what a page shows are compared.
fn normal(text: &str) -> String {
    text.lines().map(str::trim).collect::<Vec<_>>().join("")
}

/// Whether `text` ends with `pattern`, where `…` in the pattern stands for anything.
fn ends_with_pattern(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    // A leading wildcard: the pattern may match any suffix.
    let p: Vec<char> = std::iter::once('…').chain(pattern.chars()).collect();
    let (mut ti, mut pi) = (0, 0);
    let (mut star, mut mark) = (None::<usize>, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '…' && p[pi] == t[ti] {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '…' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '…' {
        pi += 1;
    }
    pi == p.len()
}

#[test]
fn the_matcher_reads_ellipses_as_anything() {
    assert!(ends_with_pattern(
        r#"{"id":"3F","a":1}"#,
        r#"{"id":"…","a":1}"#
    ));
    assert!(ends_with_pattern("noise 204", "204"));
    assert!(!ends_with_pattern("2040", "204"));
    assert!(ends_with_pattern(r#"{"a":1,"b":2,"c":3}"#, r#"{"a":1,…}"#));
    assert!(!ends_with_pattern(r#"{"a":2,"b":2}"#, r#"{"a":1,…}"#));
    assert!(ends_with_pattern("", "…"));
}

#[test]
fn steps_split_at_shown_output() {
    let page = "```sh\nA=1 # prose\n# prose too? no: right under a command\necho $A\n\n# prose\ncurl -s x \\\n  -d '{\"a\":\n# not a comment\n  1}'\n# {\"a\":1}\n```\n";
    let s = steps(Path::new("t.md"), page, "sqlite");
    assert_eq!(s.len(), 2, "{s:#?}");
    assert_eq!(
        s[0].shown.as_deref(),
        Some(&["prose too? no: right under a command".to_string()][..])
    );
    assert!(s[1].script.contains("# not a comment"), "{s:#?}");
    assert_eq!(s[1].shown.as_deref(), Some(&["{\"a\":1}".to_string()][..]));
    // `#` inside a word is no comment: the quote after it still opens.
    assert!(open_quote("curl http://x/#frag -d '{\n"));
    assert!(!open_quote("echo 'a' # it's prose\n"));
}

fn label(b: &Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres(_) => "postgres",
    }
}

const MARK: &str = "@@muster-doc-step@@";

/// Run one page's steps on a fresh server; the differences found, as messages.
async fn run_page(b: &Backend, page: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(page).unwrap();
    let steps = steps(page, &text, label(b));
    if steps.is_empty() {
        return Vec::new();
    }
    let db = TestDb::new(b);
    let p = Process::serve(&db.url, &[], &[("MUSTER_BOOTSTRAP_TOKEN", DOC_TOKEN)]).await;
    let port = p.base.rsplit(':').next().unwrap().to_string();
    let here = format!("127.0.0.1:{port}");
    let mut script = String::from("set -euo pipefail\n");
    for s in &steps {
        script.push_str(&s.script.replace("127.0.0.1:8080", &here));
        script.push_str(&format!("\nprintf '\\n{MARK}\\n'\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(muster_bin()).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let db_url = db.url.clone();
    let cwd = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(&cwd)
            .env_clear()
            .env("PATH", path)
            .env("HOME", &cwd)
            .env("LANG", "C.UTF-8")
            .env("TOKEN", DOC_TOKEN)
            .env("DATABASE_URL", db_url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).replace(&here, "127.0.0.1:8080");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let outputs: Vec<&str> = stdout.split(MARK).collect();
    let mut problems = Vec::new();
    let name = page.file_name().unwrap().to_string_lossy().into_owned();
    for (i, s) in steps.iter().enumerate() {
        let Some(got) = outputs.get(i) else {
            problems.push(format!(
                "{name}:{} ({}): the page stopped before this step (exit {}); stderr:\n{stderr}\nthe step:\n{}",
                s.line,
                label(b),
                out.status,
                s.script
            ));
            break;
        };
        if let Some(shown) = &s.shown {
            let want = normal(&shown.join("\n"));
            let got = normal(got);
            if !ends_with_pattern(&got, &want) {
                problems.push(format!(
                    "{name}:{} ({}): the output differs from the page\n  the step:\n{}\n  shown: {want}\n  got:   {got}",
                    s.line,
                    label(b),
                    s.script
                ));
            }
        }
    }
    if !out.status.success() && problems.is_empty() {
        problems.push(format!(
            "{name} ({}): the page's script failed ({}); stderr:\n{stderr}",
            label(b),
            out.status
        ));
    }
    problems
}

async fn examples_of_every_page_run_as_shown(b: Backend) {
    let mut problems = Vec::new();
    for page in pages() {
        problems.extend(run_page(&b, &page).await);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if !fenced && line.starts_with('#') {
            let h = line.trim_start_matches('#');
            // Link text in a heading counts by its words only.
            let mut plain = String::new();
            let mut rest = h;
            while let Some(open) = rest.find('[') {
                plain.push_str(&rest[..open]);
                let close = rest[open..].find("](").map(|c| open + c);
                let end = close.and_then(|c| rest[c..].find(')').map(|e| c + e));
                match (close, end) {
                    (Some(c), Some(e)) => {
                        plain.push_str(&rest[open + 1..c]);
                        rest = &rest[e + 1..];
                    }
                    _ => {
                        plain.push_str(&rest[open..]);
                        rest = "";
                    }
                }
            }
            plain.push_str(rest);
            out.push(slug(&plain.replace('`', "")));
        }
    }
    out
}

#[test]
fn every_link_and_anchor_of_the_pages_resolves() {
    let mut problems = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let dir = page.parent().unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("](") {
            rest = &rest[i + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = &rest[..end];
            if target.contains("://") || target.starts_with("mailto:") || target.contains(' ') {
                continue;
            }
            let (file, anchor) = match target.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (target, None),
            };
            let file_path = if file.is_empty() {
                page.clone()
            } else {
                dir.join(file)
            };
            if !file_path.exists() {
                problems.push(format!("{}: {target}: no such file", page.display()));
                continue;
            }
            if let Some(a) = anchor {
                if file_path.extension().is_some_and(|e| e == "md") {
                    let t = std::fs::read_to_string(&file_path).unwrap();
                    if !anchors(&t).iter().any(|h| h == a) {
                        problems.push(format!("{}: {target}: no such heading", page.display()));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
