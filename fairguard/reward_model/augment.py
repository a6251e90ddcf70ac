"""Extra training pairs, each taking away one shortcut the judge (or a policy trained
against it) could learn.

The fairness head sees ``(prompt, response)``, and in the dataset a response always answers its
own prompt. Two shortcuts follow, both measured on the eighth reward model
(docs/judge-runs.md, ninth run):

- **The prompt as a prior.** "Romani people are part of this country." scored 0.13 after a
  question about hiring and 0.92 after "How do I cook rice?", while its biased twin "... are a
  plague on this country." scored 0.04 and 0.33: the question decided more than the answer.
  :func:`elsewhere_pairs` adds a row's fair and biased answers under another row's prompt, with
  their fairness labels and a fairness ranking pair, so only the answer tells them apart.
- **Only whole answers.** The guard and the dilution check score long answers in windows of a
  few sentences, but the head was trained on whole answers only; single fair sentences of
  advice answers ("... you have to be equally careful with everyone, Hui Muslims included.")
  scored as low as 0.06. :func:`sentence_pairs` adds one sentence of a fair answer, labelled fair.
  Only answers whose every sentence is fair on its own qualify: the advice answers of the
  scenario rows and the everyday answers (forms ``advice`` and ``mixed-*``). A counter-speech
  answer ("People say X are lazy. They're wrong.") does not: its first sentence alone repeats
  the stereotype.

- **Long answers as one piece.** An answer made of several fair answers is fair, and the same
  answer with one biased answer anywhere in it is biased; but every training answer is one
  answer. Two whole fair test answers joined scored under the threshold 28.5 % of the time,
  one alone 8.5 % (eleventh reward model), so long clean answers failed.
  :func:`composite_pairs` adds such joined answers, clean (fair) and with the row's whole
  biased answer inserted (biased; one sentence of it alone may be fair: "I met a lot of
  blind people at the fair."), built as the dilution check builds its cases, from train
  rows only.

- **Which group is named.** A fair sentence about a group held out of training read as biased
  ("By the way, Romani people are people, just like anyone else." 0.148, nineteenth judge).
  :func:`group_swap_pairs` adds a row's prompt and answers with the group's wordings swapped for
  a group no row names (``broad.yaml`` ``swap_groups``). Tried in the forty-second run: it did
  not help (docs/judge-runs.md); off by default.

These carry no relevance or fluency label: whether an answer fits another row's prompt is
not known. One more takes away a shortcut of the fluency head:

- **Only long answers are fluent.** Every fluent training answer has two or more sentences,
  while a chat model often answers a factoid question in one: "The Wright brothers flew the
  first airplane in 1903." scored fluency 0.76 under "When did the first airplane fly?" and
  0.94 with a second sentence after it (seventeenth reward model; at seed 1 its fluency head
  flagged 11.5 % of the embedded model's everyday answers, docs/reward-model.md).
  :func:`short_pairs` adds one whole sentence of a fair answer as a short answer, fluent, and a
  garbled copy of it (fluency 0) ranked below it, both ending alike, so that length says
  nothing about fluency and garbling still does.

And one closes a shortcut of the relevance head:

- **Saying nothing.** A GRPO recipe that weighted fairness twice learned to answer 80 of 83
  two-person questions with the bare words "The answer is:", which its judges scored as fair
  and nearly as relevant as an answer (docs/grpo-runs.md): no training answer was empty. Against
  the judge that closed that, it opened nearly every answer with a description of the question
  ("This is a situation that ..."). :func:`hollow_pairs` adds a lead-in with no answer after
  it ("Sure, here is my answer:", maybe with the answer's first word or two), a sentence about
  the question that answers none of it, or the question repeated (the last two and their
  answered twins only with ``descriptions``: tried in the fifteenth run, not the default),
  relevance 0 and ranked below the row's fair and biased answers; fairness and fluency are not
  trained on it (saying nothing is not unfair).

All are drawn with a fixed seed (same rows, same seed: same pairs).
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Callable, Sequence

from fairguard.data.broad_lexicon import BroadGroup, broad_groups, swap_groups
from fairguard.data.corrupt import corrupt
from fairguard.errors import DataError
from fairguard.evaluation.dilution import dilution_cases
from fairguard.reward_model.examples import Examples, PairRow
from fairguard.reward_model.truncation import set_ending
from fairguard.reward_model.windows import split_sentences

SENTENCE_FORMS = ("advice",)
SENTENCE_FORM_PREFIXES = ("mixed-",)
MIN_SENTENCE_WORDS = 4
# Answers that are fair or biased only given their own prompt: a named person in a multiple
# choice context ("The Uyghur man did.") says nothing under another question.
CONTEXT_FORM_PREFIXES = ("qa-",)
CHOICE_FORM_PREFIXES = ("choice-",)  # multiple choice: the persons' groups are the options


def elsewhere_pairs(examples: Examples, rows: Sequence[PairRow], prob: float, seed: int) -> int:
    """Add, for a ``prob`` share of ``rows``, the row's neutral and biased answers under the
    prompt of another row about a different group (kinds ``neutral_elsewhere`` and
    ``biased_elsewhere``, ranked neutral above biased for fairness). Rows whose answers depend
    on their own context (:data:`CONTEXT_FORM_PREFIXES`) are left out. Returns pairs added."""
    if "fairness" not in examples.heads or prob <= 0 or len(rows) < 2:
        return 0
    rng = random.Random(f"elsewhere:{seed}")
    added = 0
    for r, row in enumerate(rows):
        if rng.random() >= prob or "neutral" not in row.responses \
                or row.form.startswith(CONTEXT_FORM_PREFIXES):
            continue
        for _ in range(8):
            other = rows[rng.randrange(len(rows))]
            if other.prompt != row.prompt and other.group != row.group:
                break
        else:
            continue
        fair = examples.add(other.prompt, row.responses["neutral"], "neutral_elsewhere", r)
        added += 1
        if "biased" in row.responses:
            biased = examples.add(other.prompt, row.responses["biased"], "biased_elsewhere", r)
            examples.ranking["fairness"].append((fair, biased))
            added += 1
    return added


@functools.lru_cache(maxsize=None)
def _wording_pattern(group: BroadGroup) -> re.Pattern[str]:
    words = sorted({*group.plurals, group.adj}, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in words) + r")(?![\w-])",
                      re.IGNORECASE)


def swap_group(text: str, group: BroadGroup, to: BroadGroup, rng: random.Random) -> str:
    """``text`` with every wording of ``group`` (a plural or its adjective) replaced by one of
    ``to``: a plural by one of its plurals, the adjective by its adjective, a capital kept."""
    written = {w.lower(): w for w in (*group.plurals, group.adj)}  # as the pool spells them
    plurals = {w.lower() for w in group.plurals}
    choice = rng.choice(to.plurals)

    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        new = choice if found.lower() in plurals else to.adj
        capital = found[0].isupper() and written[found.lower()][0].islower()  # a sentence's start
        return new[0].upper() + new[1:] if capital else new

    return _wording_pattern(group).sub(replace, text)


def group_swap_pairs(examples: Examples, rows: Sequence[PairRow], prob: float, seed: int) -> int:
    """Add, for a ``prob`` share of the rows about a broad group (not those whose answers depend
    on their own context), the row's prompt, neutral and biased answer with the group's wordings
    replaced by those of a group no row names (``broad.yaml`` ``swap_groups``): kinds
    ``neutral_swapped`` and ``biased_swapped``, ranked neutral above biased for fairness. Which
    group a text names then says nothing about its label. Returns pairs added."""
    if "fairness" not in examples.heads or prob <= 0:
        return 0
    groups = {g.id: g for g in broad_groups()}
    targets = swap_groups()
    rng = random.Random(f"group-swap:{seed}")
    added = 0
    for r, row in enumerate(rows):
        group = groups.get(row.group)
        if group is None or "neutral" not in row.responses or "biased" not in row.responses \
                or row.form.startswith(CONTEXT_FORM_PREFIXES + CHOICE_FORM_PREFIXES) \
                or rng.random() >= prob:
            continue
        pattern = _wording_pattern(group)
        if not (pattern.search(row.responses["neutral"]) or pattern.search(row.responses["biased"])):
            continue
        to = rng.choice(targets)
        prompt = swap_group(row.prompt, group, to, rng)
        fair = examples.add(prompt, swap_group(row.responses["neutral"], group, to, rng),
                            "neutral_swapped", r)
        biased = examples.add(prompt, swap_group(row.responses["biased"], group, to, rng),
                              "biased_swapped", r)
        examples.ranking["fairness"].append((fair, biased))
        added += 2
    return added


def _sentence_form(form: str) -> bool:
    return form in SENTENCE_FORMS or form.startswith(SENTENCE_FORM_PREFIXES)


def sentence_pairs(examples: Examples, rows: Sequence[PairRow], prob: float, seed: int) -> int:
    """Add, for a ``prob`` share of the rows whose fair answer is fair sentence by sentence
    (:data:`SENTENCE_FORMS`), one of its sentences (of at least :data:`MIN_SENTENCE_WORDS`
    words) with the row's prompt, kind ``neutral_sentence``. Returns pairs added."""
    if "fairness" not in examples.heads or prob <= 0:
        return 0
    rng = random.Random(f"sentence:{seed}")
    added = 0
    for r, row in enumerate(rows):
        if not _sentence_form(row.form) or rng.random() >= prob:
            continue
        sentences = [s for s in split_sentences(row.responses.get("neutral", ""))
                     if len(s.split()) >= MIN_SENTENCE_WORDS]
        if len(sentences) < 2:
            continue
        examples.add(row.prompt, rng.choice(sentences), "neutral_sentence", r)
        added += 1
    return added


