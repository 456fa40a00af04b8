//! Charts drawn with plotters on a `<canvas>`: heatmaps (attention weights, scores, vectors),
//! the loss curve and probability bars. Each function draws only; the colours, layouts and
//! ticks come from [`crate::viz`], the numbers from the engine. Each returns its layout in CSS
//! pixels so the page can map the pointer to a cell or a step (plotters-wasm-demo's "return a
//! coordinate mapper").
//!
//! The page sizes the canvas to CSS size × devicePixelRatio and passes `dpr`; everything here
//! is drawn in device pixels, so charts are crisp on high-DPI screens.

use super::convert::{describe, err, floats, strings, to_js, JsResult, Obj};
use crate::args::{ArgSpec, Kind, Values};
use crate::viz::{diverging, grid_layout, nice_ticks, text_on, viridis, Rgb};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters_canvas::CanvasBackend;
use wasm_bindgen::prelude::*;
use web_sys::HtmlCanvasElement;

type Area = DrawingArea<CanvasBackend, Shift>;

/// Largest loss drawn (higher values are drawn at this height).
const LOSS_CAP: f32 = 1e6;

/// Most cells a heatmap draws (each is a canvas call; more would freeze the tab).
const MAX_CELLS: usize = 65_536;

fn draw_err<E: std::fmt::Debug>(e: E) -> JsError {
    JsError::new(&format!("drawing failed: {e:?}"))
}

/// The canvas argument: a real `<canvas>` element (checked without running user code).
fn canvas_arg(func: &str, v: &JsValue) -> JsResult<HtmlCanvasElement> {
    v.dyn_ref::<HtmlCanvasElement>().cloned().ok_or_else(|| {
        err(format!(
            "{func}: canvas must be a <canvas> element, got {}",
            describe(v)
        ))
    })
}

/// Most labels or bars one chart takes.
const MAX_LABELS: usize = 4096;
/// Most points one loss curve takes.
const MAX_POINTS: usize = 1_000_000;

fn options(func: &str, v: &JsValue, specs: &[ArgSpec]) -> JsResult<(Obj, Values<f32>)> {
    let obj = Obj::read(func, v, specs)?;
    let vals = obj.convert(specs, |_, _| Ok(()))?;
    Ok((obj, vals))
}

fn e(x: crate::Error) -> JsError {
    super::convert::core_err(x)
}

fn area(canvas: &HtmlCanvasElement) -> JsResult<Area> {
    let backend = CanvasBackend::with_canvas_object(canvas.clone())
        .ok_or_else(|| JsError::new("the canvas has no 2d context"))?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    Ok(root)
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

fn font(size: f64, c: RGBColor, pos: Pos) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&c).pos(pos)
}

