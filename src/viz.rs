//! What the charts need before anything is drawn: colour maps, layouts, axis ticks.
//!
//! Pure functions (compute, then draw): the drawing code in the wasm binding only turns these
//! numbers into canvas calls, and these are tested natively.
//!
//! - [`viridis`]: perceptually uniform and readable with the common colour-vision deficiencies;
//!   for values in [0, 1] such as attention weights.
//! - [`diverging`]: blue ← white → red (RdBu), for signed values such as vector entries and
//!   scores; red–blue stays distinguishable for red–green colour blindness.
//! - [`grid_layout`]: where a heatmap's cells, labels and legend go on a canvas.
//! - [`nice_ticks`]: round numbers for an axis.

/// An RGB colour.
pub type Rgb = (u8, u8, u8);

fn lerp_anchors(anchors: &[Rgb], t: f64) -> Rgb {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (anchors.len() - 1) as f64;
    let i = (x.floor() as usize).min(anchors.len() - 2);
    let f = x - i as f64;
    let (a, b) = (anchors[i], anchors[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Viridis at `t` ∈ [0, 1] (matplotlib's anchors at every eighth).
pub fn viridis(t: f64) -> Rgb {
    const A: [Rgb; 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    lerp_anchors(&A, t)
}

/// Blue–white–red at `t` ∈ [−1, 1] (ColorBrewer RdBu, reversed so negative is blue).
pub fn diverging(t: f64) -> Rgb {
    const A: [Rgb; 7] = [
        (33, 102, 172),
        (103, 169, 207),
        (209, 229, 240),
        (247, 247, 247),
        (253, 219, 199),
        (239, 138, 98),
        (178, 24, 43),
    ];
    lerp_anchors(&A, (t + 1.0) / 2.0)
}

/// Black or white, whichever reads better on `bg` (relative luminance threshold).
pub fn text_on(bg: Rgb) -> Rgb {
    let l = 0.2126 * bg.0 as f64 + 0.7152 * bg.1 as f64 + 0.0722 * bg.2 as f64;
    if l > 140.0 {
        (0, 0, 0)
    } else {
        (255, 255, 255)
    }
}

/// Where a heatmap goes, in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GridLayout {
    /// Left edge of the cells.
    pub x0: f64,
    /// Top edge of the cells.
    pub y0: f64,
    /// Width of one cell.
    pub cell_w: f64,
    /// Height of one cell.
    pub cell_h: f64,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Left edge of the colour legend (its width is `legend_w`).
    pub legend_x: f64,
    /// Width of the legend bar.
    pub legend_w: f64,
    /// Font size for labels.
    pub font: f64,
}

/// Lays out `rows × cols` cells on a `w × h` canvas with room for row labels of up to
/// `row_label_chars` characters, column labels when `col_labels`, a title line when `title`,
/// and a legend on the right when `legend`. Cells are square when `square`, else they stretch.
#[allow(clippy::too_many_arguments)]
pub fn grid_layout(
    w: f64,
    h: f64,
    rows: usize,
    cols: usize,
    row_label_chars: usize,
    col_labels: bool,
    title: bool,
    legend: bool,
    square: bool,
) -> GridLayout {
    // Two passes: cells sized with 12 px labels, then labels scaled with the cells (large cells
    // on a projector get large labels), then cells sized again for the new margins.
    let pass = |font| {
        grid_pass(
            w,
            h,
            rows,
            cols,
            row_label_chars,
            col_labels,
            title,
            legend,
            square,
            font,
        )
    };
    let first = pass(12.0);
    let scaled = (first.cell_w.min(first.cell_h) * 0.3).clamp(11.0, 22.0);
    if scaled > 12.0 {
        pass(scaled)
    } else {
        first
    }
}

#[allow(clippy::too_many_arguments)]
fn grid_pass(
    w: f64,
    h: f64,
    rows: usize,
    cols: usize,
    row_label_chars: usize,
    col_labels: bool,
    title: bool,
    legend: bool,
    square: bool,
    font: f64,
) -> GridLayout {
    let left = 6.0 + font * 1.1 * row_label_chars.max(1) as f64;
    let top =
        4.0 + if title { 12.0 * 1.6 } else { 0.0 } + if col_labels { font * 1.6 } else { 0.0 };
    let legend_w = if legend { 10.0 } else { 0.0 };
    let right = if legend { 52.0 } else { 6.0 };
    let bottom = 6.0;
    let (rows_f, cols_f) = (rows.max(1) as f64, cols.max(1) as f64);
    let mut cell_w = ((w - left - right) / cols_f).max(1.0);
    let mut cell_h = ((h - top - bottom) / rows_f).max(1.0);
    if square {
        let s = cell_w.min(cell_h).min(160.0);
        cell_w = s;
        cell_h = s;
    }
    let legend_x = left + cell_w * cols_f + 12.0;
    GridLayout {
        x0: left,
        y0: top,
        cell_w,
        cell_h,
        rows,
        cols,
        legend_x,
        legend_w,
        font,
    }
}

impl GridLayout {
    /// The (row, col) under the point (x, y) in CSS pixels, if any.
    pub fn cell_at(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let c = ((x - self.x0) / self.cell_w).floor();
        let r = ((y - self.y0) / self.cell_h).floor();
        (c >= 0.0 && r >= 0.0 && (c as usize) < self.cols && (r as usize) < self.rows)
            .then_some((r as usize, c as usize))
    }
}

/// About `n` round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k).
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || n == 0 {
        return vec![];
    }
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let raw = (hi - lo) / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    // Ticks are k·step for whole k, counted rather than accumulated: at magnitudes where
    // `t += step` would not change t (1e17 + 16) the loop still ends, after at most n + 2.
    let (first, last) = ((lo / step).ceil(), (hi / step + 1e-9).floor());
    let mut out = vec![];
    let mut k = first;
    while k <= last && out.len() <= n + 2 {
        let t = k * step;
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        k += 1.0;
        if k == k - 1.0 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_end_at_any_magnitude() {
        assert_eq!(nice_ticks(0.0, 1.0, 4), vec![0.0, 0.5, 1.0]);
        let t = nice_ticks(1e17, 1e17 + 16.0, 4);
        assert!(!t.is_empty() && t.len() <= 6, "{t:?}");
        assert!(nice_ticks(-3.4e38, 3.4e38, 4).len() <= 6);
        assert!(nice_ticks(0.0, f64::INFINITY, 4).is_empty());
    }

    #[test]
    fn colour_maps_hit_their_anchors() {
        assert_eq!(viridis(0.0), (68, 1, 84));
        assert_eq!(viridis(1.0), (253, 231, 37));
        assert_eq!(viridis(0.5), (33, 144, 141));
        assert_eq!(viridis(f64::NAN), (68, 1, 84));
        assert_eq!(diverging(0.0), (247, 247, 247));
        assert_eq!(diverging(-1.0), (33, 102, 172));
        assert_eq!(diverging(5.0), (178, 24, 43));
        // Viridis gets lighter monotonically: a reader can order values without hue.
        let lum = |c: Rgb| 0.2126 * c.0 as f64 + 0.7152 * c.1 as f64 + 0.0722 * c.2 as f64;
        let ls: Vec<f64> = (0..=20).map(|i| lum(viridis(i as f64 / 20.0))).collect();
        assert!(ls.windows(2).all(|w| w[1] > w[0]));
        assert_eq!(text_on(viridis(0.0)), (255, 255, 255));
        assert_eq!(text_on(viridis(1.0)), (0, 0, 0));
    }

    #[test]
    fn layout_and_hit_testing() {
        let g = grid_layout(400.0, 300.0, 4, 4, 2, true, false, true, true);
        assert!(g.x0 + g.cell_w * 4.0 < g.legend_x && g.legend_x + 52.0 <= 400.0 + 12.0);
        assert_eq!(
            g.cell_at(g.x0 + 0.5 * g.cell_w, g.y0 + 2.5 * g.cell_h),
            Some((2, 0))
        );
        assert_eq!(g.cell_at(g.x0 - 1.0, g.y0), None);
        assert_eq!(g.cell_at(g.x0 + 4.0 * g.cell_w + 1.0, g.y0), None);
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            nice_ticks(0.0, 1.0, 5),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(nice_ticks(2.3, 4.9, 3), vec![3.0, 4.0]);
        assert!(nice_ticks(f64::NAN, 1.0, 3).is_empty());
        assert_eq!(nice_ticks(1.0, 1.0, 2), vec![0.5, 1.0, 1.5]);
    }
}
