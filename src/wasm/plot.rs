//! Charts drawn with plotters on a `<canvas>`: heatmaps (attention weights, scores, vectors),
//! the loss curve and probability bars. Each function draws only; the colours, layouts and
//! ticks come from [`crate::viz`], the numbers from the engine. Each returns its layout in CSS
//! pixels so the page can map the pointer to a cell or a step (plotters-wasm-demo's "return a
//! coordinate mapper").
//!
//! The page sizes the canvas to CSS size × devicePixelRatio and passes `dpr`; everything here
//! is drawn in device pixels, so charts are crisp on high-DPI screens.

use super::backend::Canvas;
use super::convert::{describe, err, floats, strings, to_js, JsResult, Obj};
use crate::args::{ArgSpec, Kind, Values};
use crate::viz::{
    digits_for, diverging, grid_layout, legend_ticks, nice_ticks, text_em, text_on, viridis,
    CellRaster, GridSpec, Rgb,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;

/// A drawing area on a canvas.
pub(super) type Area = DrawingArea<Canvas, Shift>;

/// Largest loss drawn (higher values are drawn at this height).
const LOSS_CAP: f32 = 1e6;

/// Most cells a heatmap draws (each is a canvas call; more would freeze the tab).
const MAX_CELLS: usize = 65_536;

pub(super) fn draw_err<E: std::fmt::Debug>(e: E) -> JsError {
    JsError::new(&format!("drawing failed: {e:?}"))
}

/// The canvas argument: a real `<canvas>` element, or an `OffscreenCanvas` (a worker draws on
/// one a page handed over), checked without running user code.
///
/// An `OffscreenCanvas` is used through the `HtmlCanvasElement` type: plotters' canvas backend
/// only reads its `width` and `height` and asks it for a 2D context, which an `OffscreenCanvas`
/// has with the same drawing methods. (The backend checks that context with
/// `instanceof CanvasRenderingContext2D`; the training worker names its own context type so.)
pub(super) fn canvas_arg(func: &str, v: &JsValue) -> JsResult<HtmlCanvasElement> {
    if let Some(c) = v.dyn_ref::<HtmlCanvasElement>() {
        return Ok(c.clone());
    }
    if v.is_instance_of::<web_sys::OffscreenCanvas>() {
        return Ok(v.clone().unchecked_into());
    }
    Err(err(format!(
        "{func}: canvas must be a <canvas> element or an OffscreenCanvas, got {}",
        describe(v)
    )))
}

/// Most labels or bars one chart takes.
const MAX_LABELS: usize = 4096;
/// Most points one loss curve takes.
const MAX_POINTS: usize = 1_000_000;

pub(super) fn options(func: &str, v: &JsValue, specs: &[ArgSpec]) -> JsResult<(Obj, Values<f32>)> {
    let obj = Obj::read(func, v, specs)?;
    let vals = obj.convert(specs, |_, _| Ok(()))?;
    Ok((obj, vals))
}

pub(super) fn e(x: crate::Error) -> JsError {
    super::convert::core_err(x)
}

pub(super) fn area(canvas: &HtmlCanvasElement) -> JsResult<Area> {
    let backend =
        Canvas::new(canvas).ok_or_else(|| JsError::new("the canvas has no 2d context"))?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    Ok(root)
}

/// Puts a cell raster on the canvas (device pixels, one call).
fn put_raster(canvas: &HtmlCanvasElement, r: &CellRaster) -> JsResult<()> {
    if r.w == 0 || r.h == 0 {
        return Ok(());
    }
    let ctx = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
        .ok_or_else(|| err("the canvas has no 2d context"))?;
    let img = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        wasm_bindgen::Clamped(&r.rgba[..]),
        r.w as u32,
        r.h as u32,
    )
    .map_err(|_| err("drawing failed: the cells do not fit an image"))?;
    ctx.put_image_data(&img, r.x as f64, r.y as f64)
        .map_err(|_| err("drawing failed: the cells could not be put on the canvas"))
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

pub(super) fn font(size: f64, c: RGBColor, pos: Pos) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&c).pos(pos)
}

