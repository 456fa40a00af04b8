//! The x86-64 AVX2 + FMA micro-kernel of the native f32 product (never compiled for wasm32),
//! and the blocked driver compiled around it with those features enabled.
//!
//! ```text
//! tile     MR_AVX2 × NR_AVX2 = 6 × 16 of C in 12 ymm accumulators (6 rows × two 8-lane halves);
//!          with B's two vectors and A's broadcast, 15 of the 16 ymm registers
//! step p   b0, b1 = B_panel[p][0..8], B_panel[p][8..16]
//!          for r in 0..6:  a = broadcast A[r, p]
//!                          acc[r][0] = fma(a, b0, acc[r][0]);  acc[r][1] = fma(a, b1, acc[r][1])
//! then     C[tile] += acc          (a full tile loaded, added, stored; an edge tile through a
//!                                   scratch tile, the same additions)
//! ```
//!
//! As the simd128 kernel, it reads A in place (each of the 6 rows through its own pointer and
//! column stride) and B's panel in place when row-major and short, else packed
//! (`gemm_blocked(.., pack_all = false)`). Measured here (AMD EPYC, one core, against the 4×8
//! portable kernel's 31–36 GFLOP/s at n = 64–256): 6×16 beat 5×16, 4×16, 3×24, 8×8 and 12×8
//! from L1 and at every n (4×24 with three vectors a row spilled and ran at half speed);
//! packing A as well was 0–3 % slower; k-blocks of 128–512 and blocks of A of 16–256 KiB were
//! within the run-to-run noise of the portable driver's `KC` = 256 and 16 KiB, which it keeps.
//!
//! Determinism: each entry of C gets `Σ_p A[i, p]·B[p, j]` over one k-block summed from zero
//! in the order p = 0, 1, …, kc − 1, one fused multiply–add (one rounding) per term, then added
//! to C; the k-blocks follow in order. Nothing depends on where the entry's tile falls, on the
//! alignment of the buffers or on timing, so the same inputs give the same bits on every call,
//! on any CPU that takes this path. They differ from the portable path's bits, which round
//! each product before adding it.

use super::blocked::{gemm_blocked_in, CTile, Panel, Scratch};
use super::micro::bench_tile;
use super::{Strided, KC};
use core::arch::x86_64::*;
use std::cell::RefCell;
use std::sync::OnceLock;

/// Rows of the AVX2 register tile.
pub const MR_AVX2: usize = 6;
/// Columns of the AVX2 register tile (two 8-lane `__m256` vectors).
pub const NR_AVX2: usize = 16;

/// Whether this CPU has AVX2 and FMA: asked once per process (`is_x86_feature_detected!`), then
/// kept.
pub(super) fn detected() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
}

/// The packing buffers are kept between products on each thread (so that a product neither
/// allocates nor touches memory the allocator gave back to the system since the last one:
/// at n = 256 that cost 40 % of the time), unless they grew past this many floats (4 MiB).
const SCRATCH_KEPT: usize = 1 << 20;

/// `C += A·B` through the AVX2 + FMA micro-kernel; `false` (nothing done) when this CPU lacks
/// AVX2 or FMA.
pub(super) fn sgemm_avx2(
    m: usize,
    n: usize,
    k: usize,
    a: Strided<f32>,
    b: Strided<f32>,
    c: &mut [f32],
    c_rs: usize,
) -> bool {
    if !detected() {
        return false;
    }
    thread_local! {
        static SCRATCH: RefCell<Scratch<f32>> = RefCell::new(Scratch::default());
    }
    SCRATCH.with(|kept| {
        // (a product started while another holds the buffers, which nothing here does,
        // would use fresh ones)
        let mut fresh = Scratch::default();
        let mut kept = kept.try_borrow_mut();
        let scratch = kept.as_deref_mut().unwrap_or(&mut fresh);
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        unsafe { sgemm_avx2_unchecked(m, n, k, a, b, c, c_rs, scratch) };
        if scratch.capacity() > SCRATCH_KEPT {
            *scratch = Scratch::default();
        }
    });
    true
}

