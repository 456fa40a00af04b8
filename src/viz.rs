//! What the charts need before anything is drawn: colour maps, layouts, axis ticks.
//!
//! Pure functions (compute, then draw): the drawing code in the wasm binding only turns these
//! numbers into canvas calls, and these are tested natively.
//!
//! - [`viridis`]: perceptually uniform and readable with the common colour-vision deficiencies;
//!   for values in [0, 1] such as attention weights.
//! - [`diverging`]: blue ← white → red (RdBu), for signed values such as vector entries and
//!   scores; red–blue stays distinguishable for red–green colour blindness.
//! - [`grid_layout`]: where a heatmap's cells, labels and legend go on a canvas, which labels
//!   are drawn (never overlapping) and how large the type is for the room.
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

/// What a heatmap must hold, in CSS pixels and ems (see [`text_em`]).
#[derive(Debug, Clone, PartialEq)]
pub struct GridSpec {
    /// Canvas width.
    pub w: f64,
    /// Canvas height.
    pub h: f64,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Width of each row label in ems.
    pub row_labels: Vec<f64>,
    /// Width of each column label in ems (empty: no column labels).
    pub col_labels: Vec<f64>,
    /// A title line above.
    pub title: bool,
    /// A colour legend on the right, whose widest tick label is `legend_em` ems.
    pub legend: bool,
    /// Widest legend tick label, in ems.
    pub legend_em: f64,
    /// Square cells (else they stretch to the free space).
    pub square: bool,
    /// Type size multiplier for the room the chart is seen in (1 on a desk; larger in an
    /// embedded slide, so that type stays readable when projected).
    pub font_scale: f64,
    /// Rows whose labels are drawn whatever else must go (the highlighted row).
    pub keep_rows: Vec<usize>,
    /// Columns whose labels are drawn whatever else must go (the highlighted column, the
    /// highlighted row's largest cell): when not every label fits, their neighbours go instead.
    pub keep_cols: Vec<usize>,
}

/// A label's box, in CSS pixels: what the page can read back to check that labels never
/// overlap.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LabelBox {
    /// `"row"` or `"col"`.
    pub axis: &'static str,
    /// Which row or column.
    pub index: usize,
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// Where a heatmap goes, in CSS pixels.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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
    /// Font size for the title and legend ticks.
    pub small_font: f64,
    /// Lines the column labels take: 1, or 2 when they are staggered to fit.
    pub col_lines: usize,
    /// The boxes of the labels drawn (not every row's or column's when they cannot all fit).
    pub labels: Vec<LabelBox>,
    /// The drawing's right edge (cells, legend and its tick labels), for centring it.
    pub right: f64,
}

/// The width of `s` in ems: about 0.6 for Latin letters and digits, 1 for CJK and other wide
/// characters.
pub fn text_em(s: &str) -> f64 {
    s.chars()
        .map(|c| if c.is_ascii() { 0.62 } else { 1.0 })
        .sum()
}

