//! GELU, as `torch.nn.GELU(approximate=…)`: the exact (erf) form, `'none'` (the default), or
//! the tanh form, `'tanh'` (GPT-2's, and BERT's original code).
//!
//! ```text
//! forward:   y = x · Φ̃(x)                                          any shape
//!            exact:  Φ̃ = Φ(x) = ½ (1 + erf(x / √2))
//!            tanh:   Φ̃ = ½ (1 + tanh u),   u = √(2/π) (x + 0.044715 x³)
//! backward:  dx = dy · (Φ̃(x) + x · Φ̃'(x))
//!            exact:  Φ̃' = φ(x) = e^(−x²/2) / √(2π)
//!            tanh:   Φ̃' = ½ (1 − tanh² u) · √(2/π) (1 + 3 · 0.044715 x²)
//! ```
//!
//! The tanh form was a cheaper stand-in for erf; the two differ by less than 5e-4 everywhere,
//! but a model trained with one should run with the same one.

use crate::real::Real;
use ndarray::{Array2, ArrayView2, Zip};

/// Which form of GELU, as `approximate=` of `torch.nn.GELU`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Approximate {
    /// The exact form, x·Φ(x) with Φ by erf (`'none'`).
    #[default]
    None,
    /// The tanh form (`'tanh'`).
    Tanh,
}

impl Approximate {
    /// The words `approximate` accepts, as in PyTorch.
    pub const NAMES: &'static [&'static str] = &["none", "tanh"];

    /// The form named `name` (one of [`Approximate::NAMES`]).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Approximate::None),
            "tanh" => Some(Approximate::Tanh),
            _ => None,
        }
    }

    /// Its name, as PyTorch spells it.
    pub fn name(self) -> &'static str {
        match self {
            Approximate::None => "none",
            Approximate::Tanh => "tanh",
        }
    }
}

/// `x · Φ̃(x)` elementwise.
pub fn forward<F: Real>(x: ArrayView2<F>, form: Approximate) -> Array2<F> {
    forward_with_cdf(x, form).0
}

/// `dy · (Φ̃(x) + x Φ̃'(x))`; the cache is the input x (Φ̃ and Φ̃' are computed again).
pub fn backward<F: Real>(dy: ArrayView2<F>, x: ArrayView2<F>, form: Approximate) -> Array2<F> {
    let (_, cdf, pdf) = forward_with_cdf(x, form);
    backward_with_cdf(dy, x, cdf.view(), pdf.view())
}

/// `x · Φ̃(x)` plus Φ̃(x) and Φ̃'(x), which backward reuses (no exponential, erf or tanh in
/// backward).
pub fn forward_with_cdf<F: Real>(
    x: ArrayView2<F>,
    form: Approximate,
) -> (Array2<F>, Array2<F>, Array2<F>) {
    let xs = x.as_standard_layout();
    let flat = xs.as_slice().expect("standard layout");
    let mut cdf = Array2::zeros(x.raw_dim());
    let mut pdf = Array2::zeros(x.raw_dim());
    let parts = match form {
        Approximate::None => F::gelu_parts,
        Approximate::Tanh => F::gelu_tanh_parts,
    };
    parts(
        flat,
        cdf.as_slice_mut().expect("owned"),
        pdf.as_slice_mut().expect("owned"),
    );
    let cdfs = cdf.as_slice().expect("owned");
    let y: Vec<F> = flat.iter().zip(cdfs).map(|(&v, &p)| v * p).collect();
    let y = Array2::from_shape_vec(x.raw_dim(), y).expect("one value per input");
    (y, cdf, pdf)
}

