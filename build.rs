//! Links the Linux (glibc) binary as a position-dependent executable.
//!
//! A credential helper is started once per pull and push; most of its wall
//! time on a cache hit is the dynamic loader. A PIE binary of this size
//! carries ~16 000 relative relocations that the loader applies at every
//! start, dirtying ~60 pages; a non-PIE executable has none (shared libraries
//! and the heap and stack stay randomised). `scripts/bench` shows the effect.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let crt_static = features.split(',').any(|f| f == "crt-static");
    // A static build (scripts/build-release) chooses its own relocation model.
    if os == "linux" && env == "gnu" && !crt_static {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
