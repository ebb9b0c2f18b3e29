//! Link `/init` without any C start files or libraries: our own `_start` is the entry point.
//! `-no-pie` (last wins over rustc's `-pie`): nothing would apply a static PIE's relocations.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        for arg in ["-nostartfiles", "-nostdlib", "-static", "-no-pie"] {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
