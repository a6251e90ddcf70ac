"""Cross-judge scoring: one evaluation's responses judged by several reward models ("judges"),
each reported on its own, and which of them the evaluated adapter was trained against.

A policy trained against a reward model learns what that model rewards, including its blind
spots, so that model's scores of the policy are not independent evidence. A GRPO / REINFORCE
adapter records its training reward model in ``fairguard.json`` (``config.reward_model``); each
judge is compared with it:

- ``training``: the same folder, or a reward model with the same data fingerprint and the same
  training options (a copy or an identical retrain);
- ``same-data``: trained on the same dataset with other options (e.g. another training seed):
  the same rows and the same held-out split, so not independent either;
- ``same-split``: trained on another dataset that holds out the same groups and templates
  (the same ``fairguard data build --seed`` with other sizes or another builder version);
- ``independent``: trained on other data with another held-out split (another
  ``fairguard data build --seed``; the split is compared when both dataset folders are found),
  or the evaluated model was not trained against a reward model at all;
- ``unknown``: the adapter records no training reward model, or that folder is not found here.

Reports list judges in that order: independent first, the training judge last.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fairguard.artifacts import read_metadata, reward_model_folders
from fairguard.errors import ArtifactError, ConfigError
from fairguard.evaluation.report import markdown_table
from fairguard.metrics.quality import TRIPLE, QualitySummary
from fairguard.training.artifact import ARTIFACT_KIND as ADAPTER_KIND

logger = logging.getLogger("fairguard")

TRAINING, SAME_DATA, SAME_SPLIT = "training", "same-data", "same-split"
UNKNOWN, INDEPENDENT = "unknown", "independent"
RELATION_ORDER = (INDEPENDENT, UNKNOWN, SAME_SPLIT, SAME_DATA, TRAINING)  # report order
NOT_INDEPENDENT = (SAME_SPLIT, SAME_DATA, TRAINING)
RELATION_LABELS = {INDEPENDENT: "independent", UNKNOWN: "unknown",
                   SAME_SPLIT: "same held-out split as the training judge",
                   SAME_DATA: "same data as the training judge", TRAINING: "training judge"}
# reward-model training options that do not change what the model learns
_IGNORED_OPTIONS = frozenset({"out", "overwrite", "progress", "device", "data", "eval_batch_size",
                              "dilution_cases"})
JUDGE_HELP = ("A reward-model folder that judges the responses on its own, reported under its "
              "folder name; independent judges first, the adapter's training judge marked; "
              "repeatable (YAML: a list).")
GUIDE = "docs/grpo.md, \"Cross-judge evaluation\""
# The dataset's own answers each judge also scores, by report name: the PairRow field holding them.
REFERENCE_KINDS = {"fair": "neutral", "evasive": "evasive", "biased": "biased"}


@dataclass(frozen=True)
class Relation:
    """How a judge relates to the reward model the evaluated policy was trained against."""

    kind: str
    reason: str

    @property
    def label(self) -> str:
        return RELATION_LABELS[self.kind]


@dataclass(frozen=True)
class TrainingJudge:
    """What an evaluated model records about its training reward model."""

    recorded: str | None  # the folder as training was given it; None: none or not recorded
    folder: Path | None  # that folder, when it is found from here
    known: bool  # False: the adapter records nothing (not a fairguard GRPO adapter)
    members: tuple[TrainingJudge, ...] = ()  # an ensemble's folders (recorded: them joined)


def check_judges(judges: Any) -> tuple[str, ...]:
    """The ``--judge`` folders as a tuple: each an existing folder, none given twice."""
    if judges is None:
        return ()
    if isinstance(judges, (str, os.PathLike)):
        judges = (judges,)
    if not isinstance(judges, (list, tuple)):
        raise ConfigError(f"judges must be a list of reward-model folders, got {judges!r}")
    reward_model_folders(judges, "--judge")
    return tuple(map(str, judges))


def judge_names(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """A short, unique name per judge folder: its folder name, with parent folders added where
    two judges share a name (``a/rm``, ``b/rm``)."""
    parts = [Path(os.path.abspath(Path(p).expanduser())).parts for p in paths]
    depth = [1] * len(parts)
    while True:
        names = ["/".join(p[-d:]) for p, d in zip(parts, depth)]
        clashes = {n for n in names if names.count(n) > 1}
        if not clashes:
            return names
        grown = False
        for i, name in enumerate(names):
            if name in clashes and depth[i] < len(parts[i]):
                depth[i] += 1
                grown = True
        if not grown:  # the same folder twice; QualityEvalConfig refuses that earlier
            return [f"{n}#{i}" for i, n in enumerate(names)]


def training_judge(adapter: str | os.PathLike[str] | None) -> TrainingJudge:
    """The training reward model that ``adapter`` (a ``fairguard train grpo`` folder) records;
    ``adapter=None`` (the base model) was trained against none."""
    if adapter is None:
        return TrainingJudge(None, None, known=True)
    try:
        meta = read_metadata(adapter)
    except ArtifactError:
        return TrainingJudge(None, None, known=False)
    config = meta.get("config")
    if meta.get("kind") != ADAPTER_KIND or not isinstance(config, Mapping):
        return TrainingJudge(None, None, known=False)
    recorded = config.get("reward_model")
    if isinstance(recorded, list) and recorded and all(isinstance(r, str) and r for r in recorded):
        if len(recorded) == 1:
            return _recorded_judge(recorded[0])
        return TrainingJudge(" + ".join(recorded), None, known=True,
                             members=tuple(_recorded_judge(r) for r in recorded))
    if not isinstance(recorded, str) or not recorded:
        return TrainingJudge(None, None, known=True)
    return _recorded_judge(recorded)


def _recorded_judge(recorded: str) -> TrainingJudge:
    folder = Path(recorded).expanduser()
    ensemble = _ensemble(folder)
    if ensemble is not None:  # a `fairguard train ensemble` folder: its members
        return TrainingJudge(recorded, folder, known=True, members=tuple(
            TrainingJudge(str(member), member, known=True) for member in ensemble.members))
    return TrainingJudge(recorded, folder if folder.is_dir() else None, known=True)


def _ensemble(folder: Path) -> Any:
    """The ensemble folder at ``folder`` (None: a single reward model, or not found)."""
    from fairguard.reward_model.ensemble import read_ensemble

    try:
        return read_ensemble(folder) if folder.is_dir() else None
    except ArtifactError:
        return None


@dataclass(frozen=True)
class _Identity:
    """What a reward model was trained on: the data fingerprint, the training options that
    change the model, the held-out groups and templates of its dataset (None: not found)."""

    fingerprint: str | None
    options: dict[str, Any] | None
    held_out: tuple[frozenset[str], frozenset[str]] | None


def _held_out(data: Any) -> tuple[frozenset[str], frozenset[str]] | None:
    """The held-out groups and templates in ``data/manifest.json`` (a `data build` folder)."""
    if not isinstance(data, str) or not data:
        return None
    try:
        held = json.loads((Path(data) / "manifest.json").read_text(encoding="utf-8"))["held_out"]
        return frozenset(map(str, held["groups"])), frozenset(map(str, held["templates"]))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        return None


def _identity(folder: Path) -> _Identity:
    """What the reward model in ``folder`` records about its training (fairguard.json)."""
    try:
        meta = read_metadata(folder)
    except ArtifactError:
        return _Identity(None, None, None)
    fingerprint = meta.get("data_fingerprint")
    options = meta.get("train_config")
    return _Identity(fingerprint if isinstance(fingerprint, str) and fingerprint else None,
                     {k: v for k, v in options.items() if k not in _IGNORED_OPTIONS}
                     if isinstance(options, Mapping) else None,
                     _held_out(meta.get("data")))


def _closest(relations: Sequence[tuple[Relation, str]]) -> Relation:
    """The closest of several (relation, whose) pairs, its reason naming whose it is."""
    closest, whose = max(relations, key=lambda r: RELATION_ORDER.index(r[0].kind))
    return Relation(closest.kind, f"{whose}: {closest.reason}")


def judge_relation(judge: str | os.PathLike[str], trained: TrainingJudge) -> Relation:
    """How the reward model in folder ``judge`` relates to the training reward model (to an
    ensemble: its relation to the member it depends on most; a judge that is an ensemble
    folder: the relation of its member closest to the training judge)."""
    ensemble = _ensemble(Path(judge).expanduser())
    if ensemble is not None:
        return _closest([(judge_relation(member, trained), f"its member {member.name}")
                         for member in ensemble.members])
    if trained.members:
        return _closest([(judge_relation(judge, m), f"ensemble member {m.recorded}")
                         for m in trained.members])
    if not trained.known:
        return Relation(UNKNOWN, "the adapter records no training reward model (not a "
                                 "`fairguard train grpo` folder)")
    if trained.recorded is None:
        return Relation(INDEPENDENT, "the evaluated model was not trained against a reward model")
    if trained.folder is None:
        return Relation(UNKNOWN, f"the training reward model {trained.recorded} is not found from "
                                 "here; run from where training ran to check")
    folder = Path(judge).expanduser()
    if folder.is_dir() and os.path.samefile(folder, trained.folder):
        return Relation(TRAINING, f"the same folder as the training reward model {trained.recorded}")
    mine, theirs = _identity(folder), _identity(trained.folder)
    if mine.fingerprint is None or theirs.fingerprint is None:
        return Relation(UNKNOWN, "a reward model records no data fingerprint; retrain it")
    if mine.fingerprint != theirs.fingerprint:
        if mine.held_out is not None and mine.held_out == theirs.held_out:
            return Relation(SAME_SPLIT, f"other data than {trained.recorded}, but the same held-out "
                                        "groups and templates (the same `data build --seed`)")
        checked = ("another held-out split" if mine.held_out and theirs.held_out
                   else "held-out split not compared: a dataset folder is not found")
        return Relation(INDEPENDENT, f"other data than {trained.recorded} ({checked})")
    if mine.options is not None and mine.options == theirs.options:
        return Relation(TRAINING, f"the same data and training options as {trained.recorded}")
    return Relation(SAME_DATA, f"the same data as {trained.recorded}, other training options")


@dataclass(frozen=True)
class Reference:
    """The dataset's own answers of one kind (``fair``, ``evasive``, ``biased``) to some of the
    evaluated prompts: ``texts[k]`` answers prompt number ``rows[k]``."""

    kind: str
    rows: list[int]
    texts: list[str]


def reference_answers(rows: Sequence[Any]) -> list[Reference]:
    """The dataset's fair (neutral), evasive and biased answers to the evaluated prompts
    (``rows``: dataset rows in evaluation order), each kind that some row has."""
    out = []
    for kind, attribute in REFERENCE_KINDS.items():
        found = [(i, text.strip()) for i, row in enumerate(rows)
                 if isinstance(text := getattr(row, attribute, ""), str) and text.strip()]
        if found:
            out.append(Reference(kind, [i for i, _ in found], [t for _, t in found]))
    return out


def flagged_shares(scores: Mapping[str, Sequence[float]], thresholds: Mapping[str, float]
                   ) -> dict[str, float]:
    """The share of scores under each head's threshold (flagged, as the guard decides), for the
    heads that have one."""
    out = {}
    for head, values in scores.items():
        if head in thresholds and len(values):
            out[head] = float(sum(v < thresholds[head] for v in values) / len(values))
    return out


@dataclass(frozen=True)
class JudgeResult:
    """One judge's scores of the responses; ``references``: its scores of the dataset's own
    answers to the same prompts (kind -> ``{"n", "means", "flagged"}``)."""

    name: str
    path: str
    relation: Relation
    summary: QualitySummary
    by_category: dict[str, dict[str, Any]]
    backbone: str | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    references: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def flagged(self) -> dict[str, float]:
        """Share of the responses under each head's shipped threshold."""
        return flagged_shares(self.summary.scores, self.thresholds)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "relation": self.relation.kind, "reason": self.relation.reason,
                "backbone": self.backbone, **self.summary.to_dict(), "by_category": self.by_category,
                "thresholds": dict(self.thresholds), "flagged": self.flagged,
                "references": self.references}


