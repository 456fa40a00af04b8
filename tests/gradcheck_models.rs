//! Gradient checks of the layers and models: every hand-written backward against central finite
//! differences, in f64 (the ops are in `gradcheck_ops.rs`).
//!
//! For an op y = f(x, θ) we draw a random R of y's shape and take L = Σ y ⊙ R, so ∂L/∂y = R
//! (llm.c's "fake loss"). The analytic gradients from backward(R) must match
//! (L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h for every entry i of every input and parameter. In f64 with
//! h = 1e-6 the difference quotient is accurate to about 1e-9 relative, so a tolerance of 1e-6
//! separates a correct backward from a wrong one by orders of magnitude.

mod common;

use common::{assert_close, check_store_grads, d3, dot, numeric_grad, rand, FD_TOL as TOL};
use lm_playground::layers::decoder_layer::{self, DecoderMasks};
use lm_playground::layers::{encoder_layer, LayerConfig};
use lm_playground::models::decoder_only::{DecoderOnly, DecoderOnlyConfig};
use lm_playground::models::encoder_decoder::{EncoderDecoder, EncoderDecoderConfig};
use lm_playground::models::encoder_only::{EncoderOnly, EncoderOnlyConfig};
use lm_playground::ops::attention::causal_mask;
use lm_playground::ops::{cross_entropy, Activation};
use lm_playground::params::ParamStore;
use lm_playground::rng::Rng;
use ndarray::{Array2, ArrayD};

fn layer_store(shapes: &[(String, Vec<usize>)], seed: u64) -> ParamStore<f64> {
    let mut rng = Rng::new(seed);
    let mut s = ParamStore::new();
    for (n, sh) in shapes {
        // Norm weights near 1 keep the layer well-conditioned, like a real model.
        let v = if n.contains("norm") && n.ends_with("weight") {
            rand(&mut rng, sh).mapv(|x| 1.0 + 0.3 * x)
        } else {
            rand(&mut rng, sh)
        };
        s.insert(n.clone(), v);
    }
    s
}

fn layer_configs() -> Vec<LayerConfig> {
    let mut v = vec![];
    for norm_first in [false, true] {
        for activation in [Activation::Relu, Activation::Gelu, Activation::GeluTanh] {
            v.push(LayerConfig {
                d_model: 6,
                n_heads: 2,
                d_ff: 10,
                activation,
                norm_first,
                layer_norm_eps: 1e-5,
            });
        }
    }
    v
}

#[test]
fn encoder_layer_grads_post_and_pre_norm() {
    let mut rng = Rng::new(9);
    for cfg in layer_configs() {
        let what = format!(
            "encoder layer norm_first={} {}",
            cfg.norm_first,
            cfg.activation.name()
        );
        let mut store = layer_store(&encoder_layer::param_shapes("l.", &cfg), 10);
        let x = rand(&mut rng, &[2, 4, 6]);
        let r = rand(&mut rng, &[2, 4, 6]);
        let mask = causal_mask(4);
        let run = |x: &ArrayD<f64>, s: &ParamStore<f64>| {
            encoder_layer::forward(d3(x), s, "l.", &cfg, Some(mask.view()), None).unwrap()
        };
        let (_, cache) = run(&x, &store);
        let (dx, grads) = encoder_layer::backward(d3(&r), &cache, &store, "l.", &cfg).unwrap();
        assert_close(
            &format!("{what} dx"),
            &dx.into_dyn(),
            &numeric_grad(&x, |v| dot(&run(v, &store).0.into_dyn(), &r)),
            TOL,
        );
        store.accumulate_all(grads).unwrap();
        check_store_grads(&what, &store, |s| dot(&run(&x, s).0.into_dyn(), &r), TOL);
    }
}

#[test]
fn decoder_layer_grads_post_and_pre_norm() {
    let mut rng = Rng::new(11);
    for cfg in layer_configs() {
        let what = format!(
            "decoder layer norm_first={} {}",
            cfg.norm_first,
            cfg.activation.name()
        );
        let mut store = layer_store(&decoder_layer::param_shapes("d.", &cfg), 12);
        let x = rand(&mut rng, &[2, 3, 6]);
        let mem = rand(&mut rng, &[2, 5, 6]);
        let r = rand(&mut rng, &[2, 3, 6]);
        let causal = causal_mask(3);
        let mut mpad = Array2::from_elem((2, 5), false);
        mpad[[0, 4]] = true;
        let run = |x: &ArrayD<f64>, m: &ArrayD<f64>, s: &ParamStore<f64>| {
            let masks = DecoderMasks {
                tgt_mask: Some(causal.view()),
                memory_key_padding_mask: Some(mpad.view()),
                ..Default::default()
            };
            decoder_layer::forward(d3(x), d3(m), s, "d.", &cfg, masks).unwrap()
        };
        let (_, cache) = run(&x, &mem, &store);
        let (dx, dmem, grads) =
            decoder_layer::backward(d3(&r), &cache, &store, "d.", &cfg).unwrap();
        assert_close(
            &format!("{what} dx"),
            &dx.into_dyn(),
            &numeric_grad(&x, |v| dot(&run(v, &mem, &store).0.into_dyn(), &r)),
            TOL,
        );
        assert_close(
            &format!("{what} dmemory"),
            &dmem.into_dyn(),
            &numeric_grad(&mem, |v| dot(&run(&x, v, &store).0.into_dyn(), &r)),
            TOL,
        );
        store.accumulate_all(grads).unwrap();
        check_store_grads(
            &what,
            &store,
            |s| dot(&run(&x, &mem, s).0.into_dyn(), &r),
            TOL,
        );
    }
}

