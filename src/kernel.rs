//! The one matrix-product kernel every op goes through.
//!
//! ```text
//! C[m×n] += A[m×k] · B[k×n]        C row-major; A and B with any row/column strides,
//!                                  so Aᵀ or Bᵀ cost nothing (a transposed view swaps strides)
//! ```
//!
//! Blocked after Goto & van de Geijn ("Anatomy of high-performance matrix multiplication",
//! 2008): k is cut into blocks of `KC`, A's rows into blocks that fit L1 (`A_BLOCK` floats), B
//! into panels `NR` columns wide, and a micro-kernel keeps an `MR × NR` tile of C in registers
//! while it streams one panel of B and `MR` rows of A. B's panel is copied (packed) into
//! `kc × NR` unit-stride rows unless B is already row-major and its panel is short enough to
//! sit in L1 as it is. A is read in place: each of the tile's `MR` rows through its own pointer
//! and stride (a broadcast load per element), which serves `A·B`, `A·Bᵀ` and `Aᵀ·B` alike; only
//! a column-major A whose columns span more than L1 is copied, block by block. The
//! micro-kernel adds straight into C.
//!
//! Two micro-kernels, chosen at compile time:
//! - portable Rust on `[[F; NR]; MR]` accumulators (native builds auto-vectorise it);
//! - wasm `simd128` (`core::arch::wasm32`) for `f32` when built with `+simd128`: each row of
//!   the tile is two `f32x4` accumulators, updated by a `v128.load32_splat` of A times two
//!   loads of B. Measured in V8 on x86-64, 4×8 (8 accumulators) beats 5×8, 6×8, 4×12 and 3×16
//!   (more accumulators spill), and runs at about 33 GFLOP/s from L1 here.
//!
//! [`gemm_naive`] is the obvious triple loop kept beside them as the reference they are tested
//! against (natively here, and in wasm by the JS tests).

use crate::real::Real;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// Rows of the register tile.
pub const MR: usize = 4;
/// Columns of the register tile (two `f32x4` vectors).
pub const NR: usize = 8;
/// Depth of one packed block of k.
const KC: usize = 256;
/// Floats of A (rows × kc) kept in L1 while all of B's panels pass by it: 16 KiB.
const A_BLOCK: usize = 4 * 1024;
/// Below this many multiply–adds the blocking costs more than it saves.
const SMALL: usize = 4 * 1024;
/// B is read in place when row-major and a panel's `kc` rows span at most this many floats
/// (32 KiB); a longer span at a power-of-two row stride lands in few L1 sets (conflict misses),
/// so such panels are packed.
const DIRECT_MAX_SPAN: usize = 8 * 1024;

/// The reference: `C[m×n] += A·B` by the definition, one dot product per entry.
#[allow(clippy::too_many_arguments)]
pub fn gemm_naive<F: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: &[F],
    a_rs: usize,
    a_cs: usize,
    b: &[F],
    b_rs: usize,
    b_cs: usize,
    c: &mut [F],
    c_rs: usize,
) {
    for i in 0..m {
        for j in 0..n {
            let mut s = F::zero();
            for p in 0..k {
                s += a[i * a_rs + p * a_cs] * b[p * b_rs + j * b_cs];
            }
            c[i * c_rs + j] += s;
        }
    }
}

/// Small products: i-p-j loop order so the inner loop runs along a row of B and of C.
#[allow(clippy::too_many_arguments)]
fn gemm_small<F: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: &[F],
    a_rs: usize,
    a_cs: usize,
    b: &[F],
    b_rs: usize,
    b_cs: usize,
    c: &mut [F],
    c_rs: usize,
) {
    for i in 0..m {
        let crow = &mut c[i * c_rs..i * c_rs + n];
        for p in 0..k {
            let aip = a[i * a_rs + p * a_cs];
            let boff = p * b_rs;
            if b_cs == 1 {
                for (cj, &bj) in crow.iter_mut().zip(&b[boff..boff + n]) {
                    *cj += aip * bj;
                }
            } else {
                for (j, cj) in crow.iter_mut().enumerate() {
                    *cj += aip * b[boff + j * b_cs];
                }
            }
        }
    }
}

/// Where one `kc × NR` panel of B lives: row `p` of the panel is
/// `slice[off + p·step .. off + p·step + NR]`.
struct Panel<'a, F> {
    slice: &'a [F],
    off: usize,
    step: usize,
}