def judge_backbone(folder: str | os.PathLike[str]) -> str | None:
    """The encoder a reward-model folder was trained from (its fairguard.json ``backbone``)."""
    try:
        value = read_metadata(folder).get("backbone")
    except ArtifactError:
        return None
    return str(value) if value else None


def judge_order(relations: Sequence[Relation]) -> list[int]:
    """Indices in report order: independent judges first, the training judge last (stable)."""
    return sorted(range(len(relations)), key=lambda i: RELATION_ORDER.index(relations[i].kind))


def weighted_reward_note(reward_model: str | None, trained: TrainingJudge) -> tuple[Relation | None, str]:
    """The relation of the weighted reward's ``--reward-model`` to the adapter's training judge,
    and a report line (and a logged warning) when it is not independent."""
    if reward_model is None:
        return None, ""
    relation = judge_relation(reward_model, trained)
    if relation.kind not in NOT_INDEPENDENT:
        return relation, ""
    logger.warning("--reward-model %s: %s (%s); the weighted reward is not independent evidence",
                   reward_model, relation.label, relation.reason)
    return relation, (f"The weighted reward's reward model is the {relation.label} "
                      f"({relation.reason}).\n\n")


def load_judges(judges: Sequence[str]) -> list[Any]:
    """The ``reward-model`` reward of each judge folder (errors name the folder)."""
    from fairguard.registry import get_reward
    from fairguard.scoring import REWARD_MODEL

    return [get_reward(REWARD_MODEL, path=str(path)) for path in judges]


