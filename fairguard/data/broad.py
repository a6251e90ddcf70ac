"""The broad part of the dataset: bias beyond the Chinese scenarios, in many forms.

Rows have the same fields as the scenario rows (``prompt``, ``neutral``, ``biased``,
``off_topic``, ``corrupted``) plus ``evasive``, ``guess`` and ``form``. Three row kinds:

- ``statement``: a prompt that asks about (or merely opens) a topic; the fair answer is one of
  many fair forms about a group (positive, neutral mention, facts, counter-speech that quotes
  or names a stereotype to reject it, negated stereotypes, untargeted profanity, criticism of
  conduct rather than identity, ...), the biased answer one of many biased forms (attributes,
  hateful feelings, dehumanising comparisons, threats, implicit stereotypes, questions, jokes,
  reported speech that agrees, replies in a thread, negated praise, targeted profanity, ...).
  Both sides share the group, the wording tricks (misspellings, obfuscation) and often the
  very stereotype words, so the label is carried by what the text does, not by its words.
- ``everyday``: an everyday question (cooking, science, code, travel, health, work) with its
  answer; the biased answer is the same answer with one biased sentence inserted anywhere, the
  fair one sometimes carries a fair sentence about a group in the same place; ``evasive``
  declines the question.
- ``qa``: two people of different groups in a short context. Where the context says who did
  it, the specific correct answer is the fair and relevant one, "cannot tell" is ``evasive``
  and blaming the other person by stereotype is ``biased``; where it does not, "cannot tell"
  is the fair answer and a stereotyped pick is ``guess`` (and ``biased``).

Pools live in ``broad.yaml``. The test split holds out group ids, prompt templates, a quarter
of every form's sentence templates, a quarter of the stereotype wordings, whole forms
(``reported`` / ``reported_counter``), everyday questions and situations.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from fairguard.errors import ConfigError

ROW_KIND_WEIGHTS = {"statement": 0.55, "everyday": 0.25, "qa": 0.2}
# fair forms that reuse the words of prejudice (quotes, negations, replies) are drawn more
# often, so that stereotype words alone never mark a text as biased
FAIR_FORM_WEIGHTS = {"counter_quote": 3.0, "negated_neg": 3.0, "counter_ref": 2.0,
                     "reply_counter": 2.0, "reported_counter": 1.5, "nonprotected": 2.0,
                     "profanity_untargeted": 1.5, "positive": 2.0, "neutral": 2.0,
                     "joke_fair": 0.5}
HELD_OUT_FORMS = ("reported", "reported_counter")
OBFUSCATE_PROB = 0.15
CONTRAST_PROB = 0.5  # statement rows whose two answers are a minimal pair (broad.yaml contrasts)
CANNOT_TELL = (
    "It's not possible to tell from the information given.",
    "Nothing in the description says which of them it was.",
    "We can't know; the situation doesn't say.",
    "There isn't enough information to say who it was.",
    "The context doesn't tell us, so either answer would be a guess.",
)
ASIDE_LEADS = ("", "", "By the way, ", "Also, ", "Honestly, ", "One more thing: ")
PERSON_NOUNS = ("person", "man", "woman", "student", "neighbour", "colleague")


@functools.lru_cache(maxsize=1)
def pools() -> dict[str, Any]:
    """The parsed ``broad.yaml``."""
    import yaml

    text = resources.files("fairguard.data").joinpath("broad.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


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
    return BroadHoldout(groups, prompts, sorted(templates), sorted(traits), sorted(everyday),
                        sorted(situations), list(HELD_OUT_FORMS))


# --------------------------------------------------------------------------- text helpers

def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def obfuscate(text: str, rng: random.Random, prefer: frozenset[str] = frozenset()) -> str:
    """Misspell or disguise one or two longer words (swaps, drops, leetspeak, spacing, masks),
    mostly the words in ``prefer`` (the hateful word, the group) when the text has them."""
    words = text.split(" ")
    idx = [i for i, w in enumerate(words) if len(re.sub(r"\W", "", w)) >= 4]
    if not idx:
        return text
    key = [i for i in idx if re.sub(r"\W", "", words[i]).lower() in prefer]
    if key and rng.random() < 0.7:
        idx = key
    leet = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})
    for i in rng.sample(idx, min(len(idx), rng.choice((1, 1, 2)))):
        w = words[i]
        if not w:
            continue
        core = re.sub(r"^\W+|\W+$", "", w)
        pre, post = w[:w.find(core)], w[w.find(core) + len(core):]
        op = rng.choice(("swap", "drop", "leet", "space", "mask", "join"))
        if op == "swap":
            j = rng.randrange(1, len(core) - 2)
            core = core[:j] + core[j + 1] + core[j] + core[j + 2:]
        elif op == "drop":
            j = rng.randrange(1, len(core) - 1)
            core = core[:j] + core[j + 1:]
        elif op == "leet":
            core = core.translate(leet)
        elif op == "space":
            core = " ".join(core)
        elif op == "mask":
            vowels = [j for j, c in enumerate(core) if c in "aeiou" and 0 < j < len(core) - 1]
            if vowels:
                j = rng.choice(vowels)
                core = core[:j] + "*" + core[j + 1:]
        elif op == "join" and i + 1 < len(words) and words[i + 1]:
            post, words[i + 1] = post + words[i + 1], ""
        words[i] = pre + core + post
    return " ".join(w for w in words if w)


@dataclass
class _Lex:
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


def _lexicon(holdout: BroadHoldout, test: bool) -> _Lex:
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
    return _Lex(
        groups=[g for g in broad_groups() if keep(g.id in holdout.groups)],
        prompts=[(f"broad-prompt-{i:02d}", t) for i, t in enumerate(p["statement_prompts"])
                 if keep(t in holdout.prompts)],
        biased_forms=forms("biased_forms"),
        fair_forms=forms("fair_forms"),
        neg_adj=[t for t in p["neg_adj"] if keep(t in traits)],
        neg_noun=[t for t in p["neg_noun"] if keep(t in traits)],
        everyday=[(f"everyday-{i:03d}", q, a) for i, (q, a) in enumerate(p["everyday"])
                  if keep(q in holdout.everyday)],
        situations=[(f"situation-{i:02d}", s) for i, s in enumerate(p["situations"])
                    if keep(s["q"] in holdout.situations)],
        contrasts=[(b, f) for b, f in p["contrasts"] if keep(b in held_t)],
        claim_frames=[f for f in p["claim_frames"] if f == "{C}" or keep(f in held_t)],
        quote_frames=[(r, a) for r, a in zip(p["reject_frames"], p["agree_frames"])
                      if keep(r in held_t)],
    )


class _Filler:
    """Fills a form template for one group, drawing the free slots from ``rng``."""

    def __init__(self, lex: _Lex, group: BroadGroup, rng: random.Random):
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
            "P": self.plural, "A": g.adj, "AN": _article(g.adj), "N": self.neg,
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

    def biased(self, form: str | None = None) -> tuple[str, str]:
        forms = self.lex.biased_forms
        form = form or self.rng.choice(sorted(forms))
        return form, self.fill(self.rng.choice(forms[form]))

    def fair(self, form: str | None = None) -> tuple[str, str]:
        forms = self.lex.fair_forms
        if form is None:
            names = sorted(forms)
            form = self.rng.choices(names, [FAIR_FORM_WEIGHTS.get(n, 1.0) for n in names])[0]
        quote = ""
        template = self.rng.choice(forms[form])
        if "{X}" in template:
            quote = self.biased(self.rng.choice(("attrib", "dehum", "opinion", "emote")
                                                if "attrib" in self.lex.biased_forms
                                                else None))[1]
        return form, self.fill(template, quote)


_LOWERABLE = frozenset("The Those Every All Most No Nothing Someone Surveys Research Laws My Our A "
                       "There We Schools Anyone If Posts Saying Calling Threatening What Stop "
                       "Your So Of Keep Hiring Landlords It's You Here's Why Isn't How Am "
                       "Agreed. This. Screw Don't Nobody Everyone People Surprisingly "
                       "Honestly, Let's In To Research Not Plenty Blaming Nobody Keep Everyone "
                       "It's Why We You Calling All".split())


def _insert(sentences: list[str], extra: str, rng: random.Random) -> list[str]:
    """``sentences`` with ``extra`` (sometimes after a lead such as "By the way,") anywhere."""
    at = rng.randrange(len(sentences) + 1)
    lead = rng.choice(ASIDE_LEADS)
    if lead:
        first = extra.split(" ", 1)[0].rstrip(",;:")
        extra = lead + (extra[:1].lower() + extra[1:] if first in _LOWERABLE else extra)
    return sentences[:at] + [extra] + sentences[at:]


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def _lower_claim(claim: str) -> str:
    first = claim.split(" ", 1)[0]
    return claim[:1].lower() + claim[1:] if first in _LOWERABLE else claim


def _key_words(values: dict[str, str]) -> frozenset[str]:
    """The words of the slots that carry prejudice or name the group (obfuscation targets)."""
    slots = ("P", "A", "N", "NA", "D", "HV", "HATE", "PUNISH", "HURT")
    return frozenset(re.sub(r"\W", "", w).lower() for k in slots for w in values[k].split()
                     if len(w) >= 4)


def _contrast(lex: _Lex, f: _Filler, rng: random.Random) -> tuple[str, str, str, frozenset[str]]:
    """A minimal pair (biased, fair, form): the same claim words with the stance flipped, in
    the same frame; or the same biased claim quoted to agree (biased) or to reject (fair)."""
    values = f.values()
    b_t, f_t = rng.choice(lex.contrasts)
    b_claim, f_claim = f.fill(b_t, values=values), f.fill(f_t, values=values)
    if lex.quote_frames and rng.random() < 0.4:
        reject, agree = rng.choice(lex.quote_frames)
        return (f.fill(agree.replace("{B}", b_claim), values=values),
                f.fill(reject.replace("{B}", b_claim), values=values), "contrast-quote",
                _key_words(values))
    frame = rng.choice(lex.claim_frames)

    def framed(claim: str) -> str:
        text = frame.replace("{C}", claim).replace("{c}", _lower_claim(claim))
        return f.fill(text, values=values)

    return framed(b_claim), framed(f_claim), "contrast-claim", _key_words(values)


def _statement_row(lex: _Lex, rng: random.Random) -> dict[str, str]:
    group = rng.choice(lex.groups)
    f = _Filler(lex, group, rng)
    template_id, template = rng.choice(lex.prompts)
    prompt = _cap(f.fill(template))
    if lex.contrasts and rng.random() < CONTRAST_PROB:
        biased, neutral, form, key = _contrast(lex, f, rng)
        if rng.random() < OBFUSCATE_PROB:
            biased = obfuscate(biased, rng, key)
        if rng.random() < OBFUSCATE_PROB:
            neutral = obfuscate(neutral, rng, key)
        return {"category": group.category, "group": group.id, "scenario": "broad-statement",
                "template_id": template_id, "prompt": prompt, "neutral": neutral,
                "biased": biased, "off_topic": rng.choice(lex.everyday)[2], "evasive": "",
                "guess": "", "form": f"{form}/{form}"}
    bform, biased = f.biased()
    nform, neutral = f.fair()
    if rng.random() < 0.25:  # a second sentence on either side, so length says nothing
        neutral = neutral + " " + f.fair()[1]
    if rng.random() < 0.25:
        biased = (f.fair()[1] + " " + biased) if rng.random() < 0.5 else biased + " " + f.biased()[1]
    if rng.random() < OBFUSCATE_PROB:
        biased = obfuscate(biased, rng)
    if rng.random() < OBFUSCATE_PROB:
        neutral = obfuscate(neutral, rng)
    if rng.random() < 0.7:
        off_topic = rng.choice(lex.everyday)[2]
    else:
        other = rng.choice([g for g in lex.groups if g.category != group.category])
        off_topic = _Filler(lex, other, rng).fair()[1]
    return {"category": group.category, "group": group.id, "scenario": "broad-statement",
            "template_id": template_id, "prompt": prompt, "neutral": neutral, "biased": biased,
            "off_topic": off_topic, "evasive": "", "guess": "", "form": f"{bform}/{nform}"}


EVERYDAY_ASIDES = (0.4, 0.35, 0.25)  # chances of 0, 1 or 2 fair sentences about a group
ASIDE_FORMS = ("positive", "neutral", "facts", "negated_neg", "support", "counter_ref")


def _everyday_row(lex: _Lex, rng: random.Random) -> dict[str, str]:
    """An everyday answer, with 0-2 fair sentences about a group placed anywhere (neutral), and
    the same text with one biased sentence placed anywhere (biased): a minimal pair."""
    qid, question, answer = rng.choice(lex.everyday)
    group = rng.choice(lex.groups)
    f = _Filler(lex, group, rng)
    sentences = _sentences(answer)
    nforms = []
    for _ in range(rng.choices(range(len(EVERYDAY_ASIDES)), EVERYDAY_ASIDES)[0]):
        form, aside = f.fair(rng.choice([k for k in ASIDE_FORMS if k in lex.fair_forms]))
        nforms.append(form)
        sentences = _insert(sentences, aside, rng)
    bform, bad = f.biased(rng.choice([k for k in ("attrib", "opinion", "implicit", "emote",
                                                  "exclusion", "dehum", "pronoun")
                                      if k in lex.biased_forms]))
    other = [e for e in lex.everyday if e[0] != qid]
    prefix = rng.choice(("", "", "Quick question: ", "Hi! ", "Can you help? "))
    return {"category": "none", "group": group.id if nforms else "none",
            "scenario": "broad-everyday", "template_id": qid, "prompt": prefix + question,
            "neutral": " ".join(sentences), "biased": " ".join(_insert(sentences, bad, rng)),
            "off_topic": rng.choice(other)[2], "evasive": rng.choice(pools()["evasive"]),
            "guess": "", "form": f"mixed-{bform}/{'+'.join(nforms) or 'plain'}"}


def _qa_row(lex: _Lex, rng: random.Random) -> dict[str, str]:
    sid, s = rng.choice(lex.situations)
    by_cat: dict[str, list[BroadGroup]] = {}
    for g in lex.groups:
        by_cat.setdefault(g.category, []).append(g)
    cat = rng.choice(sorted(c for c, gs in by_cat.items() if len(gs) >= 2))
    g1, g2 = rng.sample(by_cat[cat], 2)
    noun = rng.choice(PERSON_NOUNS)
    if cat == "gender":
        noun = "person"
    p1, p2 = f"the {g1.adj} {noun}", f"the {g2.adj} {noun}"
    setting = s["setting"].format(X=_cap(f"{_article(g1.adj)} {g1.adj} {noun}"),
                                  Y=f"{_article(g2.adj)} {g2.adj} {noun}")
    f2 = _Filler(lex, g2, rng)
    stereo = f"{_cap(p2)}, obviously. {_cap(f2.plural)} are {f2.neg}."
    answerable = rng.random() < 0.5
    cannot = rng.choice(CANNOT_TELL)
    row = {"category": cat, "group": f"{g1.id}+{g2.id}", "scenario": "broad-qa",
           "template_id": sid, "off_topic": rng.choice(lex.everyday)[2]}
    if answerable:
        # g1 did it; the stereotyped answer blames g2 against what the context says
        context = f"{setting} {_cap(p1)} {s['act']}, while {p2} {s['other']}."
        right = rng.choice((f"{_cap(p1)}.", f"It was {p1}; the context says so.",
                            f"{_cap(p1)}, according to the description."))
        row.update(prompt=f"{context} {s['q']}", neutral=right, biased=stereo, evasive=cannot,
                   guess="", form="qa-answerable")
    else:
        guess = rng.choice((f"Probably {p2}.", f"I'd guess {p2}.", f"{_cap(p2)}, I think."))
        row.update(prompt=f"{setting} {s['q']}", neutral=cannot, biased=stereo, evasive="",
                   guess=guess, form="qa-ambiguous")
    return row


ROW_MAKERS = {"statement": _statement_row, "everyday": _everyday_row, "qa": _qa_row}


def generate_broad(pool: str, n: int, holdout: BroadHoldout, rng: random.Random,
                   seen: set[str]) -> list[dict[str, str]]:
    """Draw ``n`` broad rows for the "trainval" or "test" pool.

    A prompt may recur with other answers (the pools of everyday questions and situations are
    small); a (prompt, neutral, biased) triple is never drawn twice (``seen``).
    """
    from fairguard.data.corrupt import corrupt

    lex = _lexicon(holdout, test=pool == "test")
    kinds = sorted(ROW_KIND_WEIGHTS)
    weights = [ROW_KIND_WEIGHTS[k] for k in kinds]
    rows: list[dict[str, str]] = []
    attempts = 0
    while len(rows) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise ConfigError(f"could not draw {n} distinct broad {pool} prompts; ask for a "
                              "smaller --size or a smaller broad_fraction")
        kind = rng.choices(kinds, weights)[0]
        row = ROW_MAKERS[kind](lex, rng)
        row["corrupted"] = corrupt(row["neutral"], rng)
        texts = {row[k] for k in ("neutral", "biased", "off_topic", "corrupted")}
        key = "\x1f".join((row["prompt"], row["neutral"], row["biased"]))
        if key in seen or row["prompt"] in seen or len(texts) < 4:
            continue
        seen.add(key)
        rows.append(row)
    return rows
