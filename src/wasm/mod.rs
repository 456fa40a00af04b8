//! The thin binding layer: the engine exported to JavaScript with wasm-bindgen.
//!
//! Compiled only for `wasm32`. Everything here converts arguments, calls the core, and
//! converts results and errors back; no math lives here. Errors from the core become JS
//! `Error`s with the core's message. A panic (which would be a bug) is recorded by the panic
//! hook installed at start-up and printed to the console; `lastPanic()` returns its message so
//! the page can say that the module must be reloaded.

pub mod convert;
pub mod model;
mod op_args;
pub mod ops;
pub mod plot;

use std::sync::Mutex;
use wasm_bindgen::prelude::*;

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Installs the panic hook. Runs once when the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        let msg = format!("LM Playground engine panicked: {info}");
        web_sys::console::error_1(&JsValue::from_str(&msg));
        if let Ok(mut g) = LAST_PANIC.lock() {
            *g = Some(msg);
        }
    }));
}

/// The message of the last panic, if the engine ever panicked (it must then be reloaded).
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> Option<String> {
    LAST_PANIC.lock().ok().and_then(|g| g.clone())
}

/// Panics on purpose, so that tests can check how a panic is reported.
#[wasm_bindgen(js_name = debugPanic)]
pub fn debug_panic() {
    panic!("debugPanic was called");
}

/// The engine's version and build: `{version, matmul: "simd128" | "portable"}`.
#[wasm_bindgen(js_name = engineInfo)]
pub fn engine_info() -> JsValue {
    convert::object(&[
        ("version", JsValue::from_str(env!("CARGO_PKG_VERSION"))),
        ("matmul", JsValue::from_str(crate::kernel::sgemm_path())),
    ])
}

/// Runs [`crate::kernel::self_test`] on this build's kernels (simd128) and returns its report
/// as `{path, maxError, cases, expMaxRelError, expEdgesOk, guardsOk}`.
#[wasm_bindgen(js_name = kernelSelfTest)]
pub fn kernel_self_test() -> JsValue {
    let r = crate::kernel::self_test();
    convert::object(&[
        ("path", JsValue::from_str(r.path)),
        ("maxError", JsValue::from(r.max_error)),
        ("cases", JsValue::from(r.cases)),
        ("expMaxRelError", JsValue::from(r.exp_max_rel_error)),
        ("expEdgesOk", JsValue::from(r.exp_edges_ok)),
        ("guardsOk", JsValue::from(r.guards_ok)),
    ])
}

/// Benchmark helper: `reps` calls of the f32 micro-kernel on panels that stay in L1 (see
/// `kernel::bench_micro_kernel`); each call is `microKernelFlops()` flops.
#[wasm_bindgen(js_name = benchMicroKernel)]
pub fn bench_micro_kernel(reps: usize) -> f32 {
    crate::kernel::bench_micro_kernel(reps.min(1 << 24))
}

/// Flops of one `benchMicroKernel` call.
#[wasm_bindgen(js_name = microKernelFlops)]
pub fn micro_kernel_flops() -> usize {
    crate::kernel::MICRO_KERNEL_FLOPS
}

/// Benchmark helper: `reps` products of two `n × n` matrices inside wasm ([`bench_gemm`] with
/// no transposes); returns a checksum (so the work cannot be optimised away). JS measures the
/// time around the call.
#[wasm_bindgen(js_name = benchMatmul)]
pub fn bench_matmul(n: usize, reps: usize) -> f32 {
    bench_gemm(n, n, n, false, false, reps)
}

/// Benchmark helper: `reps` products `C[m×n] = op(A)·op(B)` inside wasm, where `op` transposes
/// when `trans_a` / `trans_b` is set (the layouts a training step uses); returns a checksum.
/// The inputs are built once, outside the repetitions.
#[wasm_bindgen(js_name = benchGemm)]
pub fn bench_gemm(m: usize, n: usize, k: usize, trans_a: bool, trans_b: bool, reps: usize) -> f32 {
    let (m, n, k) = (m.clamp(1, 2048), n.clamp(1, 2048), k.clamp(1, 2048));
    let a = ndarray::Array2::from_shape_fn(if trans_a { (k, m) } else { (m, k) }, |(i, j)| {
        ((i * 7 + j * 3) % 11) as f32 * 0.1
    });
    let b = ndarray::Array2::from_shape_fn(if trans_b { (n, k) } else { (k, n) }, |(i, j)| {
        ((i * 5 + j) % 13) as f32 * 0.1
    });
    let (a, b) = (
        if trans_a { a.t() } else { a.view() },
        if trans_b { b.t() } else { b.view() },
    );
    let mut c = ndarray::Array2::zeros((m, n));
    let mut s = 0.0;
    for _ in 0..reps {
        c.fill(0.0);
        crate::kernel::matmul_acc(&mut c.view_mut(), a, b);
        // (the sum of every entry, so no part of the product can be skipped)
        s += c.sum();
    }
    s
}

