//! The fuzz targets' inputs, kept: every seed (fuzz/seeds/<target>/) and every input a
//! fuzzing run found crashing (fuzz/regressions/<target>/, one file each, named after what it
//! broke) is run through the same entry point as the target (`muster::fuzz`), which must
//! return without panicking. A crash fixed stays fixed.

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 6] = [
    ("scim_filter", muster::fuzz::scim_filter),
    ("scim_patch_path", muster::fuzz::scim_patch_path),
    ("scim_patch", muster::fuzz::scim_patch),
    ("scim_normalize", muster::fuzz::scim_normalize),
    ("cursor", muster::fuzz::cursor),
    ("dialect_request", muster::fuzz::dialect_request),
];

fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.path().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn seeds_and_crashing_inputs_run_without_panicking() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut ran = 0;
    for (name, target) in TARGETS {
        for kind in ["seeds", "regressions"] {
            for (path, data) in inputs(&root.join(kind).join(name)) {
                let r = std::panic::catch_unwind(|| target(&data));
                assert!(r.is_ok(), "{name} panicked on {path}");
                ran += 1;
            }
        }
    }
    assert!(
        ran >= 12,
        "only {ran} inputs found under {}",
        root.display()
    );
}

/// Inputs of the kinds fuzzing is good at finding, written out: each entry point on them.
#[test]
fn edge_inputs_run_without_panicking() {
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![],
        b"\0".to_vec(),
        b"\xff\xfe\xfd".to_vec(),
        "(".repeat(10_000).into_bytes(),
        "[".repeat(10_000).into_bytes(),
        "not (".repeat(5_000).into_bytes(),
        "a[".repeat(5_000).into_bytes(),
        b"emails[value eq \"\\".to_vec(),
        b"userName eq \"\\u".to_vec(),
        b"meta.created gt \"99999-99-99T99:99:99Z\"".to_vec(),
        b"meta.created gt \"+262143-12-31T23:59:59Z\"".to_vec(),
        "é".repeat(3000).into_bytes(),
        b"a.b.c.d.e.f".to_vec(),
        b"urn:".to_vec(),
        b"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:".to_vec(),
        b"{\"Operations\":[{\"op\":\"add\",\"path\":\"emails[type eq \\\"x\\\"].value\",\"value\":\"v\"}]}".to_vec(),
        b"{\"Operations\":[{\"op\":\"replace\",\"path\":\"members\",\"value\":[{\"value\":5}]}]}".to_vec(),
        b"{\"a\":1e308,\"b\":-1e308,\"c\":18446744073709551615,\"d\":-9223372036854775808}".to_vec(),
        b"page=0&page_size=-1&search.username=%&mode.username=regex&joint=xor".to_vec(),
        b"page=9223372036854775807&page_size=100".to_vec(),
        b"eyJhbGciOiJub25lIn0.e30.".to_vec(),
        b"{\"exp\":18446744073709551615,\"k\":9223372036854775807,\"c\":-1,\"q\":\"q\",\"i\":-9223372036854775808}".to_vec(),
        b"[{\"user\":\"a@b\",\"do\":[{\"add\":{\"group\":[1,2]}},{\"removeFromOrg\":{\"deleteAccount\":\"yes\"}}]}]".to_vec(),
    ];
    inputs.push(format!("{}1{}", "{\"a\":".repeat(120), "}".repeat(120)).into_bytes());
    for (name, target) in TARGETS {
        for data in &inputs {
            let r = std::panic::catch_unwind(|| target(data));
            assert!(
                r.is_ok(),
                "{name} panicked on {:?}",
                String::from_utf8_lossy(&data[..data.len().min(80)])
            );
        }
    }
}
