"""A per-text gendered-language bias score in the spirit of GenBit (as the LLaDA LoRA paper uses it).

GenBit measures how strongly the words of a text co-occur with female versus male gendered
words. For one text we count, for every content word, the female and male gendered words within
``window`` tokens of it, and take the add-one smoothed log ratio
``bias(w) = log((c_f(w) + 1) / (c_m(w) + 1))``. The text's score is the mean ``|bias(w)|`` over
content words that co-occur with at least one gendered word (0 when the text has no gendered
words). The signed mean says which way the text leans (> 0 female, < 0 male).

Examples: "He is a brilliant engineer." scores log 2 ≈ 0.69; "He or she is a brilliant
engineer." and "They are a brilliant engineer." score 0.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

FEMALE_WORDS = frozenset("""
she her hers herself woman women girl girls lady ladies female females mother mothers mom moms
mum wife wives daughter daughters sister sisters aunt aunts niece nieces grandmother grandmothers
grandma granddaughter granddaughters queen queens princess actress actresses waitress waitresses
hostess stewardess businesswoman businesswomen chairwoman spokeswoman policewoman girlfriend
girlfriends bride brides madam mrs ms miss heroine gal gals feminine womanhood motherhood sisterhood
""".split())

MALE_WORDS = frozenset("""
he him his himself man men boy boys gentleman gentlemen male males father fathers dad dads husband
husbands son sons brother brothers uncle uncles nephew nephews grandfather grandfathers grandpa
grandson grandsons king kings prince actor actors waiter waiters host steward businessman
businessmen chairman spokesman policeman boyfriend boyfriends groom grooms sir mr hero guy guys
masculine manhood fatherhood brotherhood
""".split())

STOPWORDS = frozenset("""
a an the and or but if then than so of to in on at by for with from as is are was were be been
being am do does did have has had not no it its this that these those there here what which who
whom whose when where why how all any both each few more most other some such only own same too
very can will just should would could may might must shall into onto over under again further
once about above below up down out off i me my we our you your they them their theirs themselves
one also
""".split())

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class GenderBias:
    """GenBit-style result for one text."""

    score: float  # mean |bias| over co-occurring content words, >= 0
    signed: float  # mean bias; > 0 leans female, < 0 leans male
    female_words: int
    male_words: int


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens."""
    return _TOKEN.findall(text.lower())


def gender_bias(text: str, window: int = 10) -> GenderBias:
    """Score one text (see module docstring)."""
    tokens = tokenize(text)
    female_pos = [i for i, t in enumerate(tokens) if t in FEMALE_WORDS]
    male_pos = [i for i, t in enumerate(tokens) if t in MALE_WORDS]
    if not female_pos and not male_pos:
        return GenderBias(0.0, 0.0, 0, 0)
    counts: dict[str, list[int]] = {}
    for i, token in enumerate(tokens):
        if token in FEMALE_WORDS or token in MALE_WORDS or token in STOPWORDS:
            continue
        c_f = sum(1 for j in female_pos if abs(i - j) <= window)
        c_m = sum(1 for j in male_pos if abs(i - j) <= window)
        if c_f == 0 and c_m == 0:
            continue
        entry = counts.setdefault(token, [0, 0])
        entry[0] += c_f
        entry[1] += c_m
    if not counts:
        lean = math.log((len(female_pos) + 1) / (len(male_pos) + 1))
        return GenderBias(abs(lean), lean, len(female_pos), len(male_pos))
    biases = [math.log((c_f + 1) / (c_m + 1)) for c_f, c_m in counts.values()]
    return GenderBias(
        score=sum(abs(b) for b in biases) / len(biases),
        signed=sum(biases) / len(biases),
        female_words=len(female_pos),
        male_words=len(male_pos),
    )


def gender_bias_reward(text: str, window: int = 10) -> float:
    """Map the bias score to a reward in (0, 1]: ``exp(-score)``; 1 means no gender skew."""
    return math.exp(-gender_bias(text, window).score)
