//! wasm-opt (the `binaryen` npm package, pinned in package.json) on the module wasm-bindgen
//! wrote, with a cache: when the unoptimised module is byte for byte the one optimised last
//! time, by the same binaryen version with the same arguments, the stored result is copied
//! instead of running wasm-opt again (it takes 15–30 s here).
//!
//! Debian's `binaryen` package (wasm-opt 108) breaks this module (init throws
//! `WebAssembly.Table.set(): Argument 1 is invalid for table`), so only npm's is used, never one
//! found on the PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{ensure_node, run, Res};

/// The optimisation level, chosen by measurement on this module (README, "Size"): `-O2`, `-O3`,
/// `-Os` and `-Oz` all land within 2 KB gzipped of each other (about 0.5 % below the
/// unoptimised module: LLVM has done the work) with the same matmul, attention and
/// training-step times; `-Os` was the smallest. `-O4` was slower and takes twice as long.
pub const LEVEL: &str = "-Os";

/// Everything wasm-opt is given besides the files. The features come from the module's own
/// `target_features` section (which wasm-opt reads and keeps), so the build without simd128 for
/// the benchmark is optimised with the same arguments. No pass that changes float results
/// (`--fast-math`) is used: the tests compare numbers against fixtures.
pub fn args() -> Vec<&'static str> {
    vec![LEVEL, "--strip-debug", "--strip-producers"]
}

/// The wasm-opt program: npm's binaryen under `node_modules` (installed with `npm ci` when
/// missing), run by node.
fn wasm_opt(root: &Path) -> Res<PathBuf> {
    let bin = root
        .join("node_modules")
        .join("binaryen")
        .join("bin")
        .join("wasm-opt");
    if !bin.exists() {
        ensure_node(root)?;
    }
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!(
            "{} is missing after `npm ci`: package.json must list binaryen 132.0.0 (npm install --save-dev --save-exact binaryen@132.0.0)",
            bin.display()
        ))
    }
}

/// The `version` in binaryen's package.json (beside `bin/`), or "?".
fn version(bin: &Path) -> String {
    let manifest = bin
        .parent()
        .and_then(Path::parent)
        .map(|p| p.join("package.json"));
    let text = manifest
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    text.split("\"version\"")
        .nth(1)
        .and_then(|rest| rest.split('"').nth(1))
        .unwrap_or("?")
        .to_string()
}

/// Optimises `module` in place. `cache` is a folder under `target/` kept for this build kind.
pub fn optimise(root: &Path, module: &Path, cache: &Path) -> Res<()> {
    let err = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let input = std::fs::read(module).map_err(|e| err(module, e))?;
    let bin = wasm_opt(root)?;
    let key = format!("binaryen {}: {}", version(&bin), args().join(" "));
    let (cached_in, cached_args, cached_out) = (
        cache.join("input.wasm"),
        cache.join("args.txt"),
        cache.join("output.wasm"),
    );
    let hit = std::fs::read(&cached_in).is_ok_and(|b| b == input)
        && std::fs::read_to_string(&cached_args).is_ok_and(|a| a == key)
        && cached_out.exists();
    if hit {
        std::fs::copy(&cached_out, module).map_err(|e| err(module, e))?;
        eprintln!("xtask: wasm-opt skipped (the module is unchanged since the last optimisation)");
        return Ok(());
    }
    std::fs::create_dir_all(cache).map_err(|e| err(cache, e))?;
    // Invalidate first, so an interrupted run is never taken for a finished one.
    let _ = std::fs::remove_file(&cached_args);
    eprintln!("xtask: wasm-opt ({key}), about 20 s");
    let t0 = std::time::Instant::now();
    run(Command::new("node")
        .arg(&bin)
        .arg(module)
        .args(args())
        .arg("-o")
        .arg(&cached_out))?;
    let out = std::fs::read(&cached_out).map_err(|e| err(&cached_out, e))?;
    if out.len() < 8 || &out[..4] != b"\0asm" {
        return Err(format!(
            "wasm-opt wrote no module to {}",
            cached_out.display()
        ));
    }
    std::fs::write(&cached_in, &input).map_err(|e| err(&cached_in, e))?;
    std::fs::write(&cached_args, &key).map_err(|e| err(&cached_args, e))?;
    std::fs::write(module, &out).map_err(|e| err(module, e))?;
    eprintln!(
        "xtask: wasm-opt {} → {} bytes in {:.0} s",
        input.len(),
        out.len(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