/// [`backward`] with Φ̃(x) and Φ̃'(x) from [`forward_with_cdf`]: `dy · (Φ̃ + x Φ̃')`.
pub fn backward_with_cdf<F: Real>(
    dy: ArrayView2<F>,
    x: ArrayView2<F>,
    cdf: ArrayView2<F>,
    pdf: ArrayView2<F>,
) -> Array2<F> {
    if let (Some(g), Some(v), Some(p), Some(q)) =
        (dy.as_slice(), x.as_slice(), cdf.as_slice(), pdf.as_slice())
    {
        // (all in standard layout, as from forward_with_cdf: one flat, vectorisable loop)
        let dx: Vec<F> = g
            .iter()
            .zip(v)
            .zip(p.iter().zip(q))
            .map(|((&g, &v), (&p, &q))| g * (p + v * q))
            .collect();
        return Array2::from_shape_vec(x.raw_dim(), dx).expect("one value per input");
    }
    let mut dx = Array2::zeros(x.raw_dim());
    Zip::from(&mut dx)
        .and(&dy)
        .and(&x)
        .and(&cdf)
        .and(&pdf)
        .for_each(|d, &g, &v, &p, &q| *d = g * (p + v * q));
    dx
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr2;

    #[test]
    fn hand_derived() {
        // GELU(0) = 0 and GELU'(0) = Φ(0) = ½.
        // GELU(1) = Φ(1) = ½(1 + erf(1/√2)) = 0.8413447460685429.
        // GELU'(1) = Φ(1) + φ(1) = 0.8413447460685429 + 0.24197072451914337.
        let x = arr2(&[[0.0f64, 1.0, -1.0]]);
        let y = forward(x.view(), Approximate::None);
        assert!((y[[0, 0]]).abs() < 1e-15);
        assert!((y[[0, 1]] - 0.841_344_746_068_542_9).abs() < 1e-14);
        // GELU(−1) = −Φ(−1) = −(1 − Φ(1)) = −0.15865525393145707
        assert!((y[[0, 2]] + 0.158_655_253_931_457_07).abs() < 1e-14);
        let ones = arr2(&[[1.0, 1.0, 1.0]]);
        let d = backward(ones.view(), x.view(), Approximate::None);
        let (y2, cdf, pdf) = forward_with_cdf(x.view(), Approximate::None);
        for (a, b) in y2.iter().zip(y.iter()) {
            assert!((a - b).abs() < 1e-15);
        }
        let d2 = backward_with_cdf(ones.view(), x.view(), cdf.view(), pdf.view());
        for (a, b) in d2.iter().zip(d.iter()) {
            assert!((a - b).abs() < 1e-15);
        }
        assert!((d[[0, 0]] - 0.5).abs() < 1e-15);
        assert!((d[[0, 1]] - (0.841_344_746_068_542_9 + 0.241_970_724_519_143_37)).abs() < 1e-14);
    }

    #[test]
    fn tanh_form_hand_derived() {
        // At 0: u = 0, tanh 0 = 0, so y = 0 and y' = Φ̃(0) = ½ (x·Φ̃' vanishes).
        // At 1: u = √(2/π)·1.044715 = 0.8335619689, tanh u = 0.6823839812, so
        //   y = ½(1 + 0.6823839812) = 0.8411919906 (erf form: 0.8413447461, 1.5e-4 apart),
        //   and at −1, y = −Φ̃(−1) = −(1 − Φ̃(1)).
        // Far out: tanh u = ±1 in f32 and f64, so y = x for large x and 0 for large −x, and
        //   y' = 1 and 0; at ±3.4e38, x³ overflows to ±∞ and tanh(±∞) = ±1 still.
        let cases: [(f64, f64, f64); 7] = [
            (0.0, 0.0, 0.5),
            (1.0, 0.841_191_990_608_276_8, f64::NAN),
            (-1.0, -(1.0 - 0.841_191_990_608_276_8), f64::NAN),
            (30.0, 30.0, 1.0),
            (-30.0, 0.0, 0.0),
            (3.4e38, 3.4e38, 1.0),
            (-3.4e38, 0.0, 0.0),
        ];
        for (x, y, dy) in cases {
            let xs = arr2(&[[x]]);
            let got = forward(xs.view(), Approximate::Tanh)[[0, 0]];
            assert!(
                (got - y).abs() <= 1e-9 * y.abs().max(1.0),
                "f64 at {x}: {got}"
            );
            let got32 = forward(xs.mapv(|v| v as f32).view(), Approximate::Tanh)[[0, 0]];
            let tol = 1e-6 * y.abs().max(1.0);
            assert!((got32 as f64 - y).abs() <= tol, "f32 at {x}: {got32}");
            if !dy.is_nan() {
                let ones = arr2(&[[1.0]]);
                let d = backward(ones.view(), xs.view(), Approximate::Tanh)[[0, 0]];
                assert!((d - dy).abs() < 1e-12, "f64 slope at {x}: {d}");
                let d32 = backward(
                    ones.mapv(|v| v as f32).view(),
                    xs.mapv(|v| v as f32).view(),
                    Approximate::Tanh,
                )[[0, 0]];
                assert!((d32 as f64 - dy).abs() < 1e-6, "f32 slope at {x}: {d32}");
            }
        }
        // GELU(−x) = GELU(x) − x in both forms (Φ̃(−x) = 1 − Φ̃(x)).
        let x = arr2(&[[0.3f64, 1.7, 2.9]]);
        let (yp, yn) = (
            forward(x.view(), Approximate::Tanh),
            forward((-&x).view(), Approximate::Tanh),
        );
        for ((a, b), v) in yp.iter().zip(yn.iter()).zip(x.iter()) {
            assert!((b - (a - v)).abs() < 1e-14);
        }
        assert_eq!(Approximate::from_name("tanh"), Some(Approximate::Tanh));
        assert_eq!(Approximate::from_name("exact"), None);
        assert_eq!(Approximate::None.name(), "none");
    }
}
