//! `space(op, args)`: the vector space of an embedding matrix E `[N, C]` (see [`crate::space`]),
//! one export for its six questions, each with its own argument list under the one contract:
//!
//! ```text
//! map        {e, axes: 2|3}                  → {coords [N, k], axes [k, C], explained [k]}
//! nearest    {e, row, k, exclude}            → [{row, cos}] most similar first, row left out
//! cosine     {e, a, b}                       → {cos, dot, normA, normB}
//! axis       {e, a, b}                       → Float32Array [N]: 0 at a, 1 at b
//! analogy    {e, a, b, c, k, exclude}        → [{row, cos}] nearest to a − b + c
//! categories {e, groups [N] (−1: none)}      → {within, across} mean cosines
//! ```
//!
//! `exclude` is a mask `[N]` (`true`: never a neighbour), e.g. the special tokens.

use super::convert::{self, object, JsResult, Obj};
use crate::args::{ArgSpec, Kind, Values};
use crate::space;
use js_sys::{Array, Float32Array};
use ndarray::{ArrayView2, Ix1};
use wasm_bindgen::prelude::*;

/// Most neighbours one call returns.
const MAX_K: i64 = 1000;

fn specs(op: &str) -> Option<Vec<ArgSpec>> {
    let e = || ArgSpec::req("e", Kind::Tensor(2));
    let row = |n: &str| {
        ArgSpec::req(
            n,
            Kind::Int {
                lo: 0,
                hi: u32::MAX as i64,
            },
        )
    };
    let k = || ArgSpec::int("k", 1, MAX_K);
    let exclude = || ArgSpec::opt("exclude", Kind::Mask(1));
    Some(match op {
        "map" => vec![e(), ArgSpec::int("axes", 1, 3)],
        "nearest" => vec![e(), row("row"), k(), exclude()],
        "cosine" | "axis" => vec![e(), row("a"), row("b")],
        "analogy" => vec![e(), row("a"), row("b"), row("c"), k(), exclude()],
        "categories" => vec![e(), ArgSpec::req("groups", Kind::Tensor(1))],
        _ => return None,
    })
}

/// The rows that may be neighbours: all but those `exclude` marks.
fn allowed(f: &str, a: &Values<f32>, n: usize) -> crate::Result<Option<Vec<usize>>> {
    let Some(m) = a.mask("exclude", 1)? else {
        return Ok(None);
    };
    let m = m.into_dimensionality::<Ix1>().expect("rank checked");
    if m.len() != n {
        return Err(crate::Error::shape(format!(
            "{f}: exclude has {} entries, e has {n} rows",
            m.len()
        )));
    }
    Ok(Some((0..n).filter(|&i| !m[i]).collect()))
}

fn row_of(f: &str, a: &Values<f32>, name: &str, e: ArrayView2<f32>) -> crate::Result<usize> {
    let i = a.int_or(name, 0)? as usize;
    if i >= e.nrows() {
        return Err(crate::Error::value(format!(
            "{f}: {name} = {i} is outside the {} rows of e",
            e.nrows()
        )));
    }
    Ok(i)
}

fn neighbours_js(list: &[(usize, f32)]) -> JsValue {
    let out = Array::new();
    for &(row, cos) in list {
        out.push(&object(&[
            ("row", JsValue::from(row as u32)),
            ("cos", JsValue::from(cos)),
        ]));
    }
    out.into()
}

