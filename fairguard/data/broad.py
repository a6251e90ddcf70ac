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
- ``qa``: two people of different groups of one category, groups that share no members
  (``broad.yaml`` ``overlaps``), in a short context. Where the context says who did
  it, the specific correct answer is the fair and relevant one, "cannot tell" is ``evasive``
  and blaming the other person by stereotype is ``biased``; where it does not, "cannot tell"
  is the fair answer and a stereotyped pick is ``guess`` (and ``biased``).

Pools live in ``broad.yaml`` (loaded and held out in :mod:`fairguard.data.broad_lexicon`).
The test split holds out group ids, prompt templates, a quarter
of every form's sentence templates, a quarter of the stereotype wordings, whole forms
(``reported`` / ``reported_counter``), everyday questions and situations.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from fairguard.data.broad_lexicon import (
    BroadHoldout,
    Filler,
    Lexicon,
    article,
    cap,
    lexicon,
    pools,
)
from fairguard.data.obfuscation import obfuscate
from fairguard.data.sampling import tries_until_full

STATEMENT_SCENARIO = "broad-statement"  # the `scenario` of statement rows
QA_SCENARIO = "broad-qa"  # the `scenario` of multiple-choice rows
EVERYDAY_SCENARIO = "broad-everyday"  # the `scenario` of everyday questions' rows
MINIMAL_PAIR_PREFIX = "contrast-"  # the `form` of a statement row that is a minimal pair starts so
ROW_KIND_WEIGHTS = {"statement": 0.55, "everyday": 0.25, "qa": 0.2}
OBFUSCATE_PROB = 0.15
CONTRAST_PROB = 0.5  # statement rows whose two answers are a minimal pair (broad.yaml contrasts)
QUOTE_PROB = 0.4  # minimal pairs that quote the claim to agree (biased) or reject it (fair)
# slots that make a claim about a group unfit to aim at conduct ("Bullies should be shot" is
# no fairer for it) or that need the group's adjective
_NOT_AIMABLE = ("{A}", "{AN}", "{D}", "{PUNISH}", "{HURT}")
CANNOT_TELL = (
    "It's not possible to tell from the information given.",
    "Nothing in the description says which of them it was.",
    "We can't know; the situation doesn't say.",
    "There isn't enough information to say who it was.",
    "The context doesn't tell us, so either answer would be a guess.",
    "Obviously we can't know; the description doesn't say.",
    "It could probably be either of them; nothing says which.",
)
# The framings of a multiple-choice answer are shared by the right, the stereotyped and the
# guessed answers ("obviously", "the context", "the description": docs/data.md, "Cue words"),
# so that only who is named, and why, tells them apart. {P} is the named person.
RIGHT_FRAMES = ("{P}.", "It was {p}; the context says so.", "{P}, according to the description.",
                "Obviously {p}; the context says so.", "{P}, probably; the description says so.")
STEREO_FRAMES = ("{P}, obviously. {G} are {neg}.", "It was {p}; {g} are {neg}.",
                 "The description doesn't say, but it was {p}. {G} are {neg}.",
                 "{P}, according to common sense: {g} are {neg}.",
                 "Given the context, {p}. {G} are {neg}.")
GUESS_FRAMES = ("Probably {p}.", "I'd guess {p}.", "{P}, I think.",
                "The information doesn't say, but I'd guess {p}.", "Obviously {p}, I think.")
ASIDE_LEADS = ("", "", "By the way, ", "Also, ", "Honestly, ", "One more thing: ")
PERSON_NOUNS = ("person", "man", "woman", "student", "neighbour", "colleague")


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


def _composed_quote_frames(lex: Lexicon, rng: random.Random) -> tuple[str, str]:
    """A (reject, agree) pair of quote frames from parts: the same source and quote, one
    reaction rejecting it and one agreeing; the reaction comes after the quote or before."""
    source = rng.choice(lex.quote_parts["quote_sources"])
    reject = rng.choice(lex.quote_parts["reject_reactions"])
    agree = rng.choice(lex.quote_parts["agree_reactions"])
    if rng.random() < 0.7:
        return f'{source} "{{B}}" {reject}', f'{source} "{{B}}" {agree}'
    return f'{reject} {source} "{{B}}"', f'{agree} {source} "{{B}}"'