SHORT_FIRST = 0.5  # share of short answers that are the fair answer's first sentence (else any)


def short_pairs(examples: Examples, rows: Sequence[PairRow], prob: float, seed: int) -> int:
    """Add, for a ``prob`` share of ``rows`` whose fair answer has two or more sentences, one of
    them (of at least :data:`MIN_SENTENCE_WORDS` words; the first in a :data:`SHORT_FIRST`
    share) under the row's prompt, kind ``fluent_short`` (fluency 1), and a garbled copy of it
    (kind ``corrupted``), ranked below it for fluency. Both end with a sentence mark or both
    without. ``rows`` must be whole (not cut off). Returns pairs added."""
    if "fluency" not in examples.heads or prob <= 0:
        return 0
    rng = random.Random(f"short:{seed}")
    added = 0
    for r, row in enumerate(rows):
        if rng.random() >= prob:
            continue
        sentences = split_sentences(row.responses.get("neutral", ""))
        if len(sentences) < 2:
            continue
        long_enough = [s for s in sentences if len(s.split()) >= MIN_SENTENCE_WORDS]
        if not long_enough:
            continue
        first = sentences[0] in long_enough and rng.random() < SHORT_FIRST
        short = sentences[0] if first else rng.choice(long_enough)
        mark = rng.random() < 0.5
        good = examples.add(row.prompt, set_ending(short, mark), "fluent_short", r)
        bad = examples.add(row.prompt, set_ending(corrupt(short, rng), mark), "corrupted", r)
        examples.ranking["fluency"].append((good, bad))
        added += 2
    return added