def warn_training_judges(results: Sequence[JudgeResult]) -> None:
    """Log a warning per judge that is not independent of the adapter's training."""
    for result in results:
        if result.relation.kind in NOT_INDEPENDENT:
            logger.warning("judge %s: %s (%s); its scores are not independent evidence",
                           result.name, result.relation.label, result.relation.reason)
    warning = loud_warning([r.relation.kind for r in results])
    if warning:
        logger.warning(warning.replace("**", "").strip())


def all_training(relations: Sequence[str]) -> bool:
    """Whether every judge (given by relation kind) is the training judge."""
    return bool(relations) and all(kind == TRAINING for kind in relations)


def loud_warning(relations: Sequence[str]) -> str:
    """The bold report line when no judge (given by relation kind) is independent of the
    adapter's training judge; empty when one is, or when there are no judges."""
    if not relations or not all(kind in NOT_INDEPENDENT for kind in relations):
        return ""
    if all_training(relations):
        said = ("Every judge is the reward model the adapter was trained against: these scores "
                "measure how well the adapter pleases its own judge, not independent evidence.")
    else:
        said = ("No judge is independent of the adapter's training judge (the same data or the "
                "same held-out split): these scores are not independent evidence.")
    return f"**{said}** Add an independent judge ({GUIDE}).\n"