#[test]
fn decoder_only_model_grads() {
    for norm_first in [true, false] {
        let cfg = DecoderOnlyConfig {
            vocab_size: 7,
            layer: LayerConfig {
                d_model: 6,
                n_heads: 2,
                d_ff: 8,
                activation: Activation::Gelu,
                norm_first,
                layer_norm_eps: 1e-5,
            },
            n_layers: 2,
            max_len: 5,
        };
        let mut model = DecoderOnly::<f64>::new(cfg, 3).unwrap();
        let ids = ndarray::arr2(&[[1usize, 4, 6, 0], [2, 2, 5, 3]]);
        let mut rng = Rng::new(13);
        let r = rand(&mut rng, &[2, 4, 7]);
        let (_, cache) = model.forward(ids.view()).unwrap();
        model.backward(d3(&r), &cache).unwrap();
        let cfg2 = model.config;
        check_store_grads(
            "decoder-only",
            &model.params,
            |s| {
                let m = DecoderOnly {
                    config: cfg2,
                    params: s.clone(),
                };
                dot(&m.forward(ids.view()).unwrap().0.into_dyn(), &r)
            },
            TOL,
        );
        // The loss path (cross-entropy on top) as well.
        let targets = ndarray::arr2(&[[4i64, 6, 0, -100], [2, 5, 3, 1]]);
        model.params.zero_grad();
        model.loss_and_backward(ids.view(), targets.view()).unwrap();
        check_store_grads(
            "decoder-only loss",
            &model.params,
            |s| {
                DecoderOnly {
                    config: cfg2,
                    params: s.clone(),
                }
                .loss(ids.view(), targets.view())
                .unwrap()
            },
            TOL,
        );
    }
}

#[test]
fn encoder_decoder_model_grads() {
    for norm_first in [false, true] {
        let cfg = EncoderDecoderConfig {
            vocab_size: 7,
            layer: LayerConfig {
                d_model: 6,
                n_heads: 2,
                d_ff: 8,
                // post-norm with ReLU (as the 2017 paper), pre-norm with GELU's tanh form
                activation: if norm_first {
                    Activation::GeluTanh
                } else {
                    Activation::Relu
                },
                norm_first,
                layer_norm_eps: 1e-5,
            },
            n_encoder_layers: 1,
            n_decoder_layers: 2,
            max_len: 6,
        };
        let mut model = EncoderDecoder::<f64>::new(cfg, 4).unwrap();
        let src = ndarray::arr2(&[[1usize, 4, 6, 0, 3], [2, 2, 5, 3, 3]]);
        let tgt = ndarray::arr2(&[[0usize, 1, 2], [6, 5, 4]]);
        let mut pad = Array2::from_elem((2, 5), false);
        pad[[1, 4]] = true;
        let mut rng = Rng::new(14);
        let r = rand(&mut rng, &[2, 3, 7]);
        let (_, cache) = model
            .forward(src.view(), tgt.view(), Some(pad.view()))
            .unwrap();
        let grads = model.gradients(d3(&r), &cache).unwrap();
        model.params.accumulate_all(grads).unwrap();
        check_store_grads(
            "encoder-decoder",
            &model.params,
            |s| {
                let m = EncoderDecoder {
                    config: cfg,
                    params: s.clone(),
                };
                dot(
                    &m.forward(src.view(), tgt.view(), Some(pad.view()))
                        .unwrap()
                        .0
                        .into_dyn(),
                    &r,
                )
            },
            TOL,
        );
    }
}

#[test]
fn encoder_only_model_grads() {
    // The masked-token loss (−100 everywhere but the masked positions) through a key padding
    // mask, as `MaskedLm` trains: the last token of the first sequence is padding.
    let cfg = EncoderOnlyConfig {
        vocab_size: 7,
        layer: LayerConfig {
            d_model: 6,
            n_heads: 3,
            d_ff: 8,
            ..EncoderOnlyConfig::default().layer
        },
        n_layers: 2,
        max_len: 5,
    };
    let mut model = EncoderOnly::<f64>::new(cfg, 5).unwrap();
    let ids = ndarray::arr2(&[[1usize, 6, 6, 0], [2, 6, 5, 3]]);
    let targets = ndarray::arr2(&[[-100i64, 3, 2, -100], [-100, 1, -100, -100]]);
    let mut pad = Array2::from_elem((2, 4), false);
    pad[[0, 3]] = true;
    for padding in [None, Some(pad.view())] {
        model.params.zero_grad();
        model
            .loss_and_backward(ids.view(), targets.view(), padding)
            .unwrap();
        check_store_grads(
            &format!("encoder-only loss, padding {}", padding.is_some()),
            &model.params,
            |s| {
                let m = EncoderOnly {
                    config: cfg,
                    params: s.clone(),
                };
                let (logits, _) = m.forward(ids.view(), padding).unwrap();
                let flat: Vec<i64> = targets.iter().copied().collect();
                cross_entropy::forward(logits.to_shape((8, 7)).unwrap().view(), &flat, -100)
                    .unwrap()
                    .0
            },
            TOL,
        );
    }
    // The padding changes the loss: the mask is really applied.
    let with = model
        .loss(ids.view(), targets.view(), Some(pad.view()))
        .unwrap();
    let without = model.loss(ids.view(), targets.view(), None).unwrap();
    assert!((with - without).abs() > 1e-6, "{with} {without}");
}