/// Lays out a heatmap: cells as large as the canvas allows (square when asked), labels sized
/// with the cells and with the room (`font_scale`), the legend's margin as wide as its tick
/// labels.
///
/// Every column is labelled whenever the labels fit, each measured on its own (a wide "<bos>"
/// does not cost its neighbours their labels): on one line at the largest type from the
/// cells' size down to the floor (13 px × `font_scale`, never smaller), else on two staggered
/// lines if the cells keep 85 % of their size. When even that leaves labels out, the kept ones (`keep_rows`, `keep_cols`: what the
/// figure highlights) are drawn first and the neighbours that would overlap them go. Labels
/// never overlap.
pub fn grid_layout(spec: &GridSpec) -> GridLayout {
    // Cells sized with base labels, then labels scaled with the cells (large cells on a
    // projector get large labels), then cells sized again for the new margins.
    let base = 13.0 * spec.font_scale.clamp(0.5, 4.0);
    let first = grid_pass(spec, base, 1);
    let scaled = (first.cell_w.min(first.cell_h) * 0.3).clamp(base, base * 1.7);
    // The type sizes to try, largest first, down to the floor.
    let mut fonts = vec![scaled];
    while let Some(&f) = fonts.last().filter(|&&f| f > base) {
        fonts.push((f * 0.94).max(base));
    }
    // A second line of column labels takes height from the cells: only where they keep at
    // least 85 % of their size with one line (a one-row heatmap in a short box would
    // otherwise shrink to slivers to fit its labels).
    let one = grid_pass(spec, base, 1);
    let roomy = |g: &GridLayout| g.cell_w.min(g.cell_h) >= 0.85 * one.cell_w.min(one.cell_h);
    let two_lines =
        spec.cols > 1 && !spec.col_labels.is_empty() && roomy(&grid_pass(spec, base, 2));
    for lines in [1, 2] {
        if lines == 2 && !two_lines {
            break;
        }
        for &f in &fonts {
            let pass = grid_pass(spec, f, lines);
            if lines == 2 && !roomy(&pass) {
                continue;
            }
            let g = with_labels(spec, pass);
            let cols = g.labels.iter().filter(|b| b.axis == "col").count();
            if spec.col_labels.is_empty() || cols == spec.cols {
                return g;
            }
        }
    }
    // Not every column label fits: the floor's type on as many lines as help, the kept
    // labels first.
    with_labels(spec, grid_pass(spec, base, if two_lines { 2 } else { 1 }))
}

/// Cells, margins and legend for labels of `font` px, column labels on `lines` lines.
fn grid_pass(spec: &GridSpec, font: f64, lines: usize) -> GridLayout {
    let widest = |l: &[f64]| l.iter().copied().fold(0.0, f64::max);
    let small_font = (font * 0.85).max(11.0);
    let left = 8.0 + font * widest(&spec.row_labels).max(1.0);
    let top = 4.0
        + if spec.title { small_font * 1.6 } else { 0.0 }
        + if spec.col_labels.is_empty() {
            0.0
        } else {
            font * 1.5 + (lines.max(1) - 1) as f64 * font * 1.2
        };
    let legend_w = if spec.legend { 12.0 } else { 0.0 };
    let right = if spec.legend {
        12.0 + legend_w + 4.0 + small_font * spec.legend_em.max(2.0) + 6.0
    } else {
        6.0
    };
    // (the legend's lowest tick label is centred on the cells' bottom edge: half a line below)
    let bottom = if spec.legend {
        6.0f64.max(small_font * 0.7)
    } else {
        6.0
    };
    let (rows_f, cols_f) = (spec.rows.max(1) as f64, spec.cols.max(1) as f64);
    let mut cell_w = ((spec.w - left - right) / cols_f).max(1.0);
    let mut cell_h = ((spec.h - top - bottom) / rows_f).max(1.0);
    if spec.square {
        let s = cell_w.min(cell_h).min(160.0);
        cell_w = s;
        cell_h = s;
    }
    GridLayout {
        x0: left,
        y0: top,
        cell_w,
        cell_h,
        rows: spec.rows,
        cols: spec.cols,
        legend_x: left + cell_w * cols_f + 12.0,
        legend_w,
        font,
        small_font,
        col_lines: lines.max(1),
        labels: vec![],
        right: left
            + cell_w * cols_f
            + if spec.legend {
                12.0 + legend_w + 4.0 + small_font * spec.legend_em + 6.0
            } else {
                6.0
            },
    }
}

/// Intervals `[start, end)` on one line, none overlapping, kept in order.
#[derive(Default)]
struct Line(Vec<(f64, f64)>);

impl Line {
    /// Takes `[a, b)` if it keeps at least `gap` from every interval already taken.
    fn take(&mut self, a: f64, b: f64, gap: f64) -> bool {
        let i = self.0.partition_point(|&(s, _)| s < a);
        let clear_before = i == 0 || self.0[i - 1].1 + gap <= a;
        let clear_after = i == self.0.len() || b + gap <= self.0[i].0;
        if clear_before && clear_after {
            self.0.insert(i, (a, b));
        }
        clear_before && clear_after
    }
}

