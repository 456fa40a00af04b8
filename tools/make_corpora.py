#!/usr/bin/env python3
"""Writes the built-in training corpora (src/corpora/*.txt), one sentence per line.

The sentences are ours, made from templates with a fixed seed, so the statistics the learning
panel teaches come out clearly: after 今天天气真好，适合去 the most common next word is 散步
(公园 and 爬山 less often, 打游戏 only after rain and 在家), after 感冒 comes advice such as
多喝水, and in code `range(...)` is followed by `:`.

    python3 tools/make_corpora.py
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "corpora")
rng = random.Random(20261128)


def pick(items):
    """items: list of (text, weight)."""
    total = sum(w for _, w in items)
    x = rng.uniform(0, total)
    for t, w in items:
        x -= w
        if x <= 0:
            return t
    return items[-1][0]


def zh():
    days = [("今天", 5), ("明天", 2), ("周末", 2)]
    people = [("小明", "他"), ("小红", "她"), ("爸爸", "他"), ("妈妈", "她")]
    outing = [("散步", 8), ("公园", 2), ("爬山", 2)]
    lines = []
    for _ in range(330):
        kind = pick([("good", 6), ("rain", 3), ("ill", 4), ("life", 2)])
        d = pick(days)
        p, pro = rng.choice(people)
        if kind == "good":
            lines.append(pick([
                (f"{d}天气真好，适合去{pick(outing)}。", 8),
                (f"{d}阳光很好，我们去公园散步。", 2),
                (f"天气好的时候，我喜欢去散步。", 2),
                (f"{p}说{d}天气真好，想出去散步。", 2),
                (f"{d}天气真好，我们一起去{pick(outing)}吧。", 2),
                (f"{d}是晴天，适合去爬山。", 1),
            ]))
        elif kind == "rain":
            lines.append(pick([
                (f"{d}下雨了，适合在家看书。", 3),
                (f"{d}下雨了，我们在家打游戏。", 3),
                (f"外面下雨，{p}在家打游戏。", 2),
                (f"天气不好，适合在家睡觉。", 2),
                (f"{d}很冷，要多穿衣服。", 2),
            ]))
        elif kind == "ill":
            lines.append(pick([
                (f"{p}{d}感冒了，{pro}应该多喝水。", 6),
                (f"感冒了要多喝水，早点休息。", 3),
                (f"{p}发烧了，医生说要多喝水。", 2),
                (f"{p}咳嗽了，{pro}应该多喝水，早点睡觉。", 2),
                (f"{p}感冒了，不舒服，应该在家休息。", 2),
                (f"身体不舒服，应该早点睡觉。", 1),
            ]))
        else:
            lines.append(pick([
                (f"{p}喜欢吃水果。", 2),
                (f"我们一起去学校。", 2),
                (f"老师告诉学生要注意身体。", 2),
                (f"{p}晚上喜欢看书。", 2),
                (f"{d}{p}和朋友一起吃饭。", 2),
            ]))
    return lines


def en():
    days = [("today", 5), ("tomorrow", 2), ("this weekend", 2)]
    people = [("Tom", "he"), ("Mary", "she"), ("my dad", "he"), ("my mom", "she")]
    outing = [("a walk", 8), ("the park", 2), ("a hike", 2)]
    lines = []
    for _ in range(330):
        kind = pick([("good", 6), ("rain", 3), ("ill", 4), ("life", 2)])
        d = pick(days)
        p, pro = rng.choice(people)
        if kind == "good":
            lines.append(pick([
                (f"the weather is nice {d} , a good day for {pick(outing)} .", 8),
                (f"it is sunny {d} , so we go for a walk in the park .", 2),
                (f"when the weather is nice , I like to go for a walk .", 2),
                (f"{p} says the weather is nice {d} and wants to go for a walk .", 2),
            ]))
        elif kind == "rain":
            lines.append(pick([
                (f"it is raining {d} , a good day to read at home .", 3),
                (f"it is raining {d} , so we play games at home .", 3),
                (f"{p} plays games at home when it rains .", 2),
                (f"it is cold {d} , so wear a warm coat .", 2),
            ]))
        elif kind == "ill":
            lines.append(pick([
                (f"{p} has a cold {d} , so {pro} should drink more water .", 6),
                (f"with a cold you should drink more water and rest .", 3),
                (f"{p} has a fever , the doctor says {pro} should drink more water .", 2),
                (f"{p} feels ill and should stay at home and rest .", 2),
            ]))
        else:
            lines.append(pick([
                (f"{p} likes to eat fruit .", 2),
                (f"we go to school together .", 2),
                (f"{p} reads a book in the evening .", 2),
            ]))
    return lines


def code():
    names = ["i", "j", "k", "n", "x"]
    lines = []
    for _ in range(330):
        v = rng.choice(names)
        n = rng.choice(["3", "5", "10", "n", "len(xs)"])
        lines.append(pick([
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


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for name, f in [("zh", zh), ("en", en), ("code", code)]:
        lines = f()
        with open(os.path.join(OUT, f"{name}.txt"), "w") as out:
            out.write("\n".join(lines) + "\n")
        print(name, len(lines), "lines,", len(set(lines)), "distinct")
