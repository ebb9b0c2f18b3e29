//! The choice of ABIs for a run, and of the C compiler for one ABI (or why there is none).

use super::abi::{abi, host_abi, Abi, ABIS};
use super::tree::Tree;
use crate::util::process::{have, Result};
use uffd_probe::probe::Compiler;

/// The ABIs to check in `tree`: those of `--arch` (an architecture or ABI name, or `all`: every
/// architecture of a Debian tree), else the host's; the host's only in the host tree, and one
/// only in a single-architecture tree.
pub fn select_abis(tree: &Tree, arch: Option<&str>) -> Result<Vec<Abi>> {
    let host = host_abi().clone();
    let arches: Vec<String> = match (tree, arch) {
        (Tree::Host, _) | (Tree::Single(_), None) => return Ok(vec![host]),
        (Tree::Single(_), Some("all")) => {
            return Err(
                "--arch all needs a tree with every architecture (a Debian linux-libc-dev)".into(),
            )
        }
        (Tree::Single(_), Some(a)) => vec![a.to_string()],
        (Tree::Debian(_), Some(a)) if a != "all" => vec![a.to_string()],
        (Tree::Debian(_), None) => vec![host.arch.to_string()],
        (Tree::Debian(root), _) => {
            let mut v: Vec<String> = std::fs::read_dir(root.join("usr/lib/linux/uapi"))
                .map_err(|e| e.to_string())?
                .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
                .collect();
            v.sort();
            v
        }
    };
    let mut out = Vec::new();
    for a in arches {
        let known: Vec<Abi> = ABIS
            .iter()
            .filter(|x| x.arch == a || x.name == a)
            .cloned()
            .collect();
        if known.is_empty() {
            // An architecture without an entry: the host compiler with its headers.
            let name: &'static str = Box::leak(a.clone().into_boxed_str());
            out.push(abi(name, name, "", &[], &[], "", None));
        } else {
            out.extend(known);
        }
    }
    if let Tree::Single(_) = tree {
        out.truncate(1);
    }
    Ok(out)
}

/// The compiler of `abi`; the host gcc with a note when the ABI has none that Debian packages
/// (so none could be installed); `Err(package)` when its compiler is packaged but not installed.
pub fn compiler(abi: &Abi, tree: &Tree) -> Result<(Compiler, Option<String>), &'static str> {
    let includes = tree.includes(abi);
    let flags = abi.flags.iter().map(|s| s.to_string()).collect();
    if let Some(cc) = abi.cc.iter().find(|c| have(c)) {
        return Ok((
            Compiler {
                program: cc.into(),
                flags,
                includes,
            },
            None,
        ));
    }
    if !abi.pkg.is_empty() {
        return Err(abi.pkg);
    }
    let note = format!(
        "no {} C compiler: values probed with the host gcc (constants and ioctl numbers are the \
         header's; sizes/offsets/alignments are the host's)",
        abi.name,
    );
    Ok((
        Compiler {
            program: "gcc".into(),
            flags: vec![],
            includes,
        },
        Some(note),
    ))
}
