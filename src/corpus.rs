//! The built-in corpora and the statistics a model learns from (the seed article's module 1).
//!
//! ```text
//! count(w)          how often token w occurs
//! next(w → v)       how often v comes right after w     (a bigram table: 天 → 气)
//! cooc(w, v; k)     how often v occurs within k tokens of w, on either side
//! ```
//!
//! A language model trained to predict the next token ends up encoding exactly these
//! regularities (and longer-range ones): the statistics view shows them counted directly.
//! The corpora are written for this project by `tools/make_corpora.py`.

use crate::error::{Code, Error, Result};
use std::collections::HashMap;

/// Chinese daily life: weather and outings (散步), illness and advice (感冒 → 多喝水), and
/// sentences in which the words of a category stand in the same places ([`categories`]).
pub const ZH: &str = include_str!("corpora/zh.txt");
/// The English equivalents.
pub const EN: &str = include_str!("corpora/en.txt");
/// Short Python-like code: `for i in range(n):` and friends.
pub const CODE: &str = include_str!("corpora/code.txt");

/// Words of the Chinese corpus by category, `word<TAB>category` a line (猫 → animal), written by
/// `tools/make_corpora.py` with the corpus: the words of one category stand in the same places
/// in [`ZH`] (我家的猫很可爱 / 我家的狗很可爱).
pub const CATEGORIES_ZH: &str = include_str!("corpora/categories_zh.tsv");
/// The same for [`EN`] (cat → animal).
pub const CATEGORIES_EN: &str = include_str!("corpora/categories_en.tsv");

/// The word → category table of the built-in corpus `lang` (`zh` or `en`), in file order:
/// `(word, category)` with categories `animal`, `weather`, `food`, `place`, `feeling`,
/// `temperature` and `time`. Every word is one token of the word tokenizer on that corpus.
///
/// **Errors** for another name (only the two running-text corpora have categories).
pub fn categories(lang: &str) -> Result<Vec<(&'static str, &'static str)>> {
    let table = match lang {
        "zh" => CATEGORIES_ZH,
        "en" => CATEGORIES_EN,
        other => {
            return Err(Error::value(format!(
                "no word categories for the corpus {other:?} (there are zh and en)"
            )))
        }
    };
    Ok(table
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_once('\t').expect("word<TAB>category"))
        .collect())
}

/// Situation → advice pairs for the encoder–decoder, `source<TAB>target` a line
/// (小明今天感冒了 → 他应该多喝水), written by `tools/make_seq2seq.py`.
pub const SEQ2SEQ_ZH: &str = include_str!("corpora/seq2seq_zh.tsv");
/// The (who, what) combinations [`SEQ2SEQ_ZH`] leaves out, to test on.
pub const SEQ2SEQ_ZH_HELDOUT: &str = include_str!("corpora/seq2seq_zh_heldout.tsv");
/// The English twin (Tom has a cold today → he should drink more water).
pub const SEQ2SEQ_EN: &str = include_str!("corpora/seq2seq_en.tsv");
/// The (who, what) combinations [`SEQ2SEQ_EN`] leaves out.
pub const SEQ2SEQ_EN_HELDOUT: &str = include_str!("corpora/seq2seq_en_heldout.tsv");

/// Largest corpus a user may paste, in characters.
pub const MAX_CHARS: usize = 200_000;

/// A built-in corpus by name (`zh`, `en`, `code`).
pub fn builtin(name: &str) -> Result<&'static str> {
    match name {
        "zh" => Ok(ZH),
        "en" => Ok(EN),
        "code" => Ok(CODE),
        other => Err(Error::value(format!(
            "no built-in corpus named {other:?} (there are zh, en and code)"
        ))),
    }
}

/// Checks a user's corpus: not empty, not over [`MAX_CHARS`].
pub fn check_user_corpus(text: &str) -> Result<()> {
    let n = text.chars().count();
    if text.trim().is_empty() {
        return Err(
            Error::value("the corpus is empty: paste some text to learn from")
                .with_code(Code::CorpusEmpty),
        );
    }
    if n > MAX_CHARS {
        return Err(Error::value(format!("the corpus has {n} characters; the limit is {MAX_CHARS} (your text is kept, but only the first {MAX_CHARS} characters are used)")).with_code(Code::CorpusTooLong).with_param("n", n).with_param("max", MAX_CHARS));
    }
    Ok(())
}

/// `(id, count)` sorted by count, most frequent first (ties by id).
pub type Counts = Vec<(usize, usize)>;

