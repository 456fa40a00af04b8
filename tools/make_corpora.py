#!/usr/bin/env python3
"""Writes the built-in training corpora (src/corpora/*.txt), one sentence per line, and the
word → category tables of the two languages (src/corpora/categories_*.tsv).

The sentences are ours, made from templates with a fixed seed (one generator per corpus), so
the statistics the learning panel teaches come out clearly:

- after 今天天气真好，适合去 comes 散步, always (the English twin: "the weather is nice today ,
  a good day for a walk"); 公园, 爬山 and the other outings follow 去 in other sentences, 打游戏
  only after rain and 在家;
- after 感冒 comes advice such as 多喝水 (小明今天感冒了，他应该多喝水);
- the words of one category stand in the same places: 我家的猫很可爱 / 我家的狗很可爱,
  今天很热 / 今天很冷, 天气预报说明天下雨 / 天气预报说明天下雪, so a model trained to predict
  the next token gives them similar vectors. The categories (animal, weather, food, place,
  feeling, temperature, time) are written to categories_zh.tsv / categories_en.tsv,
  `word<TAB>category` a line; every word there is one token of the word tokenizer;
- in code `range(...)` is followed by `:`.

    python3 tools/make_corpora.py
"""
import os
import random
import re
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "corpora")
SEED = 20261128


class Gen:
    def __init__(self, name):
        self.rng = random.Random(f"{SEED}-{name}")

    def pick(self, items):
        """items: list of (value, weight)."""
        total = sum(w for _, w in items)
        x = self.rng.uniform(0, total)
        for t, w in items:
            x -= w
            if x <= 0:
                return t
        return items[-1][0]

    def choice(self, items):
        return self.rng.choice(items)


# --- Chinese --------------------------------------------------------------------------------

ZH_CATEGORIES = {
    "animal": ["猫", "狗", "兔子", "鸟", "熊猫"],
    "weather": ["晴天", "阴天", "下雨", "下雪", "刮风"],
    "food": ["苹果", "米饭", "面条", "面包", "牛奶", "茶"],
    "place": ["公园", "学校", "超市", "图书馆", "散步", "爬山", "跑步", "游泳"],
    "feeling": ["高兴", "难过", "开心", "伤心", "生气"],
    "temperature": ["热", "冷", "暖和", "凉快"],
    "time": ["今天", "明天", "周末", "周一", "早上", "晚上"],
}


def zh():
    g = Gen("zh")
    pick, choice = g.pick, g.choice
    c = ZH_CATEGORIES
    days = [("今天", 6), ("明天", 3), ("周末", 3), ("周一", 2), ("早上", 2), ("晚上", 2)]
    people = [("小明", "他"), ("小红", "她"), ("爸爸", "他"), ("妈妈", "她")]
    lines = []
    for _ in range(1000):
        kind = pick([
            ("walk", 6), ("rain", 3), ("ill", 4), ("life", 2), ("animal", 4), ("weather", 4),
            ("food", 4), ("place", 4), ("feeling", 4), ("temperature", 4),
        ])
        d = pick(days)
        p, pro = choice(people)
        if kind == "walk":
            # 天气真好，适合去 is always followed by 散步.
            lines.append(pick([
                (f"{d}天气真好，适合去散步。", 10),
                (f"{d}阳光很好，我们去公园散步。", 1),
                ("天气好的时候，我喜欢去散步。", 2),
                (f"{p}说{d}天气真好，想出去散步。", 2),
            ]))
        elif kind == "rain":
            lines.append(pick([
                (f"{d}下雨了，适合在家看书。", 3),
                (f"{d}下雨了，我们在家打游戏。", 3),
                (f"外面下雨，{p}在家打游戏。", 2),
                ("天气不好，适合在家睡觉。", 2),
            ]))
        elif kind == "ill":
            lines.append(pick([
                (f"{p}{d}感冒了，{pro}应该多喝水。", 6),
                ("感冒了要多喝水，早点休息。", 3),
                (f"{p}发烧了，医生说要多喝水。", 2),
                (f"{p}咳嗽了，{pro}应该多喝水，早点睡觉。", 2),
                (f"{p}感冒了，不舒服，应该在家休息。", 2),
                ("身体不舒服，应该早点睡觉。", 1),
            ]))
        elif kind == "life":
            lines.append(pick([
                (f"{p}喜欢吃水果。", 2),
                ("我们一起去学校。", 2),
                ("老师告诉学生要注意身体。", 2),
                (f"{p}晚上喜欢看书。", 2),
                (f"{d}{p}和朋友一起吃饭。", 2),
            ]))
        elif kind == "animal":
            a = choice(c["animal"])
            lines.append(pick([
                (f"我家的{a}很可爱。", 3),
                (f"{p}家的{a}在睡觉。", 2),
                (f"那只{a}饿了，想吃东西。", 2),
                (f"{d}{p}看到一只{a}在草地上玩。", 2),
                (f"{p}给{a}起了一个名字。", 1),
            ]))
        elif kind == "weather":
            w = choice(c["weather"])
            lines.append(pick([
                (f"天气预报说{d}{w}。", 3),
                (f"{w}的日子，{p}喜欢在家看书。", 2),
                (f"{d}{w}，路上人很少。", 2),
                (f"{p}问：{d}是不是{w}？", 2),
            ]))
        elif kind == "food":
            f, f2 = choice(c["food"]), choice(c["food"])
            lines.append(pick([
                (f"{f}很香。", 2),
                (f"桌子上的{f}是{p}买的。", 2),
                (f"{p}早上{'喝' if f in ('牛奶', '茶') else '吃'}了{f}和{f2}。", 2),
                (f"超市的{f}很便宜。", 2),
                (f"这些{f}多少钱？", 1),
            ]))
        elif kind == "place":
            x = choice(c["place"])
            lines.append(pick([
                (f"{d}{p}想去{x}。", 2),
                (f"去{x}的路上，{p}遇到了朋友。", 2),
                (f"{x}的人很多。", 2),
                (f"{d}我们一起去{x}吧。", 2),
            ]))
        elif kind == "feeling":
            e = choice(c["feeling"])
            lines.append(pick([
                (f"{p}{d}很{e}。", 2),
                (f"{p}{e}得说不出话。", 2),
                (f"看到这件事，{p}非常{e}。", 2),
                (f"{p}觉得很{e}，想和朋友说说话。", 2),
                (f"{p}一点也不{e}。", 1),
            ]))
        else:  # temperature
            t = choice(c["temperature"])
            advice = {"热": "要多喝水", "冷": "要多穿衣服"}.get(t, "适合出去走走")
            lines.append(pick([
                (f"{d}很{t}。", 2),
                (f"{d}天气很{t}。", 2),
                (f"外面有点{t}，{advice}。", 2),
                (f"房间里太{t}了。", 2),
            ]))
    return lines


