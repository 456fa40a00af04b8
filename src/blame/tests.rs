use super::*;
use crate::layers::{ffn_forward, LayerConfig};
use crate::models::decoder_only::{DecoderOnlyConfig, DecoderOnlyWeights};
use crate::ops::Activation;
use crate::recipes::TextRecipe;
use crate::scope::Scope;

/// The stack recipe's session (4 layers, pre-norm) after `steps` steps, and the example of
/// `lang`.
fn session(lang: &str, steps: usize) -> (Trainer, Example) {
    let r = if lang == "zh" {
        TextRecipe::stack_zh()
    } else {
        TextRecipe::stack_en()
    };
    let mut tr = r.trainer().unwrap();
    tr.train(steps).unwrap();
    let (_, prompt, target) = EXAMPLES.iter().find(|e| e.0 == lang).unwrap();
    let ex = example(&tr, prompt, target).unwrap();
    (tr, ex)
}

#[test]
fn blame_one_sgd_step_with_a_small_rate_lowers_the_loss_and_raises_p_target() {
    for lang in ["zh", "en"] {
        let (tr, ex) = session(lang, 20);
        assert_eq!(ex.dropped, 0);
        let m = &tr.model;
        let b = blame(m, &ex.ids, ex.target).unwrap();
        let p0 = b.probs[ex.target];
        assert!((b.loss + p0.ln()).abs() < 1e-5, "L = −log p");
        for lr in [0.01, 0.1] {
            let after = sgd_step(m, &b.grads, lr).unwrap();
            let (p, loss) = next_loss(&after, &ex.ids, ex.target).unwrap();
            assert!(loss < b.loss, "{lang} η {lr}: {} → {loss}", b.loss);
            assert!(p[ex.target] > p0, "{lang} η {lr}: {p0} → {}", p[ex.target]);
            // The chosen weight's update is new = old − η·grad, in f32.
            let (name, index) = largest_gradient(m, &b.grads, None).unwrap();
            let u = weight_update(m, &after, &b.grads, lr, &name, index).unwrap();
            assert_eq!(
                u.new as f32,
                u.old as f32 - lr as f32 * u.grad as f32,
                "{u:?}"
            );
            let top = b.params.iter().map(|p| p.norm).fold(0.0, f64::max);
            assert!(u.grad.abs() > 0.0 && u.grad.abs() <= top, "{u:?}");
        }
        // The live model is untouched.
        assert_eq!(next_loss(m, &ex.ids, ex.target).unwrap().1, b.loss);
    }
}

#[test]
fn blame_stages_agree_with_the_engines_backward() {
    let (mut tr, ex) = session("zh", 10);
    let b = blame(&tr.model, &ex.ids, ex.target).unwrap();
    let (t, v) = (ex.ids.len(), tr.model.config.vocab_size);
    // ∂L/∂z = p − y, from the engine's cross-entropy backward.
    for (i, (&d, &p)) in b.dlogits.iter().zip(&b.probs).enumerate() {
        let y = if i == ex.target { 1.0 } else { 0.0 };
        assert!((d - (p - y)).abs() < 1e-6, "{i}: {d} vs {p} − {y}");
    }
    assert!(b.dlogits.iter().map(|&x| x as f64).sum::<f64>().abs() < 1e-5);
    assert_eq!(b.dlogits.len(), v);
    // Stages: logits, ln_f, two per layer, embeddings.
    let names: Vec<&str> = b.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "logits",
            "ln_f.output",
            "layers.3.output",
            "layers.3.mid",
            "layers.2.output",
            "layers.2.mid",
            "layers.1.output",
            "layers.1.mid",
            "layers.0.output",
            "layers.0.mid",
            "embeddings"
        ]
    );
    let logits = &b.stages[0];
    assert!(logits.per_token[..t - 1].iter().all(|&x| x == 0.0));
    assert!((logits.norm - norm(b.dlogits.iter().copied())).abs() < 1e-9);
    // Recording changes nothing: the same gradients as Model::gradients and as a training
    // step's backward on the same targets.
    let (logits_v, cache) = tr.model.forward(one_row(&ex.ids).view()).unwrap();
    let (_, dl) = sequence_loss(&logits_v, targets_row(t, ex.target).view(), true).unwrap();
    let plain = tr.model.gradients(dl.unwrap().view(), &cache).unwrap();
    assert_eq!(plain, b.grads);
    tr.model.params.zero_grad();
    let loss = tr
        .model
        .loss_and_backward(one_row(&ex.ids).view(), targets_row(t, ex.target).view())
        .unwrap();
    assert_eq!(loss, b.loss);
    for p in &b.params {
        let g = tr.model.params.grad(&p.name).unwrap();
        assert_eq!(p.norm, norm(g.iter().copied()), "{}", p.name);
    }
    assert_eq!(b.params.len(), tr.model.params.len());
    // The embeddings' gradient is pos_emb's rows 0..T, and each token's row of tok_emb is the
    // sum over its positions.
    let pos = tr.model.params.grad("pos_emb.weight").unwrap();
    let x0 = b.record.embeddings.index_axis(Axis(0), 0);
    for i in 0..t {
        let row = pos.index_axis(Axis(0), i);
        assert_eq!(row.iter().copied().collect::<Vec<_>>(), x0.row(i).to_vec());
        assert_eq!(b.tokens[i].norm, b.stages.last().unwrap().per_token[i]);
    }
    let tok = tr.model.params.grad("tok_emb.weight").unwrap();
    for tb in &b.tokens {
        assert_eq!(
            tb.row_norm,
            norm(tok.index_axis(Axis(0), tb.id).iter().copied())
        );
    }
    let most = b.tokens[b.most_blamed].norm;
    assert!(b.tokens.iter().all(|x| x.norm <= most));
    // The stage above ln_f is its input: the last layer's output; below a layer, its input
    // is the output of the one under it.
    let r = &b.record;
    assert_eq!(r.top, r.layers[3].output);
    for l in 1..4 {
        assert_eq!(r.layers[l].input, r.layers[l - 1].output);
    }
    assert_eq!(r.layers[0].input, r.embeddings);
}

