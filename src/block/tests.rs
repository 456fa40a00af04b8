//! Tests of the block trace: against the layer and the model it lays open, and by hand.

use super::*;
use crate::layers::LayerConfig;
use crate::models::decoder_only::DecoderOnlyConfig;

fn model(norm_first: bool, activation: Activation, seed: u64) -> DecoderOnly<f32> {
    let config = DecoderOnlyConfig {
        vocab_size: 11,
        layer: LayerConfig {
            d_model: 8,
            n_heads: 2,
            d_ff: 16,
            activation,
            norm_first,
            ..LayerConfig::default()
        },
        n_layers: 3,
        max_len: 8,
    };
    DecoderOnly::new(config, seed).unwrap()
}

fn close(a: &Array2<f32>, b: &Array2<f32>, tol: f32) {
    assert_eq!(a.dim(), b.dim());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol, "{x} vs {y}");
    }
}

const IDS: [usize; 5] = [3, 1, 4, 1, 5];

#[test]
fn the_trace_ends_where_the_layer_and_the_model_end() {
    for (nf, act) in [(false, Activation::Relu), (true, Activation::Gelu)] {
        let m = model(nf, act, 7);
        let tr = trace_decoder_only(&m, &IDS, None).unwrap();
        // Each traced layer gives what EncoderLayer::forward gives on the same input.
        let w = DecoderOnlyWeights::new(&Scope::root(), &m.config);
        let mask = causal_mask(IDS.len());
        for (l, layer) in w.layers.iter().enumerate() {
            let x = tr.layers[l].input.clone().insert_axis(Axis(0));
            let (y, _) = layer
                .forward(x.view(), &m.params, Some(mask.view()), None)
                .unwrap();
            close(
                &tr.layers[l].output,
                &y.index_axis(Axis(0), 0).to_owned(),
                1e-6,
            );
        }
        // …and the logits are the model's.
        let ids = Array2::from_shape_vec((1, 5), IDS.to_vec()).unwrap();
        let (logits, _) = m.forward(ids.view()).unwrap();
        close(&tr.logits, &logits.index_axis(Axis(0), 0).to_owned(), 1e-5);
    }
}

#[test]
fn every_intermediate_follows_the_formula() {
    for nf in [false, true] {
        let m = model(nf, Activation::Relu, 3);
        let tr = trace_decoder_only(&m, &IDS, None).unwrap();
        let b = &tr.layers[1];
        assert_eq!(b.input, tr.layers[0].output);
        // r₁ = x + a
        close(&b.residual1, &(&b.input + &b.attn_out), 0.0);
        // the norms: μ, σ², normalised, γ·x̂ + β by hand
        for n in [&b.norm1, &b.norm2] {
            for (t, row) in n.input.outer_iter().enumerate() {
                let mu = row.iter().map(|&v| v as f64).sum::<f64>() / 8.0;
                let var = row.iter().map(|&v| (v as f64 - mu).powi(2)).sum::<f64>() / 8.0;
                assert!((n.mean[t] as f64 - mu).abs() < 1e-6);
                assert!(
                    (n.var[t] as f64 - var).abs() < 1e-4 * var.max(1.0),
                    "{} vs {var}",
                    n.var[t]
                );
                for c in 0..8 {
                    let xhat = (row[c] as f64 - mu) / (var + n.eps).sqrt();
                    assert!((n.normalized[[t, c]] as f64 - xhat).abs() < 1e-4);
                    let y = n.gamma[c] * n.normalized[[t, c]] + n.beta[c];
                    assert!((n.output[[t, c]] - y).abs() < 1e-6);
                }
            }
        }
        // ReLU cuts the negative entries of u and keeps the others
        for (u, g) in b.up.iter().zip(&b.act) {
            assert_eq!(*g, u.max(0.0));
        }
        assert_eq!(b.up.dim(), (5, 16));
        if nf {
            close(&b.norm1.input, &b.input, 0.0);
            close(&b.norm2.input, &b.residual1, 0.0);
            close(&b.ffn_input, &b.norm2.output, 0.0);
            close(&b.output, &(&b.residual1 + &b.down), 0.0);
        } else {
            close(&b.norm1.input, &b.residual1, 0.0);
            close(&b.ffn_input, &b.norm1.output, 0.0);
            close(&b.norm2.input, &(&b.ffn_input + &b.down), 0.0);
            close(&b.output, &b.norm2.output, 0.0);
        }
    }
}