pub(super) fn fmt(v: f32, digits: usize) -> String {
    let s = format!("{v:.digits$}");
    // "-0.00" reads as a different number from "0.00"
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// A heatmap's options besides its size (shared by the canvas and the SVG).
fn heatmap_specs() -> Vec<ArgSpec> {
    vec![
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
        ArgSpec::opt("fontScale", Kind::Number { positive: true }),
        ArgSpec::int("colGroup", 0, 1 << 20),
    ]
}

/// The size options of an SVG (CSS pixels), in place of a canvas and its `dpr`.
pub(super) fn svg_size_specs() -> [ArgSpec; 2] {
    let side = Kind::Int {
        lo: 16,
        hi: super::svg::MAX_SIDE,
    };
    [ArgSpec::req("width", side), ArgSpec::req("height", side)]
}

/// An SVG's `(width, height)` in CSS pixels.
pub(super) fn svg_size(a: &Values<f32>) -> JsResult<(f64, f64)> {
    Ok((
        a.number_or("width", 0.0).map_err(e)?,
        a.number_or("height", 0.0).map_err(e)?,
    ))
}

/// A heatmap's arguments, checked (see [`draw_heatmap`]).
struct Heatmap {
    m: ndarray::Array2<f32>,
    rows: Vec<String>,
    cols: Vec<String>,
    a: Values<f32>,
}

/// One cell to draw, in device pixels (ends exclusive); `None`: blocked (masked).
struct Cell {
    l: i32,
    t: i32,
    r: i32,
    b: i32,
    fill: Option<Rgb>,
}

impl Heatmap {
    fn read(
        f: &str,
        matrix: JsValue,
        row_labels: JsValue,
        col_labels: JsValue,
        opts: JsValue,
        size: &[ArgSpec],
    ) -> JsResult<Self> {
        let mut specs = heatmap_specs();
        specs.extend_from_slice(size);
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
        let rows = strings(f, "rowLabels", &row_labels, MAX_LABELS)?;
        let cols = strings(f, "colLabels", &col_labels, MAX_LABELS)?;
        let (_, a) = options(f, &opts, &specs)?;
        if let Some(mk) = a.mask2("mask").map_err(e)? {
            if mk.dim() != m.dim() {
                return Err(err(format!(
                    "{f}: mask has shape {:?} but the matrix has {:?}",
                    mk.shape(),
                    m.shape()
                )));
            }
        }
        Ok(Heatmap { m, rows, cols, a })
    }

    /// Draws everything but the cells on `root` (`w × h` CSS pixels at `dpr`), and hands the
    /// cells to `cells` (with the box they cover) when they are due: under the numbers, labels
    /// and outlines.
    fn paint<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        (w, h): (f64, f64),
        dpr: f64,
        cells: impl FnOnce(&[Cell], (i32, i32, i32, i32)) -> JsResult<()>,
    ) -> JsResult<crate::viz::GridLayout> {
        let Heatmap {
            m,
            rows: row_labels,
            cols: col_labels,
            a,
        } = self;
        let (rows, cols) = m.dim();
        let mask = a.mask2("mask").map_err(e)?;
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
        let (ticks, tick_digits) = legend_ticks(lo, hi);
        let tick_text = |t: f64| fmt(t as f32, tick_digits);
        let legend_em = ticks
            .iter()
            .map(|&t| text_em(&tick_text(t)))
            .fold(0.0, f64::max);
        let g = grid_layout(&GridSpec {
            w,
            h,
            rows,
            cols,
            row_labels: row_labels.iter().map(|l| text_em(l)).collect(),
            col_labels: col_labels.iter().map(|l| text_em(l)).collect(),
            title: !title.is_empty(),
            legend,
            legend_em,
            square: a.flag_or("square", true).map_err(e)?,
            font_scale: a.number_or("fontScale", 1.0).map_err(e)?,
        });
        let px = |v: f64| (v * dpr).round() as i32;
        let fs = g.font * dpr;
        if !title.is_empty() {
            root.draw(&Text::new(
                title,
                (px(g.x0), px(4.0)),
                font(g.small_font * dpr, BLACK, Pos::new(HPos::Left, VPos::Top)),
            ))
            .map_err(draw_err)?;
        }
        // A one-pixel gap between cells reads as a grid, but only where cells are large enough
        // to spare it: small cells (d_model 512) are drawn edge to edge so that none vanishes.
        let gap = i32::from(g.cell_w * dpr >= 6.0 && g.cell_h * dpr >= 6.0);
        // The cells go to `cells` together (on a canvas: one RGBA buffer put in one call; a
        // canvas call per cell made d_model 512 with 24 tokens cost tens of milliseconds); the
        // numbers on large cells are drawn on top.
        let cell_box = |r: usize, c: usize| {
            let (x0, y0) = (g.x0 + c as f64 * g.cell_w, g.y0 + r as f64 * g.cell_h);
            let (l, t) = (px(x0), px(y0));
            // (ends exclusive: a cell is at least one device pixel wide and tall)
            (
                l,
                t,
                (px(x0 + g.cell_w) - gap).max(l + 1),
                (px(y0 + g.cell_h) - gap).max(t + 1),
            )
        };
        let (bx0, by0, _, _) = cell_box(0, 0);
        let (_, _, bx1, by1) = cell_box(rows.max(1) - 1, cols.max(1) - 1);
        let mut boxes = Vec::with_capacity(rows * cols);
        let mut texts = vec![];
        for r in 0..rows {
            for c in 0..cols {
                let (l, t, rr, b) = cell_box(r, c);
                if mask.as_ref().is_some_and(|mk| mk[[r, c]]) {
                    // A blocked (masked) cell: pale grey with a diagonal stroke, whatever its value.
                    boxes.push(Cell {
                        l,
                        t,
                        r: rr,
                        b,
                        fill: None,
                    });
                    continue;
                }
                let v = m[[r, c]];
                let bg = colour(v);
                boxes.push(Cell {
                    l,
                    t,
                    r: rr,
                    b,
                    fill: Some(bg),
                });
                if numbers && g.cell_w >= 26.0 && g.cell_h >= 14.0 {
                    texts.push((v, bg, (l + rr) / 2, (t + b) / 2));
                }
            }
        }
        cells(&boxes, (bx0, by0, bx1, by1))?;
        for (v, bg, cx, cy) in texts {
            let size = (g.cell_h * 0.42)
                .min(g.cell_w / (digits as f64 + 2.5) * 1.6)
                .min(26.0 * g.font / 13.0)
                * dpr;
            root.draw(&Text::new(
                fmt(v, digits),
                (cx, cy),
                font(size, rgb(text_on(bg)), Pos::new(HPos::Center, VPos::Center)),
            ))
            .map_err(draw_err)?;
        }
        // Row labels (query tokens) and column labels (key tokens): the ones the layout chose,
        // every k-th where all would overlap.
        for b in &g.labels {
            let (text, pos, at) = if b.axis == "row" {
                (
                    row_labels.get(b.index),
                    Pos::new(HPos::Right, VPos::Center),
                    (px(b.x + b.w), px(b.y + b.h / 2.0)),
                )
            } else {
                (
                    col_labels.get(b.index),
                    Pos::new(HPos::Center, VPos::Bottom),
                    (px(b.x + b.w / 2.0), px(b.y + b.h)),
                )
            };
            if let Some(text) = text {
                root.draw(&Text::new(text.clone(), at, font(fs, BLACK, pos)))
                    .map_err(draw_err)?;
            }
        }
        // Outlines drawn twice, wide white under narrow black, so that they show on the darkest
        // and on the lightest cells alike.
        let outline = |rect: [(i32, i32); 2]| -> JsResult<()> {
            for (c, w) in [(WHITE, 4.0), (RGBColor(20, 20, 20), 2.0)] {
                root.draw(&Rectangle::new(
                    rect,
                    c.stroke_width((w * dpr).round() as u32),
                ))
                .map_err(draw_err)?;
            }
            Ok(())
        };
        // Column groups (a head's d_k columns in a concatenation): separators between them, a
        // dark line on a white band, so that they show among pale cells too (d_model 512: cells
        // of a pixel or two, many near white).
        let group = a.usize_or("colGroup", 0).map_err(e)?;
        if group > 0 && group < cols {
            let (y0, y1) = (px(g.y0), px(g.y0 + rows as f64 * g.cell_h));
            let half = |w: f64| ((w * dpr / 2.0).round() as i32).max(1);
            for c in (group..cols).step_by(group) {
                let x = px(g.x0 + c as f64 * g.cell_w);
                for (colour, w) in [(WHITE, 4.0), (RGBColor(40, 40, 40), 1.5)] {
                    root.draw(&Rectangle::new(
                        [(x - half(w), y0), (x + half(w), y1)],
                        colour.filled(),
                    ))
                    .map_err(draw_err)?;
                }
            }
        }
        if let Some(r) = Some(a.number_or("highlightRow", -1.0).map_err(e)?)
            .filter(|r| *r >= 0.0 && (*r as usize) < rows)
        {
            let y0 = g.y0 + r * g.cell_h;
            outline([
                (px(g.x0) - 1, px(y0) - 1),
                (px(g.x0 + cols as f64 * g.cell_w), px(y0 + g.cell_h)),
            ])?;
        }
        if let Some(c) = Some(a.number_or("highlightCol", -1.0).map_err(e)?)
            .filter(|c| *c >= 0.0 && (*c as usize) < cols)
        {
            let x0 = g.x0 + c * g.cell_w;
            outline([
                (px(x0) - 1, px(g.y0) - 1),
                (px(x0 + g.cell_w), px(g.y0 + rows as f64 * g.cell_h)),
            ])?;
        }
        if legend {
            // A colour bar from hi (top) to lo (bottom) with round ticks (at least three).
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
            for &t in &ticks {
                let y = top + height * (1.0 - (t - lo) / span);
                root.draw(&Text::new(
                    tick_text(t),
                    (px(lx + g.legend_w + 4.0), px(y)),
                    font(
                        g.small_font * dpr,
                        BLACK,
                        Pos::new(HPos::Left, VPos::Center),
                    ),
                ))
                .map_err(draw_err)?;
            }
        }
        Ok(g)
    }
}