def judge_heads(summaries: Sequence[Mapping[str, Any]]) -> list[str]:
    """The heads of all judges, the triple first."""
    seen = {h for s in summaries for h in s}
    return [h for h in TRIPLE if h in seen] + sorted(seen - set(TRIPLE))


def judges_markdown(results: Sequence[JudgeResult]) -> str:
    """The cross-judge section: one row per judge (report order), the judges against the
    dataset's own answers, then per-category means."""
    heads = judge_heads([r.summary.means for r in results])
    text = ("## Judges\n\nEach judge's mean score per head over the same responses; independent "
            "judges first.\n\n")
    text += markdown_table(["judge", "relation", "backbone", *heads],
                           [[r.name, r.relation.label, r.backbone,
                             *[r.summary.means.get(h) for h in heads]] for r in results])
    warning = loud_warning([r.relation.kind for r in results])
    if warning:
        text += "\n" + warning
    text += references_markdown(results)
    for result in results:
        if len(result.by_category) > 1:
            text += f"\n### By category: {result.name}\n\n"
            text += markdown_table(["category", "n", *heads],
                                   [[cat, d["n"], *[d["means"].get(h) for h in heads]]
                                    for cat, d in result.by_category.items()])
    return text


def references_markdown(results: Sequence[JudgeResult]) -> str:
    """Each judge's mean and share flagged for the responses next to the dataset's own fair,
    evasive and biased answers to the same prompts ("" when no judge has either)."""
    kinds = [k for k in REFERENCE_KINDS if any(k in r.references for r in results)]
    if not kinds and not any(r.thresholds for r in results):
        return ""
    heads = judge_heads([r.summary.means for r in results])
    columns = ["judge", "head", "responses: mean", "flagged"]
    for kind in kinds:
        columns += [f"{kind} answers: mean", "flagged"]
    rows = []
    for r in results:
        for h in heads:
            row: list[Any] = [r.name, h, r.summary.means.get(h), _share(r.flagged.get(h))]
            for kind in kinds:
                ref = r.references.get(kind) or {}
                row += [(ref.get("means") or {}).get(h), _share((ref.get("flagged") or {}).get(h))]
            rows.append(row)
    return ("\n### Against the dataset's own answers\n\nThe same judges on the dataset's own fair, "
            "evasive and biased answers to the same prompts: the fair answers' mean is what the "
            "dataset's own fair answer to each prompt scores by that judge, a yardstick for how far "
            "answering fairly moves it; the evasive answers' mean is what declining earns. Flagged: "
            "the share under the judge's shipped threshold (what a guard would flag).\n\n"
            + markdown_table(columns, rows))


