//! The dependency tree busbar ships stays free of C libraries, so it cross-builds for the Pi
//! (aarch64) with nothing but a linker (hardware/README.md, "Cross-compiling").
//!
//! Asks `cargo metadata` for the tree as it resolves for `aarch64-unknown-linux-gnu`, walks the
//! normal and build dependencies from busbar (dev-dependencies are not shipped), and fails on
//! any crate that links a native library (`links = ...` in its manifest: `libudev-sys`, `ring`,
//! `aws-lc-sys`, `openssl-sys`, ...) or that is one of the tools that build C (`cc`,
//! `pkg-config`, `cmake`, `bindgen`). `libc` declares no `links`; `linux-raw-sys` is Rust.

use std::collections::{BTreeMap, VecDeque};
use std::process::Command;

use serde_json::Value;

const TARGET: &str = "aarch64-unknown-linux-gnu";
const C_BUILD_TOOLS: &[&str] = &["cc", "pkg-config", "cmake", "bindgen", "vcpkg"];

/// Every crate that builds or links C, each with the chain of dependencies from the root that
/// pulls it in (`busbar -> tokio-serial -> ... -> libudev-sys`).
fn c_crates(metadata: &Value) -> Vec<String> {
    let packages: BTreeMap<&str, &Value> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p))
        .collect();
    let nodes: BTreeMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .expect("resolve.nodes")
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let root = metadata["resolve"]["root"].as_str().expect("resolve.root");
    let name = |id: &str| packages[id]["name"].as_str().unwrap().to_owned();

    // Breadth first, remembering who reached each crate first, for the chain in the message.
    let mut parent: BTreeMap<&str, Option<&str>> = BTreeMap::from([(root, None)]);
    let mut queue = VecDeque::from([root]);
    let mut found = Vec::new();
    while let Some(id) = queue.pop_front() {
        let package = packages[id];
        let links = package["links"].as_str();
        let tool = C_BUILD_TOOLS.contains(&package["name"].as_str().unwrap());
        if id != root && (links.is_some() || tool) {
            let mut chain = vec![name(id)];
            let mut at = parent[id];
            while let Some(p) = at {
                chain.push(name(p));
                at = parent[p];
            }
            chain.reverse();
            let why = match links {
                Some(l) => format!("links = \"{l}\""),
                None => "builds C".to_owned(),
            };
            found.push(format!("{} ({why})", chain.join(" -> ")));
        }
        for dep in nodes[id]["deps"].as_array().into_iter().flatten() {
            let shipped = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null() || k["kind"] == "build");
            let dep_id = dep["pkg"].as_str().unwrap();
            if shipped && !parent.contains_key(dep_id) {
                parent.insert(dep_id, Some(id));
                queue.push_back(dep_id);
            }
        }
    }
    found
}

#[test]
fn no_crate_in_the_shipped_tree_builds_or_links_c_for_the_pi() {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(["--filter-platform", TARGET])
        .args([
            "--manifest-path",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        ])
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata JSON");
    let found = c_crates(&metadata);
    assert!(
        found.is_empty(),
        "C in the dependency tree for {TARGET} (cross-compiling would need a C toolchain and \
         the library for the Pi; hardware/README.md, \"Cross-compiling\"):\n  {}",
        found.join("\n  ")
    );
}

/// The walk itself: a `links` crate behind a normal dependency and `cc` behind a build
/// dependency are found; the same behind a dev-dependency are not shipped and not reported.
#[test]
fn the_check_finds_links_and_cc_and_ignores_dev_dependencies() {
    let kind = |k: Value| serde_json::json!([{ "kind": k, "target": null }]);
    let dep =
        |pkg: &str, k: Value| serde_json::json!({ "name": pkg, "pkg": pkg, "dep_kinds": kind(k) });
    let package =
        |id: &str, links: Value| serde_json::json!({ "id": id, "name": id, "links": links });
    let metadata = serde_json::json!({
        "packages": [
            package("busbar", Value::Null),
            package("serial", Value::Null),
            package("libudev-sys", "udev".into()),
            package("cc", Value::Null),
            package("test-helper", Value::Null),
            package("openssl-sys", "openssl".into()),
        ],
        "resolve": {
            "root": "busbar",
            "nodes": [
                { "id": "busbar", "deps": [dep("serial", Value::Null), dep("test-helper", "dev".into())] },
                { "id": "serial", "deps": [dep("libudev-sys", Value::Null)] },
                { "id": "libudev-sys", "deps": [dep("cc", "build".into())] },
                { "id": "cc", "deps": [] },
                { "id": "test-helper", "deps": [dep("openssl-sys", Value::Null)] },
                { "id": "openssl-sys", "deps": [] },
            ],
        },
    });
    assert_eq!(
        c_crates(&metadata),
        vec![
            "busbar -> serial -> libudev-sys (links = \"udev\")".to_owned(),
            "busbar -> serial -> libudev-sys -> cc (builds C)".to_owned(),
        ]
    );
}
