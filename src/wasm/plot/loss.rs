//! The training and held-out loss curves against the step, with a legend: on a canvas
//! (`drawLossCurve`) and as SVG (`drawLossCurveSvg`).

use super::*;

/// Largest loss drawn (higher values are drawn at this height).
const LOSS_CAP: f32 = 1e6;
/// Most points one loss curve takes.
const MAX_POINTS: usize = 1_000_000;

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
    Ok(crate::wasm::convert::object(&[
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
    crate::wasm::svg::document(w, h, |root, _, _, scale| {
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
