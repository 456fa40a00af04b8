//! The drawing backend of every chart: plotters-canvas's `CanvasBackend`, except that text is
//! measured with the canvas's own `measureText`.
//!
//! plotters measures text (to size axis label areas and legends) by default with a `<span>`
//! appended to the document and laid out: a forced layout of the whole page per measurement,
//! several per chart, on the main thread — and impossible in a worker, which has no document.
//! `measureText` on the 2D context needs neither, so the same charts draw on a page's
//! `<canvas>` and, in a worker, on an `OffscreenCanvas`.
//!
//! ```text
//! width  = ceil(measureText(text).width)
//! height = ceil(fontBoundingBoxAscent + fontBoundingBoxDescent)   (≈ the line box a span had)
//! font   = "<style> <size>px <family>"                            (as CanvasBackend draws it)
//! ```

use plotters::prelude::*;
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};
use plotters_canvas::CanvasBackend;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

/// A canvas to draw on (see the module header).
pub struct Canvas {
    inner: CanvasBackend,
    ctx: CanvasRenderingContext2d,
}

impl Canvas {
    /// The backend of `canvas` (a `<canvas>`, or an `OffscreenCanvas` passed as one), or `None`
    /// without a 2D context.
    pub fn new(canvas: &HtmlCanvasElement) -> Option<Self> {
        let ctx = canvas
            .get_context("2d")
            .ok()??
            .dyn_into::<CanvasRenderingContext2d>()
            .ok()?;
        let inner = CanvasBackend::with_canvas_object(canvas.clone())?;
        Some(Canvas { inner, ctx })
    }
}

/// The [`DrawingBackend`] methods a wrapper hands to its `inner` backend unchanged (all but text):
/// [`Canvas`] here and the SVG backend of `svg.rs` use it, each with its own `Res` alias.
macro_rules! delegate_drawing {
    () => {
        fn get_size(&self) -> (u32, u32) {
            self.inner.get_size()
        }
        fn ensure_prepared(&mut self) -> Res {
            self.inner.ensure_prepared()
        }
        fn present(&mut self) -> Res {
            self.inner.present()
        }
        fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Res {
            self.inner.draw_pixel(point, color)
        }
        fn draw_line<S: BackendStyle>(
            &mut self,
            from: BackendCoord,
            to: BackendCoord,
            style: &S,
        ) -> Res {
            self.inner.draw_line(from, to, style)
        }
        fn draw_rect<S: BackendStyle>(
            &mut self,
            upper_left: BackendCoord,
            bottom_right: BackendCoord,
            style: &S,
            fill: bool,
        ) -> Res {
            self.inner.draw_rect(upper_left, bottom_right, style, fill)
        }
        fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
            &mut self,
            path: I,
            style: &S,
        ) -> Res {
            self.inner.draw_path(path, style)
        }
        fn draw_circle<S: BackendStyle>(
            &mut self,
            center: BackendCoord,
            radius: u32,
            style: &S,
            fill: bool,
        ) -> Res {
            self.inner.draw_circle(center, radius, style, fill)
        }
        fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
            &mut self,
            vert: I,
            style: &S,
        ) -> Res {
            self.inner.fill_polygon(vert, style)
        }
    };
}
pub(crate) use delegate_drawing;

/// plotters-canvas's error type (which it does not export by name).
type CanvasError = <CanvasBackend as DrawingBackend>::ErrorType;
type Res = Result<(), DrawingErrorKind<CanvasError>>;

impl DrawingBackend for Canvas {
    type ErrorType = CanvasError;

    delegate_drawing!();
    fn draw_text<S: BackendTextStyle>(&mut self, text: &str, style: &S, pos: BackendCoord) -> Res {
        self.inner.draw_text(text, style, pos)
    }
    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<CanvasError>> {
        self.ctx.set_font(&format!(
            "{} {}px {}",
            style.style().as_str(),
            style.size(),
            style.family().as_str(),
        ));
        let size = style.size();
        match self.ctx.measure_text(text) {
            Ok(m) => {
                let h = m.font_bounding_box_ascent() + m.font_bounding_box_descent();
                let h = if h.is_finite() && h > 0.0 {
                    h
                } else {
                    1.2 * size
                };
                Ok((m.width().max(0.0).ceil() as u32, h.ceil() as u32))
            }
            // (a context that cannot measure: the size a Latin text of this font has roughly)
            Err(_) => Ok((
                (0.6 * size * text.chars().count() as f64).ceil() as u32,
                (1.2 * size).ceil() as u32,
            )),
        }
    }
    fn blit_bitmap(&mut self, pos: BackendCoord, iwh: (u32, u32), src: &[u8]) -> Res {
        self.inner.blit_bitmap(pos, iwh, src)
    }
}
