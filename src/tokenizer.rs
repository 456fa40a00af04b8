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
//!
//! An encoder–decoder reads one language and writes another (or the same language cut
//! differently): a [`PairTokenizer`] cuts each side by its own rules into one shared vocabulary,
//! since the model has one embedding table for both, and adds [`EOS`], the piece the decoder
//! writes when its answer is finished.
//!
//! ```text
//! source  "小明今天感冒了"  --Word, ZH_LEXICON-->           小明 / 今天 / 感冒 / 了
//! target  "他应该多喝水"    --Word, a lexicon without 多喝水-->  他 / 应该 / 多 / 喝 / 水 / <eos>
//! ```

use crate::error::{Code, Error, Result};
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
    "哥哥",
    "姐姐",
    "爷爷",
    "奶奶",
    "现在",
];

/// Words the built-in running-text corpus adds to [`ZH_LEXICON`] for its word categories
/// (src/corpora/categories_zh.tsv: 兔子, 苹果, 牛奶, 高兴, 难过 …), so that each is one token.
/// They are kept apart so that the models trained on pairs, whose files record the lexicon
/// they were cut with, stay as they were.
pub const ZH_CORPUS_WORDS: &[&str] = &[
    "熊猫",
    "兔子",
    "阴天",
    "下雪",
    "刮风",
    "苹果",
    "面包",
    "牛奶",
    "超市",
    "图书馆",
    "游泳",
    "高兴",
    "难过",
    "开心",
    "伤心",
    "生气",
    "暖和",
    "凉快",
    "可爱",
    "周一",
];

