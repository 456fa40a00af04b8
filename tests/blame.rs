//! Where the article's wrong answer can honestly come from: early checkpoints of the recipes
//! whose corpus also has 打游戏 (今天下雨了，我们在家打游戏), measured, not hand-set. Ignored by
//! default (it trains 5 seeds × 2 models); run it with
//! `cargo test --release --test blame -- --ignored --nocapture` to print the table.

use lm_playground::blame::{example, next_loss, EXAMPLES};
use lm_playground::corpus;
use lm_playground::recipes::TextRecipe;
use lm_playground::trainer::{top_k, Trainer};

/// The learning panel's `tiny` size with its default options.
fn tiny(seed: u64) -> Trainer {
    lm_playground::trainer::learning_panel_tiny(corpus::ZH, seed).unwrap()
}

#[test]
#[ignore]
fn blame_wrong_answer_survey() {
    let (_, prompt, target) = EXAMPLES[0];
    let checkpoints = [0, 5, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200];
    println!("| model | seed | step | top answer (p) | P(散步) | P(打游戏) | rank of 打游戏 |");
    println!("|---|---|---|---|---|---|---|");
    for which in ["stack-zh", "tiny"] {
        for seed in 1..=5 {
            let mut tr = if which == "tiny" {
                tiny(seed)
            } else {
                TextRecipe::stack_zh().with_seed(seed).trainer().unwrap()
            };
            let game = tr.tokenizer.as_ref().unwrap().id("打游戏").unwrap();
            let mut done = 0;
            for &s in &checkpoints {
                tr.train(s - done).unwrap();
                done = s;
                let ex = example(&tr, prompt, target).unwrap();
                let (p, _) = next_loss(&tr.model, &ex.ids, ex.target).unwrap();
                let order = top_k(&p, p.len());
                let top = order[0];
                let rank = order.iter().position(|&i| i == game).unwrap() + 1;
                let piece = tr.tokenizer.as_ref().unwrap().piece(top).to_string();
                println!(
                    "| {which} | {seed} | {s} | {piece} ({:.3}) | {:.3} | {:.3} | {rank} |",
                    p[top], p[ex.target], p[game]
                );
            }
        }
    }
}
