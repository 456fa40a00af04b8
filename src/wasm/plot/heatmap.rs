//! A matrix as coloured cells with row and column labels and a legend (attention weights,
//! scores, vectors): on a canvas (`drawHeatmap`) and as SVG (`drawHeatmapSvg`).

use super::*;

/// Most cells a heatmap draws (each is a canvas call; more would freeze the tab).
const MAX_CELLS: usize = 65_536;

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
        // What the figure highlights keeps its labels when not all fit: the highlighted row and
        // column, and the highlighted row's largest (unmasked) cell, the one its sentence talks
        // about ("写“多”时最关注“感冒”").
        let index = |v: f64, n: usize| (v >= 0.0 && (v as usize) < n).then_some(v as usize);
        let high_row = index(a.number_or("highlightRow", -1.0).map_err(e)?, rows);
        let high_col = index(a.number_or("highlightCol", -1.0).map_err(e)?, cols);
        let largest = high_row.and_then(|r| {
            (0..cols)
                .filter(|&c| !mask.as_ref().is_some_and(|mk| mk[[r, c]]) && m[[r, c]].is_finite())
                .max_by(|&x, &y| m[[r, x]].total_cmp(&m[[r, y]]))
        });
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
            keep_rows: high_row.into_iter().collect(),
            keep_cols: high_col.into_iter().chain(largest).collect(),
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
        // Row labels (query tokens) and column labels (key tokens): the ones the layout chose
        // (all when they fit; else the highlighted ones and the neighbours that leave room).
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
            // A colour bar from hi (top) to lo (bottom), as tall as the cells, with round ticks
            // (at least three; where the bar is too short for them to read apart, a one-row
            // heatmap's, only its two ends, or only the top one).
            let (lx, top, height) = (g.legend_x, g.y0, rows as f64 * g.cell_h);
            let apart = |n: usize| height >= (n - 1) as f64 * g.small_font * 1.1;
            let ticks = match ticks.len() {
                n if n < 2 || apart(n) => ticks,
                n if apart(2) => vec![ticks[0], ticks[n - 1]],
                n => vec![ticks[n - 1]],
            };
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
    let doc = crate::wasm::svg::document(w, h, |root, w, h, scale| {
        hm.paint(root, (w, h), scale, |cells, _| {
            cell_svg = crate::wasm::svg::fragment(w, h, |area| {
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
    crate::wasm::svg::insert_group(&doc, "cells", &cell_svg)
}