/// Draws a matrix as coloured cells with row and column labels and a legend.
///
/// `opts`: `{dpr, palette: "viridis" | "diverging", min, max, mask: {shape, data} (true cells are
/// drawn as blocked), numbers: bool, digits, highlightRow, highlightCol, title, legend, square,
/// fontScale, colGroup}`. Returns the layout `{x0, y0, cellW, cellH, rows, cols, …}` in CSS
/// pixels.
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
    let hm = Heatmap::read(
        f,
        matrix,
        row_labels,
        col_labels,
        opts,
        &[ArgSpec::number("dpr")],
    )?;
    let dpr = hm.a.number_or("dpr", 1.0).map_err(e)?.clamp(0.5, 4.0);
    let size = (canvas.width() as f64 / dpr, canvas.height() as f64 / dpr);
    let root = area(&canvas)?;
    let g = hm.paint(&root, size, dpr, |cells, (x0, y0, x1, y1)| {
        let mut raster = CellRaster::new(x0, y0, x1, y1);
        for c in cells {
            match c.fill {
                Some(bg) => raster.fill(c.l, c.t, c.r, c.b, bg),
                None => raster.blocked(c.l, c.t, c.r, c.b),
            }
        }
        put_raster(&canvas, &raster)
    })?;
    root.present().map_err(draw_err)?;
    Ok(to_js(&g))
}