/// Copies `B[p0..p0+kc, j0..j0+w]` into `out` as `kc` rows of `NR` (zero-padded when `w < NR`).
#[allow(clippy::too_many_arguments)]
fn pack_b_panel<F: Real>(
    b: &[F],
    b_rs: usize,
    b_cs: usize,
    p0: usize,
    kc: usize,
    j0: usize,
    w: usize,
    out: &mut [F],
) {
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
struct CTile<'a, F> {
    c: &'a mut [F],
    off: usize,
    rs: usize,
    h: usize,
    w: usize,
}

impl<F: Real> CTile<'_, F> {
    /// Adds the valid part of a full `MR × NR` result (the edge case).
    fn add(&mut self, tile: &[[F; NR]; MR]) {
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
#[allow(clippy::too_many_arguments)]
fn pack_a_block<F: Real>(
    a: &[F],
    a_rs: usize,
    a_cs: usize,
    p0: usize,
    kc: usize,
    i0: usize,
    i1: usize,
    out: &mut [F],
) {
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

/// The blocked driver (products of at most `SMALL` multiply–adds go to [`gemm_small`]).
/// Loop order: k-blocks of `KC`; blocks of A's rows (`A_BLOCK` floats,
/// kept in L1); B's panels; the row tiles of the block. A B panel is read in place when
/// row-major, NR wide and spanning at most `DIRECT_MAX_SPAN`, else packed (once per k-block
/// when A has several blocks, else one panel at a time).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn gemm_blocked<F: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: &[F],
    a_rs: usize,
    a_cs: usize,
    b: &[F],
    b_rs: usize,
    b_cs: usize,
    c: &mut [F],
    c_rs: usize,
    // one tile: C[tile] += Σ_p A[rows, p] ⊗ B_panel[p], row r of A read at a[a_off[r] + p·a_cs]
    // (a generic closure, not a fn pointer: a pointer kept it from being inlined natively)
    micro: impl Fn(usize, &[F], [usize; MR], usize, &Panel<F>, CTile<F>),
    pack_all: bool,
) {
    if m * n * k <= SMALL {
        return gemm_small(m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, c_rs);
    }
    // Scratch, allocated only if used: one B panel, all B panels, one block of A.
    let (mut packed, mut all_panels, mut a_block) = (Vec::new(), Vec::new(), Vec::new());
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
                    pack_b_panel(b, b_rs, b_cs, p0, kc, j0, w, dst);
                }
            }
        }
        for i_blk in (0..m).step_by(mc) {
            let i_end = m.min(i_blk + mc);
            if pack_a {
                a_block.resize(mc * kc, F::zero());
                pack_a_block(a, a_rs, a_cs, p0, kc, i_blk, i_end, &mut a_block);
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
                    pack_b_panel(b, b_rs, b_cs, p0, kc, j0, w, &mut packed);
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

/// The portable micro-kernel (native builds auto-vectorise the inner `NR` loop).
#[inline(always)]
fn micro_portable<F: Real>(
    kc: usize,
    a: &[F],
    a_off: [usize; MR],
    a_cs: usize,
    b: &Panel<F>,
    mut c: CTile<F>,
) {
    // The portable driver packs both operands (`gemm_blocked(.., pack_all = true)`): A's tile
    // is MR side-by-side values per step and B's panel NR, so plain chunks, no bounds checks
    // in the loop, and the NR-wide updates auto-vectorise.
    assert!(a_cs == MR && b.step == NR && (0..MR).all(|r| a_off[r] == a_off[0] + r));
    let mut acc = [[F::zero(); NR]; MR];
    let ap = a[a_off[0]..].chunks_exact(MR);
    let bp = b.slice[b.off..].chunks_exact(NR);
    for (av, bv) in ap.zip(bp).take(kc) {
        for (acc_i, &ai) in acc.iter_mut().zip(av) {
            for (c, &bj) in acc_i.iter_mut().zip(bv) {
                *c += ai * bj;
            }
        }
    }
    c.add(&acc);
}

/// `C += A·B` with the portable micro-kernel (any [`Real`]).
#[allow(clippy::too_many_arguments)]
pub fn gemm_portable<F: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: &[F],
    a_rs: usize,
    a_cs: usize,
    b: &[F],
    b_rs: usize,
    b_cs: usize,
    c: &mut [F],
    c_rs: usize,
) {
    gemm_blocked(
        m,
        n,
        k,
        a,
        a_rs,
        a_cs,
        b,
        b_rs,
        b_cs,
        c,
        c_rs,
        micro_portable::<F>,
        true,
    )
}

/// The simd128 micro-kernel: row `r` of the tile lives in two `f32x4` accumulators, updated
/// by a broadcast load of `A[r, p]` (`v128.load32_splat`) times two loads of B's row `p`.
/// A full tile starts from C and is stored back into it, so no separate pass adds it in.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn micro_simd128(
    kc: usize,
    a: &[f32],
    a_off: [usize; MR],
    a_cs: usize,
    b: &Panel<f32>,
    mut c: CTile<f32>,
) {
    use core::arch::wasm32::*;
    // Every read below stays inside the slices: checked once here, not per element.
    assert!(kc > 0 && b.off + (kc - 1) * b.step + NR <= b.slice.len());
    assert!(a_off.iter().all(|&o| o + (kc - 1) * a_cs < a.len()));
    assert!(c.h > 0 && c.off + (c.h - 1) * c.rs + c.w <= c.c.len());
    let full = c.h == MR && c.w == NR;
    let cp = c.c.as_mut_ptr().wrapping_add(c.off);
    let crow = |i: usize, half: usize| cp.wrapping_add(i * c.rs + 4 * half) as *mut v128;
    let z = f32x4_splat(0.0);
    let (mut c00, mut c01, mut c10, mut c11, mut c20, mut c21, mut c30, mut c31) = if full {
        // SAFETY: a full tile has 4 rows of 8 floats inside c (asserted above).
        unsafe {
            (
                v128_load(crow(0, 0)),
                v128_load(crow(0, 1)),
                v128_load(crow(1, 0)),
                v128_load(crow(1, 1)),
                v128_load(crow(2, 0)),
                v128_load(crow(2, 1)),
                v128_load(crow(3, 0)),
                v128_load(crow(3, 1)),
            )
        }
    } else {
        (z, z, z, z, z, z, z, z)
    };
    let base = a.as_ptr();
    let (mut r0, mut r1, mut r2, mut r3) = (
        base.wrapping_add(a_off[0]),
        base.wrapping_add(a_off[1]),
        base.wrapping_add(a_off[2]),
        base.wrapping_add(a_off[3]),
    );
    let mut bp = b.slice.as_ptr().wrapping_add(b.off);
    for _ in 0..kc {
        // SAFETY: the asserts above bound every address read in the kc iterations;
        // wasm loads have no alignment requirement.
        unsafe {
            let b0 = v128_load(bp as *const v128);
            let b1 = v128_load(bp.add(4) as *const v128);
            let a0 = v128_load32_splat(r0 as *const u32);
            c00 = f32x4_add(c00, f32x4_mul(a0, b0));
            c01 = f32x4_add(c01, f32x4_mul(a0, b1));
            let a1 = v128_load32_splat(r1 as *const u32);
            c10 = f32x4_add(c10, f32x4_mul(a1, b0));
            c11 = f32x4_add(c11, f32x4_mul(a1, b1));
            let a2 = v128_load32_splat(r2 as *const u32);
            c20 = f32x4_add(c20, f32x4_mul(a2, b0));
            c21 = f32x4_add(c21, f32x4_mul(a2, b1));
            let a3 = v128_load32_splat(r3 as *const u32);
            c30 = f32x4_add(c30, f32x4_mul(a3, b0));
            c31 = f32x4_add(c31, f32x4_mul(a3, b1));
        }
        r0 = r0.wrapping_add(a_cs);
        r1 = r1.wrapping_add(a_cs);
        r2 = r2.wrapping_add(a_cs);
        r3 = r3.wrapping_add(a_cs);
        bp = bp.wrapping_add(b.step);
    }
    let rows = [(c00, c01), (c10, c11), (c20, c21), (c30, c31)];
    if full {
        for (i, (lo, hi)) in rows.into_iter().enumerate() {
            // SAFETY: as for the loads above.
            unsafe {
                v128_store(crow(i, 0), lo);
                v128_store(crow(i, 1), hi);
            }
        }
    } else {
        let mut tile = [[0f32; NR]; MR];
        for (row, (lo, hi)) in tile.iter_mut().zip(rows) {
            // SAFETY: each row is 8 f32s; two unaligned 16-byte stores fill it exactly.
            unsafe {
                v128_store(row.as_mut_ptr() as *mut v128, lo);
                v128_store(row.as_mut_ptr().add(4) as *mut v128, hi);
            }
        }
        c.add(&tile);
    }
}

