//! Attention drawn as lines between two columns of tokens (BertViz's head view): the tokens
//! that ask (queries) on the left, the tokens they look at (keys) on the right, one line per
//! pair whose strength is the attention weight.
//!
//! ```text
//! weights [L, R]   row i: how much left token i looks at each right token (a row sums to 1)
//! line i → j       width 1 + 5·w px, opacity 0.15 + 0.85·w   (the selected row, blue)
//!                  opacity 0.25·w                            (every other row, grey)
//! numbers          the selected row's weights, written after the right tokens
//! ```

use super::convert::{err, strings, JsResult, Obj};
use super::plot::{area, canvas_arg, draw_err, e, fmt, font, options, svg_size, svg_size_specs};
use crate::args::{ArgSpec, Kind, Values};
use crate::viz::text_em;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use wasm_bindgen::prelude::*;

/// Most tokens a column takes.
const MAX_TOKENS: usize = 512;

/// Draws attention `weights` ([L, R], a row per left token) as lines from the `left` tokens to
/// the `right` tokens.
///
/// `opts`: `{dpr, row (the selected left token, −1 for none), numbers (write the selected
/// row's weights), fontScale, leftTitle, rightTitle}`. Returns `{leftX, rightX, rowY, colY}` in
/// CSS pixels: the inner ends of the two columns and the tokens' heights, so the page can map
/// the pointer to a token.
#[wasm_bindgen(js_name = drawAttentionLines)]
pub fn draw_attention_lines(
    canvas: JsValue,
    left: JsValue,
    right: JsValue,
    weights: JsValue,
    opts: JsValue,
) -> JsResult<JsValue> {
    let f = "drawAttentionLines";
    let canvas = canvas_arg(f, &canvas)?;
    let args = read(f, left, right, weights, opts, &[ArgSpec::number("dpr")])?;
    let dpr = args.a.number_or("dpr", 1.0).map_err(e)?.clamp(0.5, 4.0);
    let root = area(&canvas)?;
    let size = (canvas.width() as f64 / dpr, canvas.height() as f64 / dpr);
    let layout = paint(&root, size, &args, dpr)?;
    root.present().map_err(draw_err)?;
    Ok(layout)
}

/// The lines [`draw_attention_lines`] draws, as an SVG document (a string): the same
/// arguments, with the figure's CSS size `{width, height}` in place of a canvas and its `dpr`.
/// Each line is a `<polyline>`; tokens and the selected row's weights are `<text>`.
#[wasm_bindgen(js_name = drawAttentionLinesSvg)]
pub fn draw_attention_lines_svg(
    left: JsValue,
    right: JsValue,
    weights: JsValue,
    opts: JsValue,
) -> JsResult<String> {
    let f = "drawAttentionLinesSvg";
    let args = read(f, left, right, weights, opts, &svg_size_specs())?;
    let (w, h) = svg_size(&args.a)?;
    super::svg::document(w, h, |root, w, h, scale| {
        paint(root, (w, h), &args, scale).map(|_| ())
    })
}

/// The lines' arguments, checked.
struct Args {
    left: Vec<String>,
    right: Vec<String>,
    w: ndarray::Array2<f32>,
    a: Values<f32>,
}

fn read(
    f: &str,
    left: JsValue,
    right: JsValue,
    weights: JsValue,
    opts: JsValue,
    size: &[ArgSpec],
) -> JsResult<Args> {
    let left = strings(f, "left", &left, MAX_TOKENS)?;
    let right = strings(f, "right", &right, MAX_TOKENS)?;
    let w_spec = [ArgSpec::req("weights", Kind::Tensor(2))];
    let w = Obj::positional(f, vec![("weights", weights)])
        .convert(&w_spec, |_, _| Ok(()))?
        .tensor("weights")
        .map_err(e)?
        .into_dimensionality::<ndarray::Ix2>()
        .map_err(|_| err(format!("{f}: weights must be 2-D")))?
        .to_owned();
    if w.dim() != (left.len(), right.len()) {
        return Err(err(format!(
            "{f}: weights has shape [{}, {}] but there are {} left and {} right tokens",
            w.nrows(),
            w.ncols(),
            left.len(),
            right.len()
        )));
    }
    let mut specs = vec![
        ArgSpec::number("row"),
        ArgSpec::flag("numbers"),
        ArgSpec::opt("fontScale", Kind::Number { positive: true }),
        ArgSpec::choice("leftTitle", &[]),
        ArgSpec::choice("rightTitle", &[]),
    ];
    specs.extend_from_slice(size);
    let (_, a) = options(f, &opts, &specs)?;
    Ok(Args { left, right, w, a })
}

