//! Whole-engine behaviour: determinism from a seed, save → load → continue, validation of bad
//! configurations and inputs (errors, never panics), and a loss curve that falls.

use lm_playground::layers::LayerConfig;
use lm_playground::models::decoder_only::{DecoderOnly, DecoderOnlyConfig};
use lm_playground::models::encoder_decoder::{EncoderDecoder, EncoderDecoderConfig};
use lm_playground::models::encoder_only::{mask_tokens, EncoderOnly, EncoderOnlyConfig};
use lm_playground::optim::{Optimizer, OptimizerConfig, Schedule};
use lm_playground::rng::Rng;
use lm_playground::ErrorKind;
use ndarray::{arr2, Array2};

fn tiny() -> DecoderOnlyConfig {
    DecoderOnlyConfig {
        vocab_size: 12,
        layer: LayerConfig {
            d_model: 16,
            n_heads: 4,
            d_ff: 32,
            ..Default::default()
        },
        n_layers: 2,
        max_len: 8,
    }
}

/// A batch from a repeating pattern 0 1 2 … 11 0 1 …, so the next token is always predictable.
fn batch(rng: &mut Rng, b: usize, t: usize, v: usize) -> (Array2<usize>, Array2<i64>) {
    let starts: Vec<usize> = (0..b).map(|_| rng.below(v)).collect();
    let ids = Array2::from_shape_fn((b, t), |(i, j)| (starts[i] + j) % v);
    let targets = Array2::from_shape_fn((b, t), |(i, j)| ((starts[i] + j + 1) % v) as i64);
    (ids, targets)
}

fn train(seed: u64, steps: usize) -> (DecoderOnly<f32>, Vec<f32>) {
    let mut model = DecoderOnly::<f32>::new(tiny(), seed).unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::adamw(3e-3)).unwrap();
    let mut rng = Rng::new(seed ^ 99);
    let mut losses = vec![];
    for _ in 0..steps {
        let (ids, targets) = batch(&mut rng, 4, 8, 12);
        model.params.zero_grad();
        losses.push(model.loss_and_backward(ids.view(), targets.view()).unwrap());
        opt.step(&mut model.params).unwrap();
    }
    (model, losses)
}

#[test]
fn same_seed_same_parameters_and_loss_curve() {
    let (a, la) = train(7, 20);
    let (b, lb) = train(7, 20);
    assert_eq!(la, lb, "loss curves differ for the same seed");
    assert_eq!(a.params, b.params);
    let (c, _) = train(8, 0);
    assert_ne!(
        DecoderOnly::<f32>::new(tiny(), 7).unwrap().params,
        c.params,
        "a different seed gives different weights"
    );
}

#[test]
fn loss_falls_when_training() {
    // Uniform guessing over 12 tokens costs ln 12 ≈ 2.48; the pattern is fully predictable.
    let (_, losses) = train(1, 150);
    let first = losses[0];
    let last = losses[losses.len() - 5..].iter().sum::<f32>() / 5.0;
    assert!((first - 12f32.ln()).abs() < 0.6, "untrained loss {first}");
    assert!(last < 0.3 * first, "loss went from {first} to {last}");
}

#[test]
fn save_load_then_one_more_step_gives_identical_parameters() {
    let (mut a, _) = train(3, 10);
    // Reproduce the optimiser state that train() ended with by training a twin alongside.
    let mut opt_a = Optimizer::new(OptimizerConfig::adamw(3e-3)).unwrap();
    let mut rng = Rng::new(5);
    for _ in 0..3 {
        let (ids, t) = batch(&mut rng, 4, 8, 12);
        a.params.zero_grad();
        a.loss_and_backward(ids.view(), t.view()).unwrap();
        opt_a.step(&mut a.params).unwrap();
    }
    // Save parameters (safetensors and JSON) and optimiser state, load into fresh objects.
    let bytes = a.params.to_safetensors();
    let json = a.params.to_json();
    let mut b = DecoderOnly::<f32>::new(tiny(), 12345).unwrap();
    b.params.load_safetensors(&bytes).unwrap();
    let mut c = DecoderOnly::<f32>::new(tiny(), 54321).unwrap();
    c.params.load_json(&json).unwrap();
    let mut opt_b = Optimizer::<f32>::new(OptimizerConfig::adamw(3e-3)).unwrap();
    opt_b
        .load_state_map(&opt_a.state_map(), opt_a.steps)
        .unwrap();
    let mut opt_c = opt_b.clone();
    // One more step on each.
    let (ids, t) = batch(&mut rng, 4, 8, 12);
    for (m, o) in [
        (&mut a, &mut opt_a),
        (&mut b, &mut opt_b),
        (&mut c, &mut opt_c),
    ] {
        m.params.zero_grad();
        m.loss_and_backward(ids.view(), t.view()).unwrap();
        o.step(&mut m.params).unwrap();
    }
    for (name, p) in a.params.iter() {
        assert_eq!(
            &p.value,
            b.params.get(name).unwrap(),
            "{name} after safetensors round trip"
        );
        assert_eq!(
            &p.value,
            c.params.get(name).unwrap(),
            "{name} after JSON round trip"
        );
    }
}