fn sorted(map: HashMap<usize, usize>) -> Counts {
    let mut v: Counts = map.into_iter().collect();
    crate::sorting::sort_by(&mut v, |a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// How often each id occurs.
pub fn token_counts(ids: &[usize]) -> Counts {
    let mut m = HashMap::new();
    for &i in ids {
        *m.entry(i).or_insert(0) += 1;
    }
    sorted(m)
}

/// How often each id comes right after `id`.
pub fn next_counts(ids: &[usize], id: usize) -> Counts {
    let mut m = HashMap::new();
    for w in ids.windows(2) {
        if w[0] == id {
            *m.entry(w[1]).or_insert(0) += 1;
        }
    }
    sorted(m)
}

/// How often each id occurs within `window` positions of an occurrence of `id` (either side).
pub fn cooccurrence(ids: &[usize], id: usize, window: usize) -> Counts {
    let mut m = HashMap::new();
    for (p, &w) in ids.iter().enumerate() {
        if w != id {
            continue;
        }
        let lo = p.saturating_sub(window);
        let hi = (p + window + 1).min(ids.len());
        for (q, &v) in ids.iter().enumerate().take(hi).skip(lo) {
            if q != p {
                *m.entry(v).or_insert(0) += 1;
            }
        }
    }
    sorted(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::{Mode, Tokenizer};

    #[test]
    fn counts_by_hand() {
        // a b a c a b: a×3, b×2, c×1; after a: b×2, c×1; within 1 of c: a×2.
        let ids = [0, 1, 0, 2, 0, 1];
        assert_eq!(token_counts(&ids), vec![(0, 3), (1, 2), (2, 1)]);
        assert_eq!(next_counts(&ids, 0), vec![(1, 2), (2, 1)]);
        assert_eq!(cooccurrence(&ids, 2, 1), vec![(0, 2)]);
        assert!(next_counts(&ids, 9).is_empty());
    }

    #[test]
    fn the_corpora_teach_the_seed_examples() {
        // Characters: after 天 the most frequent next character is 气.
        let t = Tokenizer::from_corpus(ZH, Mode::Char, &[], 5000).unwrap();
        let ids = t.encode(ZH).1;
        let tian = t.id("天").unwrap();
        assert_eq!(t.piece(next_counts(&ids, tian)[0].0), "气");
        // Words: after 适合 去 comes 散步 more often than anything else; 感冒 sits near 多喝水.
        let w = crate::trainer::text_tokenizer(ZH, Mode::Word, 5000).unwrap();
        let ids = w.encode(ZH).1;
        let qu = w.id("去").unwrap();
        let after: Vec<&str> = next_counts(&ids, qu)
            .iter()
            .map(|(i, _)| w.piece(*i))
            .collect();
        assert_eq!(after[0], "散步", "{after:?}");
        let near: Vec<&str> = cooccurrence(&ids, w.id("感冒").unwrap(), 4)
            .iter()
            .take(8)
            .map(|(i, _)| w.piece(*i))
            .collect();
        assert!(near.contains(&"多喝水"), "{near:?}");
        // Code: `)` is most often followed by `:`.
        let c = Tokenizer::from_corpus(CODE, Mode::Word, &[], 5000).unwrap();
        let ids = c.encode(CODE).1;
        assert_eq!(c.piece(next_counts(&ids, c.id(")").unwrap())[0].0), ":");
        assert!(check_user_corpus("  ").is_err());
        assert!(check_user_corpus(&"x".repeat(MAX_CHARS + 1))
            .unwrap_err()
            .message
            .contains("limit"));
        assert!(builtin("fr").is_err());
    }

    /// Every categorised word is one token of the word tokenizer the learning panel builds on
    /// its corpus, and occurs there several times; each category has at least three words.
    #[test]
    fn categorised_words_are_tokens_of_their_corpus() {
        for (lang, text) in [("zh", ZH), ("en", EN)] {
            let table = categories(lang).unwrap();
            let t = crate::trainer::text_tokenizer(text, Mode::Word, 2000).unwrap();
            let ids = t.encode(text).1;
            let counts: HashMap<usize, usize> = token_counts(&ids).into_iter().collect();
            for (word, cat) in &table {
                assert_eq!(
                    t.segment(word),
                    vec![word.to_string()],
                    "{lang}: {word} ({cat})"
                );
                let id = t
                    .id(word)
                    .unwrap_or_else(|| panic!("{lang}: {word} not in the vocabulary"));
                assert!(
                    counts.get(&id).copied().unwrap_or(0) >= 5,
                    "{lang}: {word} is rare"
                );
            }
            for cat in [
                "animal",
                "weather",
                "food",
                "place",
                "feeling",
                "temperature",
                "time",
            ] {
                let n = table.iter().filter(|(_, c)| *c == cat).count();
                assert!(n >= 3, "{lang}: {n} words of {cat}");
            }
            assert!(text.len() <= 40_000, "{lang}: {} bytes", text.len());
        }
        assert!(categories("code").is_err());
    }
}
