//! Charts drawn with plotters on a `<canvas>`: heatmaps (attention weights, scores, vectors),
//! the loss curve and probability bars. Each function draws only; the colours, layouts and
//! ticks come from [`crate::viz`], the numbers from the engine. Each returns its layout in CSS
//! pixels so the page can map the pointer to a cell or a step (plotters-wasm-demo's "return a
//! coordinate mapper").
//!
//! The page sizes the canvas to CSS size × devicePixelRatio and passes `dpr`; everything here
//! is drawn in device pixels, so charts are crisp on high-DPI screens.
//!
//! One file a chart: [`heatmap`] (`drawHeatmap`), [`loss`] (`drawLossCurve`), [`bars`]
//! (`drawBars`), each also drawn as SVG; here what they share.

pub mod bars;
pub mod heatmap;
pub mod loss;

use super::backend::Canvas;
use super::convert::{describe, err, floats, strings, to_js, JsResult, Obj};
use crate::args::{ArgSpec, Kind, Values};
use crate::viz::{
    digits_for, diverging, grid_layout, legend_ticks, nice_ticks, text_em, text_on, value_text,
    viridis, CellRaster, GridSpec, Rgb,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;

/// A drawing area on a canvas.
pub(super) type Area = DrawingArea<Canvas, Shift>;

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
pub(super) const MAX_LABELS: usize = 4096;

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

pub(super) fn rgb(c: Rgb) -> RGBColor {
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