/// Draws the lines on `root` (`cw × ch` CSS pixels at `dpr`); returns the layout.
fn paint<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (cw, ch): (f64, f64),
    args: &Args,
    dpr: f64,
) -> JsResult<JsValue> {
    let Args { left, right, w, a } = args;
    let row = a.number_or("row", -1.0).map_err(e)?;
    let numbers = a.flag_or("numbers", true).map_err(e)?;
    let scale = a.number_or("fontScale", 1.0).map_err(e)?.clamp(0.5, 4.0);
    let left_title = a.text_or("leftTitle", "").map_err(e)?.to_string();
    let right_title = a.text_or("rightTitle", "").map_err(e)?.to_string();
    let n = left.len().max(right.len()).max(1) as f64;
    let top = if left_title.is_empty() && right_title.is_empty() {
        8.0
    } else {
        30.0 * scale
    };
    // Rows as tall as the canvas allows, at most three lines of text; the type follows them.
    let pitch = ((ch - top - 8.0) / n).clamp(4.0, 42.0 * scale);
    let fs_css = (pitch * 0.62).min(16.0 * scale).max(7.0);
    let fs = fs_css * dpr;
    let em = |t: &[String]| t.iter().map(|s| text_em(s)).fold(1.0, f64::max) * fs_css;
    let num_w = if numbers { 3.2 * fs_css } else { 0.0 };
    let left_x = (8.0 + em(left)).min(cw * 0.4);
    let right_x = (cw - 8.0 - em(right) - num_w).max(cw * 0.6);
    let gap = 6.0;
    let y_of = |i: usize, count: usize| {
        // each column centred in the height it has
        let used = pitch * count as f64;
        top + (ch - top - 8.0 - used).max(0.0) / 2.0 + pitch * (i as f64 + 0.5)
    };
    let px = |v: f64| (v * dpr).round() as i32;
    let title = |t: &str, x: f64, pos: HPos| {
        root.draw(&Text::new(
            t.to_string(),
            (px(x), px(top / 2.0)),
            font(
                13.0 * scale * dpr,
                RGBColor(90, 90, 90),
                Pos::new(pos, VPos::Center),
            ),
        ))
        .map_err(draw_err)
    };
    if !left_title.is_empty() {
        title(&left_title, left_x, HPos::Right)?;
    }
    if !right_title.is_empty() {
        title(&right_title, right_x, HPos::Left)?;
    }
    let selected = (row >= 0.0 && (row as usize) < left.len()).then_some(row as usize);
    let blue = RGBColor(33, 102, 172);
    // Every other row first, faint; the selected row on top.
    for i in (0..left.len()).filter(|&i| Some(i) != selected) {
        for j in 0..right.len() {
            let v = w[[i, j]].clamp(0.0, 1.0) as f64;
            if v < 0.01 {
                continue;
            }
            root.draw(&PathElement::new(
                vec![
                    (px(left_x + gap), px(y_of(i, left.len()))),
                    (px(right_x - gap), px(y_of(j, right.len()))),
                ],
                RGBColor(120, 120, 120)
                    .mix(0.25 * v)
                    .stroke_width(dpr.round().max(1.0) as u32),
            ))
            .map_err(draw_err)?;
        }
    }
    if let Some(i) = selected {
        for j in 0..right.len() {
            let v = w[[i, j]].clamp(0.0, 1.0) as f64;
            root.draw(&PathElement::new(
                vec![
                    (px(left_x + gap), px(y_of(i, left.len()))),
                    (px(right_x - gap), px(y_of(j, right.len()))),
                ],
                blue.mix(0.15 + 0.85 * v)
                    .stroke_width(((1.0 + 5.0 * v) * dpr).round().max(1.0) as u32),
            ))
            .map_err(draw_err)?;
        }
    }
    let best =
        selected.and_then(|i| (0..right.len()).max_by(|&a, &b| w[[i, a]].total_cmp(&w[[i, b]])));
    for (i, t) in left.iter().enumerate() {
        let y = y_of(i, left.len());
        let c = if Some(i) == selected { blue } else { BLACK };
        if Some(i) == selected {
            let wdt = text_em(t) * fs_css + 8.0;
            root.draw(&Rectangle::new(
                [
                    (px(left_x - wdt), px(y - pitch * 0.45)),
                    (px(left_x + 2.0), px(y + pitch * 0.45)),
                ],
                blue.mix(0.12).filled(),
            ))
            .map_err(draw_err)?;
        }
        root.draw(&Text::new(
            t.clone(),
            (px(left_x), px(y)),
            font(fs, c, Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(draw_err)?;
    }
    for (j, t) in right.iter().enumerate() {
        let y = y_of(j, right.len());
        let c = if Some(j) == best { blue } else { BLACK };
        root.draw(&Text::new(
            t.clone(),
            (px(right_x), px(y)),
            font(fs, c, Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(draw_err)?;
        if let (true, Some(i)) = (numbers, selected) {
            root.draw(&Text::new(
                fmt(w[[i, j]], 2),
                (px(right_x + em(right) + 0.6 * fs_css), px(y)),
                font(
                    fs * 0.85,
                    if Some(j) == best {
                        blue
                    } else {
                        RGBColor(90, 90, 90)
                    },
                    Pos::new(HPos::Left, VPos::Center),
                ),
            ))
            .map_err(draw_err)?;
        }
    }
    let ys = |count: usize| -> JsValue {
        js_sys::Float64Array::from(&(0..count).map(|i| y_of(i, count)).collect::<Vec<_>>()[..])
            .into()
    };
    Ok(super::convert::object(&[
        ("leftX", left_x.into()),
        ("rightX", right_x.into()),
        ("rowY", ys(left.len())),
        ("colY", ys(right.len())),
        ("pitch", pitch.into()),
    ]))
}
