//! Project tasks: `cargo xtask serve | test | build | bench | fuzz | pretrain`.
//!
//! - `serve [--port N] [--no-build]`: build the wasm module and serve `www/` on 127.0.0.1.
//! - `test`: native tests, then the JS API tests in Node, then the browser tests in headless
//!   Chromium (playwright-core). Fails, naming what is missing, rather than skipping.
//! - `build`: only build `www/pkg/` (the wasm module and its JS glue): cargo, then wasm-bindgen
//!   without the `name` section, then wasm-opt from npm's `binaryen` (skipped when the module is
//!   unchanged since the last optimisation; see `wasm_opt.rs`).
//! - `dist [--out DIR]`: build, then write the static site to `dist/` (or DIR): www/ with the
//!   module and the shipped weights, relative paths only, for any static host and sub-path.
//! - `bench`: matmul, attention and training-step benchmarks (natively also each f32 path —
//!   AVX2 + FMA and portable — beside its micro-kernel's ceiling, and the wall time of every
//!   pretrain recipe), the module's size (raw and gzipped) and, in headless Chromium, keystroke
//!   cost and the time to the first heatmap; prints a table and writes
//!   `bench-results/bench.json`.
//! - `fuzz [--calls N] [--seed S]`: the JS API fuzzer (`tests/js/fuzz.mjs`) for long runs;
//!   builds the module first if it is missing or older than the sources.
//! - `pretrain [--recipe NAME] [--seed S] [--steps N] [--out DIR | --no-write]`: runs the
//!   committed training recipes (`src/recipes.rs`) natively in release mode and writes their
//!   weights to `www/models/` (a variant's seed or steps are written only with `--out`), then
//!   reports what each model learned.
//!
//! Only the standard library and `wasm-bindgen-cli-support` are used, so a fresh machine needs
//! nothing but rustup, Node and npm (and Chromium for the browser tests); the npm packages
//! (package-lock.json: binaryen for wasm-opt, playwright-core for the tests) are installed with
//! `npm ci` when missing.

mod serve;
mod wasm_opt;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The wasm-bindgen version this xtask generates glue for; must equal Cargo.lock's.
const BINDGEN_VERSION: &str = "0.2.130";
const TARGET: &str = "wasm32-unknown-unknown";

type Res<T> = Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(|s| s.as_str()) {
        Some("serve") => cmd_serve(&args[1..]),
        Some("test") => cmd_test(&args[1..]),
        Some("build") => build(&root(), BuildKind::Simd).map(|_| ()),
        Some("dist") => cmd_dist(&args[1..]).map(|_| ()),
        Some("bench") => cmd_bench(),
        Some("fuzz") => cmd_fuzz(&args[1..]),
        Some("pretrain") => cmd_pretrain(&args[1..]),
        _ => Err(
            "usage: cargo xtask <serve [--port N] [--no-build] | test | build | dist [--out DIR] | bench | fuzz [--calls N] [--seed S] | pretrain [--recipe NAME] [--seed S] [--steps N] [--out DIR | --no-write]>"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repository")
        .to_path_buf()
}

/// The cargo that runs this xtask (`$CARGO`), so a pinned toolchain is used throughout.
fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(cmd: &mut Command) -> Res<()> {
    let desc = format!("{cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start {desc}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{desc} failed ({status})"))
    }
}

fn output(cmd: &mut Command) -> Option<String> {
    cmd.output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// Installs the wasm target when it is missing.
fn ensure_wasm_target() -> Res<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))
        .ok_or("rustup was not found; install Rust with rustup (https://rustup.rs) so the wasm32 target can be added")?;
    if !installed.lines().any(|l| l.trim() == TARGET) {
        eprintln!("xtask: adding the {TARGET} target");
        run(Command::new("rustup").args(["target", "add", TARGET]))?;
    }
    Ok(())
}

