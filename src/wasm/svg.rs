//! The drawing backend of the charts' SVG files: plotters' `SVGBackend` (feature `svg_backend`,
//! pure Rust, no document needed), except that text is measured without a document and
//! written with a font list that has CJK faces, and the picture is drawn at twice its size
//! (then declared at its CSS size) so that positions keep half pixels.
//!
//! ```text
//! <svg width=W height=H viewBox="0 0 2W 2H">     the figure's CSS size; drawn at ×2
//!   <rect … fill="#FFFFFF"/>                      white background
//!   <g class="cells"> <rect/> per cell </g>       a heatmap's cells (one rect each)
//!   …                                             labels, legend, lines: as on the canvas
//! </svg>
//! ```
//!
//! Text size: plotters' SVG backend writes `font-size = size / 1.24` (its fonts' em box); the
//! canvas draws `size` px, so sizes are scaled by 1.24 here and the SVG's text is as large as
//! the canvas's. Widths are estimated from [`crate::viz::text_em`] (a canvas measures them; a
//! few pixels apart at most, only for legend boxes and axis label margins).

use super::backend::delegate_drawing;
use super::convert::{err, JsResult};
use super::plot::draw_err;
use crate::viz::text_em;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontFamily;
use plotters_backend::{
    text_anchor, BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
    FontStyle, FontTransform,
};

/// How many SVG units a CSS pixel has (the picture is drawn at this scale, like a canvas at
/// `dpr` 2, then declared at its CSS size).
pub const SCALE: f64 = 2.0;

/// The font list of every SVG text: the page's sans-serif, with the Chinese faces a reader's
/// system may have named first, so that a file opened elsewhere (an editor, a slide) shows
/// Chinese labels too.
pub const FONTS: &str = "system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', 'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', sans-serif";

/// The size plotters' SVG backend divides text sizes by.
const PLOTTERS_EM: f64 = 1.24;

/// Largest figure side, in CSS pixels.
pub const MAX_SIDE: i64 = 8192;

/// An SVG to draw on (see the module header).
pub struct Svg<'a> {
    inner: SVGBackend<'a>,
}

impl<'a> Svg<'a> {
    fn new(buf: &'a mut String, size: (u32, u32)) -> Self {
        Svg {
            inner: SVGBackend::with_string(buf, size),
        }
    }
}

/// A text style as the SVG should write it: the same, but for the font list and the size.
struct SvgText<'s, S> {
    s: &'s S,
}

impl<S: BackendTextStyle> BackendTextStyle for SvgText<'_, S> {
    type FontError = S::FontError;
    fn color(&self) -> BackendColor {
        self.s.color()
    }
    fn size(&self) -> f64 {
        self.s.size() * PLOTTERS_EM
    }
    fn transform(&self) -> FontTransform {
        self.s.transform()
    }
    fn style(&self) -> FontStyle {
        self.s.style()
    }
    fn anchor(&self) -> text_anchor::Pos {
        self.s.anchor()
    }
    fn family(&self) -> FontFamily<'_> {
        FontFamily::Name(FONTS)
    }
    fn layout_box(&self, text: &str) -> Result<((i32, i32), (i32, i32)), Self::FontError> {
        self.s.layout_box(text)
    }
    fn draw<E, F: FnMut(i32, i32, BackendColor) -> Result<(), E>>(
        &self,
        text: &str,
        pos: BackendCoord,
        draw: F,
    ) -> Result<Result<(), E>, Self::FontError> {
        self.s.draw(text, pos, draw)
    }
}

type SvgError = std::io::Error;
type Res = Result<(), DrawingErrorKind<SvgError>>;

impl DrawingBackend for Svg<'_> {
    type ErrorType = SvgError;

    delegate_drawing!();
    fn draw_text<S: BackendTextStyle>(&mut self, text: &str, style: &S, pos: BackendCoord) -> Res {
        self.inner.draw_text(text, &SvgText { s: style }, pos)
    }
    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<SvgError>> {
        let size = style.size();
        Ok((
            (text_em(text) * size).ceil() as u32,
            (1.2 * size).ceil() as u32,
        ))
    }
}

/// A drawing area on an SVG.
pub type SvgArea<'a> = DrawingArea<Svg<'a>, Shift>;

/// Draws a `width × height` (CSS pixels) figure with `draw(area, css_width, css_height,
/// scale)` on a white background and returns the SVG document.
pub fn document(
    width: f64,
    height: f64,
    draw: impl FnOnce(&SvgArea<'_>, f64, f64, f64) -> JsResult<()>,
) -> JsResult<String> {
    let (buf, size) = render(width, height, |root| {
        root.fill(&WHITE).map_err(draw_err)?;
        draw(root, width, height, SCALE)
    })?;
    // plotters' opening tag declares the drawn size: declare the CSS size, keep the drawn one
    // as the viewBox, and name the fonts once for every text.
    let body = buf
        .split_once('\n')
        .map(|(_, rest)| rest)
        .ok_or_else(|| err("drawing failed: no SVG was written"))?;
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" font-family=\"{}\">\n{body}",
        fmt_px(width),
        fmt_px(height),
        size.0,
        size.1,
        FONTS.replace('\'', "&apos;"),
    ))
}

/// What plotters writes for `draw` on a `width × height` (CSS pixels) area drawn at [`SCALE`],
/// and the drawn size.
fn render(
    width: f64,
    height: f64,
    draw: impl FnOnce(&SvgArea<'_>) -> JsResult<()>,
) -> JsResult<(String, (u32, u32))> {
    let size = (
        (width * SCALE).round().max(1.0) as u32,
        (height * SCALE).round().max(1.0) as u32,
    );
    let mut buf = String::new();
    {
        let root = Svg::new(&mut buf, size).into_drawing_area();
        draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    Ok((buf, size))
}

/// `draw`n elements alone (no `<svg>` tag, no background), for a group of `document`.
pub fn fragment(
    width: f64,
    height: f64,
    draw: impl FnOnce(&SvgArea<'_>) -> JsResult<()>,
) -> JsResult<String> {
    let (buf, _) = render(width, height, draw)?;
    let body = buf.split_once('\n').map(|(_, rest)| rest).unwrap_or("");
    Ok(body.strip_suffix("</svg>\n").unwrap_or(body).to_string())
}

/// Puts `elements` in a `<g class="{class}">` right above the background of `doc` (under
/// everything else drawn).
pub fn insert_group(doc: &str, class: &str, elements: &str) -> JsResult<String> {
    // line 1: <svg …>, line 2: the background rect (every element is a line of its own)
    let mut lines = doc.splitn(3, '\n');
    let (head, bg, rest) = (lines.next(), lines.next(), lines.next());
    match (head, bg, rest) {
        (Some(head), Some(bg), Some(rest)) if bg.starts_with("<rect") => Ok(format!(
            "{head}\n{bg}\n<g class=\"{class}\">\n{elements}</g>\n{rest}"
        )),
        _ => Err(err("drawing failed: the SVG has no background to draw on")),
    }
}

/// A CSS size as SVG writes it: whole pixels without decimals.
fn fmt_px(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}
