//! `cargo xtask package`: the crate as it would be published. `cargo package -p uffd` (with the
//! build of the packaged sources it does), its file list checked against what a user of the
//! crate needs, and the docs of every `[package.metadata.docs.rs]` target built with its
//! features, as docs.rs would.
//!
//! What ships: `src/`, `Cargo.toml`, `README.md` (the crate's front page, its examples compiled
//! as doc tests), `LICENSE-MIT`, `LICENSE-APACHE` and `CHANGELOG.md`. Not the tests, examples,
//! benchmarks, fuzz targets, layout tests or xtask: they need the workspace (its other packages,
//! dev-dependencies, C compilers, QEMU) and a user builds none of them. `include` in Cargo.toml
//! says so; this command checks it.

use crate::env::rustup;
use crate::util::process::{cargo, output, root, run as sh, Result};
use bpaf::{pure, Parser};

/// Its line in `cargo xtask --help`.
pub const ABOUT: &str = "cargo package -p uffd (verified), its file list, the docs.rs docs";

/// `package` has no options.
#[derive(Clone, Debug, Default)]
pub struct Args;

pub fn parser() -> impl Parser<Args> {
    pure(Args)
}

/// What the package may hold: these files, and anything under `src/`. (`Cargo.toml.orig` and
/// `.cargo_vcs_info.json` are cargo's own; `Cargo.lock` cargo adds for the verify build.)
const ALLOWED_FILES: &[&str] = &[
    "Cargo.toml",
    "Cargo.toml.orig",
    "Cargo.lock",
    ".cargo_vcs_info.json",
    "README.md",
    "LICENSE-MIT",
    "LICENSE-APACHE",
    "CHANGELOG.md",
];

/// What it must hold.
const REQUIRED: &[&str] = &[
    "Cargo.toml",
    "README.md",
    "LICENSE-MIT",
    "LICENSE-APACHE",
    "src/lib.rs",
];

pub fn run(_: &Args) -> Result<()> {
    // `--allow-dirty`: the check is of what the manifest selects, also before a commit.
    let list = output(cargo().args(["package", "-p", "uffd", "--list", "--allow-dirty"]))?;
    let files: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let problems = list_problems(&files);
    println!("package: {} files:", files.len());
    for f in &files {
        println!("  {f}");
    }
    if !problems.is_empty() {
        return Err(format!(
            "the package's file list is wrong (fix `include` in Cargo.toml): {}",
            problems.join("; ")
        ));
    }
    sh(cargo().args(["package", "-p", "uffd", "--allow-dirty"]))?;
    docs_rs()
}

/// What is wrong with a package holding `files`: files a user does not need, files missing.
fn list_problems(files: &[&str]) -> Vec<String> {
    let mut p: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with("src/") && !ALLOWED_FILES.contains(f))
        .map(|f| format!("{f} is not needed by a user of the crate"))
        .collect();
    for r in REQUIRED {
        if !files.contains(r) {
            p.push(format!("{r} is missing"));
        }
    }
    p
}

/// `cargo doc` for every target of `[package.metadata.docs.rs]` with its `features`, warnings
/// denied: what docs.rs will render.
fn docs_rs() -> Result<()> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml"))
        .map_err(|e| format!("Cargo.toml: {e}"))?;
    let (targets, features) = docs_rs_config(&manifest)?;
    rustup::targets(&targets.iter().map(String::as_str).collect::<Vec<_>>())?;
    for t in &targets {
        sh(cargo()
            .args(["doc", "-p", "uffd", "--no-deps", "--target", t])
            .args(["--features", &features.join(",")])
            .env("RUSTDOCFLAGS", "-D warnings"))?;
    }
    Ok(())
}

/// `targets` and `features` of the `[package.metadata.docs.rs]` table (string arrays, one line
/// each or spread over lines).
fn docs_rs_config(manifest: &str) -> Result<(Vec<String>, Vec<String>)> {
    let table = manifest
        .split("\n[package.metadata.docs.rs]\n")
        .nth(1)
        .ok_or("Cargo.toml has no [package.metadata.docs.rs]")?;
    let table = table.split("\n[").next().unwrap_or(table);
    let array = |key: &str| -> Result<Vec<String>> {
        let start = table
            .lines()
            .position(|l| l.trim_start().starts_with(&format!("{key} =")))
            .ok_or(format!("[package.metadata.docs.rs] has no `{key}`"))?;
        let text: String = table.lines().skip(start).collect::<Vec<_>>().join("\n");
        let inner = text
            .split_once('[')
            .and_then(|(_, r)| r.split_once(']'))
            .ok_or(format!(
                "[package.metadata.docs.rs] `{key}` is not an array"
            ))?
            .0;
        Ok(inner
            .split(',')
            .map(|s| {
                s.lines()
                    .map(|l| l.split('#').next().unwrap_or(""))
                    .collect::<String>()
                    .trim()
                    .trim_matches('"')
                    .to_string()
            })
            .filter(|s| !s.is_empty())
            .collect())
    };
    Ok((array("targets")?, array("features")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_list_rules() {
        let good = [
            "Cargo.toml",
            "Cargo.toml.orig",
            "README.md",
            "LICENSE-MIT",
            "LICENSE-APACHE",
            "src/lib.rs",
            "src/abi/mod.rs",
        ];
        assert_eq!(list_problems(&good), Vec::<String>::new());
        let mut bad = good.to_vec();
        bad.push("tests/kernel.rs");
        bad.retain(|f| *f != "LICENSE-MIT");
        assert_eq!(
            list_problems(&bad),
            [
                "tests/kernel.rs is not needed by a user of the crate",
                "LICENSE-MIT is missing"
            ]
        );
    }

    #[test]
    fn docs_rs_table() {
        let m = "[package]\nname = \"x\"\n\n[package.metadata.docs.rs]\nfeatures = [\"std\"]\n\
                 targets = [\n  \"a\", # 64-bit\n  \"b\",\n]\n\n[features]\nstd = []\n";
        let (t, f) = docs_rs_config(m).unwrap();
        assert_eq!(t, ["a", "b"]);
        assert_eq!(f, ["std"]);
        assert!(docs_rs_config("[package]\n").is_err());
    }

    /// The real manifest's table parses, with the four kinds of target the README promises.
    #[test]
    fn the_manifest_names_four_docs_rs_targets() {
        let m = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
        let (t, f) = docs_rs_config(&m).unwrap();
        assert_eq!(t.len(), 4, "{t:?}");
        assert!(t.iter().any(|t| t.ends_with("-none")), "{t:?}");
        assert_eq!(f, ["std"]);
    }
}
