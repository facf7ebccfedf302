//! The repository's own promises about itself: every file the README, the benches and the krew
//! manifest point at is in the repository, and the license Cargo.toml names is shipped; the UI
//! reads no source internals.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `NAME.md` a document or source comment names (bare or as a link) exists in the
/// repository: at its path, or at the root for a bare name.
#[test]
fn documents_cited_are_in_the_repository() {
    let root = root();
    let mut cited = Vec::new();
    let mut files = vec![root.join("README.md")];
    for dir in ["benches", "scripts", "tests/memory", "docs"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("dir") {
            files.push(entry.expect("entry").path());
        }
    }
    for file in files.iter().filter(|f| f.is_file()) {
        let text = read(file);
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || "._/-".contains(c))) {
            // A bare name, or a path the text links to; a path inside a web address
            // (`…/linkerd.io/…/x.md`) is not the repository's to hold.
            let local = !word.contains('/') || text.contains(&format!("]({word}"));
            if let Some(name) = word.strip_suffix(".md").filter(|n| !n.is_empty() && local) {
                cited.push((file.clone(), format!("{name}.md")));
            }
        }
    }
    assert!(cited.len() >= 2, "{cited:?}");
    for (file, name) in cited {
        let here = file.parent().expect("dir").join(&name);
        assert!(
            root.join(&name).is_file() || here.is_file(),
            "{} cites {name}, which is not in the repository",
            file.display()
        );
    }
}

/// Cargo.toml says Apache-2.0 and the krew manifest ships `LICENSE`: the file is there, and it is
/// that license.
#[test]
fn the_license_the_manifests_name_is_shipped() {
    let root = root();
    assert!(read(&root.join("Cargo.toml")).contains("license = \"Apache-2.0\""));
    let krew = read(&root.join("assets/krew/meshtap.yaml"));
    let shipped: Vec<&str> = krew
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- from: "))
        .collect();
    assert!(shipped.contains(&"LICENSE"), "{shipped:?}");
    for name in shipped.iter().filter(|n| **n != "meshtap") {
        assert!(root.join(name).is_file(), "krew ships {name}, missing");
    }
    let license = read(&root.join("LICENSE"));
    assert!(license.contains("Apache License"), "LICENSE");
    assert!(license.contains("Version 2.0, January 2004"), "LICENSE");
    assert!(license.contains("END OF TERMS AND CONDITIONS"), "LICENSE");
}

/// The UI draws what the session vocabulary says; it never reaches into a source's internals
/// (`crate::source::…`), which belong to the layer below it.
#[test]
fn the_ui_reads_no_source_internals() {
    let ui = root().join("crates/meshtap-tui/src/ui");
    let mut dirs = vec![ui];
    let mut offenders = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && read(&path).contains("source::")
            {
                offenders.push(path.display().to_string());
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?}");
}