/// The heatmap [`draw_heatmap`] draws, as an SVG document (a string): the same arguments, with
/// the figure's CSS size `{width, height}` in place of a canvas and its `dpr`. Each cell is a
/// `<rect>` in `<g class="cells">` (rows × cols of them, in row order); labels are `<text>`.
#[wasm_bindgen(js_name = drawHeatmapSvg)]
pub fn draw_heatmap_svg(
    matrix: JsValue,
    row_labels: JsValue,
    col_labels: JsValue,
    opts: JsValue,
) -> JsResult<String> {
    let f = "drawHeatmapSvg";
    let hm = Heatmap::read(f, matrix, row_labels, col_labels, opts, &svg_size_specs())?;
    let (w, h) = svg_size(&hm.a)?;
    let mut cell_svg = String::new();
    let doc = super::svg::document(w, h, |root, w, h, scale| {
        hm.paint(root, (w, h), scale, |cells, _| {
            cell_svg = super::svg::fragment(w, h, |area| {
                for c in cells {
                    let fill = c.fill.unwrap_or(crate::viz::BLOCKED_FILL);
                    area.draw(&Rectangle::new(
                        [(c.l, c.t), (c.r, c.b)],
                        rgb(fill).filled(),
                    ))
                    .map_err(draw_err)?;
                    if c.fill.is_none() {
                        area.draw(&PathElement::new(
                            vec![(c.l, c.t), (c.r, c.b)],
                            rgb(crate::viz::BLOCKED_STROKE).stroke_width(1),
                        ))
                        .map_err(draw_err)?;
                    }
                }
                Ok(())
            })?;
            Ok(())
        })
        .map(|_| ())
    })?;
    super::svg::insert_group(&doc, "cells", &cell_svg)
}

