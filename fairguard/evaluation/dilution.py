"""Dilution and truncation: is one biased sentence still flagged inside a long, neutral answer?

:func:`dilution_cases` builds mixed answers from dataset rows: one biased passage of a row's
biased answer (usually one sentence; the few sentences that carry the bias together where one
alone does not) placed at a random position among whole neutral answers (the row's own neutral
answer first, then other rows' neutral answers, until the answer holds enough sentences), and
the same answer without it. By default the other answers are long-form ones (advice and
everyday answers): the statement and multiple-choice answers of the broad rows are one claim
about a group or one pick each, and thirty of them in a row read as a list of claims about
many groups rather than as one neutral answer (``filler="all"`` uses them too).
:func:`dilution_report` scores both with any scorer and reports, overall, by length and by the
sentence's position, the share of mixed answers flagged (fairness under the threshold) and the
share of clean ones that pass. A judge that reads only its first ``max_length`` tokens, or
averages a text's parts, misses the sentence in long answers; one that reads every window and
takes the minimum does not. :func:`false_flag_sentences` says what fails the clean answers that
do not pass: the sentence of each that scores lowest alone with the prompt.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from fairguard.data.broad import ENDS_SENTENCE, QA_SCENARIO, STATEMENT_SCENARIO
from fairguard.errors import ArtifactError, ConfigError, DataError
from fairguard.inputs import DEFAULT_MAX_CHARS
from fairguard.reward_model.examples import as_pair_row
from fairguard.reward_model.windows import sentence_spans, split_sentences
from fairguard.scoring import window_tokens_field

# Upper edges (characters of the mixed answer) of the length buckets; the last bucket is open.
LENGTH_EDGES = (600, 1200, 2400, 5000)
POSITIONS = ("start", "middle", "end")  # thirds of the answer's sentences
FILLERS = ("advice", "all")  # which rows' neutral answers surround the biased sentence
SHORT_ANSWER_SCENARIOS = (STATEMENT_SCENARIO, QA_SCENARIO)  # not filler under "advice"
QUOTES = re.compile(r"[\"“”«»]")
SHORT_BIASED = 3  # a biased answer of at most this many sentences is inserted whole
# A sentence that opens by pointing back at the one before it ("They are rude, like the rest of them.").
BACK_REFERENCE = re.compile(r"(?:they|them|their|these|those|he|she|his|her|such people)\b", re.IGNORECASE)

ScoreFn = Callable[[Sequence[str], Sequence[str]], Mapping[str, Any]]


@dataclass(frozen=True)
class DilutionCase:
    """One mixed answer (``mixed``: ``clean`` with ``biased_sentence``, the biased passage,
    inserted before its sentence number ``position``) to ``prompt``, built from dataset row
    ``row_id``."""

    row_id: str
    prompt: str
    mixed: str
    clean: str
    biased_sentence: str
    position: int
    neutral_sentences: int

    @property
    def chars(self) -> int:
        return len(self.mixed)

    @property
    def where(self) -> str:
        """``start``, ``middle`` or ``end``: the third of the answer the biased sentence is in."""
        share = self.position / max(1, self.neutral_sentences)
        return POSITIONS[min(2, int(share * 3))]


def length_bucket(chars: int) -> str:
    """The name of the length bucket ``chars`` falls in ("0-599", ..., "5000+")."""
    low = 0
    for edge in LENGTH_EDGES:
        if chars < edge:
            return f"{low}-{edge - 1}"
        low = edge
    return f"{low}+"


def _names_group(text: str, group: str) -> bool:
    terms = [t.strip().lower() for t in re.split(r"[+,/;]", group) if t.strip()]
    terms += [t[:-1] for t in terms if t.endswith("s") and len(t) > 3]  # "syrians" -> "syrian"
    return any(t in text.lower() for t in terms)


def _biased_passages(row: Any, neutral: set[str]) -> list[str]:
    """The passages of the row's biased answer that carry its bias on their own: usually one
    sentence that no neutral answer uses, preferably one that names the row's group (openers
    and closers are shared with neutral answers; hedges and consequences do not carry the bias
    on their own).

    Where one sentence alone is not biased, the passage holds the sentences that are together:
    a sentence is joined by the next ones that no neutral answer uses and that point back to it
    ("We had Arab people move in downstairs. They are rude, like the rest of them."). An answer
    that quotes someone is biased by what it does with the quote (an endorsement after a quoted
    slur: "Best thing I've heard all week."; a claim reported as true), so its passage is the
    whole answer, as is an answer of at most ``SHORT_BIASED`` sentences (a threat after a fair
    opener: "Syrian people are people, just like anyone else. Syrian people had better watch
    out.")."""
    text = (row.responses.get("biased") or "").strip()
    if not text:
        return []
    sentences = split_sentences(text)
    if QUOTES.search(text) or len(sentences) <= SHORT_BIASED:
        return [text]
    passages = []
    for i, sentence in enumerate(sentences):
        if sentence in neutral or (i and BACK_REFERENCE.match(sentence) and sentences[i - 1] not in neutral):
            continue  # shared with a neutral answer, or the tail of the passage before it
        end = i + 1
        while end < len(sentences) and sentences[end] not in neutral and BACK_REFERENCE.match(sentences[end]):
            end += 1
        passage = " ".join(sentences[i:end])
        if len(passage.split()) >= 3:
            passages.append(passage)
    naming = [p for p in passages if _names_group(p, row.group)]
    return naming or passages


def _neutral_answers(rows: Sequence[Any]) -> list[str]:
    """The distinct neutral answers of ``rows`` (:class:`PairRow`); :class:`DataError` if none."""
    pool = list(dict.fromkeys(a for row in rows if (a := row.responses.get("neutral", "").strip())))
    if not pool:
        raise DataError("the rows have no neutral answers to build mixed answers from; give "
                        "rows of a dataset split (fairguard data build)")
    return pool


def _rows_with_passages(rows: Sequence[Any], whole_biased: bool = False) -> list[tuple[Any, list[str]]]:
    """Each row of ``rows`` (:class:`PairRow`) with its biased passages (:func:`_biased_passages`;
    ``whole_biased``: its whole biased answer), rows with none left out; :class:`DataError` if
    none has any."""
    if whole_biased:
        usable = [(row, [row.responses["biased"].strip()]) for row in rows
                  if row.responses.get("biased", "").strip()]
    else:
        seen = {s for answer in _neutral_answers(rows) for s in split_sentences(answer)}
        usable = [(row, found) for row in rows if (found := _biased_passages(row, seen))]
    if not usable:
        raise DataError("no row has a biased answer with a sentence that its neutral answers "
                        "do not share; give rows with 'biased' answers")
    return usable


def inserted_cases(prompts: Sequence[str], answers: Sequence[str], rows: Iterable[Any],
                   seed: int) -> list[DilutionCase]:
    """One case per answer: the answer (``clean``) with one biased passage of ``rows`` (a
    dataset split, as :func:`dilution_cases` takes; one passage drawn per answer) inserted
    before one of its sentences or after the last, at a uniform random place, its layout kept
    (``mixed``). Same inputs and seed, same cases."""
    if len(prompts) != len(answers):
        raise ConfigError(f"{len(prompts)} prompts for {len(answers)} answers")
    usable = _rows_with_passages([as_pair_row(row) for row in rows])
    rng = random.Random(seed)
    cases = []
    for prompt, answer in zip(prompts, answers):
        row, found = rng.choice(usable)
        biased = rng.choice(found)
        answer = answer.strip()
        spans = sentence_spans(answer)
        position = rng.randint(0, len(spans))
        if position < len(spans):  # before a sentence, the answer's own layout kept
            cut = spans[position][0]
            mixed = answer[:cut] + biased + " " + answer[cut:]
        else:
            mixed = (answer + " " + biased).strip()
        cases.append(DilutionCase(row.id, prompt, mixed, answer, biased, position, len(spans)))
    return cases


def dilution_cases(rows: Iterable[Any], seed: int, n: int, min_sentences: int = 3,
                   max_sentences: int = 30, max_chars: int = DEFAULT_MAX_CHARS,
                   whole_biased: bool = False, filler: str = "advice") -> list[DilutionCase]:
    """``n`` mixed answers built from ``rows`` (one split of a dataset: :class:`PairRow` or dicts
    in the dataset format): each holds whole neutral answers with at least ``min_sentences`` to
    ``max_sentences`` sentences in all (log-uniform, so short and long answers are both common;
    at most ``max_chars`` characters) and one biased passage between two of them at a uniform
    random place: the sentences of the row's biased answer that carry its bias on their own,
    usually one (``whole_biased``: always the row's whole biased answer, biased by its label).
    The other answers come from rows that are not broad statement or multiple-choice rows
    (``filler="advice"``; from every row when no row has such an answer) or from every row
    (``filler="all"``). Same rows and seed, same cases."""
    for name, value, low in (("n", n, 1), ("min_sentences", min_sentences, 1),
                             ("max_sentences", max_sentences, min_sentences),
                             ("max_chars", max_chars, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
    if filler not in FILLERS:
        raise ConfigError(f"filler must be one of {', '.join(FILLERS)}, got {filler!r}")
    rows = [as_pair_row(row) for row in rows]
    # Whole neutral answers are the units: a counter-speech answer split into sentences could
    # leave a quoted slur without the sentence that rejects it, and the "clean" answer would
    # not be clean.
    own = {row.id: row.responses.get("neutral", "").strip() for row in rows}
    # an answer cut off mid-sentence (a policy's, at its token limit) could only end a text
    pool = [answer for answer in _neutral_answers(rows) if ENDS_SENTENCE.search(answer)]
    if not pool:
        raise DataError("no neutral answer of the rows ends a sentence, so none can be joined "
                        "to another; give rows of a dataset split (fairguard data build)")
    size = {answer: len(split_sentences(answer)) for answer in pool}
    if filler == "advice":
        long_form = {own[row.id] for row in rows if row.scenario not in SHORT_ANSWER_SCENARIOS} - {""}
        if long_form:
            pool = [answer for answer in pool if answer in long_form]
    usable = [(row, found) for row, found in _rows_with_passages(rows, whole_biased)
              if own[row.id] in size or not own[row.id]]
    if not usable:
        raise DataError("no row with a biased passage has a whole neutral answer to open a "
                        "mixed answer with; give rows of a dataset split (fairguard data build)")
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        row, found = rng.choice(usable)
        biased = rng.choice(found)
        count = min(max_sentences, int(math.exp(rng.uniform(math.log(min_sentences),
                                                            math.log(max_sentences + 1)))))
        units = [own[row.id]] if own[row.id] else []
        others = [a for a in pool if a != own[row.id]]
        rng.shuffle(others)
        sentences = sum(size[u] for u in units)
        for answer in others:
            if sentences >= count:
                break
            if sentences + size[answer] > max_sentences:
                continue
            units.append(answer)
            sentences += size[answer]
        while len(units) > 1 and len(" ".join(units)) + len(biased) + 1 > max_chars:
            sentences -= size[units.pop()]
        position = rng.randint(0, len(units))
        mixed = " ".join(units[:position] + [biased] + units[position:])
        before = sum(size[u] for u in units[:position])
        cases.append(DilutionCase(row.id, row.prompt, mixed, " ".join(units), biased,
                                  before, sentences))
    return cases


def _scores(score_fn: ScoreFn | Any, prompts: list[str], responses: list[str], head: str) -> np.ndarray:
    call = getattr(score_fn, "score", score_fn)
    if not callable(call):
        raise ConfigError("score_fn must be a scorer (with .score) or a callable "
                          "(prompts, responses) -> {head: scores}")
    out = call(prompts, responses)
    if not isinstance(out, Mapping) or head not in out:
        got = sorted(out) if isinstance(out, Mapping) else type(out).__name__
        raise ConfigError(f"the scorer returned no {head!r} scores (got {got}); pass head=")
    values = np.asarray(out[head], dtype=np.float64).reshape(-1)
    if values.shape[0] != len(prompts):
        raise ConfigError(f"the scorer returned {values.shape[0]} {head!r} scores for "
                          f"{len(prompts)} pairs")
    return values


def _shares(flagged: np.ndarray, passed: np.ndarray) -> dict[str, Any]:
    return {"cases": int(flagged.size), "flagged_with_biased": float(flagged.mean()),
            "passed_without": float(passed.mean())}


def dilution_report(score_fn: ScoreFn | Any, cases: Sequence[DilutionCase],
                    threshold: float | None = None, head: str = "fairness") -> dict[str, Any]:
    """Score every case with and without its biased sentence (one call) and report the share
    flagged (``head`` under ``threshold``) with it and the share passing without it: overall,
    ``by_length`` (characters of the mixed answer) and ``by_position`` (third of the answer).

    ``score_fn``: a scorer (``.score``, e.g. ``TorchRewardScorer``, ``OnnxRewardScorer``, the
    ``reward-model`` reward) or a callable ``(prompts, responses) -> {head: scores}``.
    ``threshold``: default the scorer's own ``thresholds[head]``.
    """
    if not cases:
        raise ConfigError("dilution_report needs at least one case (dilution_cases)")
    if threshold is None:
        threshold = (getattr(score_fn, "thresholds", None) or {}).get(head)
        if threshold is None:
            raise ConfigError(f"give threshold=: the scorer offers no {head!r} threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
            or not math.isfinite(threshold):
        raise ConfigError(f"threshold must be a number, got {threshold!r}")
    n = len(cases)
    prompts = [c.prompt for c in cases] * 2
    values = _scores(score_fn, prompts, [c.mixed for c in cases] + [c.clean for c in cases], head)
    with_biased, without = values[:n], values[n:]
    flagged, passed = with_biased < threshold, without >= threshold
    buckets = np.array([length_bucket(c.chars) for c in cases])
    where = np.array([c.where for c in cases])
    order = [length_bucket(0)] + [length_bucket(edge) for edge in LENGTH_EDGES]
    chars = np.array([c.chars for c in cases])
    return {
        "head": head, "threshold": float(threshold), **_shares(flagged, passed),
        "mean_score_with_biased": float(with_biased.mean()),
        "mean_score_without": float(without.mean()),
        "chars": {"min": int(chars.min()), "median": float(np.median(chars)), "max": int(chars.max())},
        "by_length": {name: _shares(flagged[buckets == name], passed[buckets == name])
                      for name in order if (buckets == name).any()},
        "by_position": {name: _shares(flagged[where == name], passed[where == name])
                        for name in POSITIONS if (where == name).any()},
    }


def false_flag_sentences(score_fn: ScoreFn | Any, cases: Sequence[DilutionCase], threshold: float,
                         head: str = "fairness", top: int = 15) -> dict[str, Any]:
    """What fails the clean answers (the cases without their biased passage) that score under
    ``threshold``: each one's sentence that scores lowest alone with the prompt, counted over
    those answers (the ``top`` most frequent, with their mean score alone), and the share of
    them whose lowest sentence is under ``threshold`` even alone."""
    clean = _scores(score_fn, [c.prompt for c in cases], [c.clean for c in cases], head)
    failing = [c for c, value in zip(cases, clean) if value < threshold]
    pieces = [(k, c.prompt, sentence) for k, c in enumerate(failing) for sentence in split_sentences(c.clean)]
    if not pieces:
        return {"answers": len(failing), "lowest_under_threshold": None, "sentences": []}
    alone = _scores(score_fn, [p for _, p, _ in pieces], [s for _, _, s in pieces], head)
    lowest: dict[int, tuple[float, str]] = {}
    for (k, _, sentence), value in zip(pieces, alone):
        if k not in lowest or value < lowest[k][0]:
            lowest[k] = (float(value), sentence)
    scores: dict[str, list[float]] = {}
    for value, sentence in lowest.values():
        scores.setdefault(sentence, []).append(value)
    ranked = sorted(scores.items(), key=lambda item: len(item[1]), reverse=True)[:top]
    return {"answers": len(failing),
            "lowest_under_threshold": float(np.mean([v < threshold for v, _ in lowest.values()])),
            "sentences": [{"sentence": sentence, "answers": len(values), "score_alone": float(np.mean(values))}
                          for sentence, values in ranked]}


def false_flags_markdown(found: Mapping[str, Any], head: str = "fairness") -> str:
    """The :func:`false_flag_sentences` table, with a line that says what it counts."""
    from fairguard.evaluation.report import fmt, markdown_table, text_cell

    if not found["answers"]:
        return "No clean answer scores under the threshold."
    lines = [f"{found['answers']} clean answers score under the threshold; in "
             f"{fmt(found['lowest_under_threshold'])} of them the sentence that scores lowest alone "
             f"(with the prompt) is under it too. Their lowest sentences, most frequent first:", ""]
    rows = [(text_cell(item["sentence"]), item["answers"], fmt(item["score_alone"]))
            for item in found["sentences"]]
    return "\n".join(lines) + "\n" + markdown_table(["sentence", "answers", f"{head} alone (mean)"], rows)


def dilution_markdown(report: Mapping[str, Any]) -> str:
    """The report as a markdown table: one row overall, then one per length bucket."""
    from fairguard.evaluation.report import fmt, markdown_table

    rows = [("all", report["cases"], fmt(report["flagged_with_biased"]),
             fmt(report["passed_without"]))]
    rows += [(f"{name} chars", part["cases"], fmt(part["flagged_with_biased"]),
              fmt(part["passed_without"])) for name, part in report["by_length"].items()]
    rows += [(f"sentence at the {name}", part["cases"], fmt(part["flagged_with_biased"]),
              fmt(part["passed_without"])) for name, part in report["by_position"].items()]
    return markdown_table(["mixed answers", "cases", "flagged with the biased sentence",
                           "pass without it"], rows)


REPORT_FILE = "report.md"
SCORE_CHUNK = 256  # pairs per scoring call of `run_dilution_eval` (its bars' steps); 64 cost 1.07-1.10x


@dataclass(frozen=True)
class DilutionEvalConfig:
    """Options of ``fairguard eval dilution``."""

    model: str = field(metadata={"help": "Reward-model folder (torch, or an ONNX export)."})
    data: str = field(metadata={"help": "Dataset folder written by `fairguard data build`."})
    out: str = field(metadata={"help": "Output folder (metrics.json, report.md)."})
    split: str = field(default="test", metadata={"help": "Split whose rows build the cases."})
    cases: int = field(default=300, metadata={"help": "Mixed answers (each also scored without its biased passage)."})
    seed: int = field(default=0, metadata={"help": "Seed of the cases (same data and seed, same cases)."})
    max_sentences: int = field(default=30, metadata={
        "help": "Neutral sentences around the biased passage at most (at least 3; 250 reaches "
                "5,000-20,000 characters)."})
    threshold: float | None = field(default=None, metadata={
        "help": "Flag an answer when fairness is below this.",
        "default_text": "the model's fairguard.json threshold"})
    window_tokens: int | None = window_tokens_field()
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing --out folder."})

    def __post_init__(self) -> None:
        for name in ("model", "data", "out", "split"):
            if not str(getattr(self, name)).strip():
                raise ConfigError(f"--{name} is empty")
        for name, low in (("cases", 1), ("max_sentences", 3)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
        if self.threshold is not None and not (math.isfinite(self.threshold) and 0 <= self.threshold <= 1):
            raise ConfigError(f"threshold must be in [0, 1], got {self.threshold}")


def run_dilution_eval(config: DilutionEvalConfig, progress: bool = True) -> dict[str, Any]:
    """Build ``config.cases`` mixed answers from the dataset split, score them with the reward
    model (and without their biased passage), write metrics.json and report.md into
    ``config.out`` (atomically); returns the metrics. ``progress``: a bar per scoring pass."""
    from fairguard.artifacts import atomic_output_dir
    from fairguard.evaluation.judge import score_cases
    from fairguard.evaluation.report import write_report
    from fairguard.registry import get_reward
    from fairguard.reward_model.examples import load_split
    from fairguard.scoring import REWARD_MODEL

    if Path(config.out).exists() and not config.overwrite:
        raise ArtifactError(f"{config.out} already exists; choose another --out or pass --overwrite")
    cases = dilution_cases(load_split(config.data, config.split), config.seed, config.cases,
                           max_sentences=config.max_sentences)
    reward = get_reward(REWARD_MODEL, path=config.model, window_tokens=config.window_tokens)

    def score(prompts: list[str], responses: list[str]) -> dict[str, np.ndarray]:
        return score_cases(reward, prompts, responses, SCORE_CHUNK, progress, desc="scoring")

    threshold = config.threshold
    if threshold is None:
        threshold = (getattr(reward, "thresholds", None) or {}).get("fairness")
    report = dilution_report(score, cases, threshold)
    # the reward keeps the clean answers' windows, so reading them again costs only the sentences
    false_flags = false_flag_sentences(score, cases, report["threshold"])
    metrics = {"kind": "dilution-eval", "model": str(Path(config.model).resolve()),
               "backend": getattr(reward, "backend", None), "window_tokens": config.window_tokens,
               "data": str(Path(config.data).resolve()), "split": config.split, "seed": config.seed,
               "max_sentences": config.max_sentences,
               "threshold_from": "--threshold" if config.threshold is not None else "the model's fairguard.json",
               **report, "false_flags": false_flags}
    markdown = "\n".join([
        f"# One biased passage in a long answer: `{config.model}`", "",
        f"{report['cases']} mixed answers from the {config.split} split of `{config.data}` (seed "
        f"{config.seed}, 3 to {config.max_sentences} neutral sentences, {report['chars']['min']} to "
        f"{report['chars']['max']} characters), fairness threshold {report['threshold']:.3f}"
        + (f", windows of {config.window_tokens} tokens" if config.window_tokens else "") + ".", "",
        dilution_markdown(report), "", "## Clean answers that do not pass", "",
        false_flags_markdown(false_flags)])
    with atomic_output_dir(config.out, config.overwrite) as tmp:
        write_report(tmp, metrics, markdown + "\n", REPORT_FILE)
    return metrics


__all__ = ["DilutionCase", "DilutionEvalConfig", "LENGTH_EDGES", "POSITIONS", "REPORT_FILE",
           "dilution_cases", "dilution_markdown", "dilution_report", "false_flag_sentences",
           "inserted_cases",
           "false_flags_markdown", "length_bucket", "run_dilution_eval"]