#[test]
fn the_path_measures_what_each_layer_added() {
    let m = model(true, Activation::Gelu, 5);
    let tr = trace_decoder_only(&m, &IDS, None).unwrap();
    assert_eq!(tr.path.len(), 4);
    assert!(tr.path[0]
        .iter()
        .all(|p| p.cos_prev == 1.0 && p.added == 0.0));
    let (l, t) = (2, 3);
    let cur = tr.layers[l - 1].output.row(t);
    let prev = tr.layers[l - 2].output.row(t);
    let n = |v: ndarray::ArrayView1<f32>| v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
    let d = &cur - &prev;
    let p = tr.path[l][t];
    assert!((p.norm as f64 - n(cur)).abs() < 1e-5);
    assert!((p.added as f64 - n(d.view())).abs() < 1e-5);
    let cos = cur
        .iter()
        .zip(prev)
        .map(|(&a, &b)| a as f64 * b as f64)
        .sum::<f64>()
        / (n(cur) * n(prev));
    assert!((p.cos_prev as f64 - cos).abs() < 1e-6);
}

#[test]
fn the_other_norm_placement_changes_only_that_layer_and_above() {
    let m = model(true, Activation::Gelu, 9);
    let a = trace_decoder_only(&m, &IDS, None).unwrap();
    let b = trace_decoder_only(&m, &IDS, Some((1, false))).unwrap();
    assert_eq!(a.layers[0].output, b.layers[0].output);
    assert!(!b.layers[1].norm_first && a.layers[1].norm_first);
    assert_eq!(a.layers[1].input, b.layers[1].input);
    assert_ne!(a.layers[1].output, b.layers[1].output);
    // post-norm: every output row has mean β̄ and the norm's spread; pre-norm does not
    let y = &b.layers[1].output;
    let n = &b.layers[1].norm2;
    close(y, &n.output, 0.0);
}

#[test]
fn bad_traces_are_refused() {
    let m = model(true, Activation::Gelu, 1);
    assert!(trace_decoder_only(&m, &[], None).is_err());
    assert!(trace_decoder_only(&m, &[1; 9], None)
        .unwrap_err()
        .message
        .contains("max_len"));
    assert!(trace_decoder_only(&m, &[11], None)
        .unwrap_err()
        .message
        .contains("vocabulary"));
}

#[test]
fn temperature_and_top_k_by_hand() {
    // logits ln 1, ln 2, ln 3, ln 4: softmax = 1/10, 2/10, 3/10, 4/10
    let z: Vec<f32> = [1f32, 2.0, 3.0, 4.0].iter().map(|v| v.ln()).collect();
    let p = next_token(&z, 1.0, 0, 1).unwrap();
    for (i, want) in [0.1f32, 0.2, 0.3, 0.4].iter().enumerate() {
        assert!((p.probs[i] - want).abs() < 1e-6, "{:?}", p.probs);
    }
    assert_eq!(p.kept, vec![3, 2, 1, 0]);
    // τ = 0.5 squares the ratios: 1, 4, 9, 16 over 30
    let p = next_token(&z, 0.5, 0, 1).unwrap();
    assert!((p.probs[3] - 16.0 / 30.0).abs() < 1e-6);
    // top-2 keeps 3 and 4: 3/7, 4/7
    let p = next_token(&z, 1.0, 2, 1).unwrap();
    assert_eq!(p.probs[0], 0.0);
    assert!((p.probs[2] - 3.0 / 7.0).abs() < 1e-6);
    assert!(p.pick == 2 || p.pick == 3);
    // the pick is the first whose cumulative probability passes u (most probable first)
    for seed in 0..20 {
        let p = next_token(&z, 1.0, 0, seed).unwrap();
        let want = if p.u < 0.4 {
            3
        } else if p.u < 0.7 {
            2
        } else if p.u < 0.9 {
            1
        } else {
            0
        };
        assert_eq!(p.pick, want, "u = {}", p.u);
        assert_eq!(
            p,
            next_token(&z, 1.0, 0, seed).unwrap(),
            "the same seed draws the same"
        );
    }
    // top-1 is greedy whatever the seed
    assert!((0..10).all(|s| next_token(&z, 2.0, 1, s).unwrap().pick == 3));
    assert!(next_token(&z, 0.0, 0, 1).is_err());
    assert!(next_token(&z, f64::NAN, 0, 1).is_err());
    assert!(next_token(&[], 1.0, 0, 1).is_err());
    assert!(next_token(&[f32::NAN], 1.0, 0, 1).is_err());
}