def _share(value: float | None) -> str | None:
    return None if value is None else f"{100 * value:.1f} %"


def judges_metrics(results: Sequence[JudgeResult], trained: TrainingJudge) -> dict[str, Any]:
    """The cross-judge part of an evaluation's metrics.json (judges in report order)."""
    return {"judges": {r.name: r.to_dict() for r in results},
            "training_reward_model": trained.recorded,
            "every_judge_is_training_judge": all_training([r.relation.kind for r in results]),
            "independent_judges": sum(r.relation.kind == INDEPENDENT for r in results)}


def judge_means(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """``{"judges": {judge: head means}}`` of an evaluation's metrics (empty without judges): the
    cross-judge part of the one-line summary the commands print."""
    judges = metrics.get("judges") or {}
    return {"judges": {name: info["means"] for name, info in judges.items()}} if judges else {}


def row_scores(results: Sequence[JudgeResult], index: int) -> dict[str, dict[str, float]]:
    """Response ``index``'s score per judge and head (the ``judges`` field of responses.jsonl)."""
    return {r.name: {h: values[index] for h, values in r.summary.scores.items()} for r in results}


__all__ = ["INDEPENDENT", "JUDGE_HELP", "REFERENCE_KINDS", "SAME_DATA", "SAME_SPLIT", "TRAINING",
           "UNKNOWN", "JudgeResult", "Reference", "Relation", "TrainingJudge", "all_training",
           "check_judges", "flagged_shares", "judge_backbone", "judge_names", "judge_order",
           "judge_relation", "judges_markdown", "judges_metrics", "load_judges", "loud_warning",
           "reference_answers", "references_markdown", "row_scores", "training_judge",
           "warn_training_judges", "weighted_reward_note"]