#[test]
fn bad_configs_are_clear_errors() {
    let bad = [
        (
            DecoderOnlyConfig {
                layer: LayerConfig {
                    d_model: 10,
                    n_heads: 4,
                    ..tiny().layer
                },
                ..tiny()
            },
            "not divisible",
        ),
        (
            DecoderOnlyConfig {
                layer: LayerConfig {
                    n_heads: 0,
                    ..tiny().layer
                },
                ..tiny()
            },
            "at least 1",
        ),
        (
            DecoderOnlyConfig {
                vocab_size: 0,
                ..tiny()
            },
            "vocab_size 0",
        ),
        (
            DecoderOnlyConfig {
                max_len: 1_000_000,
                ..tiny()
            },
            "max_len 1000000",
        ),
        (
            DecoderOnlyConfig {
                layer: LayerConfig {
                    d_model: 4096,
                    d_ff: 16384,
                    ..tiny().layer
                },
                n_layers: 40,
                ..tiny()
            },
            "more than the limit",
        ),
        (
            DecoderOnlyConfig {
                layer: LayerConfig {
                    d_model: usize::MAX / 2,
                    n_heads: 1,
                    ..tiny().layer
                },
                ..tiny()
            },
            "at most 16384",
        ),
        (
            DecoderOnlyConfig {
                layer: LayerConfig {
                    layer_norm_eps: f64::NAN,
                    ..tiny().layer
                },
                ..tiny()
            },
            "layer_norm_eps",
        ),
    ];
    for (cfg, want) in bad {
        let e = DecoderOnly::<f32>::new(cfg, 0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config, "{e}");
        assert!(e.message.contains(want), "{e:?} should mention {want:?}");
    }
    let e = EncoderDecoder::<f32>::new(
        EncoderDecoderConfig {
            n_decoder_layers: 1000,
            ..Default::default()
        },
        0,
    )
    .unwrap_err();
    assert!(e.message.contains("n_decoder_layers 1000"), "{e}");
    assert!(Optimizer::<f32>::new(OptimizerConfig::adam(f64::NAN)).is_err());
}

#[test]
fn bad_inputs_are_clear_errors() {
    let m = DecoderOnly::<f32>::new(tiny(), 0).unwrap();
    let e = m.forward(arr2(&[[1usize, 12]]).view()).unwrap_err();
    assert!(
        e.message.contains("= 12") && e.message.contains("vocab_size is 12"),
        "{e}"
    );
    let e = m.forward(Array2::zeros((1, 9)).view()).unwrap_err();
    assert!(e.message.contains("9 tokens but max_len is 8"), "{e}");
    assert!(m.forward(Array2::zeros((0, 3)).view()).is_err());
    let e = m
        .loss(arr2(&[[1usize, 2]]).view(), arr2(&[[1i64, 2, 3]]).view())
        .unwrap_err();
    assert!(e.message.contains("targets"), "{e}");
    let e = m
        .loss(arr2(&[[1usize, 2]]).view(), arr2(&[[1i64, 99]]).view())
        .unwrap_err();
    assert!(e.message.contains("target 99"), "{e}");
    // A mis-shaped or unknown key in a parameter file names the key and both shapes.
    let mut other = DecoderOnly::<f32>::new(
        DecoderOnlyConfig {
            layer: LayerConfig {
                d_model: 8,
                n_heads: 2,
                d_ff: 16,
                ..tiny().layer
            },
            ..tiny()
        },
        0,
    )
    .unwrap();
    let e = other
        .params
        .load_safetensors(&m.params.to_safetensors())
        .unwrap_err();
    assert!(
        e.message.contains("layers.0.linear1.bias")
            && e.message
                .contains("shape [32] in the file but the model expects [16]"),
        "{e}"
    );
    let e = DecoderOnly::from_params(tiny(), other.params.clone()).unwrap_err();
    assert!(e.message.contains("expects"), "{e}");
    // NaN weights are refused on load.
    let mut map = m.params.to_map();
    map.get_mut("ln_f.bias").unwrap().1[0] = f64::NAN;
    assert!(other.params.load_map(&map).is_err());
}