/// `C += A·B` in f32: the simd128 micro-kernel on wasm32 built with `+simd128`, else portable.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_rs: usize,
    a_cs: usize,
    b: &[f32],
    b_rs: usize,
    b_cs: usize,
    c: &mut [f32],
    c_rs: usize,
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        gemm_blocked(
            m,
            n,
            k,
            a,
            a_rs,
            a_cs,
            b,
            b_rs,
            b_cs,
            c,
            c_rs,
            micro_simd128,
            false,
        )
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    gemm_portable(m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, c_rs)
}

/// For the benchmark: `reps` calls of this build's f32 micro-kernel on one `KC`-deep pair of
/// panels that stays in L1, i.e. the speed no product can exceed here (`2·MR·NR·KC` flops per
/// call). Returns a checksum so the work is kept.
pub fn bench_micro_kernel(reps: usize) -> f32 {
    let a: Vec<f32> = (0..KC * MR).map(|i| (i % 7) as f32 * 1e-3).collect();
    let b: Vec<f32> = (0..KC * NR).map(|i| (i % 5) as f32 * 1e-3).collect();
    let mut c = vec![0f32; MR * NR];
    let panel = Panel {
        slice: &b,
        off: 0,
        step: NR,
    };
    let offsets = std::array::from_fn(|r| r);
    for _ in 0..reps {
        let tile = CTile {
            c: &mut c,
            off: 0,
            rs: NR,
            h: MR,
            w: NR,
        };
        // (black_box: the compiler must not see that every call reads the same panels)
        let (a, panel) = std::hint::black_box((&a[..], &panel));
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        micro_simd128(KC, a, offsets, MR, panel, tile);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        micro_portable::<f32>(KC, a, offsets, MR, panel, tile);
    }
    // (all of the tile: a checksum of one entry let the compiler drop the other rows' work)
    c.iter().sum()
}

