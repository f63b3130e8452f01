//! Refuses a build whose JPEG codec lost its SIMD paths.
//!
//! mozjpeg-sys builds its x86 SIMD with `nasm` and, when `nasm` is missing,
//! quietly falls back to plain C: every JPEG (and the thumbnail) then encodes
//! 2–3× slower, and cargo keeps that build after `nasm` is installed. Its
//! build script records the choice in the `jconfig.h` it generates, which
//! this script reads (through the `links = "jpeg"` metadata) and stops with
//! the fix instead of shipping a slow binary without a word.

use std::env;

const ESCAPE_HATCH: &str = "IMGFLOW_ALLOW_SLOW_JPEG";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={ESCAPE_HATCH}");
    println!("cargo:rerun-if-env-changed=DEP_JPEG_INCLUDE");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    // The architectures where mozjpeg-sys has SIMD to lose (arm64: NEON in C).
    if !matches!(arch.as_str(), "x86_64" | "x86" | "aarch64") {
        return;
    }
    let include = env::var_os("DEP_JPEG_INCLUDE").unwrap_or_default();
    let config = env::split_paths(&include)
        .map(|dir| dir.join("jconfig.h"))
        .find(|path| path.is_file());
    let simd = match &config {
        Some(path) => std::fs::read_to_string(path)
            .map(|text| text.contains("#define WITH_SIMD 1"))
            .unwrap_or(false),
        // Not knowing is not a reason to stop a build.
        None => return,
    };
    if simd {
        return;
    }
    let hint = if matches!(arch.as_str(), "x86_64" | "x86") {
        "Install nasm (apt-get install nasm · dnf install nasm · brew install nasm), then run\n\
         `cargo clean -p mozjpeg-sys` (cargo keeps the slow build otherwise) and build again."
    } else {
        "The C compiler could not build the NEON paths; see mozjpeg-sys's warnings above,\n\
         then run `cargo clean -p mozjpeg-sys` and build again."
    };
    let message = format!(
        "mozjpeg was built without SIMD ({}): JPEG encoding would be 2-3x slower.\n{hint}\n\
         To build the slow encoder on purpose, set {ESCAPE_HATCH}=1.",
        config.unwrap_or_default().display()
    );
    if env::var_os(ESCAPE_HATCH).is_some_and(|v| v != "0") {
        println!("cargo:warning={}", message.replace('\n', " "));
        return;
    }
    eprintln!("\nerror: {message}\n");
    std::process::exit(1);
}