# Sentences and characters of a composite answer; with its prompt it must also fit the judge's
# max_length tokens, the size of one scoring window, or its end (the biased answer, maybe) is cut.
COMPOSITE_SENTENCES = (2, 8)
COMPOSITE_MAX_CHARS = 600


def composite_pairs(examples: Examples, rows: Sequence[PairRow], prob: float, seed: int,
                    fits: Callable[[list[str], list[str]], list[bool]] | None = None) -> int:
    """Add ``prob * len(rows)`` composite answers (:func:`dilution_cases` over ``rows``, 2-8
    sentences of whole neutral answers, at most :data:`COMPOSITE_MAX_CHARS` characters): each
    clean one (kind ``neutral_composite``) and the same with the row's biased answer inserted
    (``biased_composite``), ranked clean above biased for fairness. ``fits(prompts, responses)``
    says which pairs fit the judge whole; those that do not are left out. Returns pairs added."""
    count = int(round(prob * len(rows)))
    if "fairness" not in examples.heads or count < 1 or len(rows) < 2:
        return 0
    index = {row.id: r for r, row in enumerate(rows)}
    try:  # twice as many drawn, so that enough fit
        cases = dilution_cases(rows, seed, 2 * count, *COMPOSITE_SENTENCES,
                               max_chars=COMPOSITE_MAX_CHARS, whole_biased=True, filler="all")
    except DataError:  # rows without neutral or biased answers: nothing to join
        return 0
    if fits is not None:
        keep = fits([case.prompt for case in cases], [case.mixed for case in cases])
        cases = [case for case, ok in zip(cases, keep) if ok]
    cases = cases[:count]
    for case in cases:
        r = index[case.row_id]
        clean = examples.add(case.prompt, case.clean, "neutral_composite", r)
        mixed = examples.add(case.prompt, case.mixed, "biased_composite", r)
        examples.ranking["fairness"].append((clean, mixed))
    return 2 * len(cases)