/// Flops of one [`bench_micro_kernel`] call.
pub const MICRO_KERNEL_FLOPS: usize = 2 * MR * NR * KC;

/// The `(m, n, k)` every kernel path is checked on against [`gemm_naive`], natively and in wasm
/// (`kernelSelfTest`), each with all four transpose combinations: partial MR and NR tiles, the
/// small-product path, k crossing KC, several blocks of A, packed and in-place B panels, and a
/// column-major A copied block by block.
pub const CHECK_SHAPES: [(usize, usize, usize); 10] = [
    (1, 1, 1),
    (3, 5, 7),
    (4, 8, 1),
    (5, 9, 13),
    (13, 17, 300),
    (130, 7, 33),
    (33, 65, 257),
    (129, 31, 64),
    (64, 64, 64),
    (12, 16, 520),
];

/// Which micro-kernel [`sgemm`] uses in this build: `"simd128"` or `"portable"`.
pub fn sgemm_path() -> &'static str {
    if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
        "simd128"
    } else {
        "portable"
    }
}

/// A view as (slice, row stride, column stride) without copying when it is contiguous in
/// either order (a transposed view is); otherwise `None`.
fn strided<'a, F: Real>(x: &'a ArrayView2<'a, F>) -> Option<(&'a [F], usize, usize)> {
    let s = x.strides();
    if s[0] < 0 || s[1] < 0 {
        return None;
    }
    x.as_slice_memory_order()
        .map(|sl| (sl, s[0] as usize, s[1] as usize))
}

/// `c += a · b` for ndarray views. `a` is `[m, k]`, `b` is `[k, n]`, `c` is `[m, n]` in standard
/// layout. Transposed views (`x.t()`) are used in place.
///
/// **Panics** if the shapes disagree or `c` is not in standard layout: callers inside the
/// crate check shapes first and report them as [`crate::Error`]s.
pub fn matmul_acc<F: Real>(c: &mut ArrayViewMut2<F>, a: ArrayView2<F>, b: ArrayView2<F>) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert!(
        k == k2 && c.dim() == (m, n),
        "matmul: [{m}, {k}] · [{k2}, {n}] into {:?}",
        c.dim()
    );
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let a_own;
    let a = if strided(&a).is_some() {
        a
    } else {
        a_own = a.as_standard_layout().into_owned();
        a_own.view()
    };
    let b_own;
    let b = if strided(&b).is_some() {
        b
    } else {
        b_own = b.as_standard_layout().into_owned();
        b_own.view()
    };
    let (asl, a_rs, a_cs) = strided(&a).expect("contiguous after copy");
    let (bsl, b_rs, b_cs) = strided(&b).expect("contiguous after copy");
    let csl = c
        .as_slice_mut()
        .expect("matmul: output must be in standard layout");
    F::gemm(m, n, k, asl, a_rs, a_cs, bsl, b_rs, b_cs, csl, n);
}

