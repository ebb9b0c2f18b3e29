//! Link `/init` without any C start files or libraries: our own `_start` is the entry point.
//! `-no-pie` (last wins over rustc's `-pie`): nothing would apply a static PIE's relocations.
//! With a bare `ld`-style linker (`rust-lld` for loongarch64, which has no Debian cross gcc)
//! there are no start files to leave out, and `-nostartfiles` would be an unknown argument.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    // Cargo passes the configured linker to build scripts as RUSTC_LINKER.
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_default();
    let name = std::path::Path::new(&linker)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    let bare_ld = name.contains("lld") || name == "ld" || name.ends_with("-ld");
    if os == "linux" {
        let args: &[&str] = if bare_ld {
            &["-nostdlib", "-static", "-no-pie"]
        } else {
            &["-nostartfiles", "-nostdlib", "-static", "-no-pie"]
        };
        for arg in args {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
}
