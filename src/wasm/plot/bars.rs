//! Horizontal bars with their values written (probabilities, counts): on a canvas (`drawBars`)
//! and as SVG (`drawBarsSvg`).

use super::*;

/// Draws horizontal bars with their values written: probabilities (as percentages, scale 0–1)
/// or any non-negative numbers (`{percent: false, max}`, written 0.455, 0.0738, 12).
/// `opts`: `{dpr, highlight: index, percent, max, fontScale}`. Returns `{x0, y0, barH, rows}` in CSS pixels.
#[wasm_bindgen(js_name = drawBars)]
pub fn draw_bars(
    canvas: JsValue,
    labels: JsValue,
    values: JsValue,
    opts: JsValue,
) -> JsResult<JsValue> {
    let f = "drawBars";
    let canvas = canvas_arg(f, &canvas)?;
    let (labels, values, a) = read_bars(f, labels, values, opts, &[ArgSpec::number("dpr")])?;
    let dpr = a.number_or("dpr", 1.0).map_err(e)?.clamp(0.5, 4.0);
    let root = area(&canvas)?;
    let size = (canvas.width() as f64 / dpr, canvas.height() as f64 / dpr);
    let (label_w, bar_h) = paint_bars(&root, &root, size, &labels, &values, &a, dpr)?;
    root.present().map_err(draw_err)?;
    Ok(crate::wasm::convert::object(&[
        ("x0", label_w.into()),
        ("y0", 4.0.into()),
        ("barH", bar_h.into()),
        ("rows", JsValue::from(values.len() as u32)),
    ]))
}

/// The bars [`draw_bars`] draws, as an SVG document (a string): the same arguments, with the
/// figure's CSS size `{width, height}` in place of a canvas and its `dpr`. Each bar is a
/// filled `<rect>` in `<g class="bars">`.
#[wasm_bindgen(js_name = drawBarsSvg)]
pub fn draw_bars_svg(labels: JsValue, values: JsValue, opts: JsValue) -> JsResult<String> {
    let f = "drawBarsSvg";
    let (labels, values, a) = read_bars(f, labels, values, opts, &svg_size_specs())?;
    let (w, h) = svg_size(&a)?;
    let mut bars = String::new();
    let doc = crate::wasm::svg::document(w, h, |root, w, h, scale| {
        // the bars in a group of their own, the labels and values over them
        bars = crate::wasm::svg::fragment(w, h, |group| {
            paint_bars(root, group, (w, h), &labels, &values, &a, scale).map(|_| ())
        })?;
        Ok(())
    })?;
    crate::wasm::svg::insert_group(&doc, "bars", &bars)
}

/// The bars' arguments, checked: `(labels, values, options)`.
fn read_bars(
    f: &str,
    labels: JsValue,
    values: JsValue,
    opts: JsValue,
    size: &[ArgSpec],
) -> JsResult<(Vec<String>, Vec<f32>, Values<f32>)> {
    let mut specs = vec![
        ArgSpec::number("highlight"),
        ArgSpec::flag("percent"),
        ArgSpec::opt("max", Kind::Number { positive: true }),
        ArgSpec::opt("fontScale", Kind::Number { positive: true }),
    ];
    specs.extend_from_slice(size);
    let labels = strings(f, "labels", &labels, MAX_LABELS)?;
    let values = floats(f, "values", &values)?;
    if labels.len() != values.len() {
        return Err(err(format!(
            "{f}: {} labels for {} values",
            labels.len(),
            values.len()
        )));
    }
    let (_, a) = options(f, &opts, &specs)?;
    Ok((labels, values, a))
}

/// Draws the bars on `root` (`w × h` CSS pixels at `dpr`), their coloured rectangles on
/// `bars` (`root` itself on a canvas); returns `(label width, bar height)` in CSS pixels.
///
/// Type is 13 px × `fontScale` (the room's scale, as the other charts'), bars at most 28 px ×
/// `fontScale` tall; values as percentages (`percent`) or as a reader writes them
/// ([`value_text`]: 0.455, not 4.552e-1).
fn paint_bars<DB: DrawingBackend, DB2: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    bars: &DrawingArea<DB2, Shift>,
    (w, h): (f64, f64),
    labels: &[String],
    values: &[f32],
    a: &Values<f32>,
    dpr: f64,
) -> JsResult<(f64, f64)> {
    let highlight = a.number_or("highlight", -1.0).map_err(e)?;
    let percent = a.flag_or("percent", true).map_err(e)?;
    let max = a.number_or("max", 1.0).map_err(e)?.max(1e-30) as f32;
    let scale = a.number_or("fontScale", 1.0).map_err(e)?.clamp(0.5, 4.0);
    let size = 13.0 * scale;
    let n = values.len().max(1);
    let texts: Vec<String> = values
        .iter()
        .map(|&v| {
            if percent {
                format!("{:.1}%", v * 100.0)
            } else {
                value_text(v as f64)
            }
        })
        .collect();
    let widest = |t: &[String]| t.iter().map(|l| text_em(l)).fold(1.0, f64::max);
    let label_w = 8.0 + size * widest(labels);
    // room after the longest bar for its value (at 0.9 of the labels' size)
    let value_w = 10.0 + 0.9 * size * widest(&texts);
    let bar_h = ((h - 8.0) / n as f64).min(28.0 * scale);
    let avail = (w - label_w - value_w).max(10.0);
    let px = |v: f64| (v * dpr).round() as i32;
    let fs = size * dpr;
    for (i, ((l, &v), text)) in labels.iter().zip(values).zip(texts).enumerate() {
        let y = 4.0 + i as f64 * bar_h;
        let frac = (v / max).clamp(0.0, 1.0) as f64;
        let len = avail * frac;
        let colour = rgb(viridis(0.25 + 0.6 * frac));
        let inset = (bar_h * 0.12).clamp(2.0, 3.0 * scale);
        bars.draw(&Rectangle::new(
            [
                (px(label_w), px(y + inset)),
                (px(label_w + len.max(1.0)), px(y + bar_h - inset)),
            ],
            colour.filled(),
        ))
        .map_err(draw_err)?;
        if i as f64 == highlight {
            root.draw(&Rectangle::new(
                [
                    (px(label_w), px(y + inset - 1.0)),
                    (px(label_w + avail), px(y + bar_h - inset + 1.0)),
                ],
                BLACK.stroke_width(dpr.round() as u32),
            ))
            .map_err(draw_err)?;
        }
        root.draw(&Text::new(
            l.clone(),
            (px(label_w - 6.0), px(y + bar_h / 2.0)),
            font(fs, BLACK, Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(draw_err)?;
        root.draw(&Text::new(
            text,
            (px(label_w + len + 4.0), px(y + bar_h / 2.0)),
            font(fs * 0.9, BLACK, Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(draw_err)?;
    }
    Ok((label_w, bar_h))
}
