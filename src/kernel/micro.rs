//! The micro-kernels: one `MR × NR` tile of C, `C[tile] += Σ_p A[rows, p] ⊗ B_panel[p]` over
//! one k-block, kept in registers: portable Rust (any [`Real`], auto-vectorised natively) and
//! wasm `simd128` for `f32`. Plus the benchmark of the micro-kernel alone.

use super::blocked::{CTile, Panel};
use super::{KC, MR, NR};
use crate::real::Real;

/// The portable micro-kernel (native builds auto-vectorise the inner `NR` loop).
#[inline(always)]
pub(super) fn micro_portable<F: Real>(
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

/// The simd128 micro-kernel: row `r` of the tile lives in two `f32x4` accumulators, updated
/// by a broadcast load of `A[r, p]` (`v128.load32_splat`) times two loads of B's row `p`.
/// A full tile starts from C and is stored back into it, so no separate pass adds it in.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(super) fn micro_simd128(
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

/// For the benchmarks: `reps` calls of `kernel`, an `M × N` f32 micro-kernel called as
/// `kernel(a, a_off, b, c)` (depth `KC`, A's column stride `M`), on one `KC`-deep pair of
/// panels that stays in L1, i.e. the speed no product on its path can exceed
/// (`2·M·N·KC` flops per call). Returns a checksum of the tile so the work is kept.
pub(super) fn bench_tile<const M: usize, const N: usize>(
    reps: usize,
    mut kernel: impl FnMut(&[f32], [usize; M], &Panel<f32>, CTile<f32>),
) -> f32 {
    let a: Vec<f32> = (0..KC * M).map(|i| (i % 7) as f32 * 1e-3).collect();
    let b: Vec<f32> = (0..KC * N).map(|i| (i % 5) as f32 * 1e-3).collect();
    let mut c = vec![0f32; M * N];
    let panel = Panel {
        slice: &b,
        off: 0,
        step: N,
    };
    let offsets = std::array::from_fn(|r| r);
    for _ in 0..reps {
        let tile = CTile {
            c: &mut c,
            off: 0,
            rs: N,
            h: M,
            w: N,
        };
        // (black_box: the compiler must not see that every call reads the same panels)
        let (a, panel) = std::hint::black_box((&a[..], &panel));
        kernel(a, offsets, panel, tile);
    }
    // (all of the tile: a checksum of one entry let the compiler drop the other rows' work)
    c.iter().sum()
}

/// For the benchmark: `reps` calls of this build's f32 micro-kernel on one `KC`-deep pair of
/// panels that stays in L1, i.e. the speed no product can exceed here (`2·MR·NR·KC` flops per
/// call). Returns a checksum so the work is kept.
pub fn bench_micro_kernel(reps: usize) -> f32 {
    bench_tile::<MR, NR>(reps, |a, offsets, panel, tile| {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        micro_simd128(KC, a, offsets, MR, panel, tile);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        micro_portable::<f32>(KC, a, offsets, MR, panel, tile);
    })
}

/// Flops of one [`bench_micro_kernel`] call.
pub const MICRO_KERNEL_FLOPS: usize = 2 * MR * NR * KC;