#[test]
fn blame_step_size_curve_is_the_loss_at_those_points() {
    let (tr, ex) = session("zh", 10);
    let m = &tr.model;
    let b = blame(m, &ex.ids, ex.target).unwrap();
    let lrs = [0.0, 0.05, 0.5, 2.0, 10.0];
    let curve = step_size_curve(m, &ex.ids, ex.target, &b.grads, &lrs).unwrap();
    assert_eq!(curve[0], b.loss);
    for (&lr, &l) in lrs.iter().zip(&curve) {
        let at = next_loss(&sgd_step(m, &b.grads, lr).unwrap(), &ex.ids, ex.target)
            .unwrap()
            .1;
        assert_eq!(l, at, "η {lr}");
    }
    let best = argmin(&curve).unwrap();
    assert!(curve.iter().all(|&l| l >= curve[best]));
    assert_eq!(argmin::<f32>(&[f32::NAN, 2.0, 1.0, 1.0]), Some(2));
    assert_eq!(argmin::<f32>(&[]), None);
}

#[test]
fn blame_bad_input_is_named() {
    let (tr, ex) = session("zh", 0);
    let msg = |r: Result<Example>| r.unwrap_err().message;
    let e = msg(example(&tr, "今天天气真好，适合去", "散步吧"));
    assert!(e.contains("target \"散步吧\" is not one token"), "{e}");
    let e = msg(example(&tr, "今天天气真好，适合去", "xyzzy"));
    assert!(e.contains("\"xyzzy\"") && e.contains("unknown"), "{e}");
    assert!(msg(example(&tr, "", "散步")).contains("prompt is empty"));
    assert!(msg(example(&tr, "  ", "散步")).contains("prompt is empty"));
    assert!(msg(example(&tr, "今天", " ")).contains("target is empty"));
    assert_eq!(example(&tr, "今天", " 散步 ").unwrap().target_piece, "散步");
    let m = &tr.model;
    let b = blame(m, &ex.ids, ex.target).unwrap();
    let e = sgd_step(m, &b.grads, f64::NAN).unwrap_err().message;
    assert!(e.contains("lr is NaN"), "{e}");
    assert!(sgd_step(m, &b.grads, -0.1)
        .unwrap_err()
        .message
        .contains("lr is -0.1"));
    let curve = |lrs: &[f64]| step_size_curve(m, &ex.ids, ex.target, &b.grads, lrs);
    assert!(curve(&[0.1, f64::NAN])
        .unwrap_err()
        .message
        .contains("lrs[1] is NaN"));
    assert!(curve(&[-1.0]).unwrap_err().message.contains("lrs[0] is -1"));
    assert!(curve(&[f64::INFINITY])
        .unwrap_err()
        .message
        .contains("Infinity"));
    let many = vec![0.1; MAX_STEP_SIZES + 1];
    assert!(curve(&many)
        .unwrap_err()
        .message
        .contains("lrs has 257 values"));
    assert!(curve(&[]).unwrap_err().message.contains("lrs has 0 values"));
    let e = weight_update(m, m, &b.grads, 0.1, "lm_head.weight", 1 << 30).unwrap_err();
    assert!(e.message.contains("out of range"), "{e}");
    assert!(weight_update(m, m, &b.grads, 0.1, "nope", 0).is_err());
    assert!(largest_gradient(m, &b.grads, Some("nope")).is_err());
    let (n, i) = largest_gradient(m, &b.grads, Some("ln_f.bias")).unwrap();
    assert_eq!(n, "ln_f.bias");
    assert!(i < m.config.layer.d_model);
    assert!(blame(m, &[], ex.target).is_err());
    assert!(blame(m, &ex.ids, 1 << 20)
        .unwrap_err()
        .message
        .contains("outside"));
    let long = vec![4; m.config.max_len + 1];
    assert!(blame(m, &long, ex.target)
        .unwrap_err()
        .message
        .contains("at most"));
    // A huge request is refused up front.
    assert!(check_work(m, 16, 256).is_ok());
    let e = check_work(m, 16, 1 << 40).unwrap_err();
    assert!(e.message.contains("floating-point operations"), "{e}");
}

