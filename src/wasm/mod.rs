//! The thin binding layer: the engine exported to JavaScript with wasm-bindgen.
//!
//! Compiled only for `wasm32`. Everything here converts arguments, calls the core, and
//! converts results and errors back; no math lives here. Errors from the core become JS
//! `Error`s with the core's message. A panic (which would be a bug) is recorded by the panic
//! hook installed at start-up and printed to the console; `lastPanic()` returns its message so
//! the page can say that the module must be reloaded.

pub mod backend;
pub mod blame;
pub mod block;
pub mod causal;
pub mod convert;
pub mod lines;
pub mod masked;
pub mod model;
pub mod ops;
pub mod plot;
pub mod seq2seq;
pub mod session;
pub mod shards;
pub mod space;
pub mod spec;
pub mod svg;

use convert::JsResult;
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

/// The names of the engine's error codes ([`crate::Code`]): what a thrown `Error`'s `code` can
/// be, for an error a person can cause (its `params` name the values in its message).
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> JsValue {
    convert::string_array(&crate::Code::ALL.map(|c| c.name()))
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
/// as `{path, maxError, cases, expMaxRelError, expEdgesOk, guardsOk, geluTanhMaxError}`.
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
        ("geluTanhMaxError", JsValue::from(r.gelu_tanh_max_error)),
    ])
}

/// The work of a benchmark call: `reps` repetitions of `flops_each`, within
/// [`crate::args::MAX_FLOPS`] like any other call.
fn bench_work(func: &str, reps: usize, flops_each: u128) -> JsResult<()> {
    let total = reps as u128 * flops_each;
    let limit = crate::args::MAX_FLOPS;
    if total > limit {
        return Err(convert::err(format!(
            "{func}: {reps} repetitions would take about {total} floating-point operations, more than the limit of {limit}"
        )));
    }
    Ok(())
}

/// Benchmark helper: `reps` calls of the f32 micro-kernel on panels that stay in L1 (see
/// `kernel::bench_micro_kernel`); each call is `microKernelFlops()` flops.
#[wasm_bindgen(js_name = benchMicroKernel)]
pub fn bench_micro_kernel(reps: JsValue) -> JsResult<f32> {
    let f = "benchMicroKernel";
    let reps = convert::int(f, "reps", &reps, 0, 1 << 24)? as usize;
    bench_work(f, reps, crate::kernel::MICRO_KERNEL_FLOPS as u128)?;
    Ok(crate::kernel::bench_micro_kernel(reps))
}

/// Flops of one `benchMicroKernel` call.
#[wasm_bindgen(js_name = microKernelFlops)]
pub fn micro_kernel_flops() -> u32 {
    crate::kernel::MICRO_KERNEL_FLOPS as u32
}

/// Benchmark helper: `reps` products of two `n × n` matrices inside wasm ([`bench_gemm`] with
/// no transposes); returns a checksum (so the work cannot be optimised away). JS measures the
/// time around the call.
#[wasm_bindgen(js_name = benchMatmul)]
pub fn bench_matmul(n: JsValue, reps: JsValue) -> JsResult<f32> {
    bench_gemm(
        n.clone(),
        n.clone(),
        n,
        JsValue::FALSE,
        JsValue::FALSE,
        reps,
    )
}

/// Benchmark helper: `reps` products `C[m×n] = op(A)·op(B)` inside wasm, where `op` transposes
/// when `transA` / `transB` is set (the layouts a training step uses); returns a checksum.
/// Sizes from 1 to 2048. The inputs are built once, outside the repetitions.
#[wasm_bindgen(js_name = benchGemm)]
pub fn bench_gemm(
    m: JsValue,
    n: JsValue,
    k: JsValue,
    trans_a: JsValue,
    trans_b: JsValue,
    reps: JsValue,
) -> JsResult<f32> {
    let f = "benchGemm";
    let size = |name: &str, v: &JsValue| convert::int(f, name, v, 1, 2048).map(|x| x as usize);
    let (m, n, k) = (size("m", &m)?, size("n", &n)?, size("k", &k)?);
    let (trans_a, trans_b) = (
        convert::flag(f, "transA", &trans_a)?,
        convert::flag(f, "transB", &trans_b)?,
    );
    let reps = convert::int(f, "reps", &reps, 0, 1 << 20)? as usize;
    bench_work(f, reps, 2 * m as u128 * n as u128 * k as u128)?;
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
    Ok(s)
}