/// Checks that Cargo.lock's wasm-bindgen is the version this xtask's glue generator expects.
fn check_bindgen_version(root: &Path) -> Res<()> {
    let lock =
        std::fs::read_to_string(root.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l.trim() == "name = \"wasm-bindgen\"" {
            let v = lines
                .next()
                .unwrap_or("")
                .trim()
                .trim_start_matches("version = ")
                .trim_matches('"')
                .to_string();
            if v != BINDGEN_VERSION {
                return Err(format!("Cargo.lock has wasm-bindgen {v} but xtask uses wasm-bindgen-cli-support {BINDGEN_VERSION}; pin both to the same version"));
            }
            return Ok(());
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum BuildKind {
    /// The page's module: `+simd128`, glue in `www/pkg/`.
    Simd,
    /// For the benchmark only: without `simd128`, in `target/bench-nosimd/pkg`.
    NoSimd,
}

/// Builds the wasm module and generates its `--target web` glue; returns the output folder.
fn build(root: &Path, kind: BuildKind) -> Res<PathBuf> {
    ensure_wasm_target()?;
    check_bindgen_version(root)?;
    let mut cargo = cargo();
    cargo.current_dir(root).args([
        "build",
        "--release",
        "--lib",
        "--package",
        "lm-playground",
        "--target",
        TARGET,
    ]);
    let target_dir = match kind {
        BuildKind::Simd => root.join("target"),
        BuildKind::NoSimd => {
            // (this replaces .cargo/config.toml's flags for the target: all but simd128 again)
            cargo.env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
                "-C target-feature=-simd128 -C llvm-args=-inline-threshold=50",
            );
            root.join("target").join("bench-nosimd")
        }
    };
    cargo.arg("--target-dir").arg(&target_dir);
    run(&mut cargo)?;
    let wasm = target_dir
        .join(TARGET)
        .join("release")
        .join("lm_playground.wasm");
    let out = match kind {
        BuildKind::Simd => root.join("www").join("pkg"),
        BuildKind::NoSimd => target_dir.join("pkg"),
    };
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    // Function names (the `name` section, ~150 KB) are left out: the page does not need them.
    // The module in target/ keeps them, for reading which functions are large.
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)
        .map_err(|e| e.to_string())?
        .typescript(true)
        .remove_name_section(true)
        .remove_producers_section(true)
        .generate(&out)
        .map_err(|e| format!("wasm-bindgen: {e}"))?;
    let cache = target_dir.join("wasm-opt").join(match kind {
        BuildKind::Simd => "simd",
        BuildKind::NoSimd => "nosimd",
    });
    wasm_opt::optimise(root, &out.join("lm_playground_bg.wasm"), &cache)?;
    eprintln!("xtask: built {}", out.display());
    Ok(out)
}

fn cmd_serve(args: &[String]) -> Res<()> {
    let mut port = 8000u16;
    let mut no_build = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => {
                port = it
                    .next()
                    .and_then(|p| p.parse().ok())
                    .ok_or("--port needs a number from 1 to 65535")?
            }
            "--no-build" => no_build = true,
            other => return Err(format!("serve: unknown option {other}")),
        }
    }
    let root = root();
    if !no_build {
        build(&root, BuildKind::Simd)?;
    }
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e} (try --port)"))?;
    println!("LM Playground: http://127.0.0.1:{port}/  (Ctrl-C to stop)");
    serve::serve_forever(listener, root.join("www"), "/");
    Ok(())
}

/// Node and npm, and the npm packages the build (binaryen's wasm-opt) and the tests use.
fn ensure_node(root: &Path) -> Res<()> {
    let v = output(Command::new("node").arg("--version")).ok_or(
        "node was not found: install Node.js 20 or newer (Debian: apt-get install nodejs npm)",
    )?;
    let major: u32 = v
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 20 {
        return Err(format!(
            "node {v} is too old: Node.js 20 or newer is needed"
        ));
    }
    let modules = root.join("node_modules");
    if !["playwright-core", "axe-core", "binaryen"]
        .iter()
        .all(|p| modules.join(p).exists())
    {
        eprintln!("xtask: installing wasm-opt and the test tools with npm (package-lock.json)");
        let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
        run(Command::new(npm)
            .current_dir(root)
            .args(["ci", "--no-audit", "--no-fund"]))
        .map_err(|e| {
            format!("{e}; npm is needed to install binaryen (wasm-opt), playwright-core and axe-core (Debian: apt-get install npm)")
        })?;
    }
    Ok(())
}

/// A Chromium or Chrome to drive: `$CHROME`, else the usual install locations.
fn find_chrome() -> Res<PathBuf> {
    if let Ok(p) = std::env::var("CHROME") {
        let p = PathBuf::from(p);
        return if p.exists() {
            Ok(p)
        } else {
            Err(format!("CHROME={} does not exist", p.display()))
        };
    }
    for c in [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
        "/usr/bin/google-chrome-stable",
        "/snap/bin/chromium",
    ] {
        if Path::new(c).exists() {
            return Ok(PathBuf::from(c));
        }
    }
    Err("no Chromium or Chrome was found for the browser tests. Install one (Debian/Ubuntu, as root: apt-get install -y chromium) \
         or point CHROME at it (CHROME=/path/to/chrome cargo xtask test)"
        .into())
}