/// Central differences in f64 of `f` around `x`, entry by entry.
fn numeric(x: &Array2<f64>, f: impl Fn(&Array2<f64>) -> f64) -> Array2<f64> {
    let h = 1e-6;
    let mut g = Array2::zeros(x.raw_dim());
    for (idx, gi) in g.indexed_iter_mut() {
        let (mut a, mut b) = (x.clone(), x.clone());
        a[idx] += h;
        b[idx] -= h;
        *gi = (f(&a) - f(&b)) / (2.0 * h);
    }
    g
}

fn close(what: &str, got: ArrayView2<f64>, want: &Array2<f64>) {
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 1e-6 * (1.0 + w.abs()),
            "{what}: {g} vs {w}"
        );
    }
}

/// The recorded stages against central differences, in f64, for post- and pre-norm: the
/// embeddings (through pos_emb, x₀ = tok_emb[ids] + pos_emb), ln_f's output and input, and
/// the stream between the top layer's attention and its FFN.
#[test]
fn blame_stages_match_finite_differences() {
    for norm_first in [false, true] {
        let cfg = DecoderOnlyConfig {
            vocab_size: 11,
            layer: LayerConfig {
                d_model: 6,
                n_heads: 2,
                d_ff: 10,
                activation: Activation::Gelu,
                norm_first,
                layer_norm_eps: 1e-5,
            },
            n_layers: 2,
            max_len: 6,
        };
        let m = DecoderOnly::<f64>::new(cfg, 3).unwrap();
        let (ids, target) = ([3usize, 7, 7, 2, 9], 5usize);
        let t = ids.len();
        let b = blame(&m, &ids, target).unwrap();
        let what = |s: &str| format!("norm_first={norm_first} {s}");
        // embeddings, through pos_emb
        let pos0 = m
            .params
            .get("pos_emb.weight")
            .unwrap()
            .clone()
            .into_dimensionality::<ndarray::Ix2>()
            .unwrap();
        let fd = numeric(&pos0, |p| {
            let mut m2 = m.clone();
            m2.params.insert("pos_emb.weight", p.clone().into_dyn());
            next_loss(&m2, &ids, target).unwrap().1
        });
        let x0 = b.record.embeddings.index_axis(Axis(0), 0);
        close(
            &what("embeddings"),
            x0,
            &fd.slice(ndarray::s![0..t, ..]).to_owned(),
        );
        // Above the stack: L as a function of ln_f's input, and of lm_head's input.
        let w = DecoderOnlyWeights::new(&Scope::root(), &cfg);
        let head = |h: &Array2<f64>| -> f64 {
            let z = w.lm_head.forward(&m.params, h.view()).unwrap();
            let z3 = z.into_shape_with_order((1, t, cfg.vocab_size)).unwrap();
            sequence_loss(&z3, targets_row(t, target).view(), false)
                .unwrap()
                .0
        };
        let from_top = |x: &Array2<f64>| -> f64 {
            let (h, _) = w.ln_f.forward(&m.params, x.view(), 1e-5).unwrap();
            head(&h)
        };
        let (_, cache) = m.forward(one_row(&ids).view()).unwrap();
        let top = cache.layers[1].output().clone();
        close(
            &what("ln_f input"),
            b.record.top.index_axis(Axis(0), 0),
            &numeric(&top, from_top),
        );
        close(
            &what("ln_f output"),
            b.record.hidden.view(),
            &numeric(&cache.hidden, head),
        );
        // Between the top layer's attention and its FFN.
        let layer = &w.layers[1];
        let mid = cache.layers[1].attn.output.clone();
        let from_mid = |x: &Array2<f64>| -> f64 {
            let rc =
                ffn_forward(x.view(), &m.params, &layer.ffn, &layer.norm2, &cfg.layer).unwrap();
            from_top(&rc.output)
        };
        close(
            &what("layers.1.mid"),
            b.record.layers[1].mid.index_axis(Axis(0), 0),
            &numeric(&mid, from_mid),
        );
    }
}
