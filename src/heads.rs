//! What an attention head does, read from its weights: many heads of a trained model put most
//! of every row's weight on one position relative to the query — the token just before it
//! (a "previous-token head"), itself, or the first token — and a teaching page can then say so
//! from the numbers instead of from a guess.
//!
//! For a head's weights `a` `[T, T]` (row i: how query i spreads its attention over the keys,
//! each row summing to 1), over the rows i ≥ 1 (row 0 of a causal head can only look at
//! itself, so it says nothing):
//!
//! ```text
//! Previous  s = mean_{i=1..T−1} a[i][i−1]     looks at the token just before
//! Current   s = mean_{i=1..T−1} a[i][i]       looks at itself
//! First     s = mean_{i=1..T−1} a[i][0]       looks at the first token (an "attention sink")
//! Next      s = mean_{i=0..T−2} a[i][i+1]     looks at the token just after (not causal only)
//! chance    c = mean_{i=1..T−1} 1/(i+1) causal (what a head spreading each row evenly over
//!           the keys it may see puts on any one of them), 1/T otherwise
//! pattern   the kind of largest s, if s ≥ 1/2 and s ≥ c + 1/4 (ties: the order above); else none
//! ```
//!
//! The margin over chance matters for short sentences: in a causal head row 1 has only two
//! keys, so with four tokens an even head already puts 0.36 on the previous one, and 0.55
//! would say little.
//!
//! A strength of at least 1/2 means that on average more than half of each row goes to that
//! one position, more than to all the others together; in row 1 of a causal head the previous
//! and the first token are the same one, which the tie order settles. A reference for the
//! vocabulary: Olsson et al., "In-context Learning and Induction Heads" (2022), and Clark et
//! al., "What Does BERT Look At?" (2019), which counts heads attending to the previous, the
//! next and the same token.

use crate::error::{Error, Result};
use ndarray::ArrayView2;
use serde::Serialize;

/// The position a head's rows look at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PatternKind {
    /// The token just before the query (`a[i][i−1]`).
    Previous,
    /// The query's own token (`a[i][i]`).
    Current,
    /// The first token (`a[i][0]`).
    First,
    /// The token just after the query (`a[i][i+1]`); only without a causal mask.
    Next,
}

impl PatternKind {
    /// Its name as the JS API writes it (`"previous"`).
    pub fn name(self) -> &'static str {
        match self {
            PatternKind::Previous => "previous",
            PatternKind::Current => "current",
            PatternKind::First => "first",
            PatternKind::Next => "next",
        }
    }
}

/// A clear pattern: its kind and its strength, the mean weight on that position (½ to 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HeadPattern {
    /// Which position the rows look at.
    pub kind: PatternKind,
    /// The mean weight on it over the rows counted (see the module's formula).
    pub strength: f32,
}

/// Strength from which a pattern counts as clear: more than half of every row on average.
pub const CLEAR: f32 = 0.5;

/// How far above [`chance`] a clear pattern's strength must also be.
pub const OVER_CHANCE: f32 = 0.25;

/// What a head spreading every row evenly over the keys it may see puts on one position, on
/// average over the rows counted: `mean_{i=1..T−1} 1/(i+1)` for a causal head, `1/T` otherwise
/// (0 for fewer than two tokens).
pub fn chance(t: usize, causal: bool) -> f32 {
    if t < 2 {
        return 0.0;
    }
    if !causal {
        return 1.0 / t as f32;
    }
    (1..t).map(|i| 1.0 / (i + 1) as f32).sum::<f32>() / (t - 1) as f32
}

/// The strength of every kind for `weights` `[T, T]`, in the tie order (Previous, Current,
/// First, then Next unless `causal`). Empty for fewer than two tokens.
///
/// **Errors** if `weights` is not square.
pub fn strengths(weights: ArrayView2<f32>, causal: bool) -> Result<Vec<(PatternKind, f32)>> {
    let (t, k) = weights.dim();
    if t != k {
        return Err(Error::shape(format!(
            "head pattern: the weights have shape [{t}, {k}] but must be [T, T]"
        )));
    }
    if t < 2 {
        return Ok(vec![]);
    }
    let mean = |cell: &dyn Fn(usize) -> f32, rows: std::ops::Range<usize>| {
        let n = rows.len() as f32;
        rows.map(cell).sum::<f32>() / n
    };
    let mut s = vec![
        (PatternKind::Previous, mean(&|i| weights[[i, i - 1]], 1..t)),
        (PatternKind::Current, mean(&|i| weights[[i, i]], 1..t)),
        (PatternKind::First, mean(&|i| weights[[i, 0]], 1..t)),
    ];
    if !causal {
        s.push((PatternKind::Next, mean(&|i| weights[[i, i + 1]], 0..t - 1)));
    }
    Ok(s)
}

