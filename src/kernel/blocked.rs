//! The blocked driver and its packing: k in blocks of `KC`, A's rows in blocks that stay in
//! L1, B in `NR`-wide panels (packed, or read in place when row-major and short), and one
//! micro-kernel call per `MR × NR` tile of C (the micro-kernel's tile, a const parameter: 4 × 8,
//! or 6 × 16 for AVX2). See the module above for the whole design.

use super::{gemm_small, Strided, KC, SMALL};
use crate::real::Real;

/// Floats of A (rows × kc) kept in L1 while all of B's panels pass by it: 16 KiB.
const A_BLOCK: usize = 4 * 1024;
/// B is read in place when row-major and a panel's `kc` rows span at most this many floats
/// (32 KiB); a longer span at a power-of-two row stride lands in few L1 sets (conflict misses),
/// so such panels are packed.
const DIRECT_MAX_SPAN: usize = 8 * 1024;

/// Where one `kc × NR` panel of B lives: row `p` of the panel is
/// `slice[off + p·step .. off + p·step + NR]`.
pub(super) struct Panel<'a, F> {
    pub(super) slice: &'a [F],
    pub(super) off: usize,
    pub(super) step: usize,
}

/// Copies `B[p0..p0+kc, j0..j0+w]` into `out` as `kc` rows of `NR` (zero-padded when `w < NR`).
fn pack_b_panel<F: Real, const NR: usize>(
    b: Strided<F>,
    p0: usize,
    kc: usize,
    j0: usize,
    w: usize,
    out: &mut [F],
) {
    let (b, b_rs, b_cs) = (b.data, b.rs, b.cs);
    let out = &mut out[..kc * NR];
    if w < NR {
        out.fill(F::zero());
    }
    if b_cs == 1 && w == NR {
        // B row-major, a full panel: a plain copy of NR floats per row (two v128 moves).
        for (p, dst) in out.chunks_exact_mut(NR).enumerate() {
            let src = (p0 + p) * b_rs + j0;
            dst.copy_from_slice(&b[src..src + NR]);
        }
    } else if b_cs <= b_rs {
        // B row-major: read along rows.
        for (p, dst) in out.chunks_exact_mut(NR).enumerate() {
            let src = &b[(p0 + p) * b_rs + j0 * b_cs..];
            for (j, d) in dst[..w].iter_mut().enumerate() {
                *d = src[j * b_cs];
            }
        }
    } else {
        // B column-major (a transposed view): read down columns, which are contiguous.
        for j in 0..w {
            let src = &b[p0 * b_rs + (j0 + j) * b_cs..];
            for (p, d) in out.iter_mut().skip(j).step_by(NR).enumerate() {
                *d = src[p * b_rs];
            }
        }
    }
}

/// The `h × w` block of C (`h ≤ MR`, `w ≤ NR`) that one micro-kernel call adds into: row `i`
/// is `c[off + i·rs .. off + i·rs + w]`.
pub(super) struct CTile<'a, F> {
    pub(super) c: &'a mut [F],
    pub(super) off: usize,
    pub(super) rs: usize,
    pub(super) h: usize,
    pub(super) w: usize,
}

impl<F: Real> CTile<'_, F> {
    /// Adds the valid part of a full `MR × NR` result (the edge case).
    pub(super) fn add<const MR: usize, const NR: usize>(&mut self, tile: &[[F; NR]; MR]) {
        for (i, row) in tile.iter().enumerate().take(self.h) {
            let start = self.off + i * self.rs;
            for (cj, &t) in self.c[start..start + self.w].iter_mut().zip(row) {
                *cj += t;
            }
        }
    }
}

/// Copies rows `i0..i1` of `A[·, p0..p0+kc]` into `out` as tiles of `MR` rows: tile `t` at
/// `t·kc·MR`, its column `p` as `MR` side-by-side values (rows past `i1` repeat the last row).
fn pack_a_block<F: Real, const MR: usize>(
    a: Strided<F>,
    p0: usize,
    kc: usize,
    i0: usize,
    i1: usize,
    out: &mut [F],
) {
    let (a, a_rs, a_cs) = (a.data, a.rs, a.cs);
    for (t, r0) in (i0..i1).step_by(MR).enumerate() {
        let h = MR.min(i1 - r0);
        let dst = &mut out[t * kc * MR..(t + 1) * kc * MR];
        for (p, d) in dst.chunks_exact_mut(MR).enumerate() {
            let src = r0 * a_rs + (p0 + p) * a_cs;
            if a_rs == 1 && h == MR {
                d.copy_from_slice(&a[src..src + MR]);
            } else {
                for (r, v) in d.iter_mut().enumerate() {
                    *v = a[src + r.min(h - 1) * a_rs];
                }
            }
        }
    }
}

/// The packing buffers of one product: one B panel, all B panels of a k-block, one block of A.
/// [`gemm_blocked`] starts from empty ones; a caller that keeps them between products
/// ([`gemm_blocked_in`]) saves the allocation, and the page faults of memory the allocator
/// returned to the system in between.
#[derive(Debug, Default)]
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub(super) struct Scratch<F> {
    packed: Vec<F>,
    all_panels: Vec<F>,
    a_block: Vec<F>,
}

#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
impl<F> Scratch<F> {
    /// Floats held.
    pub(super) fn capacity(&self) -> usize {
        self.packed.capacity() + self.all_panels.capacity() + self.a_block.capacity()
    }
}