fn cmd_test(args: &[String]) -> Res<()> {
    let root = root();
    let only = args.first().map(|s| s.as_str());
    // Check the browser first, so a missing one fails in seconds, not after the build.
    let chrome = if only.is_none() || only == Some("browser") {
        Some(find_chrome()?)
    } else {
        None
    };
    if only.is_none() || only == Some("native") {
        eprintln!("xtask: native tests");
        run(cargo().current_dir(&root).args(["test", "--workspace"]))?;
    }
    if only == Some("native") {
        return Ok(());
    }
    build(&root, BuildKind::Simd)?;
    ensure_node(&root)?;
    if only.is_none() || only == Some("js") {
        eprintln!("xtask: JS API tests (node --test)");
        run(Command::new("node")
            .current_dir(&root)
            .args(["--test", "tests/js/"]))?;
    }
    if let Some(chrome) = chrome {
        eprintln!("xtask: browser tests (headless {})", chrome.display());
        let port = serve_www(&root)?;
        // The published site too: dist/ written to target/, served under a sub-path.
        let dist = root.join("target").join("dist-test");
        write_dist(&root.join("www"), &dist)?;
        let dist_port = serve_dir(dist, DIST_PREFIX)?;
        run(Command::new("node")
            .current_dir(&root)
            .env("BASE_URL", format!("http://127.0.0.1:{port}/"))
            .env(
                "DIST_URL",
                format!("http://127.0.0.1:{dist_port}{DIST_PREFIX}"),
            )
            .env("CHROME", &chrome)
            .args(["--test", "--test-concurrency=1", "tests/browser/"]))?;
    }
    Ok(())
}

/// Serves `www/` on a free loopback port in a background thread; returns the port.
fn serve_www(root: &Path) -> Res<u16> {
    serve_dir(root.join("www"), "/")
}

/// Serves `dir` at URL path `prefix` on a free loopback port in a background thread; returns the port.
fn serve_dir(dir: PathBuf, prefix: &'static str) -> Res<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    std::thread::spawn(move || serve::serve_forever(listener, dir, prefix));
    Ok(port)
}

/// The sub-path the browser tests serve `dist/` under, as a project's GitHub Pages site is.
const DIST_PREFIX: &str = "/lm-playground/";

/// `dist [--out DIR]`: builds the module and writes the static site — www/ without the glue's
/// TypeScript declarations — ready for any static host, at any sub-path (every path in the page
/// is relative). Returns the folder written.
fn cmd_dist(args: &[String]) -> Res<PathBuf> {
    let root = root();
    let mut out = root.join("dist");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = PathBuf::from(it.next().ok_or("--out needs a folder")?),
            other => return Err(format!("dist: unknown option {other} (options: --out DIR)")),
        }
    }
    build(&root, BuildKind::Simd)?;
    write_dist(&root.join("www"), &out)?;
    let size: u64 = dir_files(&out)?.iter().map(|(_, len)| len).sum();
    eprintln!(
        "xtask: wrote {} ({:.1} MB): upload it to any static host",
        out.display(),
        size as f64 / 1e6
    );
    Ok(out)
}

