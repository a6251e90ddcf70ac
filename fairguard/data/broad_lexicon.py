"""The broad pools (``broad.yaml``), their test-split holdout, and the filling of templates.

:func:`choose_broad_holdout` picks what the test split holds out; :func:`lexicon` gives the
pools one side of the split may use; :class:`Filler` fills a form template for one group.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import re
from dataclasses import dataclass, field
from typing import Any

from fairguard.data.package_yaml import read_package_yaml

# fair forms that reuse the words of prejudice (quotes, negations, replies) are drawn more
# often, so that stereotype words alone never mark a text as biased
FAIR_FORM_WEIGHTS = {"counter_quote": 3.0, "negated_neg": 3.0, "counter_ref": 2.0,
                     "reply_counter": 2.0, "reported_counter": 1.5, "nonprotected": 2.0,
                     "profanity_untargeted": 1.5, "positive": 2.0, "neutral": 2.0,
                     "joke_fair": 0.5}
# quotes that agree with a claim are drawn as often as quotes that reject one, so quoting
# says nothing about stance
BIASED_FORM_WEIGHTS = {"endorse": 2.0}
HELD_OUT_FORMS = ("reported", "reported_counter")
QUOTE_PARTS = ("quote_sources", "reject_reactions", "agree_reactions")  # composed quote frames
EVERYDAY_ANSWERS_FILE = "everyday_answers.yaml"  # a language model's answers to `everyday`


@functools.lru_cache(maxsize=1)
def pools() -> dict[str, Any]:
    """The parsed ``broad.yaml``."""
    return read_package_yaml("broad.yaml")


@functools.lru_cache(maxsize=1)
def policy_answers() -> dict[str, list[str]]:
    """``everyday_answers.yaml``: per everyday question of ``broad.yaml``, answers that the
    embedded SmolLM2-135M-Instruct generated (:mod:`fairguard.data.everyday_answers`)."""
    data = read_package_yaml(EVERYDAY_ANSWERS_FILE)["answers"]
    return {str(q): [str(a) for a in answers] for q, answers in data.items()}


@dataclass(frozen=True)
class BroadGroup:
    """One group of the broad pools."""

    category: str
    id: str
    plurals: tuple[str, ...]
    adj: str


def broad_groups() -> list[BroadGroup]:
    """Every broad group, in file order."""
    return [BroadGroup(cat, g["id"], tuple(g["plurals"]), g["adj"])
            for cat, members in pools()["groups"].items() for g in members]


def swap_groups() -> list[BroadGroup]:
    """The groups no row names (``broad.yaml`` ``swap_groups``), for training-time group swaps."""
    return [BroadGroup("swap", g["plurals"][0], tuple(g["plurals"]), g["adj"])
            for g in pools()["swap_groups"]]


def share_members(a: BroadGroup, b: BroadGroup) -> bool:
    """Whether two groups share members (``broad.yaml`` ``overlaps``): a two-person question
    cannot set them against each other."""
    if a.id == b.id:
        return True
    overlaps = pools()["overlaps"]
    if a.category == b.category and {a.id, b.id} & set(overlaps["umbrellas"]):
        return True
    return any({a.id, b.id} == set(pair) for pair in overlaps["pairs"])


def disjoint_pairs(groups: list[BroadGroup]) -> dict[str, list[tuple[BroadGroup, BroadGroup]]]:
    """Per category (only those that have one), the unordered pairs of ``groups`` that share no
    members, in file order."""
    out: dict[str, list[tuple[BroadGroup, BroadGroup]]] = {}
    for i, a in enumerate(groups):
        for b in groups[i + 1:]:
            if a.category == b.category and not share_members(a, b):
                out.setdefault(a.category, []).append((a, b))
    return out


@dataclass
class BroadHoldout:
    """What the broad test split holds out (ids and template strings)."""

    groups: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    traits: list[str] = field(default_factory=list)
    everyday: list[str] = field(default_factory=list)
    situations: list[str] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return dataclasses.asdict(self)


def _sample(rng: random.Random, items: list[Any], fraction: float) -> list[Any]:
    k = max(1, round(fraction * len(items)))
    return rng.sample(items, k)


def choose_broad_holdout(seed: int, group_fraction: float = 0.2,
                         template_fraction: float = 0.25) -> BroadHoldout:
    """Pick the held-out parts of the broad pools for ``seed``."""
    p = pools()
    rng = random.Random(f"fairguard-broad-holdout:{seed}")
    by_cat: dict[str, list[str]] = {}
    for g in broad_groups():
        by_cat.setdefault(g.category, []).append(g.id)
    groups = sorted(gid for ids in by_cat.values() for gid in _sample(rng, ids, group_fraction))
    prompts = sorted(_sample(rng, p["statement_prompts"], template_fraction))
    templates: list[str] = []
    for side in ("biased_forms", "fair_forms"):
        for form, items in p[side].items():
            if form not in HELD_OUT_FORMS:
                templates += _sample(rng, items, template_fraction)
    traits = _sample(rng, p["neg_adj"], template_fraction) + _sample(rng, p["neg_noun"],
                                                                      template_fraction)
    everyday = [q for q, _ in _sample(rng, p["everyday"], group_fraction)]
    situations = [s["q"] for s in _sample(rng, p["situations"], template_fraction)]
    templates += [b for b, _ in _sample(rng, p["contrasts"], template_fraction)]
    templates += _sample(rng, [f for f in p["claim_frames"] if f not in ("{C}",)], template_fraction)
    for i in _sample(rng, list(range(len(p["reject_frames"]))), template_fraction):
        templates += [p["reject_frames"][i], p["agree_frames"][i]]
    for part in QUOTE_PARTS:
        templates += _sample(rng, p[part], template_fraction)
    return BroadHoldout(groups, prompts, sorted(templates), sorted(traits), sorted(everyday),
                        sorted(situations), list(HELD_OUT_FORMS))


def cap(text: str) -> str:
    """``text`` with its first letter upper-case."""
    return text[:1].upper() + text[1:] if text else text


def article(word: str) -> str:
    """"a" or "an" before ``word``."""
    return "an" if word[:1].lower() in "aeiou" else "a"


@dataclass
class Lexicon:
    """The pools of one split side (train/val or test), after the holdout."""

    groups: list[BroadGroup]
    prompts: list[tuple[str, str]]  # (template id, template)
    biased_forms: dict[str, list[str]]
    fair_forms: dict[str, list[str]]
    neg_adj: list[str]
    neg_noun: list[str]
    everyday: list[tuple[str, str, str]]  # (id, question, answer)
    situations: list[tuple[str, dict[str, str]]]
    contrasts: list[tuple[str, str]] = field(default_factory=list)
    claim_frames: list[str] = field(default_factory=list)
    quote_frames: list[tuple[str, str]] = field(default_factory=list)  # (reject, agree)
    quote_parts: dict[str, list[str]] = field(default_factory=dict)  # broad.yaml QUOTE_PARTS
    # per category, the pairs of groups a two-person question may set against each other
    qa_pairs: dict[str, list[tuple[BroadGroup, BroadGroup]]] = field(default_factory=dict)
    # per everyday question, a language model's answers (policy_answers)
    everyday_generated: dict[str, list[str]] = field(default_factory=dict)


def lexicon(holdout: BroadHoldout, test: bool) -> Lexicon:
    """The pools of the train/validation side (``test`` False) or the test side of ``holdout``."""
    p = pools()

    def keep(is_held: bool) -> bool:
        return is_held == test

    held_t = set(holdout.templates)

    def forms(side: str) -> dict[str, list[str]]:
        out = {}
        for form, items in p[side].items():
            if form in holdout.forms:
                if test:
                    out[form] = list(items)
                continue
            chosen = [t for t in items if keep(t in held_t)]
            if chosen:
                out[form] = chosen
        return out

    traits = set(holdout.traits)
    groups = [g for g in broad_groups() if keep(g.id in holdout.groups)]
    return Lexicon(
        groups=groups,
        prompts=[(f"broad-prompt-{i:02d}", t) for i, t in enumerate(p["statement_prompts"])
                 if keep(t in holdout.prompts)],
        biased_forms=forms("biased_forms"),
        fair_forms=forms("fair_forms"),
        neg_adj=[t for t in p["neg_adj"] if keep(t in traits)],
        neg_noun=[t for t in p["neg_noun"] if keep(t in traits)],
        everyday=[(f"everyday-{i:03d}", q, a) for i, (q, a) in enumerate(p["everyday"])
                  if keep(q in holdout.everyday)],
        everyday_generated={q: a for q, a in policy_answers().items()
                            if keep(q in holdout.everyday)},
        situations=[(f"situation-{i:02d}", s) for i, s in enumerate(p["situations"])
                    if keep(s["q"] in holdout.situations)],
        contrasts=[(b, f) for b, f in p["contrasts"] if keep(b in held_t)],
        claim_frames=[f for f in p["claim_frames"] if f == "{C}" or keep(f in held_t)],
        quote_frames=[(r, a) for r, a in zip(p["reject_frames"], p["agree_frames"])
                      if keep(r in held_t)],
        quote_parts={part: [t for t in p[part] if keep(t in held_t)] for part in QUOTE_PARTS},
        qa_pairs=disjoint_pairs(groups),
    )


class Filler:
    """Fills a form template for one group, drawing the free slots from ``rng``."""

    def __init__(self, lex: Lexicon, group: BroadGroup, rng: random.Random):
        self.lex, self.group, self.rng = lex, group, rng
        self.plural = rng.choice(group.plurals)
        self.neg_adj = rng.choice(lex.neg_adj)
        self.neg = rng.choice(lex.neg_adj + lex.neg_noun)

    def values(self, quote: str = "") -> dict[str, str]:
        """One draw of every slot (fill two templates with the same words)."""
        p, r, g = pools(), self.rng, self.group
        hv, hvn = r.choice(p["hate_pairs"])
        return {
            "HV": hv, "HVN": hvn,
            "P": self.plural, "A": g.adj, "AN": article(g.adj), "N": self.neg,
            "NA": self.neg_adj, "POS": r.choice(p["pos_adj"]), "D": r.choice(p["dehum"]),
            "PUNISH": r.choice(p["punish"]), "HURT": r.choice(p["hurt"]),
            "HATE": r.choice(p["hate_verb"]), "PROF": r.choice(p["profanity"]),
            "REL": r.choice(p["relatives"]), "REL2": "they're", "USER": r.choice(p["users"]),
            "CONDUCT": r.choice(p["conduct_groups"]), "OBJ": r.choice(p["objects"]),
            "IND": r.choice(p["individuals"]), "X": quote,
        }

    def fill(self, template: str, quote: str = "", values: dict[str, str] | None = None) -> str:
        values = values or self.values(quote)
        text = re.sub(r"\{([A-Z0-9]+)\}", lambda m: values[m.group(1)], template)
        # a sentence-initial slot ("{P} are ...") starts with a capital
        return re.sub(r"(^|[.!?]\s+|\")([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)

    def _form(self, forms: dict[str, list[str]], weights: dict[str, float],
              form: str | None) -> tuple[str, str]:
        """``(form, text)``: one template of ``form`` (drawn by ``weights`` when None) filled,
        a ``{X}`` slot with a biased claim in quotes."""
        if form is None:
            names = sorted(forms)
            form = self.rng.choices(names, [weights.get(n, 1.0) for n in names])[0]
        template = self.rng.choice(forms[form])
        quote = ""
        if "{X}" in template:
            quotable = [k for k in ("attrib", "dehum", "opinion", "emote")
                        if k in self.lex.biased_forms]
            quote = self.biased(self.rng.choice(quotable) if quotable else "attrib")[1]
        return form, self.fill(template, quote)

    def biased(self, form: str | None = None) -> tuple[str, str]:
        return self._form(self.lex.biased_forms, BIASED_FORM_WEIGHTS, form)

    def fair(self, form: str | None = None) -> tuple[str, str]:
        return self._form(self.lex.fair_forms, FAIR_FORM_WEIGHTS, form)
