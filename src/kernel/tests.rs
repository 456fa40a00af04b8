//! The product's tests: every native path against [`gemm_naive`] (each forced through
//! [`sgemm_on`], so both run in one process whatever this CPU chooses), the choice itself, and
//! the determinism of the bits.

use super::self_test::{GuardedC, TRANSPOSES};
use super::*;
use crate::rng::Rng;

fn random(rng: &mut Rng, len: usize) -> Vec<f64> {
    (0..len).map(|_| rng.uniform_in(-1.0, 1.0)).collect()
}

fn to_f32(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}

/// The f32 paths this machine can run natively: portable always, AVX2 + FMA when the CPU has
/// both (said on stderr when it does not, since its tests then check nothing).
fn native_paths() -> Vec<SgemmPath> {
    let paths: Vec<SgemmPath> = SgemmPath::ALL
        .into_iter()
        .filter(|p| p.is_available())
        .collect();
    if !paths.contains(&SgemmPath::Avx2Fma) {
        eprintln!("this CPU has no AVX2 + FMA: only the portable path is tested");
    }
    paths
}

/// Beyond [`CHECK_SHAPES`] (made for the 4 × 8 tile): shapes around the AVX2 tile, 6 × 16 —
/// exact tiles, one row or column more or fewer, a single full tile k-blocks deep, B's panels
/// read in place (n a multiple of 16 and short k) and packed, and k = 1 and 2 above the
/// small-product bound.
const AVX2_SHAPES: [(usize, usize, usize); 10] = [
    (6, 16, 700),
    (7, 15, 100),
    (5, 17, 300),
    (12, 32, 64),
    (18, 48, 257),
    (97, 33, 31),
    (61, 80, 129),
    (4097, 2, 1),
    (64, 64, 2),
    (6, 1, 1000),
];

#[test]
fn every_path_matches_naive_on_odd_shapes_and_strides() {
    let mut rng = Rng::new(3);
    let shapes = CHECK_SHAPES.iter().chain(&AVX2_SHAPES);
    for (s, &(m, n, k)) in shapes.enumerate() {
        for (t, &(ta, tb)) in TRANSPOSES.iter().enumerate() {
            let a = random(&mut rng, m * k);
            let b = random(&mut rng, k * n);
            // A stored row-major [m,k] or column-major (i.e. as Aᵀ row-major [k,m]).
            let (a_rs, a_cs) = if ta { (1, m) } else { (k, 1) };
            let (b_rs, b_cs) = if tb { (1, k) } else { (n, 1) };
            let c0 = random(&mut rng, m * n);
            // C inside guards, at row stride n or (in the other half of the cases) n + 5.
            let ldc = if (s + t) % 2 == 0 { n + 5 } else { n };
            let (sa, sb) = (
                Strided::new(&a[..], a_rs, a_cs),
                Strided::new(&b[..], b_rs, b_cs),
            );
            let mut want = GuardedC::new(&c0, m, n, ldc);
            gemm_naive(m, n, k, sa, sb, want.c_mut(), ldc);
            let mut got = GuardedC::new(&c0, m, n, ldc);
            gemm_portable(m, n, k, sa, sb, got.c_mut(), ldc);
            let case = format!("{m}x{n}x{k} ta={ta} tb={tb} ldc={ldc}");
            assert!(want.guards_intact(), "naive {case} wrote outside C");
            assert!(got.guards_intact(), "f64 {case} wrote outside C");
            for (i, (want, got)) in want.values().zip(got.values()).enumerate() {
                assert!(
                    (got - want).abs() < 1e-12,
                    "f64 {case} at {i}: {got} vs {want}"
                );
            }
            let (a32, b32, c32) = (to_f32(&a), to_f32(&b), to_f32(&c0));
            let (sa32, sb32) = (
                Strided::new(&a32[..], a_rs, a_cs),
                Strided::new(&b32[..], b_rs, b_cs),
            );
            let mut chosen = GuardedC::new(&c32, m, n, ldc);
            sgemm(m, n, k, sa32, sb32, chosen.c_mut(), ldc);
            for path in native_paths() {
                let mut got32 = GuardedC::new(&c32, m, n, ldc);
                sgemm_on(path, m, n, k, sa32, sb32, got32.c_mut(), ldc);
                let case = format!("{} {case}", path.name());
                assert!(got32.guards_intact(), "{case} wrote outside C");
                for (i, (want, got32)) in want.values().zip(got32.values()).enumerate() {
                    // f32 with k terms of size ≤ 1: error ≲ k · 2⁻²⁴ · |terms|.
                    let tol = 1e-6 * (k as f64 + 1.0);
                    assert!(
                        (got32 as f64 - want).abs() < tol,
                        "{case} at {i}: {got32} vs {want}"
                    );
                }
                if path == SgemmPath::chosen() {
                    assert!(
                        got32.values().eq(chosen.values()),
                        "sgemm is not the {case} path"
                    );
                }
            }
        }
    }
}

#[test]
fn k_zero_leaves_c_alone_and_empty_products_write_nothing() {
    for path in native_paths() {
        for (m, n) in [(3, 5), (70, 40), (0, 5), (5, 0)] {
            let c0: Vec<f32> = (0..m * n).map(|i| i as f32 - 2.5).collect();
            let mut c = GuardedC::new(&c0, m, n, n + 1);
            let empty = Strided::new(&[][..], 1, 1);
            sgemm_on(path, m, n, 0, empty, empty, c.c_mut(), n + 1);
            assert!(c.guards_intact() && c.values().eq(c0.iter().copied()));
        }
    }
}