/// Benchmark helper: `reps` forward passes of one attention head with `n` tokens (1–4096) and
/// width `d` (1–1024).
#[wasm_bindgen(js_name = benchAttention)]
pub fn bench_attention(n: JsValue, d: JsValue, reps: JsValue) -> JsResult<f32> {
    let f = "benchAttention";
    let n = convert::int(f, "n", &n, 1, 4096)? as usize;
    let d = convert::int(f, "d", &d, 1, 1024)? as usize;
    let reps = convert::int(f, "reps", &reps, 0, 1 << 20)? as usize;
    bench_work(f, reps, 4 * n as u128 * n as u128 * d as u128)?;
    let q = ndarray::Array2::from_shape_fn((n, d), |(i, j)| {
        (((i * 7 + j * 3) % 11) as f32 - 5.0) * 0.05
    });
    let mut s = 0.0;
    for _ in 0..reps {
        let (o, _) = crate::ops::attention::forward(q.view(), q.view(), q.view(), None, None, None)
            .map_err(convert::core_err)?;
        s += o[[0, 0]];
    }
    Ok(s)
}

/// The attention panel's computation (see [`crate::demo`]): `text` through one multi-head
/// self-attention layer with weights drawn from `seed`.
///
/// `opts`: `{dModel, heads, seed, causal, article}`. `article: true` computes the seed
/// article's 你是谁 example instead (see [`crate::demo::article_demo`]): hand-set vectors,
/// d_model 4, one head, identity projections, no positions; the text must be 你是谁, and
/// `dModel`, `heads` and `seed` may not be given with it. Returns `{tokens, truncated, tokenVectors,
/// positions, embeddings [T, C], heads: {q, k, v [1, H, T, D], scores, weights [1, H, T, T],
/// concat [1, T, C]}, output [T, C], inProjWeight [3C, C], outProjWeight [C, C]}`.
#[wasm_bindgen(js_name = attentionDemo)]
pub fn attention_demo(text: JsValue, opts: JsValue) -> convert::JsResult<JsValue> {
    use crate::args::ArgSpec;
    let f = "attentionDemo";
    let text = convert::text(f, "text", &text)?;
    let n = text.chars().count();
    if n > crate::demo::MAX_TEXT_CHARS {
        return Err(convert::err(format!(
            "{f}: the text has {n} characters; the limit is {} (only the first {} tokens are shown)",
            crate::demo::MAX_TEXT_CHARS,
            crate::demo::MAX_TOKENS
        )));
    }
    let specs = [
        ArgSpec::int("dModel", 1, crate::demo::MAX_D_MODEL as i64),
        ArgSpec::int("heads", 1, crate::demo::MAX_HEADS as i64),
        ArgSpec::int("seed", 0, u32::MAX as i64),
        ArgSpec::flag("causal"),
        ArgSpec::flag("article"),
    ];
    let a = convert::Obj::read(f, &opts, &specs)?.convert(&specs, |_, _| Ok(()))?;
    let e = convert::core_err;
    let causal = a.flag_or("causal", false).map_err(e)?;
    let d = if a.flag_or("article", false).map_err(e)? {
        if let Some(name) = ["dModel", "heads", "seed"].into_iter().find(|n| a.has(n)) {
            return Err(convert::err(format!(
                "{f}: {name} may not be given with article: true (the article's example has d_model 4, 1 head and vectors set by hand)"
            )));
        }
        crate::demo::article_demo(&text, causal)
    } else {
        crate::demo::attention_demo(
            &text,
            a.usize_or("dModel", 16).map_err(e)?,
            a.usize_or("heads", 2).map_err(e)?,
            a.int_or("seed", 1).map_err(e)? as u64,
            causal,
        )
    }
    .map_err(e)?;
    use convert::tensor_to_js as t;
    Ok(convert::object(&[
        ("tokens", convert::string_array(&d.tokens)),
        ("truncated", JsValue::from(d.truncated)),
        ("tokenVectors", t(&d.token_vectors)),
        ("positions", t(&d.positions)),
        ("embeddings", t(&d.embeddings)),
        (
            "heads",
            convert::out_to_js(crate::ops::registry::heads_out(&d.cache)),
        ),
        ("output", t(&d.output)),
        ("inProjWeight", t(&d.in_proj_weight)),
        ("outProjWeight", t(&d.out_proj_weight)),
    ]))
}

/// The text of a built-in corpus: `zh`, `en` or `code`.
#[wasm_bindgen(js_name = builtinCorpus)]
pub fn builtin_corpus(name: JsValue) -> convert::JsResult<String> {
    let name = convert::text("builtinCorpus", "name", &name)?;
    crate::corpus::builtin(&name)
        .map(String::from)
        .map_err(convert::core_err)
}

