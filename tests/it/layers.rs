//! Every import points down. Reads each module's `crate::` paths (in `use` lines, brace groups
//! and inline paths alike, outside `#[cfg(test)]` code) and fails when a module reaches a
//! module of a higher layer, or one dialect reaches another.
//!
//! The layers, top to bottom (a module may use its own layer and any below it):
//!
//! | layer | modules |
//! |---|---|
//! | wiring | `main.rs`, `lib.rs`, `server`, `fuzz` (may use anything) |
//! | routes | `dialects`, `health`, `console`, `events` (callers of the directory) |
//! | request | `request` (`AppState`, a request's one trip) |
//! | directory | `directory` |
//! | credentials | `auth` |
//! | HTTP plumbing | `http` |
//! | configuration | `config` |
//! | moving data in and out | `portability` (the dump format: export, import, copy) |
//! | storage | `store` |
//! | core | `scim`, `domain`, `changes` (pure: no I/O) |
//!
//! And one rule across layers: the dialects, the console and the health check never reach
//! the store. They read and write through the directory (`directory::read` takes a search
//! spec; the connection, the store's errors and the transaction helpers are re-exported
//! there), so every caller gets one answer from one set of rules. `events/` (the sequencer
//! and the webhook deliverer) is the exception: it works the delivery tables themselves.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn layer(module: &str) -> Option<u8> {
    Some(match module {
        "main" | "schema_cli" | "lib" | "server" | "fuzz" => return None,
        "dialects" | "health" | "console" | "events" => 9,
        "request" => 8,
        "directory" => 7,
        "auth" => 6,
        "http" => 5,
        "config" => 4,
        "portability" => 3,
        "store" => 2,
        "scim" | "domain" | "changes" => 1,
        other => panic!("module `{other}` has no layer: add it to tests/it/layers.rs"),
    })
}

/// Modules that reach the store only through the directory.
const THROUGH_THE_DIRECTORY: [&str; 3] = ["dialects", "console", "health"];

/// What is wrong with `module` (`sub`) reaching `target` (`target_sub`), if anything.
fn verdict(
    module: &str,
    sub: Option<&str>,
    target: &str,
    target_sub: Option<&str>,
) -> Option<String> {
    let own = layer(module)?;
    if target == module {
        // A dialect never talks to another dialect.
        return match (sub, target_sub) {
            (Some(a), Some(b)) if module == "dialects" && a != b => {
                Some(format!("dialect `{a}` reaches dialect `{b}`"))
            }
            _ => None,
        };
    }
    match layer(target) {
        None => {
            return Some(format!(
                "`{module}` reaches the wiring (`crate::{target}`): import from the module that defines it"
            ))
        }
        Some(l) if l > own => return Some(format!("`{module}` reaches up into `{target}`")),
        Some(_) => {}
    }
    if target == "store" && THROUGH_THE_DIRECTORY.contains(&module) {
        return Some(format!(
            "`{module}` reaches the store (`crate::store`): read and write through `crate::directory`"
        ));
    }
    None
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without `#[cfg(test)]` items (from the attribute to the end of the file: this
/// crate keeps its test modules last) and without comments.
fn code(src: &str) -> String {
    let src = match src.find("#[cfg(test)]") {
        Some(i) => &src[..i],
        None => src,
    };
    src.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The second segment of every `crate::…` path, expanding `crate::{a, b::c}` groups.
fn reached(code: &str) -> BTreeSet<(String, Option<String>)> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 0;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => return true,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    false
                })
                .map_or(group.len(), |(i, _)| i);
            let mut depth = 0;
            let mut start = 0;
            let inner = &group[..end];
            let mut items = Vec::new();
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            items.push(&inner[start..]);
            for item in items {
                out.insert(path_of(item.trim()));
            }
        } else {
            out.insert(path_of(after));
        }
        rest = after;
    }
    out.retain(|(m, _)| !m.is_empty() && m != "self");
    out
}

/// `dialects::scim::x` → ("dialects", Some("scim")).
fn path_of(s: &str) -> (String, Option<String>) {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let first = ident(s);
    let second = s[first.len()..]
        .strip_prefix("::")
        .map(ident)
        .filter(|x| !x.is_empty());
    (first, second)
}

/// `src/dialects/scim/users.rs` → ("dialects", Some("scim")); `src/lib.rs` → ("lib", None).
fn module_of(file: &Path, src: &Path) -> (String, Option<String>) {
    let rel = file.strip_prefix(src).unwrap();
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    let second = parts.get(1).filter(|s| *s != "mod").cloned();
    (parts[0].clone(), second)
}

#[test]
fn every_import_points_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut edges = 0;
    for file in &files {
        let (module, sub) = module_of(file, &src);
        if layer(&module).is_none() {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (target, target_sub) in reached(&code(&text)) {
            if target != module {
                edges += 1;
            }
            if let Some(w) = verdict(&module, sub.as_deref(), &target, target_sub.as_deref()) {
                wrong.push(format!("{}: {w}", file.display()));
            }
        }
    }
    assert!(
        edges > 50,
        "the scan found only {edges} imports: is it reading the sources?"
    );
    assert!(
        wrong.is_empty(),
        "imports that point up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_scan_reads_groups_and_inline_paths() {
    let found = reached(&code(
        "use crate::{auth, store::{self, Gate}, dialects::scim::x};\nfn f() { crate::http::y(); } // crate::console\n#[cfg(test)]\nuse crate::lib;",
    ));
    let names: Vec<_> = found
        .iter()
        .map(|(m, s)| (m.as_str(), s.as_deref()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("auth", None),
            ("dialects", Some("scim")),
            ("http", Some("y")),
            ("store", None)
        ]
    );
}

#[test]
fn routes_reach_the_store_only_through_the_directory() {
    let wrong = |m: &str, sub: Option<&str>, t: &str| verdict(m, sub, t, None);
    assert!(wrong("dialects", Some("scim"), "store").is_some());
    assert!(wrong("dialects", None, "store").is_some());
    assert!(wrong("console", Some("users"), "store").is_some());
    assert!(wrong("health", None, "store").is_some());
    assert!(wrong("dialects", Some("scim"), "directory").is_none());
    assert!(wrong("console", None, "auth").is_none());
    // The directory and the request below them still use the store; so do the workers.
    assert!(wrong("directory", None, "store").is_none());
    assert!(wrong("request", None, "store").is_none());
    assert!(wrong("events", None, "store").is_none());
    // And the layers still hold.
    assert!(wrong("store", None, "directory").is_some());
    assert!(verdict("dialects", Some("scim"), "dialects", Some("logto")).is_some());
}
