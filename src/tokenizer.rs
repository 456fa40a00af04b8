//! Tokenizers: text → pieces → ids, and back.
//!
//! ```text
//! "今天天气真好"   --Word-->  今天 / 天气 / 真 / 好       (longest match in a lexicon, else one character)
//! "the cat sat."  --Word-->  the / cat / sat / .
//! "今天天气"       --Char-->  今 / 天 / 天 / 气
//! ```
//!
//! Word mode splits Latin text at spaces and punctuation and Chinese text by greedy longest
//! match against a lexicon (a list of known words), falling back to single characters, which
//! is how a dictionary tokenizer works. Char mode makes every non-space character a token.
//! The vocabulary starts with four special tokens (`<pad>`, `<unk>`, `<bos>`, `<mask>`) and then
//! lists pieces by descending frequency in the corpus it was built from (ties by first
//! appearance), so the same corpus always gives the same ids.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How text is cut into pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every non-space character is a token.
    Char,
    /// Words: Latin runs split at spaces/punctuation, Chinese by longest lexicon match.
    #[default]
    Word,
}

/// Id of the padding token.
pub const PAD: usize = 0;
/// Id of the unknown-piece token.
pub const UNK: usize = 1;
/// Id of the beginning-of-sequence token.
pub const BOS: usize = 2;
/// Id of the mask token (for masked-token training).
pub const MASK: usize = 3;
const SPECIALS: [&str; 4] = ["<pad>", "<unk>", "<bos>", "<mask>"];

/// Chinese words the presets and built-in corpora use; anything else falls back to characters.
pub const ZH_LEXICON: &[&str] = &[
    "今天",
    "明天",
    "昨天",
    "天气",
    "适合",
    "散步",
    "打游戏",
    "游戏",
    "小明",
    "小红",
    "感冒",
    "应该",
    "多喝水",
    "喝水",
    "休息",
    "医生",
    "发烧",
    "咳嗽",
    "公园",
    "出去",
    "下雨",
    "晴天",
    "阳光",
    "外面",
    "在家",
    "看书",
    "睡觉",
    "吃药",
    "朋友",
    "我们",
    "你们",
    "他们",
    "一起",
    "喜欢",
    "觉得",
    "因为",
    "所以",
    "可以",
    "早上",
    "晚上",
    "周末",
    "跑步",
    "爬山",
    "温暖",
    "寒冷",
    "天空",
    "蓝色",
    "身体",
    "注意",
    "多穿",
    "衣服",
    "学校",
    "老师",
    "学生",
    "电影",
    "音乐",
    "唱歌",
    "跳舞",
    "生病",
    "舒服",
    "不舒服",
    "头疼",
    "妈妈",
    "爸爸",
    "告诉",
    "需要",
    "早点",
    "水果",
    "吃饭",
    "米饭",
    "面条",
    "非常",
    "有点",
    "已经",
];

/// Is `c` a CJK ideograph (the ranges Chinese text uses)?
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0xF900..=0xFAFF | 0x20000..=0x2A6DF)
}

/// A tokenizer: a mode, a lexicon for Chinese words, and a vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct Tokenizer {
    mode: Mode,
    lexicon: Vec<Vec<char>>,
    max_word: usize,
    vocab: Vec<String>,
    index: HashMap<String, usize>,
}

impl Tokenizer {
    /// A tokenizer whose vocabulary is the pieces of `corpus` (at most `max_vocab` ids,
    /// specials included; rarer pieces map to `<unk>`). An empty corpus is an error.
    pub fn from_corpus(
        corpus: &str,
        mode: Mode,
        lexicon: &[&str],
        max_vocab: usize,
    ) -> Result<Self> {
        if max_vocab <= SPECIALS.len() {
            return Err(Error::config(format!(
                "tokenizer: max_vocab {max_vocab} leaves no room beside the {} special tokens",
                SPECIALS.len()
            )));
        }
        let mut t = Tokenizer::empty(mode, lexicon);
        let pieces = t.segment(corpus);
        if pieces.is_empty() {
            return Err(Error::value(
                "tokenizer: the corpus has no tokens (it is empty or only spaces)",
            ));
        }
        let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
        for (i, p) in pieces.iter().enumerate() {
            counts.entry(p.as_str()).or_insert((0, i)).0 += 1;
        }
        let mut order: Vec<(&str, usize, usize)> = counts
            .into_iter()
            .map(|(p, (c, first))| (p, c, first))
            .collect();
        order.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
        for (p, _, _) in order.into_iter().take(max_vocab - SPECIALS.len()) {
            t.push(p);
        }
        Ok(t)
    }

    /// A tokenizer with exactly the given pieces (after the specials), in order.
    pub fn from_vocab(pieces: &[String], mode: Mode, lexicon: &[&str]) -> Self {
        let mut t = Tokenizer::empty(mode, lexicon);
        for p in pieces {
            if !t.index.contains_key(p) {
                t.push(p);
            }
        }
        t
    }

