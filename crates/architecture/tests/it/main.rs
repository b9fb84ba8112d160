//! Checks the workspace's real dependency graph against `placeledger_architecture::RULES`.
//!
//! It asks `cargo tree -p PACKAGE -e normal,build`: the resolver's own answer for what that
//! package pulls in at run time, feature by feature (`cargo metadata` over-approximates).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::process::Command;

use placeledger_architecture::{API_ALLOWED, AXUM_ALLOWED, RULES, STORE_KNOWS_NOT};
use serde_json::Value;

fn cargo(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Names of everything `package` depends on at run time, transitively.
fn run_time_deps(package: &str) -> BTreeSet<String> {
    cargo(&[
        "tree",
        "--locked",
        "-p",
        package,
        "-e",
        "normal,build",
        "--prefix",
        "none",
    ])
    .lines()
    .skip(1) // the package itself
    .filter_map(|l| l.split_whitespace().next())
    .map(str::to_owned)
    .collect()
}

fn workspace_packages() -> Vec<Value> {
    let meta: Value = serde_json::from_str(&cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--locked",
    ]))
    .unwrap();
    meta["packages"].as_array().unwrap().clone()
}

#[test]
fn every_rule_holds() {
    for rule in RULES {
        let deps = run_time_deps(rule.package);
        assert!(deps.contains("thiserror") || rule.package != "placeledger-domain");
        let broken: Vec<&&str> = rule
            .forbidden
            .iter()
            .filter(|f| deps.contains(**f))
            .collect();
        assert!(
            broken.is_empty(),
            "{} depends on {broken:?}, but {}; the edges:\n{}",
            rule.package,
            rule.why,
            broken
                .iter()
                .map(|b| edges(rule.package, b))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// How `package` comes to depend on `dep`: the inverted tree from `dep` up to `package`,
/// each line an edge.
fn edges(package: &str, dep: &str) -> String {
    cargo(&[
        "tree",
        "--locked",
        "-p",
        package,
        "-i",
        dep,
        "-e",
        "normal,build",
    ])
}

/// Every workspace package but `allowed` is free of `dep` at run time.
fn only_these_depend_on(dep: &str, allowed: &[&str]) {
    for p in workspace_packages() {
        let name = p["name"].as_str().unwrap();
        if !allowed.contains(&name) && name != dep && run_time_deps(name).contains(dep) {
            panic!(
                "{name} must not depend on {dep} (only {allowed:?} may); the edges:\n{}",
                edges(name, dep)
            );
        }
    }
}

#[test]
fn only_the_http_edge_uses_axum() {
    only_these_depend_on("axum", AXUM_ALLOWED);
}

#[test]
fn only_the_command_and_the_benchmarks_depend_on_the_api() {
    only_these_depend_on("placeledger-api", API_ALLOWED);
}

#[test]
fn the_test_kit_is_only_ever_a_dev_dependency() {
    only_these_depend_on("placeledger-testkit", &[]);
}

#[test]
fn the_store_knows_no_tokens_roles_or_audit() {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/../store/src");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default().to_lowercase();
            for word in STORE_KNOWS_NOT {
                if code.contains(word) {
                    found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "placeledger-store speaks of tokens, roles or audit (they are the application's):\n{}",
        found.join("\n")
    );
}

#[test]
fn packages_are_named_after_their_folders() {
    for p in workspace_packages() {
        let name = p["name"].as_str().unwrap();
        let manifest = std::path::Path::new(p["manifest_path"].as_str().unwrap());
        let folder = manifest
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        assert_eq!(
            name,
            format!("placeledger-{folder}"),
            "{}",
            manifest.display()
        );
        assert_eq!(
            p["publish"],
            serde_json::json!([]),
            "{name} sets publish = false"
        );
    }
}