fn fmt(v: f32, digits: usize) -> String {
    let s = format!("{v:.digits$}");
    // "-0.00" reads as a different number from "0.00"
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// Draws a matrix as coloured cells with row and column labels and a legend.
///
/// `opts`: `{dpr, palette: "viridis" | "diverging", min, max, mask: {shape, data} (true cells are
/// drawn as blocked), numbers: bool, digits, highlightRow, highlightCol, title, legend, square}`.
/// Returns the layout `{x0, y0, cellW, cellH, rows, cols, …}` in CSS pixels.
#[wasm_bindgen(js_name = drawHeatmap)]
pub fn draw_heatmap(
    canvas: JsValue,
    matrix: JsValue,
    row_labels: JsValue,
    col_labels: JsValue,
    opts: JsValue,
) -> JsResult<JsValue> {
    let f = "drawHeatmap";
    let canvas = canvas_arg(f, &canvas)?;
    let specs = [
        ArgSpec::number("dpr"),
        ArgSpec::choice("palette", &["viridis", "diverging"]),
        ArgSpec::number("min"),
        ArgSpec::number("max"),
        ArgSpec::opt("mask", Kind::Mask(2)),
        ArgSpec::flag("numbers"),
        ArgSpec::int("digits", 0, 6),
        ArgSpec::number("highlightRow"),
        ArgSpec::number("highlightCol"),
        ArgSpec::choice("title", &[]),
        ArgSpec::flag("legend"),
        ArgSpec::flag("square"),
    ];
    let m_spec = [ArgSpec::req("matrix", Kind::Tensor(2))];
    let m = Obj::positional(f, vec![("matrix", matrix)])
        .convert(&m_spec, |shapes, _| {
            let s = &shapes["matrix"];
            if s[0] * s[1] > MAX_CELLS {
                return Err(crate::Error::value(format!(
                    "{f}: a [{}, {}] matrix has more than {MAX_CELLS} cells to draw",
                    s[0], s[1]
                )));
            }
            Ok(())
        })?
        .tensor("matrix")
        .map_err(e)?
        .into_dimensionality::<ndarray::Ix2>()
        .map_err(|_| err(format!("{f}: matrix must be 2-D")))?
        .to_owned();
    let row_labels = strings(f, "rowLabels", &row_labels, MAX_LABELS)?;
    let col_labels = strings(f, "colLabels", &col_labels, MAX_LABELS)?;
    let (_, a) = options(f, &opts, &specs)?;
    let (rows, cols) = m.dim();
    let mask = a.mask2("mask").map_err(e)?;
    if let Some(mk) = &mask {
        if mk.dim() != m.dim() {
            return Err(err(format!(
                "{f}: mask has shape {:?} but the matrix has {:?}",
                mk.shape(),
                m.shape()
            )));
        }
    }
    let dpr = a.number_or("dpr", 1.0).map_err(e)?.clamp(0.5, 4.0);
    let diverge = a.text_or("palette", "viridis").map_err(e)? == "diverging";
    let finite = m.iter().copied().filter(|v| v.is_finite());
    let auto_max = finite.clone().fold(f32::MIN, f32::max);
    let auto_min = finite.fold(f32::MAX, f32::min);
    let (lo, hi) = if diverge {
        let r = auto_max.abs().max(auto_min.abs()).max(1e-6) as f64;
        (
            a.number_or("min", -r).map_err(e)?,
            a.number_or("max", r).map_err(e)?,
        )
    } else {
        (
            a.number_or("min", auto_min.min(0.0) as f64).map_err(e)?,
            a.number_or("max", auto_max.max(1e-6) as f64).map_err(e)?,
        )
    };
    let span = (hi - lo).max(1e-12);
    let colour = |v: f32| -> Rgb {
        if diverge {
            diverging(2.0 * (v as f64 - lo) / span - 1.0)
        } else {
            viridis((v as f64 - lo) / span)
        }
    };
    let title = a.text_or("title", "").map_err(e)?.to_string();
    let legend = a.flag_or("legend", true).map_err(e)?;
    let numbers = a.flag_or("numbers", false).map_err(e)?;
    let digits = a.usize_or("digits", 2).map_err(e)?;
    let max_chars = row_labels
        .iter()
        .map(|l| {
            l.chars()
                .map(|c| if c.is_ascii() { 1 } else { 2 })
                .sum::<usize>()
        })
        .max()
        .unwrap_or(1)
        .div_ceil(2)
        .max(1);
    let (w, h) = (canvas.width() as f64 / dpr, canvas.height() as f64 / dpr);
    let g = grid_layout(
        w,
        h,
        rows,
        cols,
        max_chars,
        !col_labels.is_empty(),
        !title.is_empty(),
        legend,
        a.flag_or("square", true).map_err(e)?,
    );
    let root = area(&canvas)?;
    let px = |v: f64| (v * dpr).round() as i32;
    let fs = g.font * dpr;
    if !title.is_empty() {
        root.draw(&Text::new(
            title,
            (px(g.x0), px(4.0)),
            font(12.0 * dpr, BLACK, Pos::new(HPos::Left, VPos::Top)),
        ))
        .map_err(draw_err)?;
    }
    for r in 0..rows {
        for c in 0..cols {
            let (x0, y0) = (g.x0 + c as f64 * g.cell_w, g.y0 + r as f64 * g.cell_h);
            let rect = [
                (px(x0), px(y0)),
                (px(x0 + g.cell_w) - 1, px(y0 + g.cell_h) - 1),
            ];
            let blocked = mask.as_ref().is_some_and(|mk| mk[[r, c]]);
            if blocked {
                // A blocked (masked) cell: pale grey with a diagonal stroke, whatever its value.
                root.draw(&Rectangle::new(rect, RGBColor(232, 232, 232).filled()))
                    .map_err(draw_err)?;
                root.draw(&PathElement::new(
                    vec![rect[0], rect[1]],
                    RGBColor(170, 170, 170).stroke_width(1),
                ))
                .map_err(draw_err)?;
                continue;
            }
            let v = m[[r, c]];
            let bg = colour(v);
            root.draw(&Rectangle::new(rect, rgb(bg).filled()))
                .map_err(draw_err)?;
            if numbers && g.cell_w >= 26.0 && g.cell_h >= 14.0 {
                let cx = px(x0 + g.cell_w / 2.0);
                let cy = px(y0 + g.cell_h / 2.0);
                let size = (g.cell_h * 0.42)
                    .min(g.cell_w / (digits as f64 + 2.5) * 1.6)
                    .min(26.0)
                    * dpr;
                root.draw(&Text::new(
                    fmt(v, digits),
                    (cx, cy),
                    font(size, rgb(text_on(bg)), Pos::new(HPos::Center, VPos::Center)),
                ))
                .map_err(draw_err)?;
            }
        }
    }
    // Row labels (query tokens) and column labels (key tokens).
    for (r, l) in row_labels.iter().enumerate().take(rows) {
        let y = px(g.y0 + (r as f64 + 0.5) * g.cell_h);
        root.draw(&Text::new(
            l.clone(),
            (px(g.x0 - 4.0), y),
            font(fs, BLACK, Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(draw_err)?;
    }
    if !col_labels.is_empty() {
        for (c, l) in col_labels.iter().enumerate().take(cols) {
            let x = px(g.x0 + (c as f64 + 0.5) * g.cell_w);
            root.draw(&Text::new(
                l.clone(),
                (x, px(g.y0 - 4.0)),
                font(fs, BLACK, Pos::new(HPos::Center, VPos::Bottom)),
            ))
            .map_err(draw_err)?;
        }
    }
    let stroke = RGBColor(20, 20, 20).stroke_width((2.0 * dpr).round() as u32);
    if let Some(r) = Some(a.number_or("highlightRow", -1.0).map_err(e)?)
        .filter(|r| *r >= 0.0 && (*r as usize) < rows)
    {
        let y0 = g.y0 + r * g.cell_h;
        root.draw(&Rectangle::new(
            [
                (px(g.x0) - 1, px(y0) - 1),
                (px(g.x0 + cols as f64 * g.cell_w), px(y0 + g.cell_h)),
            ],
            stroke,
        ))
        .map_err(draw_err)?;
    }
    if let Some(c) = Some(a.number_or("highlightCol", -1.0).map_err(e)?)
        .filter(|c| *c >= 0.0 && (*c as usize) < cols)
    {
        let x0 = g.x0 + c * g.cell_w;
        root.draw(&Rectangle::new(
            [
                (px(x0) - 1, px(g.y0) - 1),
                (px(x0 + g.cell_w), px(g.y0 + rows as f64 * g.cell_h)),
            ],
            stroke,
        ))
        .map_err(draw_err)?;
    }
    if legend {
        // A colour bar from hi (top) to lo (bottom) with round ticks.
        let (lx, top, height) = (g.legend_x, g.y0, (rows as f64 * g.cell_h).max(40.0));
        let steps = 48;
        for i in 0..steps {
            let t = 1.0 - (i as f64 + 0.5) / steps as f64;
            let v = lo + t * span;
            let y0 = top + height * i as f64 / steps as f64;
            let y1 = top + height * (i + 1) as f64 / steps as f64;
            root.draw(&Rectangle::new(
                [(px(lx), px(y0)), (px(lx + g.legend_w), px(y1))],
                rgb(colour(v as f32)).filled(),
            ))
            .map_err(draw_err)?;
        }
        for t in nice_ticks(lo, hi, 4) {
            let y = top + height * (1.0 - (t - lo) / span);
            root.draw(&Text::new(
                fmt(t as f32, 2),
                (px(lx + g.legend_w + 3.0), px(y)),
                font(fs * 0.85, BLACK, Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(draw_err)?;
        }
    }
    root.present().map_err(draw_err)?;
    Ok(to_js(&g))
}

/// Draws the training and held-out loss curves against the step.
///
/// `opts`: `{dpr, xLabel, yLabel, hover: step index or −1, heldoutEvery}`; `heldout` holds one
/// value per `heldoutEvery` steps (NaN where not measured). Returns `{x0, x1, y0, y1, steps}`:
/// the plotting area in CSS pixels, for mapping the pointer to a step.
#[wasm_bindgen(js_name = drawLossCurve)]
pub fn draw_loss_curve(
    canvas: JsValue,
    train: JsValue,
    heldout: JsValue,
    opts: JsValue,
) -> JsResult<JsValue> {
    let f = "drawLossCurve";
    let canvas = canvas_arg(f, &canvas)?;
    let specs = [
        ArgSpec::number("dpr"),
        ArgSpec::choice("xLabel", &[]),
        ArgSpec::choice("yLabel", &[]),
        ArgSpec::number("hover"),
        ArgSpec::int("heldoutEvery", 1, 1_000_000),
    ];
    let train = floats(f, "train", &train)?;
    let heldout = floats(f, "heldout", &heldout)?;
    if train.len().max(heldout.len()) > MAX_POINTS {
        return Err(err(format!("{f}: more than {MAX_POINTS} points to draw")));
    }
    let (_, a) = options(f, &opts, &specs)?;
    let dpr = a.number_or("dpr", 1.0).map_err(e)?.clamp(0.5, 4.0);
    let every = a.usize_or("heldoutEvery", 1).map_err(e)?;
    let root = area(&canvas)?;
    let n = train.len().max(2);
    // Values beyond LOSS_CAP (a diverged run) are drawn at the top edge: an axis up to f32::MAX
    // would have no readable ticks, and plotters cannot step through an infinite range.
    let finite = train
        .iter()
        .chain(&heldout)
        .copied()
        .filter(|v| v.is_finite())
        .map(|v| v.clamp(0.0, LOSS_CAP));
    let ymax = finite.clone().fold(0.0f32, f32::max).max(0.1) * 1.05;
    let clip = |v: f32| v.min(ymax);
    let fs = 12.0 * dpr;
    let mut chart = ChartBuilder::on(&root)
        .margin((8.0 * dpr) as i32)
        .x_label_area_size((30.0 * dpr) as i32)
        .y_label_area_size((46.0 * dpr) as i32)
        .build_cartesian_2d(0f32..(n - 1) as f32, 0f32..ymax)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(a.text_or("xLabel", "step").map_err(e)?)
        .y_desc(a.text_or("yLabel", "loss").map_err(e)?)
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.1}"))
        .label_style(("sans-serif", fs))
        .axis_desc_style(("sans-serif", fs))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()
        .map_err(draw_err)?;
    let blue = RGBColor(33, 102, 172);
    let orange = RGBColor(214, 96, 77);
    let w = (2.0 * dpr).round() as u32;
    chart
        .draw_series(LineSeries::new(
            train
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, &v)| (i as f32, clip(v))),
            blue.stroke_width(w),
        ))
        .map_err(draw_err)?;
    let held: Vec<(f32, f32)> = heldout
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| (((i + 1).saturating_mul(every) - 1) as f32, clip(v)))
        .collect();
    chart
        .draw_series(LineSeries::new(held.clone(), orange.stroke_width(w)))
        .map_err(draw_err)?;
    chart
        .draw_series(
            held.iter()
                .map(|&p| Circle::new(p, (3.0 * dpr) as i32, orange.filled())),
        )
        .map_err(draw_err)?;
    let hover = a.number_or("hover", -1.0).map_err(e)?;
    if hover >= 0.0 && (hover as usize) < train.len() {
        let x = hover as f32;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, ymax)],
                RGBColor(120, 120, 120).stroke_width(1),
            )))
            .map_err(draw_err)?;
        if train[hover as usize].is_finite() {
            chart
                .draw_series(std::iter::once(Circle::new(
                    (x, clip(train[hover as usize])),
                    (4.0 * dpr) as i32,
                    blue.filled(),
                )))
                .map_err(draw_err)?;
        }
    }
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    root.present().map_err(draw_err)?;
    let c = |v: i32| v as f64 / dpr;
    Ok(super::convert::object(&[
        ("x0", c(xr.start).into()),
        ("x1", c(xr.end).into()),
        ("y0", c(yr.start).into()),
        ("y1", c(yr.end).into()),
        ("steps", JsValue::from(n as u32)),
        ("yMax", JsValue::from(ymax)),
    ]))
}