/// Draws the training and held-out loss curves against the step.
///
/// `opts`: `{dpr, xLabel, yLabel, hover: step index or −1, heldoutEvery, fontScale, trainLabel,
/// heldoutLabel, refLine, refLabel}`; `heldout` holds one value per `heldoutEvery` steps (NaN
/// where not measured). Returns `{x0, x1, y0, y1, steps, yMax}`: the plotting area in CSS
/// pixels and the x axis's span (steps 0 … steps − 1), for mapping the pointer to a step.
#[wasm_bindgen(js_name = drawLossCurve)]
pub fn draw_loss_curve(
    canvas: JsValue,
    train: JsValue,
    heldout: JsValue,
    opts: JsValue,
) -> JsResult<JsValue> {
    let f = "drawLossCurve";
    let canvas = canvas_arg(f, &canvas)?;
    let (train, heldout, a) = read_loss(f, train, heldout, opts, &[ArgSpec::number("dpr")])?;
    let dpr = a.number_or("dpr", 1.0).map_err(e)?.clamp(0.5, 4.0);
    let root = area(&canvas)?;
    let layout = paint_loss(&root, &train, &heldout, &a, dpr)?;
    root.present().map_err(draw_err)?;
    let c = |v: i32| v as f64 / dpr;
    Ok(super::convert::object(&[
        ("x0", c(layout.x.start).into()),
        ("x1", c(layout.x.end).into()),
        ("y0", c(layout.y.start).into()),
        ("y1", c(layout.y.end).into()),
        // the x axis spans steps 0 … steps − 1 (the page maps the pointer with it)
        ("steps", JsValue::from(layout.steps as u32)),
        ("yMax", JsValue::from(layout.y_max)),
    ]))
}

/// The loss curves [`draw_loss_curve`] draws, as an SVG document (a string): the same
/// arguments, with the figure's CSS size `{width, height}` in place of a canvas and its `dpr`.
/// The training curve is the first `<polyline>`, the held-out one (if any) the next.
#[wasm_bindgen(js_name = drawLossCurveSvg)]
pub fn draw_loss_curve_svg(train: JsValue, heldout: JsValue, opts: JsValue) -> JsResult<String> {
    let f = "drawLossCurveSvg";
    let (train, heldout, a) = read_loss(f, train, heldout, opts, &svg_size_specs())?;
    let (w, h) = svg_size(&a)?;
    super::svg::document(w, h, |root, _, _, scale| {
        paint_loss(root, &train, &heldout, &a, scale).map(|_| ())
    })
}

/// The loss curve's arguments, checked: `(train, heldout, options)`.
fn read_loss(
    f: &str,
    train: JsValue,
    heldout: JsValue,
    opts: JsValue,
    size: &[ArgSpec],
) -> JsResult<(Vec<f32>, Vec<f32>, Values<f32>)> {
    let mut specs = vec![
        ArgSpec::choice("xLabel", &[]),
        ArgSpec::choice("yLabel", &[]),
        ArgSpec::number("hover"),
        ArgSpec::int("heldoutEvery", 1, 1_000_000),
        ArgSpec::opt("fontScale", Kind::Number { positive: true }),
        ArgSpec::choice("trainLabel", &[]),
        ArgSpec::choice("heldoutLabel", &[]),
        ArgSpec::number("refLine"),
        ArgSpec::choice("refLabel", &[]),
    ];
    specs.extend_from_slice(size);
    let train = floats(f, "train", &train)?;
    let heldout = floats(f, "heldout", &heldout)?;
    if train.len().max(heldout.len()) > MAX_POINTS {
        return Err(err(format!("{f}: more than {MAX_POINTS} points to draw")));
    }
    let (_, a) = options(f, &opts, &specs)?;
    Ok((train, heldout, a))
}