    fn empty(mode: Mode, lexicon: &[&str]) -> Self {
        let lexicon: Vec<Vec<char>> = lexicon
            .iter()
            .map(|w| w.chars().collect())
            .filter(|w: &Vec<char>| w.len() > 1)
            .collect();
        let max_word = lexicon.iter().map(|w| w.len()).max().unwrap_or(1);
        let mut t = Tokenizer {
            mode,
            lexicon,
            max_word,
            vocab: vec![],
            index: HashMap::new(),
        };
        for s in SPECIALS {
            t.push(s);
        }
        t
    }

    fn push(&mut self, piece: &str) {
        self.index.insert(piece.to_string(), self.vocab.len());
        self.vocab.push(piece.to_string());
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Number of ids, specials included.
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// Every piece, by id.
    pub fn vocab(&self) -> &[String] {
        &self.vocab
    }

    /// The piece of `id` (`<unk>` for an unknown id).
    pub fn piece(&self, id: usize) -> &str {
        self.vocab
            .get(id)
            .map(|s| s.as_str())
            .unwrap_or(SPECIALS[UNK])
    }

    /// The id of `piece`, if it is in the vocabulary.
    pub fn id(&self, piece: &str) -> Option<usize> {
        self.index.get(piece).copied()
    }

    /// Cuts `text` into pieces (no vocabulary involved).
    pub fn segment(&self, text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                i += 1;
            } else if self.mode == Mode::Char {
                out.push(c.to_string());
                i += 1;
            } else if is_cjk(c) {
                // greedy longest match in the lexicon, else one character
                let mut len = 1;
                for l in (2..=self.max_word.min(chars.len() - i)).rev() {
                    let cand = &chars[i..i + l];
                    if cand.iter().all(|&c| is_cjk(c))
                        && self.lexicon.iter().any(|w| w.as_slice() == cand)
                    {
                        len = l;
                        break;
                    }
                }
                out.push(chars[i..i + len].iter().collect());
                i += len;
            } else if c.is_alphanumeric() || c == '_' {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_')
                    && !is_cjk(chars[i])
                {
                    i += 1;
                }
                out.push(chars[start..i].iter().collect());
            } else {
                out.push(c.to_string());
                i += 1;
            }
        }
        out
    }

    /// Pieces of `text` and their ids (unknown pieces get [`UNK`]).
    pub fn encode(&self, text: &str) -> (Vec<String>, Vec<usize>) {
        let pieces = self.segment(text);
        let ids = pieces.iter().map(|p| self.id(p).unwrap_or(UNK)).collect();
        (pieces, ids)
    }

    /// Text for `ids`: Chinese pieces joined directly, Latin words with spaces.
    pub fn decode(&self, ids: &[usize]) -> String {
        let mut s = String::new();
        for &id in ids {
            let p = self.piece(id);
            let latin = p
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() && !is_cjk(c));
            let prev_latin = s
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() && !is_cjk(c));
            if latin && prev_latin {
                s.push(' ');
            }
            s.push_str(p);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_the_seed_example() {
        let t = Tokenizer::from_corpus("今天天气真好", Mode::Word, &["今天", "天气"], 100).unwrap();
        assert_eq!(t.segment("今天天气真好"), vec!["今天", "天气", "真", "好"]);
        assert_eq!(
            t.segment("Hello, world! for i in range(3):"),
            vec!["Hello", ",", "world", "!", "for", "i", "in", "range", "(", "3", ")", ":"]
        );
        // The built-in lexicon gives the seed article's segmentation.
        let z = Tokenizer::from_corpus("今天天气真好", Mode::Word, ZH_LEXICON, 100).unwrap();
        assert_eq!(
            z.segment("今天天气真好，适合去散步"),
            vec!["今天", "天气", "真", "好", "，", "适合", "去", "散步"]
        );
        let c = Tokenizer::from_corpus("今天天气", Mode::Char, &[], 100).unwrap();
        assert_eq!(c.segment("今天 天气"), vec!["今", "天", "天", "气"]);
    }

    #[test]
    fn vocabulary_by_frequency_and_round_trip() {
        let t = Tokenizer::from_corpus("b a b c b a", Mode::Word, &[], 100).unwrap();
        assert_eq!(&t.vocab()[4..], &["b", "a", "c"]);
        let (_, ids) = t.encode("a b zzz");
        assert_eq!(ids, vec![5, 4, UNK]);
        assert_eq!(t.decode(&[4, 5, 6]), "b a c");
        // The cap keeps the most frequent pieces.
        let small = Tokenizer::from_corpus("b a b c b a", Mode::Word, &[], 5).unwrap();
        assert_eq!(small.vocab_size(), 5);
        assert_eq!(small.encode("a").1, vec![UNK]);
        assert!(Tokenizer::from_corpus("   ", Mode::Word, &[], 10)
            .unwrap_err()
            .message
            .contains("no tokens"));
    }
}