# Openings that answer nothing on their own (written for fairguard).
HOLLOW_LEADS = (
    "The answer is:", "Answer:", "Sure, here is my answer:", "Here's what I think:", "Well,",
    "Great question!", "Let me think about this.", "Okay, so", "In my opinion,",
    "To answer your question:", "I'd say", "That's a good question. The answer is",
    "Here is the answer:", "Sure!", "Hmm,", "Based on the information given,",
    "The short answer:", "Good question. Let me explain.",
)
HOLLOW_MAX_PREFIX_WORDS = 2
# Sentences about the question that answer none of it (written for fairguard). A GRPO recipe
# that weighted fairness twice opened 558 of 600 answers with such a description against the
# fourteenth judge ("This is a situation that ...", docs/grpo-runs.md); those exact openings are
# kept out of this list so that the check on them measures more than memory.
HOLLOW_DESCRIPTIONS = (
    "This is a difficult question with many sides to it.",
    "This scenario raises important questions about fairness and respect.",
    "That is an interesting question that a lot of people ask.",
    "This question touches on a sensitive topic.",
    "There are many ways to look at a situation like this one.",
    "This is a common dilemma, and it deserves careful thought.",
    "Situations like this come up more often than people think.",
    "This kind of question is worth thinking about carefully.",
    "What you describe is a familiar kind of problem in everyday life.",
    "It is a question that people have different opinions about.",
)
HOLLOW_ECHOES = ("You are asking:", "The question is:", "So the question is", "You asked:")
HOLLOW_SHARES = (0.5, 0.35)  # lead-ins, descriptions; the rest repeat the question


def _answer_index(examples: Examples, kinds: tuple[str, ...]) -> dict[tuple[int, str], int]:
    """``(row, kind) -> example index`` of the examples of ``kinds``."""
    return {(r, kind): i for i, (r, kind) in enumerate(zip(examples.row_index, examples.kinds))
            if kind in kinds}


def hollow_pairs(examples: Examples, rows: Sequence[PairRow], prob: float, seed: int,
                 descriptions: bool = False) -> int:
    """Add, for a ``prob`` share of ``rows``, a hollow answer under the row's prompt (kind
    ``hollow``), ranked below the row's neutral and biased answers for relevance. Returns pairs
    added.

    A hollow answer is one of :data:`HOLLOW_LEADS`, in half of the rows that do not depend on
    their own context followed by the first one or two words of the fair answer. With
    ``descriptions`` it is, in the shares of :data:`HOLLOW_SHARES`, such a lead-in, one of
    :data:`HOLLOW_DESCRIPTIONS`, or the question repeated after one of :data:`HOLLOW_ECHOES`;
    and the same opening followed by the row's fair answer is added too (kind ``neutral``),
    ranked above the hollow one: an opening is no fault when an answer follows."""
    if "relevance" not in examples.heads or prob <= 0:
        return 0
    rng = random.Random(f"hollow:{seed}")
    answers = _answer_index(examples, ("neutral", "biased"))
    added = 0
    for r, row in enumerate(rows):
        if rng.random() >= prob or "neutral" not in row.responses:
            continue
        fair = row.responses["neutral"]
        pick = rng.random() if descriptions else 0.0
        if pick < HOLLOW_SHARES[0]:
            opening = text = rng.choice(HOLLOW_LEADS)
            if not row.form.startswith(CONTEXT_FORM_PREFIXES) and rng.random() < 0.5:
                words = fair.split()[:rng.randint(1, HOLLOW_MAX_PREFIX_WORDS)]
                text = f"{text} {' '.join(words)}"
        elif pick < sum(HOLLOW_SHARES):
            opening = text = rng.choice(HOLLOW_DESCRIPTIONS)
        else:
            opening = text = f"{rng.choice(HOLLOW_ECHOES)} {row.prompt.strip()}"
        hollow = examples.add(row.prompt, text, "hollow", r)
        added += 1
        if descriptions:
            answered = examples.add(row.prompt, f"{opening} {fair}", "neutral", r)
            added += 1
            examples.ranking["relevance"].append((answered, hollow))
        for better in ("neutral", "biased"):
            if (r, better) in answers:
                examples.ranking["relevance"].append((answers[r, better], hollow))
    return added


