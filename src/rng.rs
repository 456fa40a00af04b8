//! A small seeded random generator: the same seed gives the same numbers on every machine.
//!
//! The playground's links carry a seed, and opening a link must reproduce the same random
//! weights, so nothing here touches the operating system's randomness. The generator is
//! SplitMix64 (Steele, Lea & Flood, 2014): a 64-bit state advanced by a constant and mixed by
//! two multiply–xorshift rounds; it passes BigCrush and is four lines long.

/// A seeded SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator for `seed`. Different seeds give unrelated streams.
    pub fn new(seed: u64) -> Self {
        Rng {
            state: seed ^ 0x5DEE_CE66_D1CE_4E5B,
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform float in [lo, hi).
    pub fn uniform_in(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// A standard normal sample (Box–Muller; one of the pair is discarded for simplicity).
    pub fn normal(&mut self) -> f64 {
        // 1 − u keeps the logarithm's argument in (0, 1].
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// A uniform integer in 0..n (n > 0), by rejection so that it is exactly uniform.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0)");
        let n = n as u64;
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return (x % n) as usize;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..5).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..5).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = Rng::new(8);
            (0..5).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn moments_are_right() {
        // Mean of U[0,1) is 1/2; a normal has mean 0 and variance 1. With 200k samples the
        // standard error of the mean is ~0.0007 (uniform) and ~0.0022 (normal).
        let mut r = Rng::new(1);
        let n = 200_000;
        let mu = (0..n).map(|_| r.uniform()).sum::<f64>() / n as f64;
        assert!((mu - 0.5).abs() < 0.005, "uniform mean {mu}");
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
        assert!(
            m.abs() < 0.01 && (v - 1.0).abs() < 0.02,
            "normal mean {m} var {v}"
        );
        let counts = (0..60_000).fold([0usize; 3], |mut c, _| {
            c[r.below(3)] += 1;
            c
        });
        assert!(
            counts.iter().all(|&c| (c as i64 - 20_000).abs() < 600),
            "{counts:?}"
        );
    }
}