# --- English --------------------------------------------------------------------------------

EN_CATEGORIES = {
    "animal": ["cat", "dog", "rabbit", "bird", "panda"],
    "weather": ["sunny", "cloudy", "rainy", "snowy", "windy"],
    "food": ["apples", "rice", "noodles", "bread", "milk", "tea"],
    "place": ["park", "school", "shop", "library", "walk", "hike", "run", "swim"],
    "feeling": ["happy", "sad", "glad", "upset", "angry"],
    "temperature": ["hot", "cold", "warm", "cool"],
    "time": ["today", "tomorrow", "weekend", "Monday", "morning", "evening"],
}


def en():
    g = Gen("en")
    pick, choice = g.pick, g.choice
    c = EN_CATEGORIES
    days = [("today", 6), ("tomorrow", 3), ("this weekend", 3), ("on Monday", 2),
            ("this morning", 2), ("this evening", 2)]
    people = [("Tom", "he"), ("Mary", "she"), ("my dad", "he"), ("my mom", "she")]
    lines = []
    for _ in range(900):
        kind = pick([
            ("walk", 6), ("rain", 3), ("ill", 4), ("life", 1), ("animal", 6), ("weather", 4),
            ("food", 4), ("place", 4), ("feeling", 4), ("temperature", 4),
        ])
        d = pick(days)
        p, pro = choice(people)
        if kind == "walk":
            # "a good day for" is always followed by "a walk".
            lines.append(pick([
                (f"the weather is nice {d} , a good day for a walk .", 10),
                (f"it is sunny {d} , so we go for a walk in the park .", 1),
                ("when the weather is nice , I like to go for a walk .", 2),
                (f"{p} says the weather is nice {d} and wants to go for a walk .", 2),
            ]))
        elif kind == "rain":
            lines.append(pick([
                (f"it is raining {d} , a good time to read at home .", 3),
                (f"it is raining {d} , so we play games at home .", 3),
                (f"{p} plays games at home when it rains .", 2),
            ]))
        elif kind == "ill":
            lines.append(pick([
                (f"{p} has a cold {d} , so {pro} should drink more water .", 6),
                ("with a cold you should drink more water and rest .", 3),
                (f"{p} has a fever , the doctor says {pro} should drink more water .", 2),
                (f"{p} feels ill and should stay at home and rest .", 2),
            ]))
        elif kind == "life":
            lines.append(pick([
                (f"{p} likes to eat fruit .", 2),
                ("we go to school together .", 2),
                (f"{p} reads a book in the evening .", 2),
            ]))
        elif kind == "animal":
            a = choice(c["animal"])
            lines.append(pick([
                (f"our {a} is very cute .", 2),
                (f"the {a} sleeps all day .", 2),
                (f"the {a} wants to eat .", 2),
                (f"{p} saw a {a} playing on the grass .", 2),
                (f"the little {a} runs and jumps .", 2),
            ]))
        elif kind == "weather":
            w = choice(c["weather"])
            lines.append(pick([
                (f"the forecast says it will be {w} {d} .", 3),
                (f"on {w} days {p} likes to read at home .", 2),
                (f"it is {w} {d} , and the streets are quiet .", 2),
                (f"{p} asks : will it be {w} {d} ?", 2),
            ]))
        elif kind == "food":
            f, f2 = choice(c["food"]), choice(c["food"])
            lines.append(pick([
                (f"the {f} smells good .", 2),
                (f"the {f} on the table is from {p} .", 2),
                (f"{p} had {f} and {f2} .", 2),
                (f"the {f} at the shop is cheap .", 2),
                (f"how much is the {f} ?", 1),
            ]))
        elif kind == "place":
            x = choice(c["place"])
            to = "for a" if x in ("walk", "hike", "run", "swim") else "to the"
            lines.append(pick([
                (f"{d} {p} wants to go {to} {x} .", 2),
                (f"on a {x} , {p} met a friend ." if to == "for a"
                 else f"on the way to the {x} , {p} met a friend .", 2),
                (f"the {x} was fun .", 2),
                (f"let us go {to} {x} together .", 2),
            ]))
        elif kind == "feeling":
            e = choice(c["feeling"])
            lines.append(pick([
                (f"{p} is very {e} {d} .", 2),
                (f"{p} is so {e} that {pro} cannot speak .", 2),
                (f"after hearing the news , {p} is very {e} .", 2),
                (f"{p} feels {e} and wants to talk to a friend .", 2),
                (f"{p} is not {e} at all .", 1),
            ]))
        else:  # temperature
            t = choice(c["temperature"])
            advice = {"hot": "drink more water", "cold": "wear a warm coat"}.get(
                t, "go outside")
            lines.append(pick([
                (f"it is {t} {d} .", 2),
                (f"the weather is {t} {d} .", 2),
                (f"it is a little {t} outside , so {advice} .", 2),
                (f"the room is too {t} .", 2),
            ]))
    return lines