/// Copies the site from `www` to `out` (emptied first), leaving out what a host need not serve.
fn write_dist(www: &Path, out: &Path) -> Res<()> {
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    for (rel, _) in dir_files(www)? {
        let name = rel.to_string_lossy();
        if name.ends_with(".d.ts") || name.starts_with('.') || name.contains("/.") {
            continue;
        }
        let to = out.join(&rel);
        std::fs::create_dir_all(to.parent().expect("a file has a folder"))
            .map_err(|e| e.to_string())?;
        std::fs::copy(www.join(&rel), &to).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    // GitHub Pages: serve the files as they are (no Jekyll).
    std::fs::write(out.join(".nojekyll"), "").map_err(|e| e.to_string())
}

/// Every file under `dir`: (path relative to `dir`, size), sorted.
fn dir_files(dir: &Path) -> Res<Vec<(PathBuf, u64)>> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<(PathBuf, u64)>) -> std::io::Result<()> {
        for e in std::fs::read_dir(d)? {
            let p = e?.path();
            if p.is_dir() {
                walk(base, &p, out)?;
            } else {
                let len = p.metadata()?.len();
                out.push((p.strip_prefix(base).expect("under base").to_path_buf(), len));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out).map_err(|e| format!("{}: {e}", dir.display()))?;
    out.sort();
    Ok(out)
}

fn cmd_bench() -> Res<()> {
    let root = root();
    let simd = build(&root, BuildKind::Simd)?;
    let nosimd = build(&root, BuildKind::NoSimd)?;
    ensure_node(&root)?;
    eprintln!("xtask: native benchmark (matmul on each path, training step, every pretrain recipe: about a minute)");
    let native = output(cargo().current_dir(&root).args([
        "run",
        "--quiet",
        "--release",
        "--example",
        "bench_native",
    ]))
    .ok_or("the native benchmark failed")?;
    let out_dir = root.join("bench-results");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    std::fs::write(out_dir.join("native.json"), native).map_err(|e| e.to_string())?;
    run(Command::new("node")
        .current_dir(&root)
        .env("PKG_SIMD", simd.join("lm_playground.js"))
        .env("PKG_NOSIMD", nosimd.join("lm_playground.js"))
        .env("NATIVE_JSON", out_dir.join("native.json"))
        .env("OUT_JSON", out_dir.join("bench.json"))
        .args(["bench/bench.mjs"]))?;
    // The page's part: keystroke cost and first heatmap in headless Chromium, served from www/
    // (the module built above).
    let chrome = find_chrome()?;
    let port = serve_www(&root)?;
    run(Command::new("node")
        .current_dir(&root)
        .env("BASE_URL", format!("http://127.0.0.1:{port}/"))
        .env("CHROME", &chrome)
        .env("OUT_JSON", out_dir.join("bench.json"))
        .args(["bench/page.mjs"]))
}

/// `pretrain [options]`: the recipes run natively, in release mode (a debug build would take
/// minutes instead of seconds); the options are `examples/pretrain.rs`'s.
fn cmd_pretrain(args: &[String]) -> Res<()> {
    run(cargo()
        .current_dir(root())
        .args([
            "run",
            "--quiet",
            "--release",
            "--package",
            "lm-playground",
            "--example",
            "pretrain",
            "--",
        ])
        .args(args))
}

/// `fuzz [--calls N] [--seed S] [--start I] [--cap-mb M] [--limit-ms T]`: runs the seeded JS API
/// fuzzer (`tests/js/fuzz.mjs`) and prints its report; fails when any call failed. The module
/// is rebuilt only when `www/pkg` is missing or older than the Rust sources.
fn cmd_fuzz(args: &[String]) -> Res<()> {
    let mut pass: Vec<String> = vec![
        "--calls".into(),
        "20000".into(),
        "--seed".into(),
        "1".into(),
    ];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let flag = a.as_str();
        if !["--calls", "--seed", "--start", "--cap-mb", "--limit-ms"].contains(&flag) {
            return Err(format!(
                "fuzz: unknown option {flag} (options: --calls N --seed S --start I --cap-mb M --limit-ms T)"
            ));
        }
        let v = it
            .next()
            .filter(|v| v.parse::<u64>().is_ok())
            .ok_or_else(|| format!("fuzz: {flag} needs a whole number"))?;
        match pass.iter().position(|p| p == flag) {
            Some(i) => pass[i + 1] = v.clone(),
            None => pass.extend([flag.to_string(), v.clone()]),
        }
    }
    let root = root();
    if !pkg_is_fresh(&root) {
        build(&root, BuildKind::Simd)?;
    }
    output(Command::new("node").arg("--version")).ok_or(
        "node was not found: install Node.js 20 or newer (Debian: apt-get install nodejs npm)",
    )?;
    run(Command::new("node")
        .current_dir(&root)
        .arg("tests/js/fuzz.mjs")
        .args(&pass))
    .map_err(|e| format!("{e}: the fuzzer found failures (report above)"))
}

/// True when `www/pkg`'s module is newer than every file under `src/` and the manifests.
fn pkg_is_fresh(root: &Path) -> bool {
    fn newest(p: &Path) -> Option<std::time::SystemTime> {
        let meta = std::fs::metadata(p).ok()?;
        if !meta.is_dir() {
            return meta.modified().ok();
        }
        std::fs::read_dir(p)
            .ok()?
            .filter_map(|e| newest(&e.ok()?.path()))
            .max()
    }
    let built = root.join("www").join("pkg");
    let Some(module) = ["lm_playground_bg.wasm", "lm_playground.js"]
        .iter()
        .map(|f| {
            std::fs::metadata(built.join(f))
                .and_then(|m| m.modified())
                .ok()
        })
        .collect::<Option<Vec<_>>>()
        .and_then(|t| t.into_iter().min())
    else {
        return false;
    };
    ["src", "Cargo.toml", "Cargo.lock"]
        .iter()
        .filter_map(|p| newest(&root.join(p)))
        .all(|t| t <= module)
}