/// `a · b` as a new `[m, n]` array. See [`matmul_acc`].
pub fn matmul<F: Real>(a: ArrayView2<F>, b: ArrayView2<F>) -> Array2<F> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    matmul_acc(&mut c.view_mut(), a, b);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn random(rng: &mut Rng, len: usize) -> Vec<f64> {
        (0..len).map(|_| rng.uniform_in(-1.0, 1.0)).collect()
    }

    #[test]
    fn portable_matches_naive_on_odd_shapes_and_strides() {
        let mut rng = Rng::new(3);
        for &(m, n, k) in &CHECK_SHAPES {
            for &(ta, tb) in &[(false, false), (true, false), (false, true), (true, true)] {
                let a = random(&mut rng, m * k);
                let b = random(&mut rng, k * n);
                // A stored row-major [m,k] or column-major (i.e. as Aᵀ row-major [k,m]).
                let (a_rs, a_cs) = if ta { (1, m) } else { (k, 1) };
                let (b_rs, b_cs) = if tb { (1, k) } else { (n, 1) };
                let c0 = random(&mut rng, m * n);
                let mut want = c0.clone();
                gemm_naive(m, n, k, &a, a_rs, a_cs, &b, b_rs, b_cs, &mut want, n);
                let mut got = c0.clone();
                gemm_portable(m, n, k, &a, a_rs, a_cs, &b, b_rs, b_cs, &mut got, n);
                let mut got32: Vec<f32> = c0.iter().map(|&x| x as f32).collect();
                let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
                let b32: Vec<f32> = b.iter().map(|&x| x as f32).collect();
                sgemm(m, n, k, &a32, a_rs, a_cs, &b32, b_rs, b_cs, &mut got32, n);
                for i in 0..m * n {
                    assert!(
                        (got[i] - want[i]).abs() < 1e-12,
                        "f64 {m}x{n}x{k} ta={ta} tb={tb} at {i}: {} vs {}",
                        got[i],
                        want[i]
                    );
                    // f32 with k terms of size ≤ 1: error ≲ k · 2⁻²⁴ · |terms|.
                    let tol = 1e-6 * (k as f64 + 1.0);
                    assert!(
                        (got32[i] as f64 - want[i]).abs() < tol,
                        "f32 {m}x{n}x{k} at {i}: {} vs {}",
                        got32[i],
                        want[i]
                    );
                }
            }
        }
    }

    #[test]
    fn matmul_handles_transposed_views() {
        // [[1,2],[3,4]] · [[5,6],[7,8]] = [[19,22],[43,50]]; Aᵀ·B = [[26,30],[38,44]].
        let a = ndarray::arr2(&[[1.0, 2.0], [3.0, 4.0]]);
        let b = ndarray::arr2(&[[5.0, 6.0], [7.0, 8.0]]);
        assert_eq!(
            matmul(a.view(), b.view()),
            ndarray::arr2(&[[19.0, 22.0], [43.0, 50.0]])
        );
        assert_eq!(
            matmul(a.t(), b.view()),
            ndarray::arr2(&[[26.0, 30.0], [38.0, 44.0]])
        );
        // A·Bᵀ = [[17,23],[39,53]]
        assert_eq!(
            matmul(a.view(), b.t()),
            ndarray::arr2(&[[17.0, 23.0], [39.0, 53.0]])
        );
        // A non-contiguous view (every other column) is copied, not misread.
        let wide = ndarray::arr2(&[[1.0, 0.0, 2.0], [3.0, 0.0, 4.0]]);
        let sl = wide.slice(ndarray::s![.., ..;2]);
        assert_eq!(
            matmul(sl, b.view()),
            ndarray::arr2(&[[19.0, 22.0], [43.0, 50.0]])
        );
    }
}
