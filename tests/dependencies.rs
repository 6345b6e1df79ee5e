//! Hearth builds on dependencies as published: none is vendored or patched,
//! so `cargo update` brings their security releases, and `Cargo.lock` pins
//! each one from the registry by its checksum. End-to-end encryption above
//! all: matrix-sdk-crypto is upstream's audited crate (see docs/upstream/
//! for the change Hearth proposes instead of carrying it).

#![expect(clippy::unwrap_used, reason = "a test harness should fail loudly")]

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read_toml(file: &str) -> toml::Table {
    let text = std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap();
    toml::from_str(&text).unwrap()
}

#[test]
fn every_crate_comes_from_the_registry_with_its_checksum_and_none_is_vendored_or_patched() {
    let lock = read_toml("Cargo.lock");
    let manifest = read_toml("Cargo.toml");
    let workspace = [
        "hearth",
        "bot-core",
        "hearth-console",
        "hearth-discord",
        "hearth-matrix",
    ];

    let packages = lock["package"].as_array().unwrap();
    let mut unpinned = Vec::new();
    for package in packages {
        let name = package["name"].as_str().unwrap();
        match package.get("source").and_then(|s| s.as_str()) {
            Some(source) if source.starts_with("registry+") && package.get("checksum").is_some() => {}
            None if workspace.contains(&name) => {}
            _ => unpinned.push(name),
        }
    }
    let crypto = packages
        .iter()
        .find(|p| p["name"].as_str() == Some("matrix-sdk-crypto"))
        .unwrap();

    assert!(
        unpinned.is_empty(),
        "not from the registry with a checksum: {unpinned:?}"
    );
    assert!(crypto.get("checksum").is_some(), "{crypto:?}");
    assert!(!manifest.contains_key("patch"), "Cargo.toml patches a dependency");
    assert!(!Path::new(ROOT).join("vendor").exists(), "a vendored copy is back");
}