/// The lexicon of running text: [`ZH_LEXICON`] and then [`ZH_CORPUS_WORDS`]. The learning
/// panel's tokenizer ([`crate::trainer::text_tokenizer`]) and its statistics cut with it.
pub fn text_lexicon() -> Vec<&'static str> {
    ZH_LEXICON.iter().chain(ZH_CORPUS_WORDS).copied().collect()
}

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
            )
            .with_code(Code::CorpusEmpty));
        }
        let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
        for (i, p) in pieces.iter().enumerate() {
            counts.entry(p.as_str()).or_insert((0, i)).0 += 1;
        }
        let mut order: Vec<(&str, usize, usize)> = counts
            .into_iter()
            .map(|(p, (c, first))| (p, c, first))
            .collect();
        crate::sorting::sort_by(&mut order, |a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
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

    /// The lexicon's words (those of more than one character), in the order given.
    pub fn lexicon(&self) -> Vec<String> {
        self.lexicon.iter().map(|w| w.iter().collect()).collect()
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

    /// Text for `ids`: Chinese pieces joined directly, Latin words with spaces, and a space
    /// after an ASCII `,` `;` `!` `?` before a Latin word ("ill, she"; a Chinese `，` takes
    /// none). A `.` or `:` takes none: "np.zeros", "3.14" and "a:b" stay whole.
    pub fn decode(&self, ids: &[usize]) -> String {
        let mut s = String::new();
        for &id in ids {
            let p = self.piece(id);
            let latin = p
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() && !is_cjk(c));
            let prev = s.chars().last();
            let prev_latin = prev.is_some_and(|c| c.is_alphanumeric() && !is_cjk(c));
            let after_punct = matches!(prev, Some(',' | ';' | '!' | '?'));
            if latin && (prev_latin || after_punct) {
                s.push(' ');
            }
            s.push_str(p);
        }
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Two sides, one vocabulary

/// The piece a [`PairTokenizer`]'s decoder writes to end its answer; id 4, right after the
/// four specials.
pub const EOS: &str = "<eos>";

/// How one side of a pair is cut into pieces. In JSON: `{"mode": "word", "lexicon": ["今天", …]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segmenter {
    /// Words or characters.
    pub mode: Mode,
    /// The Chinese words kept whole in word mode (unused in char mode).
    pub lexicon: Vec<String>,
}

impl Segmenter {
    /// A segmenter of `mode` with the words of `lexicon`.
    pub fn new(mode: Mode, lexicon: &[&str]) -> Self {
        Segmenter {
            mode,
            lexicon: lexicon.iter().map(|w| w.to_string()).collect(),
        }
    }

    /// A tokenizer of these rules with exactly `pieces` (after the specials).
    pub(crate) fn tokenizer(&self, pieces: &[String]) -> Tokenizer {
        let words: Vec<&str> = self.lexicon.iter().map(|w| w.as_str()).collect();
        Tokenizer::from_vocab(pieces, self.mode, &words)
    }
}

/// A source and a target tokenizer over one vocabulary, for an encoder–decoder whose source
/// and target share one embedding table (as the 2017 Transformer's shared vocabulary does).
///
/// ```text
/// ids:  0 <pad>  1 <unk>  2 <bos>  3 <mask>  4 <eos>  | source pieces | target pieces not yet listed
///       each side's pieces by descending frequency, ties by first appearance
/// decoder input  = <bos> t₁ … tₙ        decoder target = t₁ … tₙ <eos>
/// ```
///
/// Each side knows which pieces it was built from: a source piece that training never showed
/// the encoder (a new word, or a target-only piece) becomes `<unk>`, so the page can say so.
#[derive(Debug, Clone, PartialEq)]
pub struct PairTokenizer {
    source: Tokenizer,
    target: Tokenizer,
    source_rules: Segmenter,
    target_rules: Segmenter,
    /// Ids of the pieces the source side was built from, ascending.
    source_ids: Vec<usize>,
    /// Ids of the pieces the target side was built from, with [`EOS`], ascending.
    target_ids: Vec<usize>,
}

/// The distinct pieces of `texts` cut by `t`, most frequent first (ties by first appearance).
pub(crate) fn by_frequency(t: &Tokenizer, texts: &[&str]) -> Vec<String> {
    let pieces: Vec<String> = texts.iter().flat_map(|s| t.segment(s)).collect();
    let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
    for (i, p) in pieces.iter().enumerate() {
        counts.entry(p.as_str()).or_insert((0, i)).0 += 1;
    }
    let mut order: Vec<(&str, usize, usize)> =
        counts.into_iter().map(|(p, (c, i))| (p, c, i)).collect();
    crate::sorting::sort_by(&mut order, |a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    order.into_iter().map(|(p, _, _)| p.to_string()).collect()
}

impl PairTokenizer {
    /// The vocabulary of `pairs` (source, target), each side cut by its own rules.
    ///
    /// **Errors** if either side has no pieces at all, or the vocabulary would exceed
    /// [`crate::models::MAX_VOCAB`].
    pub fn from_pairs(
        pairs: &[(&str, &str)],
        source: Segmenter,
        target: Segmenter,
    ) -> Result<Self> {
        let src_texts: Vec<&str> = pairs.iter().map(|p| p.0).collect();
        let tgt_texts: Vec<&str> = pairs.iter().map(|p| p.1).collect();
        let src = by_frequency(&source.tokenizer(&[]), &src_texts);
        let tgt = by_frequency(&target.tokenizer(&[]), &tgt_texts);
        if src.is_empty() || tgt.is_empty() {
            return Err(Error::value(
                "pair tokenizer: the pairs have no source or no target tokens",
            ));
        }
        let vocab: Vec<String> = std::iter::once(EOS.to_string())
            .chain(src.iter().cloned())
            .chain(tgt.iter().cloned())
            .collect();
        Self::from_parts(&vocab, source, target, &src, &tgt)
    }

    /// The tokenizer from what [`PairTokenizer::vocab`], [`PairTokenizer::source_vocab`],
    /// [`PairTokenizer::target_vocab`] and the two sides' rules return, as a file stores them.
    /// `vocab` may start with the specials and [`EOS`] or leave them out; repeated pieces keep
    /// their first id.
    ///
    /// **Errors** if a side's piece is not in `vocab`, or the vocabulary is too large.
    pub fn from_parts(
        vocab: &[String],
        source: Segmenter,
        target: Segmenter,
        source_vocab: &[String],
        target_vocab: &[String],
    ) -> Result<Self> {
        let rest: Vec<String> = std::iter::once(EOS.to_string())
            .chain(
                vocab
                    .iter()
                    .filter(|p| !SPECIALS.contains(&p.as_str()))
                    .cloned(),
            )
            .collect();
        if rest.len() + SPECIALS.len() > crate::models::MAX_VOCAB {
            return Err(Error::config(format!(
                "pair tokenizer: {} pieces is more than the largest vocabulary, {}",
                rest.len() + SPECIALS.len(),
                crate::models::MAX_VOCAB
            )));
        }
        let src_tok = source.tokenizer(&rest);
        let tgt_tok = target.tokenizer(&rest);
        let ids = |side: &str, pieces: &[String]| -> Result<Vec<usize>> {
            let mut ids = pieces
                .iter()
                .map(|p| {
                    src_tok.id(p).ok_or_else(|| {
                        Error::value(format!(
                            "pair tokenizer: the {side} piece {p:?} is not in the vocabulary"
                        ))
                    })
                })
                .collect::<Result<Vec<usize>>>()?;
            crate::sorting::sort_by(&mut ids, usize::cmp);
            ids.dedup();
            Ok(ids)
        };
        let source_ids = ids("source", source_vocab)?;
        let mut target_ids = ids("target", target_vocab)?;
        let eos = src_tok.id(EOS).expect("listed first");
        if !target_ids.contains(&eos) {
            target_ids.insert(0, eos);
        }
        Ok(PairTokenizer {
            source: src_tok,
            target: tgt_tok,
            source_rules: source,
            target_rules: target,
            source_ids,
            target_ids,
        })
    }

    /// Number of ids, V (specials included): the model's `vocab_size`.
    pub fn vocab_size(&self) -> usize {
        self.source.vocab_size()
    }

    /// Every piece, by id.
    pub fn vocab(&self) -> &[String] {
        self.source.vocab()
    }

    /// The id of [`EOS`].
    pub fn eos(&self) -> usize {
        self.source.id(EOS).expect("always listed")
    }

    /// The piece of `id`.
    pub fn piece(&self, id: usize) -> &str {
        self.source.piece(id)
    }

    /// How the source side is cut.
    pub fn source_rules(&self) -> &Segmenter {
        &self.source_rules
    }

    /// How the target side is cut.
    pub fn target_rules(&self) -> &Segmenter {
        &self.target_rules
    }

    /// The pieces the source side was built from, by id.
    pub fn source_vocab(&self) -> Vec<String> {
        self.source_ids
            .iter()
            .map(|&i| self.piece(i).to_string())
            .collect()
    }

    /// The pieces the target side was built from, [`EOS`] included, by id.
    pub fn target_vocab(&self) -> Vec<String> {
        self.target_ids
            .iter()
            .map(|&i| self.piece(i).to_string())
            .collect()
    }

    /// Is `id` a piece the source side was built from?
    pub fn is_source(&self, id: usize) -> bool {
        self.source_ids.binary_search(&id).is_ok()
    }

    /// Is `id` a piece the target side was built from (or [`EOS`])?
    pub fn is_target(&self, id: usize) -> bool {
        self.target_ids.binary_search(&id).is_ok()
    }

    /// The source's pieces and ids; a piece the source side was not built from gets [`UNK`].
    pub fn encode_source(&self, text: &str) -> (Vec<String>, Vec<usize>) {
        let (pieces, ids) = self.source.encode(text);
        let ids = ids
            .into_iter()
            .map(|id| if self.is_source(id) { id } else { UNK })
            .collect();
        (pieces, ids)
    }

    /// The target's pieces and ids, without [`BOS`] or [`EOS`]; a piece the target side was
    /// not built from gets [`UNK`].
    pub fn encode_target(&self, text: &str) -> (Vec<String>, Vec<usize>) {
        let (pieces, ids) = self.target.encode(text);
        let ids = ids
            .into_iter()
            .map(|id| if self.is_target(id) { id } else { UNK })
            .collect();
        (pieces, ids)
    }

    /// The text of target `ids`, up to the first [`EOS`].
    pub fn decode_target(&self, ids: &[usize]) -> String {
        let eos = self.eos();
        let end = ids.iter().position(|&i| i == eos).unwrap_or(ids.len());
        self.target.decode(&ids[..end])
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
        // English punctuation is followed by a space, Chinese punctuation is not.
        let en = Tokenizer::from_corpus(
            "she is ill , she should rest ! ok ? yes ; no 3.14 np.zeros",
            Mode::Word,
            &[],
            100,
        )
        .unwrap();
        let ids = |t: &Tokenizer, s: &str| t.encode(s).1;
        assert_eq!(
            en.decode(&ids(&en, "she is ill , she should rest ! ok ? yes ; no")),
            "she is ill, she should rest! ok? yes; no"
        );
        assert_eq!(en.decode(&ids(&en, "3.14 np.zeros")), "3.14 np.zeros");
        assert_eq!(en.decode(&ids(&en, ", she")), ", she");
        let zh = Tokenizer::from_corpus("他感冒了，他应该多喝水", Mode::Char, &[], 100).unwrap();
        assert_eq!(
            zh.decode(&ids(&zh, "他感冒了，他应该多喝水")),
            "他感冒了，他应该多喝水"
        );
        // The cap keeps the most frequent pieces.
        let small = Tokenizer::from_corpus("b a b c b a", Mode::Word, &[], 5).unwrap();
        assert_eq!(small.vocab_size(), 5);
        assert_eq!(small.encode("a").1, vec![UNK]);
        assert!(Tokenizer::from_corpus("   ", Mode::Word, &[], 10)
            .unwrap_err()
            .message
            .contains("no tokens"));
    }

    /// The seed article's decoder example, cut as the encoder–decoder reads and writes it.
    fn article_pairs() -> PairTokenizer {
        let pairs = [
            ("小明今天感冒了", "他应该多喝水"),
            ("小红饿了", "她应该吃点东西"),
            ("我今天累了", "我应该多休息"),
        ];
        PairTokenizer::from_pairs(
            &pairs,
            Segmenter::new(Mode::Word, ZH_LEXICON),
            Segmenter::new(Mode::Word, &["应该", "东西", "休息"]),
        )
        .unwrap()
    }

    #[test]
    fn a_pair_tokenizer_keeps_words_whole_in_the_source_and_drink_alone_in_the_target() {
        let t = article_pairs();
        let (pieces, ids) = t.encode_source("小明今天感冒了");
        assert_eq!(pieces, ["小明", "今天", "感冒", "了"]);
        assert!(ids.iter().all(|&i| i != UNK && t.is_source(i)));
        let (pieces, ids) = t.encode_target("他应该多喝水");
        assert_eq!(pieces, ["他", "应该", "多", "喝", "水"]);
        assert!(ids.iter().all(|&i| t.is_target(i) && !t.is_source(i)));
        // <eos> is id 4, a target piece; decoding stops there.
        assert_eq!((t.eos(), t.piece(4)), (4, EOS));
        let mut with_end = ids.clone();
        with_end.extend([t.eos(), ids[0]]);
        assert_eq!(t.decode_target(&with_end), "他应该多喝水");
        // Source pieces come first, by frequency (了 three times, 今天 twice, then by first
        // appearance).
        assert_eq!(&t.vocab()[5..8], ["了", "今天", "小明"]);
        // 我 is on both sides and keeps one id.
        assert_eq!(t.vocab().iter().filter(|p| *p == "我").count(), 1);
        let me = t.encode_source("我").1[0];
        assert!(t.is_source(me) && t.is_target(me));
    }

    #[test]
    fn unknown_source_words_become_unk_and_the_parts_round_trip() {
        let t = article_pairs();
        // 发烧 is a lexicon word the pairs never showed; 应该 is only ever a target piece.
        let (pieces, ids) = t.encode_source("小明发烧了应该");
        assert_eq!(pieces, ["小明", "发烧", "了", "应该"]);
        assert_eq!((ids[1], ids[3]), (UNK, UNK));
        // What a file stores is enough to rebuild the same tokenizer.
        let back = PairTokenizer::from_parts(
            t.vocab(),
            t.source_rules().clone(),
            t.target_rules().clone(),
            &t.source_vocab(),
            &t.target_vocab(),
        )
        .unwrap();
        assert_eq!(back, t);
        let json = serde_json::to_string(t.target_rules()).unwrap();
        assert_eq!(json, r#"{"mode":"word","lexicon":["应该","东西","休息"]}"#);
        let e = PairTokenizer::from_parts(
            t.vocab(),
            t.source_rules().clone(),
            t.target_rules().clone(),
            &["感冒".into(), "咳嗽".into()],
            &[],
        )
        .unwrap_err();
        assert!(e.message.contains("source piece \"咳嗽\""), "{e}");
    }
}