/// Where a loss curve's plot went, in device pixels, and its axes' spans.
struct LossLayout {
    x: std::ops::Range<i32>,
    y: std::ops::Range<i32>,
    steps: usize,
    y_max: f32,
}

/// Draws the loss curves on `root` at `dpr` (see [`draw_loss_curve`]).
fn paint_loss<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    train: &[f32],
    heldout: &[f32],
    a: &Values<f32>,
    dpr: f64,
) -> JsResult<LossLayout> {
    let every = a.usize_or("heldoutEvery", 1).map_err(e)?;
    let n = train.len().max(2);
    // Values beyond LOSS_CAP (a diverged run) are drawn at the top edge: an axis up to f32::MAX
    // would have no readable ticks, and plotters cannot step through an infinite range.
    let finite = train
        .iter()
        .chain(heldout)
        .copied()
        .filter(|v| v.is_finite())
        .map(|v| v.clamp(0.0, LOSS_CAP));
    let reference = Some(a.number_or("refLine", f64::NAN).map_err(e)? as f32)
        .filter(|r| r.is_finite() && *r > 0.0 && *r <= LOSS_CAP);
    let ymax = finite
        .clone()
        .chain(reference)
        .fold(0.0f32, f32::max)
        .max(0.1)
        * 1.08;
    let clip = |v: f32| v.min(ymax);
    let scale = a.number_or("fontScale", 1.0).map_err(e)?.clamp(0.5, 4.0);
    let fs = 13.0 * scale * dpr;
    // y ticks: round values with as many digits as tell them apart ("0.1 0.1 0.1" never)
    let yticks = nice_ticks(0.0, ymax as f64, 5);
    let ydigits = digits_for(&yticks);
    let ytext = |y: f64| format!("{y:.ydigits$}");
    let ylabel_w = yticks
        .iter()
        .map(|&t| text_em(&ytext(t)))
        .fold(1.0, f64::max)
        * fs;
    // The x axis spans at least ten steps: before training, an axis from 0 to 1 read
    // "0 0 0 1 1 1".
    let x_end = (n - 1).max(10);
    let mut chart = ChartBuilder::on(root)
        .margin((10.0 * scale * dpr) as i32)
        .x_label_area_size((fs * 2.8) as i32)
        .y_label_area_size((ylabel_w + fs * 2.2) as i32)
        .build_cartesian_2d(0f32..x_end as f32, 0f32..ymax)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(a.text_or("xLabel", "step").map_err(e)?)
        .y_desc(a.text_or("yLabel", "loss").map_err(e)?)
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| ytext(*y as f64))
        .label_style(("sans-serif", fs))
        .axis_desc_style(("sans-serif", fs))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()
        .map_err(draw_err)?;
    let blue = RGBColor(33, 102, 172);
    let orange = RGBColor(230, 120, 20);
    let grey = RGBColor(120, 120, 120);
    let w = (2.0 * dpr).round() as u32;
    if let Some(r) = reference {
        // The loss of a model that knows nothing (uniform over the vocabulary): ln V.
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, r), (x_end as f32, r)],
                (6.0 * dpr) as u32,
                (4.0 * dpr) as u32,
                grey.stroke_width(dpr.round().max(1.0) as u32),
            ))
            .map_err(draw_err)?;
        let label = a.text_or("refLabel", "").map_err(e)?;
        if !label.is_empty() {
            // (at the left end: the legend sits at the upper right)
            let (x, y) = chart.backend_coord(&(0.0, r));
            root.draw(&Text::new(
                label.to_string(),
                (x + (6.0 * dpr) as i32, y - (3.0 * dpr) as i32),
                font(fs * 0.9, grey, Pos::new(HPos::Left, VPos::Bottom)),
            ))
            .map_err(draw_err)?;
        }
    }
    let train_label = a.text_or("trainLabel", "").map_err(e)?.to_string();
    let heldout_label = a.text_or("heldoutLabel", "").map_err(e)?.to_string();
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
    let entries: Vec<(&str, RGBColor)> = [
        (train_label.as_str(), blue),
        (heldout_label.as_str(), orange),
    ]
    .into_iter()
    .filter(|(l, _)| !l.is_empty())
    .collect();
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    legend(root, &entries, (xr.end, yr.start), fs, dpr)?;
    let hover = a.number_or("hover", -1.0).map_err(e)?;
    if hover >= 0.0 && (hover as usize) < train.len() {
        let x = hover as f32;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, ymax)],
                grey.stroke_width(1),
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
    Ok(LossLayout {
        x: xr,
        y: yr,
        steps: x_end + 1,
        y_max: ymax,
    })
}