/// The blocked driver and its packing compiled with AVX2 and FMA enabled, so that the
/// micro-kernel is inlined into it.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn sgemm_avx2_unchecked(
    m: usize,
    n: usize,
    k: usize,
    a: Strided<f32>,
    b: Strided<f32>,
    c: &mut [f32],
    c_rs: usize,
    scratch: &mut Scratch<f32>,
) {
    gemm_blocked_in::<f32, MR_AVX2, NR_AVX2>(
        m,
        n,
        k,
        a,
        b,
        c,
        c_rs,
        // SAFETY: this closure runs only inside this function, on a CPU with AVX2 and FMA.
        |kc, a, a_off, a_cs, panel, tile| unsafe { micro_avx2(kc, a, a_off, a_cs, panel, tile) },
        false,
        scratch,
    )
}

/// The micro-kernel: `C[tile] += Σ_p A[rows, p] ⊗ B_panel[p]` over one k-block, row `r` of A
/// read at `a[a_off[r] + p·a_cs]` and row `p` of B's panel at `b.off + p·b.step`.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn micro_avx2(
    kc: usize,
    a: &[f32],
    a_off: [usize; MR_AVX2],
    a_cs: usize,
    b: &Panel<f32>,
    mut c: CTile<f32>,
) {
    // Every address read or written below lies inside the slices: checked once here, not per
    // element.
    assert!(kc > 0 && b.off + (kc - 1) * b.step + NR_AVX2 <= b.slice.len());
    assert!(a_off.iter().all(|&o| o + (kc - 1) * a_cs < a.len()));
    assert!(c.h > 0 && c.w > 0 && c.off + (c.h - 1) * c.rs + c.w <= c.c.len());
    let mut acc = [[_mm256_setzero_ps(); 2]; MR_AVX2];
    let mut rows = a_off.map(|o| a.as_ptr().add(o));
    let mut bp = b.slice.as_ptr().add(b.off);
    for _ in 0..kc {
        let b0 = _mm256_loadu_ps(bp);
        let b1 = _mm256_loadu_ps(bp.add(8));
        for (acc_r, row) in acc.iter_mut().zip(&mut rows) {
            let ar = _mm256_broadcast_ss(&**row);
            acc_r[0] = _mm256_fmadd_ps(ar, b0, acc_r[0]);
            acc_r[1] = _mm256_fmadd_ps(ar, b1, acc_r[1]);
            *row = row.wrapping_add(a_cs);
        }
        bp = bp.wrapping_add(b.step);
    }
    if c.h == MR_AVX2 && c.w == NR_AVX2 {
        let cp = c.c.as_mut_ptr().add(c.off);
        for (r, acc_r) in acc.iter().enumerate() {
            let lo = cp.add(r * c.rs);
            let hi = lo.add(8);
            _mm256_storeu_ps(lo, _mm256_add_ps(_mm256_loadu_ps(lo), acc_r[0]));
            _mm256_storeu_ps(hi, _mm256_add_ps(_mm256_loadu_ps(hi), acc_r[1]));
        }
    } else {
        // An edge tile: the whole result into a scratch tile, its valid part added to C (one
        // addition per entry, as above, so an entry's bits do not depend on its tile's place).
        let mut tile = [[0f32; NR_AVX2]; MR_AVX2];
        for (row, acc_r) in tile.iter_mut().zip(&acc) {
            _mm256_storeu_ps(row.as_mut_ptr(), acc_r[0]);
            _mm256_storeu_ps(row.as_mut_ptr().add(8), acc_r[1]);
        }
        c.add(&tile);
    }
}

/// For the benchmark: `reps` calls of the AVX2 micro-kernel on one `KC`-deep pair of panels
/// that stays in L1, i.e. the speed no product on this path can exceed
/// ([`AVX2_MICRO_KERNEL_FLOPS`] flops per call); `None` when this CPU lacks AVX2 or FMA.
/// Returns a checksum so the work is kept.
pub fn bench_micro_kernel_avx2(reps: usize) -> Option<f32> {
    if !detected() {
        return None;
    }
    Some(bench_tile::<MR_AVX2, NR_AVX2>(
        reps,
        |a, offsets, panel, tile| {
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            unsafe { micro_avx2(KC, a, offsets, MR_AVX2, panel, tile) }
        },
    ))
}

/// Flops of one [`bench_micro_kernel_avx2`] call.
pub const AVX2_MICRO_KERNEL_FLOPS: usize = 2 * MR_AVX2 * NR_AVX2 * KC;