#[test]
fn the_chosen_path_is_named_and_avx2_when_the_cpu_has_it() {
    let chosen = SgemmPath::chosen();
    assert_eq!(sgemm_path(), chosen.name());
    assert!(chosen.is_available() && SgemmPath::Portable.is_available());
    if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
        assert_eq!(chosen, SgemmPath::Simd128);
    } else {
        assert!(!SgemmPath::Simd128.is_available());
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            assert_eq!(chosen, SgemmPath::Avx2Fma);
        } else {
            assert_eq!(chosen, SgemmPath::Portable);
        }
    }
    let names: Vec<&str> = SgemmPath::ALL.iter().map(|p| p.name()).collect();
    assert_eq!(names, ["portable", "simd128", "avx2+fma"]);
}

#[test]
#[should_panic(expected = "the simd128 path is not available here")]
fn a_path_this_build_lacks_is_refused() {
    let (a, b) = ([1f32; 4], [1f32; 4]);
    let mut c = [0f32; 4];
    let (sa, sb) = (Strided::new(&a[..], 2, 1), Strided::new(&b[..], 2, 1));
    sgemm_on(SgemmPath::Simd128, 2, 2, 2, sa, sb, &mut c, 2);
}

/// `C₀ + A·B` on `path` with A, B and C each placed `shift` floats into a buffer of their own
/// (a different alignment for each shift), as bits.
fn product_bits(path: SgemmPath, (m, n, k): (usize, usize, usize), shift: usize) -> Vec<u32> {
    let mut rng = Rng::new(17);
    let (a, b, c0) = (
        to_f32(&random(&mut rng, m * k)),
        to_f32(&random(&mut rng, k * n)),
        to_f32(&random(&mut rng, m * n)),
    );
    let place = |x: &[f32]| [vec![7.0; shift], x.to_vec()].concat();
    let (a, b, mut c) = (place(&a), place(&b), place(&c0));
    let (sa, sb) = (
        Strided::new(&a[shift..], k, 1),
        Strided::new(&b[shift..], n, 1),
    );
    sgemm_on(path, m, n, k, sa, sb, &mut c[shift..], n);
    c[shift..].iter().map(|x| x.to_bits()).collect()
}

#[test]
fn the_same_inputs_give_the_same_bits_on_every_call_and_alignment() {
    for path in native_paths() {
        for shape in [(64, 64, 64), (61, 80, 300), (7, 15, 100), (256, 256, 256)] {
            let first = product_bits(path, shape, 0);
            for shift in [0, 0, 1, 3, 8] {
                assert!(
                    product_bits(path, shape, shift) == first,
                    "{} {shape:?} shifted by {shift}: other bits",
                    path.name()
                );
            }
        }
    }
}

#[test]
fn an_entry_does_not_depend_on_its_tile_or_neighbours() {
    // The same rows of A and columns of B, inside products of other sizes (so in other tiles,
    // full or at the edge, with B's panels packed or read in place): the same bits, since
    // each entry is summed in the order of k alone. (Products small enough for the
    // small-product loop take another order, so these are all above its bound.)
    let mut rng = Rng::new(5);
    let (m, n, k) = (37, 45, 300);
    let (a, b) = (
        to_f32(&random(&mut rng, m * k)),
        to_f32(&random(&mut rng, k * n)),
    );
    for path in native_paths() {
        let mut full = vec![0f32; m * n];
        let (sa, sb) = (Strided::new(&a[..], k, 1), Strided::new(&b[..], n, 1));
        sgemm_on(path, m, n, k, sa, sb, &mut full, n);
        // rows 5..29 and columns 3..40 alone
        let (r0, r1, c0, c1) = (5, 29, 3, 40);
        let (mm, nn) = (r1 - r0, c1 - c0);
        let mut part = vec![0f32; mm * nn];
        let sa = Strided::new(&a[r0 * k..], k, 1);
        let sb = Strided::new(&b[c0..], n, 1);
        sgemm_on(path, mm, nn, k, sa, sb, &mut part, nn);
        for i in 0..mm {
            for j in 0..nn {
                assert_eq!(
                    part[i * nn + j].to_bits(),
                    full[(r0 + i) * n + c0 + j].to_bits(),
                    "{} at ({i}, {j})",
                    path.name()
                );
            }
        }
    }
}

#[test]
fn the_avx2_path_rounds_once_per_term() {
    // Each row of A is [−1, a], each column of B is [1, a] with a = 1 + 2⁻¹²: the exact sum
    // is −1 + a² = 2⁻¹¹ + 2⁻²⁴. Rounding a² first (to 1 + 2⁻¹¹: 2⁻²⁴ is half an ulp, a tie to
    // even) loses the 2⁻²⁴, as the portable path and the reference do; a fused multiply–add
    // keeps it. k = 2, so 64 × 64 to be above the small-product bound.
    let (m, n, k) = (64, 64, 2);
    let x = 1.0 + 2f32.powi(-12);
    let a: Vec<f32> = (0..m).flat_map(|_| [-1.0, x]).collect();
    let b: Vec<f32> = [vec![1.0; n], vec![x; n]].concat();
    let (sa, sb) = (Strided::new(&a[..], k, 1), Strided::new(&b[..], n, 1));
    let unfused = 2f32.powi(-11);
    let fused = 2f32.powi(-11) + 2f32.powi(-24);
    let mut naive = vec![0f32; m * n];
    gemm_naive(m, n, k, sa, sb, &mut naive, n);
    assert!(naive.iter().all(|&v| v == unfused));
    for path in native_paths() {
        let mut c = vec![0f32; m * n];
        sgemm_on(path, m, n, k, sa, sb, &mut c, n);
        let want = if path == SgemmPath::Avx2Fma {
            fused
        } else {
            unfused
        };
        assert!(c.iter().all(|&v| v == want), "{}: {}", path.name(), c[0]);
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
