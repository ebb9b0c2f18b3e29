fn main() {
    eprintln!("usage: cargo xtask <ci|verify-layout>");
    std::process::exit(2)
}