/// What each attention head does, from its weights (see [`crate::heads`]): `weights` `[H, T,
/// T]` or `[1, H, T, T]` (as `trace` gives them; row i: what token i looked at), `opts`
/// `{causal}` (default true: a decoder's heads; false also looks for heads reading the next
/// token). Returns one entry per head: `{kind: "previous" | "current" | "first" | "next",
/// strength}` when the head puts on average at least half of each row on that position, else
/// `null`.
#[wasm_bindgen(js_name = headPatterns)]
pub fn head_patterns(weights: JsValue, opts: JsValue) -> convert::JsResult<JsValue> {
    use crate::args::{ArgSpec, Kind};
    let f = "headPatterns";
    let specs = [
        ArgSpec::req("weights", Kind::Tensors(&[3, 4])),
        ArgSpec::flag("causal"),
    ];
    let obj = convert::Obj::positional(f, vec![("weights", weights)]).merge(convert::Obj::read(
        f,
        &opts,
        &specs[1..],
    )?);
    let a = obj.convert(&specs, |shapes, _| {
        let s = &shapes["weights"];
        let square = s[s.len() - 1] == s[s.len() - 2];
        if !square || (s.len() == 4 && s[0] != 1) {
            return Err(crate::Error::shape(format!(
                "{f}: weights have shape {s:?} but must be [H, T, T] or [1, H, T, T]"
            )));
        }
        Ok(())
    })?;
    let e = convert::core_err;
    let causal = a.flag_or("causal", true).map_err(e)?;
    let w = a.tensor("weights").map_err(e)?;
    let s = w.shape().to_vec();
    let (h, t) = (s[s.len() - 3], s[s.len() - 1]);
    let w = w
        .to_shape((h, t, t))
        .map_err(|_| convert::err(format!("{f}: weights of shape {s:?}")))?;
    let out = js_sys::Array::new();
    for head in w.outer_iter() {
        out.push(
            &match crate::heads::head_pattern(head, causal).map_err(e)? {
                Some(p) => convert::object(&[
                    ("kind", JsValue::from_str(p.kind.name())),
                    ("strength", JsValue::from(p.strength)),
                ]),
                None => JsValue::NULL,
            },
        );
    }
    Ok(out.into())
}

/// Statistics of a corpus (see [`crate::corpus`]): `opts` `{tokenizer: "word" | "char", token,
/// window, top}`. Returns `{tokens, distinct, counts, next, cooc, found}` where the lists are
/// `[{token, count}]`, most frequent first; `next` and `cooc` are about `token`.
#[wasm_bindgen(js_name = corpusStats)]
pub fn corpus_stats(text: JsValue, opts: JsValue) -> convert::JsResult<JsValue> {
    use crate::args::ArgSpec;
    use crate::tokenizer::{text_lexicon, Mode, Tokenizer};
    let f = "corpusStats";
    let text = convert::text(f, "text", &text)?;
    let specs = [
        ArgSpec::choice("tokenizer", &["word", "char"]),
        ArgSpec::int("top", 1, 1000),
        ArgSpec::int("window", 1, 50),
        ArgSpec::choice("token", &[]),
    ];
    let a = convert::Obj::read(f, &opts, &specs)?.convert(&specs, |_, _| Ok(()))?;
    let e = convert::core_err;
    crate::corpus::check_user_corpus(&text).map_err(e)?;
    let mode = match a.text_or("tokenizer", "word").map_err(e)? {
        "char" => Mode::Char,
        _ => Mode::Word,
    };
    let top = a.usize_or("top", 12).map_err(e)?;
    let window = a.usize_or("window", 3).map_err(e)?;
    let tok = Tokenizer::from_corpus(&text, mode, &text_lexicon(), crate::models::MAX_VOCAB)
        .map_err(e)?;
    let ids = tok.encode(&text).1;
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
    let id = tok.id(a.text_or("token", "").map_err(e)?);
    let counts = crate::corpus::token_counts(&ids);
    let distinct = counts.len();
    let empty = || JsValue::from(js_sys::Array::new());
    Ok(convert::object(&[
        ("tokens", JsValue::from(ids.len() as u32)),
        ("distinct", JsValue::from(distinct as u32)),
        ("counts", list(counts)),
        (
            "next",
            id.map(|i| list(crate::corpus::next_counts(&ids, i)))
                .unwrap_or_else(empty),
        ),
        (
            "cooc",
            id.map(|i| list(crate::corpus::cooccurrence(&ids, i, window)))
                .unwrap_or_else(empty),
        ),
        ("found", JsValue::from(id.is_some())),
    ]))
}