def code():
    g = Gen("code")
    names = ["i", "j", "k", "n", "x"]
    lines = []
    for _ in range(330):
        v = g.choice(names)
        n = g.choice(["3", "5", "10", "n", "len(xs)"])
        lines.append(g.pick([
            (f"for {v} in range({n}):", 8),
            (f"    print({v})", 3),
            (f"    total = total + {v}", 2),
            (f"if {v} > 0:", 3),
            (f"while {v} < {n}:", 2),
            (f"def f({v}):", 2),
            (f"    return {v} * 2", 2),
            (f"for {v} in xs:", 2),
            (f"{v} = {v} + 1", 2),
        ]))
    return lines


# --- checks (the Rust tests check the same on the tokenizer itself) -------------------------

def lexicon():
    """The running text's lexicon, ZH_LEXICON and ZH_CORPUS_WORDS from src/tokenizer.rs."""
    src = open(os.path.join(HERE, "..", "src", "tokenizer.rs"), encoding="utf-8").read()
    words = []
    for name in ("ZH_LEXICON", "ZH_CORPUS_WORDS"):
        body = src.split(f"pub const {name}")[1].split("];")[0]
        words += re.findall(r'"([^"]+)"', body)
    return words


def segment(text, lex):
    """The word tokenizer's cut (src/tokenizer.rs `segment`) for the corpora's characters."""
    lex = set(lex)
    longest = max((len(w) for w in lex), default=1)
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif "\u4e00" <= ch <= "\u9fff":
            n = 1
            for l in range(min(longest, len(text) - i), 1, -1):
                if text[i:i + l] in lex:
                    n = l
                    break
            out.append(text[i:i + n])
            i += n
        elif ch.isalnum() or ch == "_":
            j = i
            while j < len(text) and (text[j].isalnum() or text[j] == "_") \
                    and not "\u4e00" <= text[j] <= "\u9fff":
                j += 1
            out.append(text[i:j])
            i = j
        else:
            out.append(ch)
            i += 1
    return out


def check(name, text, categories):
    words = segment(text, lexicon()) if name == "zh" else segment(text, [])
    counts = Counter(words)
    for cat, ws in categories.items():
        for w in ws:
            assert counts[w] > 0, f"{name}: {w} ({cat}) is not a token of the corpus"
    assert len(text.encode()) <= 40_000, f"{name}: {len(text.encode())} bytes"
    if name == "zh":
        after = Counter(b for a, b in zip(text, text[1:]) if a == "天")
        assert after.most_common(1)[0][0] == "气", after.most_common(3)
        after = Counter(b for a, b in zip(words, words[1:]) if a == "去")
        assert after.most_common(1)[0][0] == "散步", after.most_common(3)
    return {cat: min(counts[w] for w in ws) for cat, ws in categories.items()}


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    tables = {"zh": ZH_CATEGORIES, "en": EN_CATEGORIES}
    for name, f in [("zh", zh), ("en", en), ("code", code)]:
        lines = f()
        text = "\n".join(lines) + "\n"
        with open(os.path.join(OUT, f"{name}.txt"), "w", encoding="utf-8") as out:
            out.write(text)
        print(name, len(lines), "lines,", len(set(lines)), "distinct,", len(text.encode()), "bytes")
        if name in tables:
            rarest = check(name, text, tables[name])
            print("  rarest word of each category:", rarest)
            with open(os.path.join(OUT, f"categories_{name}.tsv"), "w", encoding="utf-8") as out:
                for cat, ws in tables[name].items():
                    for w in ws:
                        out.write(f"{w}\t{cat}\n")
