//! Link without any C start files or libraries: our own `_start` is the entry point, and the
//! binary is static. `-no-pie` (last wins over rustc's `-pie`): nothing would apply a static
//! PIE's relocations. (The same as `tests/vm-init`.)

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        for arg in ["-nostartfiles", "-nostdlib", "-static", "-no-pie"] {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