/// The vector space of an embedding matrix: `op` is `map`, `nearest`, `cosine`, `axis`,
/// `analogy` or `categories` (see the module's table for each one's arguments and result).
#[wasm_bindgen]
pub fn space(op: JsValue, args: JsValue) -> JsResult<JsValue> {
    let op = convert::text("space", "op", &op)?;
    let sp = specs(&op).ok_or_else(|| {
        convert::err(format!(
            "space: no question named {op:?} (there are map, nearest, cosine, axis, analogy and categories)"
        ))
    })?;
    let f = format!("space('{op}')");
    let a = Obj::read(&f, &args, &sp)?.convert(&sp, |_, _| Ok(()))?;
    let e = convert::core_err;
    let run = || -> crate::Result<JsValue> {
        let m = a.t2("e")?;
        let n = m.nrows();
        Ok(match op.as_str() {
            "map" => {
                let map = space::pca(m, a.usize_or("axes", 2)?)?;
                object(&[
                    ("coords", convert::tensor_to_js(&map.coords)),
                    ("axes", convert::tensor_to_js(&map.axes)),
                    (
                        "explained",
                        Float32Array::from(map.explained.as_slice()).into(),
                    ),
                ])
            }
            "nearest" => {
                let r = row_of(&f, &a, "row", m)?;
                let among = allowed(&f, &a, n)?;
                neighbours_js(&space::nearest(
                    m,
                    m.row(r),
                    a.usize_or("k", 5)?,
                    among.as_deref(),
                    &[r],
                ))
            }
            "cosine" => {
                let (i, j) = (row_of(&f, &a, "a", m)?, row_of(&f, &a, "b", m)?);
                let (cos, dot, na, nb) = space::cosine_parts(m.row(i), m.row(j));
                object(&[
                    ("cos", JsValue::from(cos)),
                    ("dot", JsValue::from(dot)),
                    ("normA", JsValue::from(na)),
                    ("normB", JsValue::from(nb)),
                ])
            }
            "axis" => {
                let t = space::axis_positions(m, row_of(&f, &a, "a", m)?, row_of(&f, &a, "b", m)?)?;
                Float32Array::from(t.as_slice()).into()
            }
            "analogy" => {
                let rows = (
                    row_of(&f, &a, "a", m)?,
                    row_of(&f, &a, "b", m)?,
                    row_of(&f, &a, "c", m)?,
                );
                let among = allowed(&f, &a, n)?;
                neighbours_js(&space::analogy(
                    m,
                    rows,
                    a.usize_or("k", 5)?,
                    among.as_deref(),
                )?)
            }
            _ => {
                let g = a.t1("groups")?;
                if g.len() != n {
                    return Err(crate::Error::shape(format!(
                        "{f}: groups has {} entries, e has {n} rows",
                        g.len()
                    )));
                }
                if let Some(bad) = g.iter().find(|v| v.fract() != 0.0 || **v < -1.0) {
                    return Err(crate::Error::value(format!(
                        "{f}: groups holds {bad}; a group is a whole number, −1 for none"
                    )));
                }
                let rows: Vec<usize> = (0..n).filter(|&i| g[i] >= 0.0).collect();
                let names: Vec<String> = rows.iter().map(|&i| g[i].to_string()).collect();
                let labels: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
                let (w, x) = space::category_cosines(m, &rows, &labels)?;
                object(&[("within", JsValue::from(w)), ("across", JsValue::from(x))])
            }
        })
    };
    run().map_err(|x| e(x.context(&f)))
}

/// The word groups of a built-in corpus (`zh` or `en`): `[[word, group], …]`, the groups being
/// `animal`, `weather`, `food`, `place`, `feeling`, `temperature` and `time` (what the
/// vectors panel colours its map by). Every word is a token of the word tokenizer on it.
#[wasm_bindgen(js_name = wordCategories)]
pub fn word_categories(lang: JsValue) -> JsResult<JsValue> {
    let f = "wordCategories";
    let lang = convert::text(f, "lang", &lang)?;
    let list = crate::corpus::categories(&lang).map_err(|e| convert::core_err(e.context(f)))?;
    let out = Array::new();
    for (w, c) in list {
        let pair = Array::new();
        pair.push(&JsValue::from_str(w));
        pair.push(&JsValue::from_str(c));
        out.push(&pair);
    }
    Ok(out.into())
}