/// Draws horizontal bars with their values written: probabilities (as percentages, scale 0–1)
/// or any non-negative numbers (`{percent: false, max}`).
/// `opts`: `{dpr, highlight: index, percent, max}`. Returns `{x0, y0, barH, rows}` in CSS pixels.
#[wasm_bindgen(js_name = drawBars)]
pub fn draw_bars(
    canvas: JsValue,
    labels: JsValue,
    values: JsValue,
    opts: JsValue,
) -> JsResult<JsValue> {
    let f = "drawBars";
    let canvas = canvas_arg(f, &canvas)?;
    let specs = [
        ArgSpec::number("dpr"),
        ArgSpec::number("highlight"),
        ArgSpec::flag("percent"),
        ArgSpec::opt("max", Kind::Number { positive: true }),
    ];
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
    let dpr = a.number_or("dpr", 1.0).map_err(e)?.clamp(0.5, 4.0);
    let highlight = a.number_or("highlight", -1.0).map_err(e)?;
    let percent = a.flag_or("percent", true).map_err(e)?;
    let max = a.number_or("max", 1.0).map_err(e)?.max(1e-30) as f32;
    let root = area(&canvas)?;
    let (w, h) = (canvas.width() as f64 / dpr, canvas.height() as f64 / dpr);
    let n = values.len().max(1);
    let label_w = 8.0
        + 13.0
            * labels
                .iter()
                .map(|l| {
                    l.chars()
                        .map(|c| if c.is_ascii() { 0.6 } else { 1.0 })
                        .sum::<f64>()
                })
                .fold(1.0, f64::max);
    let bar_h = ((h - 8.0) / n as f64).min(28.0);
    let avail = (w - label_w - 60.0).max(10.0);
    let px = |v: f64| (v * dpr).round() as i32;
    let fs = 13.0 * dpr;
    for (i, (l, &v)) in labels.iter().zip(&values).enumerate() {
        let y = 4.0 + i as f64 * bar_h;
        let frac = (v / max).clamp(0.0, 1.0) as f64;
        let len = avail * frac;
        let colour = rgb(viridis(0.25 + 0.6 * frac));
        root.draw(&Rectangle::new(
            [
                (px(label_w), px(y + 3.0)),
                (px(label_w + len.max(1.0)), px(y + bar_h - 3.0)),
            ],
            colour.filled(),
        ))
        .map_err(draw_err)?;
        if i as f64 == highlight {
            root.draw(&Rectangle::new(
                [
                    (px(label_w), px(y + 2.0)),
                    (px(label_w + avail), px(y + bar_h - 2.0)),
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
        let text = if percent {
            format!("{:.1}%", v * 100.0)
        } else if v.fract() == 0.0 && v.abs() < 1e7 {
            format!("{}", v as i64)
        } else {
            format!("{v:.3e}")
        };
        root.draw(&Text::new(
            text,
            (px(label_w + len + 4.0), px(y + bar_h / 2.0)),
            font(fs * 0.9, BLACK, Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(draw_err)?;
    }
    root.present().map_err(draw_err)?;
    Ok(super::convert::object(&[
        ("x0", label_w.into()),
        ("y0", 4.0.into()),
        ("barH", bar_h.into()),
        ("rows", JsValue::from(values.len() as u32)),
    ]))
}