/// A legend in the upper right corner `(right, top)` of a plot: a swatch and a label a line,
/// on a white box with a grey border. (Measured by the canvas, not by plotters' series labels,
/// which lay a `<span>` out in the document for each.)
fn legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    entries: &[(&str, RGBColor)],
    (right, top): (i32, i32),
    fs: f64,
    dpr: f64,
) -> JsResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let style = ("sans-serif", fs).into_text_style(root);
    let mut text_w = 0;
    for (label, _) in entries {
        text_w = text_w.max(root.estimate_text_size(label, &style).map_err(draw_err)?.0 as i32);
    }
    let (pad, swatch, gap) = ((6.0 * dpr) as i32, (18.0 * dpr) as i32, (6.0 * dpr) as i32);
    let line = (fs * 1.4).ceil() as i32;
    let (x1, y0) = (right - pad, top + pad);
    let x0 = x1 - (pad + swatch + gap + text_w + pad);
    let y1 = y0 + pad + line * entries.len() as i32 + pad;
    root.draw(&Rectangle::new(
        [(x0, y0), (x1, y1)],
        WHITE.mix(0.85).filled(),
    ))
    .map_err(draw_err)?;
    root.draw(&Rectangle::new(
        [(x0, y0), (x1, y1)],
        RGBColor(200, 200, 200),
    ))
    .map_err(draw_err)?;
    for (i, (label, colour)) in entries.iter().enumerate() {
        let y = y0 + pad + line * i as i32 + line / 2;
        let x = x0 + pad;
        root.draw(&PathElement::new(
            vec![(x, y), (x + swatch, y)],
            colour.stroke_width((2.0 * dpr).round() as u32),
        ))
        .map_err(draw_err)?;
        root.draw(&Text::new(
            label.to_string(),
            (x + swatch + gap, y),
            font(fs, BLACK, Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
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
    let (labels, values, a) = read_bars(f, labels, values, opts, &[ArgSpec::number("dpr")])?;
    let dpr = a.number_or("dpr", 1.0).map_err(e)?.clamp(0.5, 4.0);
    let root = area(&canvas)?;
    let size = (canvas.width() as f64 / dpr, canvas.height() as f64 / dpr);
    let (label_w, bar_h) = paint_bars(&root, &root, size, &labels, &values, &a, dpr)?;
    root.present().map_err(draw_err)?;
    Ok(super::convert::object(&[
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
    let doc = super::svg::document(w, h, |root, w, h, scale| {
        // the bars in a group of their own, the labels and values over them
        bars = super::svg::fragment(w, h, |group| {
            paint_bars(root, group, (w, h), &labels, &values, &a, scale).map(|_| ())
        })?;
        Ok(())
    })?;
    super::svg::insert_group(&doc, "bars", &bars)
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
    for (i, (l, &v)) in labels.iter().zip(values).enumerate() {
        let y = 4.0 + i as f64 * bar_h;
        let frac = (v / max).clamp(0.0, 1.0) as f64;
        let len = avail * frac;
        let colour = rgb(viridis(0.25 + 0.6 * frac));
        bars.draw(&Rectangle::new(
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
    Ok((label_w, bar_h))
}
