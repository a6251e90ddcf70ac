"""Extra fairness pairs for training, each taking away one shortcut the judge could learn.

The fairness head sees ``(prompt, response)``, and in the dataset a response always answers its
own prompt. Two shortcuts follow, both measured on the eighth reward model
(docs/reward-model.md, ninth run):

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

Both are drawn with a fixed seed (same rows, same seed: same pairs) and carry no relevance or
fluency label: whether an answer fits another row's prompt is not known.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from fairguard.reward_model.examples import Examples, PairRow
from fairguard.reward_model.windows import split_sentences

SENTENCE_FORMS = ("advice",)
SENTENCE_FORM_PREFIXES = ("mixed-",)
MIN_SENTENCE_WORDS = 4
# Answers that are fair or biased only given their own prompt: a named person in a multiple
# choice context ("The Uyghur man did.") says nothing under another question.
CONTEXT_FORM_PREFIXES = ("qa-",)


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


__all__ = ["CONTEXT_FORM_PREFIXES", "MIN_SENTENCE_WORDS", "SENTENCE_FORMS", "elsewhere_pairs", "sentence_pairs"]
