//! Compiles the C reference (glibc, -O2, the same flags the kernel selftests use).
fn main() {
    println!("cargo:rerun-if-changed=c/storm.c");
    println!("cargo:rerun-if-changed=c/polled.c");
    println!("cargo:rerun-if-changed=c/perpage.c");
    println!("cargo:rerun-if-changed=c/bgfill.c");
    cc::Build::new()
        .file("c/storm.c")
        .file("c/polled.c")
        .file("c/perpage.c")
        .file("c/bgfill.c")
        .opt_level(2)
        .flag("-pthread")
        .warnings(true)
        .compile("cstorm");
    println!("cargo:rustc-link-lib=pthread");
}