#[test]
fn encoder_models_train_too() {
    // Encoder-decoder: copy the source to the target; the loss must fall.
    let cfg = EncoderDecoderConfig {
        vocab_size: 10,
        layer: LayerConfig {
            d_model: 16,
            n_heads: 2,
            d_ff: 32,
            ..EncoderDecoderConfig::default().layer
        },
        n_encoder_layers: 1,
        n_decoder_layers: 1,
        max_len: 8,
    };
    let mut m = EncoderDecoder::<f32>::new(cfg, 2).unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::adam(1e-2)).unwrap();
    let mut rng = Rng::new(4);
    let mut losses = vec![];
    for _ in 0..120 {
        let src = Array2::from_shape_fn((8, 5), |_| 1 + rng.below(9));
        // decoder input: BOS (0) then the source shifted right; target: the source
        let tgt_in =
            Array2::from_shape_fn((8, 5), |(i, j)| if j == 0 { 0 } else { src[[i, j - 1]] });
        let tgt_out = src.mapv(|x| x as i64);
        m.params.zero_grad();
        losses.push(
            m.loss_and_backward(src.view(), tgt_in.view(), tgt_out.view(), None)
                .unwrap(),
        );
        opt.step(&mut m.params).unwrap();
    }
    assert!(
        losses[115..].iter().sum::<f32>() / 5.0 < 0.5 * losses[0],
        "{} → {:?}",
        losses[0],
        &losses[115..]
    );
    // Encoder-only: masked tokens of a fixed pattern.
    let cfg = EncoderOnlyConfig {
        vocab_size: 9,
        layer: LayerConfig {
            d_model: 16,
            n_heads: 2,
            d_ff: 32,
            ..EncoderOnlyConfig::default().layer
        },
        n_layers: 1,
        max_len: 8,
    };
    let mut m = EncoderOnly::<f32>::new(cfg, 3).unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::adam(1e-2)).unwrap();
    let mut losses = vec![];
    for _ in 0..150 {
        let ids = Array2::from_shape_fn((8, 8), |(i, j)| (i + j) % 8);
        let (inp, t) = mask_tokens(ids.view(), 8, 0.15, &mut rng);
        m.params.zero_grad();
        losses.push(m.loss_and_backward(inp.view(), t.view(), None).unwrap());
        opt.step(&mut m.params).unwrap();
    }
    assert!(
        losses[140..].iter().sum::<f32>() / 10.0 < 0.5 * losses[0],
        "{} → {:?}",
        losses[0],
        &losses[140..]
    );
}

#[test]
fn warmup_cosine_drives_an_optimizer() {
    let mut m = DecoderOnly::<f32>::new(tiny(), 0).unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::sgd(0.5)).unwrap();
    let sch = Schedule::WarmupCosine {
        warmup: 5,
        total: 50,
        min_ratio: 0.1,
    };
    let before = m.params.clone();
    let (ids, t) = batch(&mut Rng::new(0), 2, 8, 12);
    m.loss_and_backward(ids.view(), t.view()).unwrap();
    // step 0 of the warm-up uses lr = 0.5 · 1/5 = 0.1: new = old − 0.1 · grad
    opt.step_with_lr(&mut m.params, sch.lr(0.5, 0)).unwrap();
    let (name, p) = m.params.iter().next().unwrap();
    let old = before.get(name).unwrap();
    for ((n, o), g) in p.value.iter().zip(old.iter()).zip(p.grad.iter()) {
        assert!((n - (o - 0.1 * g)).abs() < 1e-6);
    }
}