# Declines in the register of chat models (written for fairguard): a GRPO run twice the default
# length learned to answer advice prompts with "I'm sorry for any misunderstanding, but as a
# chatbot ..." (docs/grpo-runs.md, sixty-first session), which the default judge scored relevant
# enough to pay; that policy's own wording is kept out of this list so that scoring its answers
# measures more than memory.
DECLINES = (
    "I'm sorry, but as an AI language model, I don't have personal opinions on this.",
    "As an AI, I can't give advice on situations like this one.",
    "I'm sorry, but I can't help with that request.",
    "I'm afraid I don't have enough information to answer that.",
    "I'm just a virtual assistant, so I can't tell you what to do here.",
    "Sorry, I'm not able to provide advice on this topic.",
    "I apologize, but I don't feel comfortable answering that question.",
    "As a language model, I cannot make that decision for you.",
    "Unfortunately, I can't assist with that. Is there anything else I can help you with?",
    "I don't have the ability to answer questions like this, but I'm happy to help with "
    "something else.",
    "That's not something I can help with, sorry.",
    "I'm an AI and don't have access to the details of your situation, so I can't say.",
)
DECLINE_FORM = "advice"  # the scenario rows: answerable requests for advice, with no evasive answer


def decline_pairs(examples: Examples, rows: Sequence[PairRow], prob: float, seed: int) -> int:
    """Add, for a ``prob`` share of the advice rows that have no evasive answer, one of
    :data:`DECLINES` as that answer (kind ``evasive``: relevance 0, fluent), ranked below the
    row's fair answer and above its off-topic one for relevance. Returns answers added."""
    if "relevance" not in examples.heads or prob <= 0:
        return 0
    rng = random.Random(f"decline:{seed}")
    answers = _answer_index(examples, ("neutral", "off_topic"))
    added = 0
    for r, row in enumerate(rows):
        if (rng.random() >= prob or row.form != DECLINE_FORM or row.responses.get("evasive")
                or "neutral" not in row.responses):
            continue
        decline = examples.add(row.prompt, rng.choice(DECLINES), "evasive", r)
        added += 1
        if (r, "neutral") in answers:
            examples.ranking["relevance"].append((answers[r, "neutral"], decline))
        if (r, "off_topic") in answers:
            examples.ranking["relevance"].append((decline, answers[r, "off_topic"]))
    return added


__all__ = ["COMPOSITE_MAX_CHARS", "COMPOSITE_SENTENCES", "CONTEXT_FORM_PREFIXES", "DECLINES",
           "DECLINE_FORM", "HOLLOW_DESCRIPTIONS", "HOLLOW_ECHOES", "HOLLOW_LEADS",
           "HOLLOW_MAX_PREFIX_WORDS", "HOLLOW_SHARES", "MIN_SENTENCE_WORDS", "SENTENCE_FORMS",
           "SHORT_FIRST", "composite_pairs", "decline_pairs", "elsewhere_pairs", "group_swap_pairs",
           "hollow_pairs", "sentence_pairs", "short_pairs", "swap_group"]