/// The head's clear pattern, if it has one: the kind of largest strength when that strength
/// is at least [`CLEAR`] and [`OVER_CHANCE`] above [`chance`] (on ties the first in
/// [`strengths`]' order); `None` otherwise or for fewer than two tokens.
///
/// **Errors** if `weights` is not square.
///
/// ```
/// use lm_playground::heads::{head_pattern, PatternKind};
/// use ndarray::array;
/// // Each row after the first puts 0.8 on the token before it: a previous-token head.
/// let a = array![[1.0, 0.0, 0.0], [0.8, 0.2, 0.0], [0.1, 0.8, 0.1]];
/// let p = head_pattern(a.view(), true).unwrap().unwrap();
/// assert_eq!(p.kind, PatternKind::Previous);
/// assert!((p.strength - 0.8).abs() < 1e-6);
/// ```
pub fn head_pattern(weights: ArrayView2<f32>, causal: bool) -> Result<Option<HeadPattern>> {
    let mut best: Option<HeadPattern> = None;
    let floor = CLEAR.max(chance(weights.nrows(), causal) + OVER_CHANCE);
    for (kind, strength) in strengths(weights, causal)? {
        if strength >= floor && best.is_none_or(|b| strength > b.strength) {
            best = Some(HeadPattern { kind, strength });
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    fn kind(a: &Array2<f32>, causal: bool) -> Option<(PatternKind, f32)> {
        head_pattern(a.view(), causal)
            .unwrap()
            .map(|p| (p.kind, p.strength))
    }

    #[test]
    fn a_pattern_must_beat_an_even_head_by_a_quarter() {
        // Four tokens, causal: an even head puts (1/2 + 1/3 + 1/4) / 3 = 0.361 on the previous.
        assert!((chance(4, true) - 0.3611).abs() < 1e-3);
        assert!((chance(5, false) - 0.2).abs() < 1e-6);
        // 0.55 on the previous token (the attention panel's 今天天气真好, head 2): not clear.
        let weak = array![
            [1.0, 0.0, 0.0, 0.0],
            [0.5, 0.5, 0.0, 0.0],
            [0.2, 0.6, 0.2, 0.0],
            [0.1, 0.2, 0.55, 0.15]
        ];
        let s = strengths(weak.view(), true).unwrap()[0].1;
        assert!(s >= CLEAR && s < chance(4, true) + OVER_CHANCE, "{s}");
        assert_eq!(kind(&weak, true), None);
        // With twelve tokens chance is 0.17: the floor is 1/2 again.
        assert!(chance(12, true) + OVER_CHANCE < CLEAR);
    }

    #[test]
    fn previous_current_first_by_hand() {
        // Previous: rows 1, 2, 3 put 1, 0.6, 0.5 on the token before: (1 + 0.6 + 0.5) / 3 = 0.7.
        let prev = array![
            [1.0, 0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0, 0.0],
            [0.2, 0.6, 0.2, 0.0],
            [0.2, 0.1, 0.5, 0.2]
        ];
        let (k, s) = kind(&prev, true).unwrap();
        assert_eq!(k, PatternKind::Previous);
        assert!((s - 0.7).abs() < 1e-6, "{s}");
        // Current: the identity, every diagonal weight 1.
        let eye = Array2::<f32>::eye(4);
        assert_eq!(kind(&eye, true), Some((PatternKind::Current, 1.0)));
        // First: every row on token 0 — but row 1's token 0 is also its previous token, which
        // the tie order settles only when the means are equal; here First has (1+1+1)/3 = 1
        // and Previous (1+0+0)/3 = 1/3.
        let sink = array![
            [1.0, 0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0, 0.0]
        ];
        assert_eq!(kind(&sink, true), Some((PatternKind::First, 1.0)));
        // Two tokens: row 1's previous token is the first one: a tie, Previous wins.
        let two = array![[1.0, 0.0], [0.9, 0.1]];
        assert_eq!(kind(&two, true).unwrap().0, PatternKind::Previous);
    }

    #[test]
    fn uniform_rows_have_no_pattern_and_next_needs_no_mask() {
        // Uniform over 4 keys: every strength is 1/4 < 1/2.
        let u = Array2::<f32>::from_elem((4, 4), 0.25);
        assert_eq!(kind(&u, false), None);
        // A causal uniform head: row i gives 1/(i+1) to each of its i+1 keys, so Previous is
        // (1/2 + 1/3 + 1/4) / 3 = 13/36 < 1/2.
        let mut c = Array2::<f32>::zeros((4, 4));
        for i in 0..4 {
            for j in 0..=i {
                c[[i, j]] = 1.0 / (i + 1) as f32;
            }
        }
        let s = strengths(c.view(), true).unwrap();
        assert!((s[0].1 - 13.0 / 36.0).abs() < 1e-6);
        assert_eq!(kind(&c, true), None);
        // Looking one ahead: rows 0, 1, 2 put 1 on the next token, row 3 on itself.
        let next = array![
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 1.0],
            [0.0, 0.0, 0.0, 1.0]
        ];
        assert_eq!(kind(&next, false), Some((PatternKind::Next, 1.0)));
        // With the causal flag Next is not a candidate; Current has 1/3.
        assert_eq!(kind(&next, true), None);
    }

    #[test]
    fn exactly_one_half_is_clear_and_shapes_are_checked() {
        // Eight tokens (chance 0.245, so the floor is 1/2): rows 1–7 put 0.5 on themselves
        // and 0.5 on the first token; strength exactly 1/2 counts, and the tie goes to
        // Current (before First in the order).
        let mut half = Array2::<f32>::zeros((8, 8));
        half[[0, 0]] = 1.0;
        for i in 1..8 {
            half[[i, i]] = 0.5;
            half[[i, 0]] = 0.5;
        }
        assert!(chance(8, true) + OVER_CHANCE <= CLEAR);
        assert_eq!(kind(&half, true), Some((PatternKind::Current, 0.5)));
        assert_eq!(kind(&array![[1.0f32]], true), None);
        let e = head_pattern(Array2::<f32>::zeros((2, 3)).view(), true).unwrap_err();
        assert!(e.message.contains("[2, 3]"), "{e}");
    }
}
