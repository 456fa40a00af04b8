#!/usr/bin/env python3
"""Writes the parallel corpus of the encoder-decoder (src/corpora/seq2seq_*.tsv): a situation and
the advice that fits it, one pair a line, source<TAB>target.

    小明今天感冒了	他应该多喝水
    Tom has a cold today	he should drink more water

Every pair is made of who (小明, 小红, 爸爸, 妈妈, 我 ...), when (今天, 昨天, 早上 ...) and what
happened (感冒了, 饿了, 累了 ...). The answer needs both: who decides the pronoun (他, 她 or 我),
what decides the advice. Four pieces of advice start with 多 (多喝水, 多休息, 多穿衣服, 多运动) and
two with 吃 (吃点东西, 吃药), so even after writing 多 the decoder still has to look back at the
source to choose 喝 rather than 休, 穿 or 运: that is where its cross-attention has a reason to
find 感冒.

Some (who, what) combinations never occur in training: they are written to *_heldout.tsv, every
when and word order of them, to check that the model composes who and what rather than
memorising sentences. The seed article's example 小明今天感冒了 → 他应该多喝水 is in training.

The corpus is every combination, in a fixed order: there is nothing random in it.

    python3 tools/make_seq2seq.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "corpora")

# who: (Chinese, pronoun, English, English pronoun). The pronoun must agree with the person.
WHO = [
    ("小明", "他", "Tom", "he"),
    ("小红", "她", "Lily", "she"),
    ("爸爸", "他", "Dad", "he"),
    ("妈妈", "她", "Mom", "she"),
    ("哥哥", "他", "my brother", "he"),
    ("姐姐", "她", "my sister", "she"),
    ("爷爷", "他", "Grandpa", "he"),
    ("奶奶", "她", "Grandma", "she"),
    ("我", "我", "I", "I"),
]

# when: (Chinese, English, past tense?)
WHEN = [
    ("今天", "today", False),
    ("昨天", "yesterday", True),
    ("早上", "this morning", False),
    ("晚上", "tonight", False),
    ("现在", "now", False),
    ("周末", "this weekend", False),
]

# what happened and the advice that fits it:
# (Chinese situation, Chinese advice, English verb phrase as (present 3rd person, present
# first person, past), English advice)
WHAT = [
    ("感冒了", "多喝水", ("has a cold", "have a cold", "had a cold"), "drink more water"),
    ("累了", "多休息", ("is tired", "am tired", "was tired"), "get more rest"),
    ("冷了", "多穿衣服", ("is cold", "am cold", "was cold"), "wear more clothes"),
    ("胖了", "多运动", ("has gained weight", "have gained weight", "gained weight"), "exercise more"),
    ("饿了", "吃点东西", ("is hungry", "am hungry", "was hungry"), "eat something"),
    ("头疼", "吃药", ("has a headache", "have a headache", "had a headache"), "take medicine"),
    ("困了", "早点睡觉", ("is sleepy", "am sleepy", "was sleepy"), "go to bed early"),
    ("生病了", "去看医生", ("is ill", "am ill", "was ill"), "see a doctor"),
]

# (who, what) pairs kept out of training: each person and each situation is seen in training
# with others, never together. 小明 + 感冒了 (the article's example) stays in training.
HELDOUT = [
    ("小红", "感冒了"),
    ("爸爸", "饿了"),
    ("妈妈", "累了"),
    ("哥哥", "头疼"),
    ("姐姐", "冷了"),
    ("爷爷", "困了"),
    ("奶奶", "胖了"),
    ("我", "生病了"),
]


def zh_pairs(who, when, what):
    """Both word orders: 小明今天感冒了 and 今天小明感冒了."""
    p, pro, _, _ = who
    d, _, _ = when
    s, advice, _, _ = what
    target = f"{pro}应该{advice}"
    return [(f"{p}{d}{s}", target), (f"{d}{p}{s}", target)]


def en_pairs(who, when, what):
    """Tom has a cold today / today Tom has a cold."""
    _, _, p, pro = who
    d, past = when[1], when[2]
    _, _, (third, first, was), advice = what
    verb = was if past else (first if p == "I" else third)
    target = f"{pro} should {advice}"
    return [(f"{p} {verb} {d}", target), (f"{d} {p} {verb}", target)]


def write(name, pairs):
    path = os.path.join(OUT, name)
    with open(path, "w") as out:
        for s, t in pairs:
            out.write(f"{s}\t{t}\n")
    print(name, len(pairs), "pairs")


if __name__ == "__main__":
    heldout = set(HELDOUT)
    for lang, make in [("zh", zh_pairs), ("en", en_pairs)]:
        train, held = [], []
        for who in WHO:
            for what in WHAT:
                for when in WHEN:
                    (held if (who[0], what[0]) in heldout else train).extend(make(who, when, what))
        assert len(set(s for s, _ in train + held)) == len(train) + len(held), "sources are unique"
        if lang == "zh":
            assert ("小明今天感冒了", "他应该多喝水") in train, "the article's example is trained on"
        write(f"seq2seq_{lang}.tsv", train)
        write(f"seq2seq_{lang}_heldout.tsv", held)