/// The blocked driver (products of at most `SMALL` multiply–adds go to [`gemm_small`]).
/// Loop order: k-blocks of `KC`; blocks of A's rows (`A_BLOCK` floats,
/// kept in L1); B's panels; the row tiles of the block. A B panel is read in place when
/// row-major, NR wide and spanning at most `DIRECT_MAX_SPAN`, else packed (once per k-block
/// when A has several blocks, else one panel at a time).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn gemm_blocked<F: Real, const MR: usize, const NR: usize>(
    m: usize,
    n: usize,
    k: usize,
    a_op: Strided<F>,
    b_op: Strided<F>,
    c: &mut [F],
    c_rs: usize,
    // one tile: C[tile] += Σ_p A[rows, p] ⊗ B_panel[p], row r of A read at a[a_off[r] + p·a_cs]
    // (a generic closure, not a fn pointer: a pointer kept it from being inlined natively)
    micro: impl Fn(usize, &[F], [usize; MR], usize, &Panel<F>, CTile<F>),
    pack_all: bool,
) {
    gemm_blocked_in::<F, MR, NR>(
        m,
        n,
        k,
        a_op,
        b_op,
        c,
        c_rs,
        micro,
        pack_all,
        &mut Scratch::default(),
    )
}

/// [`gemm_blocked`] with the packing buffers given (what a previous product left in them is
/// overwritten before it is read).
#[allow(clippy::too_many_arguments)]
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
#[inline(always)]
pub(super) fn gemm_blocked_in<F: Real, const MR: usize, const NR: usize>(
    m: usize,
    n: usize,
    k: usize,
    a_op: Strided<F>,
    b_op: Strided<F>,
    c: &mut [F],
    c_rs: usize,
    micro: impl Fn(usize, &[F], [usize; MR], usize, &Panel<F>, CTile<F>),
    pack_all: bool,
    scratch: &mut Scratch<F>,
) {
    if m * n * k <= SMALL {
        return gemm_small(m, n, k, a_op, b_op, c, c_rs);
    }
    let (a, a_rs, a_cs) = (a_op.data, a_op.rs, a_op.cs);
    let (b, b_rs, b_cs) = (b_op.data, b_op.rs, b_op.cs);
    // Scratch, grown only if used: one B panel, all B panels, one block of A.
    let Scratch {
        packed,
        all_panels,
        a_block,
    } = scratch;
    let mut p0 = 0;
    while p0 < k {
        let kc = KC.min(k - p0);
        // Rows of A per block: mc·kc floats stay in L1 while every panel of B passes by.
        let mc = (A_BLOCK / kc).max(MR) / MR * MR;
        let direct = |w: usize| !pack_all && b_cs == 1 && w == NR && kc * b_rs <= DIRECT_MAX_SPAN;
        let several_blocks = m > mc;
        // A column-major A (a transposed view) whose kc columns span more than L1 holds is
        // copied block by block: read in place, its tile rows would walk down the columns one
        // cache line per step, and at power-of-two strides those lines collide in a few sets.
        let pack_a = pack_all || (a_rs < a_cs && kc * a_cs > DIRECT_MAX_SPAN);
        if several_blocks {
            // each B panel is used once per block of A: pack those that need it only once
            all_panels.resize(n.div_ceil(NR) * kc * NR, F::zero());
            for (jp, dst) in all_panels.chunks_exact_mut(kc * NR).enumerate() {
                let (j0, w) = (jp * NR, NR.min(n - jp * NR));
                if !direct(w) {
                    pack_b_panel::<F, NR>(b_op, p0, kc, j0, w, dst);
                }
            }
        }
        for i_blk in (0..m).step_by(mc) {
            let i_end = m.min(i_blk + mc);
            if pack_a {
                a_block.resize(mc * kc, F::zero());
                pack_a_block::<F, MR>(a_op, p0, kc, i_blk, i_end, a_block);
            }
            for j0 in (0..n).step_by(NR) {
                let w = NR.min(n - j0);
                let panel = if direct(w) {
                    Panel {
                        slice: b,
                        off: p0 * b_rs + j0,
                        step: b_rs,
                    }
                } else if several_blocks {
                    Panel {
                        slice: &all_panels[..],
                        off: (j0 / NR) * kc * NR,
                        step: NR,
                    }
                } else {
                    packed.resize(KC * NR, F::zero());
                    pack_b_panel::<F, NR>(b_op, p0, kc, j0, w, packed);
                    Panel {
                        slice: &packed[..],
                        off: 0,
                        step: NR,
                    }
                };
                for i0 in (i_blk..i_end).step_by(MR) {
                    let h = MR.min(m - i0);
                    let tile = CTile {
                        c: &mut *c,
                        off: i0 * c_rs + j0,
                        rs: c_rs,
                        h,
                        w,
                    };
                    if pack_a {
                        let base = (i0 - i_blk) * kc;
                        let a_off = std::array::from_fn(|r| base + r);
                        micro(kc, &a_block[..], a_off, MR, &panel, tile);
                    } else {
                        // Rows past the end of A repeat its last row; their results are dropped.
                        let a_off = std::array::from_fn(|r| (i0 + r.min(h - 1)) * a_rs + p0 * a_cs);
                        micro(kc, a, a_off, a_cs, &panel, tile);
                    }
                }
            }
        }
        p0 += kc;
    }
}