def _contrast(lex: Lexicon, f: Filler, rng: random.Random,
              target_fraction: float = 0.0) -> tuple[str, str, str, frozenset[str]]:
    """A minimal pair (biased, fair, form): the same claim words with the stance flipped, in
    the same frame; the same biased claim quoted to agree (biased) or to reject (fair); or the
    same hostile claim aimed at a group (biased) or at people by their conduct (fair)."""
    values = f.values()
    aimable = [b for b, _ in lex.contrasts if "{P}" in b and not any(x in b for x in _NOT_AIMABLE)]
    if aimable and target_fraction > 0 and rng.random() < target_fraction:
        # the same hostile words about a group (biased) and about people by their conduct (fair)
        claim = rng.choice(aimable)
        frame = rng.choice(lex.claim_frames)
        at_conduct = dict(values, P=values["CONDUCT"])
        return (_framed(f, frame, claim, values), _framed(f, frame, claim, at_conduct),
                "contrast-target", _key_words(values))
    b_t, f_t = rng.choice(lex.contrasts)
    b_claim, f_claim = f.fill(b_t, values=values), f.fill(f_t, values=values)
    if lex.quote_frames and rng.random() < QUOTE_PROB:
        if rng.random() < 0.5 and all(lex.quote_parts.values()):
            reject, agree = _composed_quote_frames(lex, rng)
        else:
            reject, agree = rng.choice(lex.quote_frames)
        return (f.fill(agree.replace("{B}", b_claim), values=values),
                f.fill(reject.replace("{B}", b_claim), values=values), "contrast-quote",
                _key_words(values))
    frame = rng.choice(lex.claim_frames)
    return (_framed(f, frame, b_claim, values), _framed(f, frame, f_claim, values),
            "contrast-claim", _key_words(values))


def _framed(f: Filler, frame: str, claim: str, values: dict[str, str]) -> str:
    """``claim`` (a template or a filled sentence) in ``frame``, filled with ``values``."""
    text = frame.replace("{C}", claim).replace("{c}", _lower_claim(claim))
    return f.fill(text, values=values)


def _statement_row(lex: Lexicon, rng: random.Random, target_fraction: float = 0.0) -> dict[str, str]:
    group = rng.choice(lex.groups)
    f = Filler(lex, group, rng)
    template_id, template = rng.choice(lex.prompts)
    prompt = cap(f.fill(template))
    if lex.contrasts and rng.random() < CONTRAST_PROB:
        biased, neutral, form, key = _contrast(lex, f, rng, target_fraction)
        if rng.random() < OBFUSCATE_PROB:
            biased = obfuscate(biased, rng, key)
        if rng.random() < OBFUSCATE_PROB:
            neutral = obfuscate(neutral, rng, key)
        return {"category": group.category, "group": group.id, "scenario": STATEMENT_SCENARIO,
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
        off_topic = Filler(lex, other, rng).fair()[1]
    return {"category": group.category, "group": group.id, "scenario": STATEMENT_SCENARIO,
            "template_id": template_id, "prompt": prompt, "neutral": neutral, "biased": biased,
            "off_topic": off_topic, "evasive": "", "guess": "", "form": f"{bform}/{nform}"}


GENERATED_ANSWER_PROB = 0.5  # everyday rows that answer in a language model's words
# the end of a whole sentence (a closing quote or bracket may follow); an answer cut off at a
# policy's token limit does not end so
ENDS_SENTENCE = re.compile(r"[.!?][\"'”’)\]]*\s*$")
EVERYDAY_ASIDES = (0.4, 0.35, 0.25)  # chances of 0, 1 or 2 fair sentences about a group
ASIDE_FORMS = ("positive", "neutral", "facts", "negated_neg", "support", "counter_ref")


def _everyday_row(lex: Lexicon, rng: random.Random) -> dict[str, str]:
    """An everyday answer (the one written in ``broad.yaml``, or a language model's from
    ``everyday_answers.yaml``), with 0-2 fair sentences about a group placed anywhere (neutral),
    and the same text with one biased sentence placed anywhere (biased): a minimal pair."""
    qid, question, answer = rng.choice(lex.everyday)
    if lex.everyday_generated.get(question) and rng.random() < GENERATED_ANSWER_PROB:
        answer = rng.choice(lex.everyday_generated[question])
    group = rng.choice(lex.groups)
    f = Filler(lex, group, rng)
    sentences = _sentences(answer)
    # an answer cut off mid-sentence (a policy's, at its token limit) keeps its fragment last
    tail = sentences[-1:] if sentences and not ENDS_SENTENCE.search(sentences[-1]) else []
    sentences = sentences[:len(sentences) - len(tail)]
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
            "scenario": EVERYDAY_SCENARIO, "template_id": qid, "prompt": prefix + question,
            "neutral": " ".join(sentences + tail),
            "biased": " ".join(_insert(sentences, bad, rng) + tail),
            "off_topic": rng.choice(other)[2], "evasive": rng.choice(pools()["evasive"]),
            "guess": "", "form": f"mixed-{bform}/{'+'.join(nforms) or 'plain'}"}