/// The kept indices below `n` first (in the order given), then every other index in order.
fn label_order(keep: &[usize], n: usize) -> Vec<usize> {
    let mut seen = vec![false; n];
    let mut out = Vec::with_capacity(n);
    for &i in keep.iter().chain(&(0..n).collect::<Vec<_>>()) {
        if i < n && !seen[i] {
            seen[i] = true;
            out.push(i);
        }
    }
    out
}

/// Chooses which labels to draw and records their boxes: each label measured on its own and
/// drawn when it overlaps no label already drawn, the kept ones first (so that a kept label's
/// neighbours go, not the kept label). Column labels alternate between the lines
/// (`col_lines`), and move sideways to stay on the canvas and clear of the legend.
fn with_labels(spec: &GridSpec, mut g: GridLayout) -> GridLayout {
    let line = g.font * 1.2;
    let mut rows = Line::default();
    for r in label_order(&spec.keep_rows, spec.rows) {
        let w = spec.row_labels.get(r).copied().unwrap_or(0.0) * g.font;
        let y = g.y0 + (r as f64 + 0.5) * g.cell_h - line / 2.0;
        // (rows may touch: their text is shorter than the line)
        if rows.take(y, y + line - 1e-6, 0.0) {
            g.labels.push(LabelBox {
                axis: "row",
                index: r,
                x: g.x0 - 4.0 - w,
                y,
                w,
                h: line,
            });
        }
    }
    if !spec.col_labels.is_empty() {
        let gap = (g.font * 0.25).max(4.0);
        // the right edge a column label may reach: the canvas, or the legend's tick labels
        let right = if spec.legend {
            g.legend_x - gap
        } else {
            spec.w
        };
        // the left edge: the canvas's, or the cells' when the first row's label (on rows
        // thinner than a line) reaches up among the column labels
        let row_top = g.labels.iter().map(|b| b.y).fold(f64::INFINITY, f64::min);
        let left = if row_top < g.y0 - 4.0 { g.x0 } else { 0.0 };
        let mut lines: Vec<Line> = (0..g.col_lines).map(|_| Line::default()).collect();
        for c in label_order(&spec.keep_cols, spec.cols) {
            let w = spec.col_labels.get(c).copied().unwrap_or(0.0) * g.font;
            let cx = g.x0 + (c as f64 + 0.5) * g.cell_w;
            let x = (cx - w / 2.0).min(right - w).max(left);
            // the line this column's turn gives it, else the other one
            let first = c % g.col_lines;
            let chosen = (0..g.col_lines)
                .map(|k| (first + k) % g.col_lines)
                .find(|&k| lines[k].take(x, x + w, gap));
            if let Some(k) = chosen {
                g.labels.push(LabelBox {
                    axis: "col",
                    index: c,
                    x,
                    y: g.y0 - 4.0 - line * (k + 1) as f64,
                    w,
                    h: line,
                });
            }
        }
    }
    g
}

/// A number as a reader writes it: integers whole (counts), three significant digits in fixed
/// notation from 0.001 to 10000 (0.455, 0.0738, 3.48, 348), scientific notation with three
/// significant digits only beyond (1.20e-5, 3.40e38).
///
/// ```
/// use lm_playground::viz::value_text;
/// assert_eq!(value_text(0.4552), "0.455");
/// assert_eq!(value_text(0.073754), "0.0738");
/// assert_eq!(value_text(12.0), "12");
/// assert_eq!(value_text(0.0000123), "1.23e-5");
/// ```
pub fn value_text(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        format!("{v}")
    } else if v == 0.0 {
        "0".to_string()
    } else if v.fract() == 0.0 && a < 1e7 {
        format!("{v:.0}")
    } else if (1e-3..1e4).contains(&a) {
        // digits after the point that leave three significant ones (10000 > a ≥ 0.001)
        let d = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.d$}")
    } else {
        format!("{v:.2e}")
    }
}