/// Benchmark helper: `reps` forward passes of one attention head with `n` tokens and width `d`.
#[wasm_bindgen(js_name = benchAttention)]
pub fn bench_attention(n: usize, d: usize, reps: usize) -> f32 {
    let (n, d) = (n.clamp(1, 4096), d.clamp(1, 1024));
    let q = ndarray::Array2::from_shape_fn((n, d), |(i, j)| {
        (((i * 7 + j * 3) % 11) as f32 - 5.0) * 0.05
    });
    let mut s = 0.0;
    for _ in 0..reps {
        let (o, _) = crate::ops::attention::forward(q.view(), q.view(), q.view(), None, None)
            .expect("valid shapes");
        s += o[[0, 0]];
    }
    s
}

/// The attention panel's computation (see [`crate::demo`]): `text` through one multi-head
/// self-attention layer with weights drawn from `seed`.
///
/// `opts`: `{dModel, heads, seed, causal}`. Returns `{tokens, truncated, tokenVectors,
/// positions, embeddings [T, C], heads: {q, k, v [1, H, T, D], scores, weights [1, H, T, T],
/// concat [1, T, C]}, output [T, C], inProjWeight [3C, C], outProjWeight [C, C]}`.
#[wasm_bindgen(js_name = attentionDemo)]
pub fn attention_demo(text: &str, opts: JsValue) -> convert::JsResult<JsValue> {
    let a = convert::Args::new("attentionDemo", opts)?;
    let d_model = a.int("dModel", 16, 1, crate::demo::MAX_D_MODEL)?;
    let heads = a.int("heads", 2, 1, crate::demo::MAX_HEADS)?;
    let seed = a.int("seed", 1, 0, u32::MAX as usize)? as u64;
    let d = crate::demo::attention_demo(text, d_model, heads, seed, a.flag("causal", false)?)
        .map_err(convert::core_err)?;
    let tokens = js_sys::Array::new();
    for t in &d.tokens {
        tokens.push(&JsValue::from_str(t));
    }
    use convert::tensor_to_js as t;
    Ok(convert::object(&[
        ("tokens", tokens.into()),
        ("truncated", JsValue::from(d.truncated)),
        ("tokenVectors", t(&d.token_vectors)),
        ("positions", t(&d.positions)),
        ("embeddings", t(&d.embeddings)),
        ("heads", ops::heads_to_js(&d.cache)),
        ("output", t(&d.output)),
        ("inProjWeight", t(&d.in_proj_weight)),
        ("outProjWeight", t(&d.out_proj_weight)),
    ]))
}

/// The text of a built-in corpus: `zh`, `en` or `code`.
#[wasm_bindgen(js_name = builtinCorpus)]
pub fn builtin_corpus(name: &str) -> convert::JsResult<String> {
    crate::corpus::builtin(name)
        .map(String::from)
        .map_err(convert::core_err)
}

/// Statistics of a corpus (see [`crate::corpus`]): `opts` `{tokenizer: "word" | "char", token,
/// window, top}`. Returns `{tokens, distinct, counts, next, cooc, found}` where the lists are
/// `[{token, count}]`, most frequent first; `next` and `cooc` are about `token`.
#[wasm_bindgen(js_name = corpusStats)]
pub fn corpus_stats(text: &str, opts: JsValue) -> convert::JsResult<JsValue> {
    use crate::tokenizer::{Mode, Tokenizer, ZH_LEXICON};
    let a = convert::Args::new("corpusStats", opts)?;
    crate::corpus::check_user_corpus(text).map_err(convert::core_err)?;
    let mode = match a.string("tokenizer", "word")?.as_str() {
        "word" => Mode::Word,
        "char" => Mode::Char,
        other => {
            return Err(JsError::new(&format!(
                "corpusStats: tokenizer {other:?} is not word or char"
            )))
        }
    };
    let top = a.int("top", 12, 1, 1000)?;
    let window = a.int("window", 3, 1, 50)?;
    let tok = Tokenizer::from_corpus(text, mode, ZH_LEXICON, crate::models::MAX_VOCAB)
        .map_err(convert::core_err)?;
    let ids = tok.encode(text).1;
    let list = |c: crate::corpus::Counts| {
        let arr = js_sys::Array::new();
        for (id, n) in c.into_iter().take(top) {
            arr.push(&convert::object(&[
                ("token", JsValue::from_str(tok.piece(id))),
                ("count", JsValue::from(n as u32)),
            ]));
        }
        JsValue::from(arr)
    };
    let token = a.string("token", "")?;
    let id = tok.id(&token);
    let counts = crate::corpus::token_counts(&ids);
    let distinct = counts.len();
    Ok(convert::object(&[
        ("tokens", JsValue::from(ids.len() as u32)),
        ("distinct", JsValue::from(distinct as u32)),
        ("counts", list(counts)),
        (
            "next",
            id.map(|i| list(crate::corpus::next_counts(&ids, i)))
                .unwrap_or_else(|| js_sys::Array::new().into()),
        ),
        (
            "cooc",
            id.map(|i| list(crate::corpus::cooccurrence(&ids, i, window)))
                .unwrap_or_else(|| js_sys::Array::new().into()),
        ),
        ("found", JsValue::from(id.is_some())),
    ]))
}