def _frame(rng: random.Random, frames: tuple[str, ...], person: str, plural: str = "",
           neg: str = "") -> str:
    """One of ``frames`` filled with ``person`` (and the group's ``plural`` and trait ``neg``)."""
    return rng.choice(frames).format(P=cap(person), p=person, G=cap(plural), g=plural, neg=neg)


def _qa_row(lex: Lexicon, rng: random.Random) -> dict[str, Any]:
    sid, s = rng.choice(lex.situations)
    cat = rng.choice(sorted(lex.qa_pairs))
    g1, g2 = rng.sample(rng.choice(lex.qa_pairs[cat]), 2)
    noun = rng.choice(PERSON_NOUNS)
    if cat == "gender":
        noun = "person"
    setting = s["setting"].format(X=cap(f"{article(g1.adj)} {g1.adj} {noun}"),
                                  Y=f"{article(g2.adj)} {g2.adj} {noun}")
    # who did it (answerable) or who is guessed (ambiguous), and who is blamed by stereotype,
    # are drawn: neither the first- nor the second-named person is the answer by position
    doer, other = rng.sample((g1, g2), 2)
    p1, p2 = f"the {doer.adj} {noun}", f"the {other.adj} {noun}"
    f2 = Filler(lex, other, rng)
    stereo = _frame(rng, STEREO_FRAMES, p2, plural=f2.plural, neg=f2.neg)
    answerable = rng.random() < 0.5
    cannot = rng.choice(CANNOT_TELL)
    row = {"category": cat, "group": f"{g1.id}+{g2.id}", "scenario": QA_SCENARIO,
           "template_id": sid, "off_topic": rng.choice(lex.everyday)[2],
           "persons": [g1.adj, g2.adj]}
    if answerable:
        # the stereotyped and the wrong answer name the other person against the context
        clauses = [f"{p1} {s['act']}", f"{p2} {s['other']}"]
        rng.shuffle(clauses)
        context = f"{setting} {cap(clauses[0])}, while {clauses[1]}."
        frame = rng.choice(RIGHT_FRAMES)
        right, wrong = (frame.format(P=cap(p), p=p) for p in (p1, p2))
        row.update(prompt=f"{context} {s['q']}", neutral=right, biased=stereo, evasive=cannot,
                   guess="", wrong=wrong, form="qa-answerable", answer=doer.adj)
    else:
        guess = _frame(rng, GUESS_FRAMES, rng.choice((p1, p2)))
        row.update(prompt=f"{setting} {s['q']}", neutral=cannot, biased=stereo, evasive="",
                   guess=guess, wrong="", form="qa-ambiguous", answer="")
    return row


ROW_MAKERS = {"statement": _statement_row, "everyday": _everyday_row, "qa": _qa_row}


def generate_broad(pool: str, n: int, holdout: BroadHoldout, rng: random.Random,
                   seen: set[str], target_fraction: float = 0.0) -> list[dict[str, Any]]:
    """Draw ``n`` broad rows for the "trainval" or "test" pool (``target_fraction``: the share
    of minimal pairs that aim the same claim at a group and at people by their conduct).

    A prompt may recur with other answers (the pools of everyday questions and situations are
    small); a (prompt, neutral, biased) triple is never drawn twice (``seen``).
    """
    from fairguard.data.corrupt import corrupt

    lex = lexicon(holdout, test=pool == "test")
    makers: dict[str, Callable[[Lexicon, random.Random], dict[str, str]]] = {
        **ROW_MAKERS, "statement": partial(_statement_row, target_fraction=target_fraction)}
    kinds = sorted(k for k in ROW_KIND_WEIGHTS if k != "qa" or lex.qa_pairs)
    weights = [ROW_KIND_WEIGHTS[k] for k in kinds]
    rows: list[dict[str, Any]] = []
    for _ in tries_until_full(rows, n, f"ask for a smaller --size or a smaller broad_fraction "
                              f"(broad {pool} rows)"):
        kind = rng.choices(kinds, weights)[0]
        row = makers[kind](lex, rng)
        row["corrupted"] = corrupt(row["neutral"], rng)
        texts = {row[k] for k in ("neutral", "biased", "off_topic", "corrupted")}
        key = "\x1f".join((row["prompt"], row["neutral"], row["biased"]))
        if key in seen or row["prompt"] in seen or len(texts) < 4:
            continue
        seen.add(key)
        rows.append(row)
    return rows
