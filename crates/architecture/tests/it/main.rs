//! Checks the workspace's real dependency graph against `placeledger_architecture::RULES`.
//!
//! It asks `cargo tree -p PACKAGE -e normal,build`: the resolver's own answer for what that
//! package pulls in at run time, feature by feature (`cargo metadata` over-approximates).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::process::Command;

use placeledger_architecture::{AXUM_ALLOWED, RULES};
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
            "{} depends on {broken:?}, but {}",
            rule.package,
            rule.why
        );
    }
}

#[test]
fn only_the_http_edge_uses_axum() {
    for p in workspace_packages() {
        let name = p["name"].as_str().unwrap();
        if !AXUM_ALLOWED.contains(&name) {
            assert!(
                !run_time_deps(name).contains("axum"),
                "{name} must not depend on axum"
            );
        }
    }
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