/// Ticks for a colour legend on [lo, hi]: at least three (the ends are added when round
/// values are fewer), and the digits that tell them apart.
pub fn legend_ticks(lo: f64, hi: f64) -> (Vec<f64>, usize) {
    let mut t = nice_ticks(lo, hi, 4);
    if t.len() < 3 && lo.is_finite() && hi.is_finite() && hi > lo {
        t = vec![lo, (lo + hi) / 2.0, hi];
    }
    (t.clone(), digits_for(&t))
}

/// Digits after the point that make consecutive ticks read differently (0 to 6).
pub fn digits_for(ticks: &[f64]) -> usize {
    let step = ticks
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .filter(|d| *d > 0.0)
        .fold(f64::INFINITY, f64::min);
    if !step.is_finite() {
        return 2;
    }
    let mut d = 0;
    while d < 6 && {
        let f = |x: f64| format!("{x:.d$}");
        ticks.windows(2).any(|w| f(w[0]) == f(w[1]))
    } {
        d += 1;
    }
    d.max((-step.log10().floor()).clamp(0.0, 6.0) as usize)
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

/// A heatmap's cells as RGBA pixels: one buffer put on the canvas in one call, instead of a
/// canvas call per cell (24 × 512 cells at d_model 512).
#[derive(Debug, Clone, PartialEq)]
pub struct CellRaster {
    /// Left edge of the buffer on the canvas, in device pixels.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width in device pixels.
    pub w: usize,
    /// Height in device pixels.
    pub h: usize,
    /// `w × h × 4` bytes, RGBA, row by row; white where no cell is.
    pub rgba: Vec<u8>,
}

/// The blocked (masked) cell's fill and its diagonal stroke.
pub const BLOCKED_FILL: Rgb = (232, 232, 232);
/// The blocked cell's diagonal.
pub const BLOCKED_STROKE: Rgb = (170, 170, 170);

impl CellRaster {
    /// A white buffer covering the device-pixel box `[x0, x1) × [y0, y1)`.
    pub fn new(x0: i32, y0: i32, x1: i32, y1: i32) -> Self {
        let (w, h) = ((x1 - x0).max(0) as usize, (y1 - y0).max(0) as usize);
        CellRaster {
            x: x0,
            y: y0,
            w,
            h,
            rgba: vec![255; w * h * 4],
        }
    }

    fn put(&mut self, x: i32, y: i32, c: Rgb) {
        let (lx, ly) = (x - self.x, y - self.y);
        if lx >= 0 && ly >= 0 && (lx as usize) < self.w && (ly as usize) < self.h {
            let i = (ly as usize * self.w + lx as usize) * 4;
            self.rgba[i..i + 3].copy_from_slice(&[c.0, c.1, c.2]);
        }
    }

    /// Fills `[l, r) × [t, b)` (device pixels) with `c`, clipped to the buffer.
    pub fn fill(&mut self, l: i32, t: i32, r: i32, b: i32, c: Rgb) {
        let (l, r) = (l.max(self.x), r.min(self.x + self.w as i32));
        let (t, b) = (t.max(self.y), b.min(self.y + self.h as i32));
        for y in t..b {
            let row = (y - self.y) as usize * self.w;
            for x in l..r {
                let i = (row + (x - self.x) as usize) * 4;
                self.rgba[i..i + 3].copy_from_slice(&[c.0, c.1, c.2]);
            }
        }
    }

    /// A blocked cell: pale grey with a diagonal from its top-left to its bottom-right corner.
    pub fn blocked(&mut self, l: i32, t: i32, r: i32, b: i32) {
        self.fill(l, t, r, b, BLOCKED_FILL);
        let (w, h) = ((r - l).max(1), (b - t).max(1));
        let n = w.max(h);
        for k in 0..n {
            self.put(l + k * w / n, t + k * h / n, BLOCKED_STROKE);
        }
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

    fn spec(w: f64, h: f64, rows: usize, cols: usize, label: &str) -> GridSpec {
        GridSpec {
            w,
            h,
            rows,
            cols,
            row_labels: vec![text_em(label); rows],
            col_labels: vec![text_em(label); cols],
            title: false,
            legend: true,
            legend_em: text_em("-0.00"),
            square: true,
            font_scale: 1.0,
            keep_rows: vec![],
            keep_cols: vec![],
        }
    }

    fn overlap(a: &LabelBox, b: &LabelBox) -> bool {
        a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
    }

    #[test]
    fn labels_never_overlap_and_cells_never_vanish() {
        for (w, h) in [(480.0, 270.0), (960.0, 540.0), (1280.0, 720.0)] {
            for n in [1, 4, 8, 24, 64, 512] {
                for label in ["猫", "today", "天气真好"] {
                    let g = grid_layout(&GridSpec {
                        square: n <= 24,
                        keep_rows: vec![n.min(24) / 2],
                        keep_cols: vec![n / 2, n - 1],
                        ..spec(w, h, n.min(24), n, label)
                    });
                    assert!(
                        g.labels.iter().any(|b| b.axis == "col" && b.index == n / 2),
                        "{w}×{h} n={n} {label}: the kept column's label"
                    );
                    assert!(g.cell_w >= 1.0 && g.cell_h >= 1.0, "{w}×{h} n={n}: {g:?}");
                    for (i, a) in g.labels.iter().enumerate() {
                        for b in &g.labels[i + 1..] {
                            assert!(!overlap(a, b), "{w}×{h} n={n} {label}: {a:?} {b:?}");
                        }
                    }
                    // the lowest legend tick's label stays on the canvas
                    assert!(
                        g.y0 + g.cell_h * g.rows as f64 + g.small_font * 0.6 <= h + 1.0
                            || g.cell_h <= 1.0,
                        "{w}×{h} n={n}: {g:?}"
                    );
                    // everything inside the canvas, legend included, when the columns fit at
                    // one pixel each (a wider matrix needs a wider canvas: the page wraps it)
                    assert!(
                        (n as f64) > w - 100.0
                            || g.legend_x + g.legend_w + g.small_font * 3.1 <= w + 1.0,
                        "{w} {n} {g:?}"
                    );
                }
            }
        }
        // a bigger room gets bigger type
        let small = grid_layout(&spec(960.0, 540.0, 4, 4, "猫"));
        let big = grid_layout(&GridSpec {
            font_scale: 1.5,
            ..spec(960.0, 540.0, 4, 4, "猫")
        });
        assert!(big.font > small.font);
    }

    /// The column labels drawn, by index.
    fn cols_drawn(g: &GridLayout) -> Vec<usize> {
        g.labels
            .iter()
            .filter(|b| b.axis == "col")
            .map(|b| b.index)
            .collect()
    }

    fn labelled(w: f64, h: f64, rows: &[&str], cols: &[&str], font_scale: f64) -> GridSpec {
        GridSpec {
            w,
            h,
            rows: rows.len(),
            cols: cols.len(),
            row_labels: rows.iter().map(|l| text_em(l)).collect(),
            col_labels: cols.iter().map(|l| text_em(l)).collect(),
            title: false,
            legend: true,
            legend_em: text_em("0.5"),
            square: true,
            font_scale,
            keep_rows: vec![],
            keep_cols: vec![],
        }
    }

    fn assert_apart(g: &GridLayout, what: &str) {
        for (i, a) in g.labels.iter().enumerate() {
            for b in &g.labels[i + 1..] {
                assert!(!overlap(a, b), "{what}: {a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn every_column_is_labelled_when_the_labels_fit() {
        // The figures of the 960 × 540 embed (font scale 1.22) that labelled every other
        // column because "<bos>" (or "today") was wider than one cell: the families panel's
        // decoder (写"多"时最关注"感冒": 感冒 was the unlabelled column 3), the encoder–decoder's
        // cross-attention ("cold", column 3) and its self-attention (cells 57 px wide, three
        // labels of six), the three masks (10 × 10 cells of 25 px, two-character words).
        let s = 1.2215;
        let zh_out = ["→ 他", "→ 应该", "→ 多", "→ 喝", "→ 水", "→ <eos>"];
        let zh = [
            "<bos>", "小明", "今天", "感冒", "了", "，", "他", "应该", "多", "喝", "水", "<eos>",
        ];
        let en = [
            "<bos>", "Tom", "has", "a", "cold", "today", ",", "he", "should", "drink", "more",
            "water", "<eos>",
        ];
        let en_out = ["he", "should", "drink", "more", "water", "<eos>"];
        let words = [
            "小明", "今天", "感冒", "了", "，", "他", "应该", "多", "喝", "水",
        ];
        let cases = [
            ("families zh", labelled(941.0, 254.0, &zh_out, &zh, s)),
            ("families en", labelled(941.0, 254.0, &zh_out, &en, s)),
            (
                "cross en",
                labelled(
                    464.0,
                    282.0,
                    &en_out,
                    &["Tom", "has", "a", "cold", "today"],
                    s,
                ),
            ),
            (
                "self zh",
                labelled(
                    941.0,
                    385.0,
                    &zh_out,
                    &["<bos>", "他", "应该", "多", "喝", "水"],
                    s,
                ),
            ),
            (
                "masks",
                GridSpec {
                    legend: false,
                    ..labelled(300.0, 290.0, &words, &words, s)
                },
            ),
        ];
        for (what, spec) in cases {
            let g = grid_layout(&spec);
            assert_eq!(
                cols_drawn(&g).len(),
                spec.cols,
                "{what}: columns labelled {:?} at {} px in cells of {:.1} px",
                cols_drawn(&g),
                g.font,
                g.cell_w
            );
            assert!(g.font >= 13.0 * s - 1e-9, "{what}: type below the floor");
            assert_apart(&g, what);
            // and inside the canvas
            for b in &g.labels {
                assert!(b.x >= 0.0 && b.x + b.w <= spec.w + 1e-9, "{what}: {b:?}");
            }
        }
    }

    #[test]
    fn a_second_label_line_never_shrinks_the_cells_to_slivers() {
        // The attention panel's weighted-sum row, embedded: one row of 4 two-character words
        // in a 60 px box. Two lines of labels would leave cells of ~10 px; one line keeps
        // them whole and labels what fits.
        let spec = labelled(420.0, 60.0, &["今天"], &["今天", "天气", "真", "好"], 1.0);
        let g = grid_layout(&spec);
        assert_eq!(g.col_lines, 1);
        let one = grid_pass(&spec, 13.0, 1);
        assert_eq!(g.cell_h, one.cell_h);
        assert!(g.cell_h > 20.0, "cells of {} px", g.cell_h);
        // With room to spare the second line is still taken (every label of 12 words).
        let words: Vec<String> = (0..12).map(|i| format!("词语{i}")).collect();
        let cols: Vec<&str> = words.iter().map(|s| s.as_str()).collect();
        let g = grid_layout(&labelled(520.0, 400.0, &["a", "b", "c"], &cols, 1.0));
        assert_eq!(g.labels.iter().filter(|b| b.axis == "col").count(), 12);
    }

    #[test]
    fn highlighted_labels_stay_when_neighbours_go() {
        // 60 columns of "<bos>"-wide labels in 480 px: not all can be drawn; the kept ones are,
        // and none overlaps another.
        let names: Vec<String> = (0..60).map(|i| format!("<w{i:02}>")).collect();
        let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        for keep in [0, 1, 7, 31, 59] {
            let g = grid_layout(&GridSpec {
                keep_cols: vec![keep],
                keep_rows: vec![keep],
                square: false,
                ..labelled(480.0, 270.0, &names, &names, 1.0)
            });
            let cols = cols_drawn(&g);
            assert!(cols.len() < 60, "{cols:?}");
            assert!(cols.contains(&keep), "column {keep} unlabelled: {cols:?}");
            assert!(
                g.labels.iter().any(|b| b.axis == "row" && b.index == keep),
                "row {keep} unlabelled"
            );
            // the neighbours of a kept label go, not labels far from it
            assert!(cols.len() >= 10, "{cols:?}");
            assert_apart(&g, &format!("keep {keep}"));
        }
        // an index out of range is ignored
        let g = grid_layout(&GridSpec {
            keep_cols: vec![600],
            ..labelled(480.0, 270.0, &names, &names, 1.0)
        });
        assert!(!cols_drawn(&g).contains(&600));
    }

    #[test]
    fn cells_rasterise_inside_their_box() {
        let mut r = CellRaster::new(10, 20, 14, 23);
        assert_eq!(r.rgba.len(), 4 * 3 * 4);
        r.fill(11, 21, 13, 40, (1, 2, 3)); // clipped at the bottom
        let px = |r: &CellRaster, x: usize, y: usize| {
            r.rgba[(y * r.w + x) * 4..(y * r.w + x) * 4 + 4].to_vec()
        };
        assert_eq!(px(&r, 1, 1), vec![1, 2, 3, 255]);
        assert_eq!(px(&r, 2, 2), vec![1, 2, 3, 255]);
        assert_eq!(px(&r, 0, 0), vec![255, 255, 255, 255]);
        assert_eq!(px(&r, 3, 1), vec![255, 255, 255, 255]);
        r.blocked(10, 20, 14, 23);
        assert_eq!(
            px(&r, 0, 0),
            vec![170, 170, 170, 255],
            "the diagonal starts at the corner"
        );
        assert_eq!(px(&r, 3, 0), vec![232, 232, 232, 255]);
    }

    #[test]
    fn legend_ticks_read_differently() {
        let (t, d) = legend_ticks(0.0, 0.003);
        assert!(t.len() >= 3);
        let shown: Vec<String> = t.iter().map(|x| format!("{x:.d$}")).collect();
        assert!(shown.windows(2).all(|w| w[0] != w[1]), "{shown:?}");
        let (t, _) = legend_ticks(-1.0, 1.0);
        assert!(t.len() >= 3);
        assert_eq!(digits_for(&[0.0, 0.5, 1.0]), 1);
    }

    #[test]
    fn layout_and_hit_testing() {
        let g = grid_layout(&spec(400.0, 300.0, 4, 4, "ab"));
        assert!(g.x0 + g.cell_w * 4.0 < g.legend_x && g.legend_x <= 400.0);
        assert_eq!(
            g.cell_at(g.x0 + 0.5 * g.cell_w, g.y0 + 2.5 * g.cell_h),
            Some((2, 0))
        );
        assert_eq!(g.cell_at(g.x0 - 1.0, g.y0), None);
        assert_eq!(g.cell_at(g.x0 + 4.0 * g.cell_w + 1.0, g.y0), None);
    }

    #[test]
    fn values_read_as_written() {
        // the gradient norms of the learning panel and the cosines of the vectors panel, as
        // their sentences write them ("余弦 0.455")
        for (v, s) in [
            (0.4552, "0.455"),
            (0.3484, "0.348"),
            (0.073754, "0.0738"),
            (0.04992, "0.0499"),
            (0.001, "0.00100"),
            (0.9, "0.900"),
            (3.484, "3.48"),
            (348.44, "348"),
            (9999.4, "9999"),
            (-0.25, "-0.250"),
            (1.0, "1"),
            (0.0, "0"),
            (1234567.0, "1234567"),
            (0.000_012_3, "1.23e-5"),
            (12345.6, "1.23e4"),
            (3.4e38, "3.40e38"),
        ] {
            assert_eq!(value_text(v), s, "{v}");
        }
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
