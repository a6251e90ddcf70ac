"""Several trained reward models as one judge, with thresholds of its own
(``fairguard train ensemble``).

Each head of an ensemble scores the mean (or the minimum) of its members' scores. Judges trained
alike but for the seed disagree most on short claims about a group, and their mean decides
those better than either (docs/judge-runs.md, twentieth run, "Two seeds as one judge"). A member's shipped
thresholds were calibrated on its own scores, so the ensemble calibrates its own: each head's
threshold lets ``false_flag_rate`` of the good validation answers fall below it
(:mod:`fairguard.reward_model.calibrate`), the answers cut off and ended as the first member's
training answers were, and scored as the guard scores them (windows, disguised words read in
their plain spelling, each member on its own backend).

The folder holds copies of its members (``members/``), so it moves and ships as one folder;
``get_reward("reward-model", path=FOLDER)`` and every ``--reward-model``, ``--model`` and
``--judge`` option load it with its thresholds.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from fairguard.artifacts import METADATA_FILE, atomic_output_dir, read_metadata, write_json
from fairguard.errors import ArtifactError, ConfigError, DataError
from fairguard.reward_model.calibrate import DEFAULT_FALSE_FLAG_RATE

log = logging.getLogger("fairguard")

ENSEMBLE_KIND = "reward-ensemble"
MEMBERS_DIR = "members"
COMBINE_RULES = ("mean", "min")
METRICS_FILE = "metrics.json"
BACKENDS = ("auto", "torch", "onnx")


@dataclass(frozen=True)
class EnsembleFolder:
    """An ensemble folder as written by :func:`build_ensemble`."""

    folder: Path
    members: tuple[Path, ...]
    combine: str
    heads: tuple[str, ...]
    thresholds: dict[str, float]


def _rebuild_hint(folder: Path) -> str:
    return (f"re-create it with `fairguard train ensemble --model A --model B --out {folder} "
            "--overwrite`")


def read_ensemble(folder: str | os.PathLike[str]) -> EnsembleFolder | None:
    """The ensemble in ``folder``, or None when its ``fairguard.json`` is not an ensemble's (a
    reward model, or no fairguard folder: the reward-model loader reports those). An ensemble
    folder with a problem raises :class:`ArtifactError`."""
    folder = Path(folder).expanduser()
    if not (folder / METADATA_FILE).is_file():
        return None
    try:
        meta = read_metadata(folder)
    except ArtifactError:
        return None
    if meta.get("kind") != ENSEMBLE_KIND:
        return None
    members, heads, thresholds = meta.get("members"), meta.get("heads"), meta.get("thresholds")
    if not isinstance(members, list) or not members or not all(
            isinstance(m, str) and m and Path(m).name == m for m in members):
        raise ArtifactError(f"{folder}/{METADATA_FILE} has no valid 'members' list; "
                            f"{_rebuild_hint(folder)}")
    paths = tuple(folder / MEMBERS_DIR / m for m in members)
    missing = [str(p) for p in paths if not p.is_dir()]
    if missing:
        raise ArtifactError(f"{folder}: member folder(s) {', '.join(missing)} are missing; the "
                            f"ensemble is incomplete; {_rebuild_hint(folder)}")
    combine = meta.get("combine")
    if combine not in COMBINE_RULES:
        raise ArtifactError(f"{folder}/{METADATA_FILE}: combine must be one of "
                            f"{', '.join(COMBINE_RULES)}, got {combine!r}; {_rebuild_hint(folder)}")
    if not isinstance(heads, list) or not heads or not all(isinstance(h, str) and h for h in heads):
        raise ArtifactError(f"{folder}/{METADATA_FILE} has no valid 'heads' list; "
                            f"{_rebuild_hint(folder)}")
    if not isinstance(thresholds, dict) or set(thresholds) != set(heads) or not all(
            isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t)
            for t in thresholds.values()):
        raise ArtifactError(f"{folder}/{METADATA_FILE}: thresholds must give a number for each "
                            f"head ({', '.join(heads)}); {_rebuild_hint(folder)}")
    return EnsembleFolder(folder, paths, combine, tuple(heads),
                          {h: float(thresholds[h]) for h in heads})


@dataclass(frozen=True)
class EnsembleConfig:
    """Options of ``fairguard train ensemble``."""

    model: tuple[str, ...] = field(metadata={
        "help": "A member: a reward-model folder (from `fairguard train reward`, or its ONNX "
                "export); repeat it for each member (one alone: its thresholds recalibrated).",
        "multiple": True})
    out: str = field(metadata={"help": "Folder to write the ensemble to (its members copied in)."})
    data: str | None = field(default=None, metadata={
        "help": "Dataset folder (`fairguard data build`) whose validation split calibrates the "
                "thresholds and whose test split is reported.",
        "default_text": "the data the first member was trained on"})
    combine: str = field(default="mean", metadata={
        "help": "How the members' scores of one head combine.", "choices": COMBINE_RULES})
    false_flag_rate: float = field(default=DEFAULT_FALSE_FLAG_RATE, metadata={
        "help": "Each head's threshold lets this share of its good validation texts fall below it."})
    dilution_cases: int = field(default=300, metadata={
        "help": "Mixed answers (one biased test sentence among 3-30 neutral ones) of the "
                "dilution check; 0 skips it."})
    backend: str = field(default="auto", metadata={
        "help": "Members' backend (auto: onnx where a member folder holds an export).",
        "choices": BACKENDS})
    batch_size: int = field(default=32, metadata={"help": "Pairs per forward pass."})
    device: str | None = field(default=None, metadata={
        "help": "Torch device of the members.", "default_text": "cuda when available, else cpu"})
    progress: bool = field(default=True, metadata={
        "help": "Show progress bars.", "flag": "--progress/--quiet"})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing --out folder."})

    def __post_init__(self) -> None:
        models = (self.model,) if isinstance(self.model, (str, os.PathLike)) else tuple(self.model or ())
        if not models or not all(str(m).strip() for m in models):
            raise ConfigError("--model is missing; give each member's reward-model folder "
                              "(--model A --model B)")
        object.__setattr__(self, "model", tuple(map(str, models)))
        if not str(self.out).strip():
            raise ConfigError("--out is empty; give the folder to write the ensemble to")
        if self.combine not in COMBINE_RULES:
            raise ConfigError(f"combine must be one of {', '.join(COMBINE_RULES)}, got {self.combine!r}")
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        rate = self.false_flag_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < 0.5:
            raise ConfigError(f"false_flag_rate must be in (0, 0.5), got {rate!r}")
        for name, least in (("dilution_cases", 0), ("batch_size", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(f"{name} must be an integer >= {least}, got {value!r}")


def _calibration_data(config: EnsembleConfig, metas: Sequence[dict[str, Any]],
                      folders: Sequence[Path]) -> tuple[Path, str]:
    """The dataset folder that calibrates, and its fingerprint; warns about members trained
    on other data (their training rows may be among its validation rows)."""
    from fairguard.reward_model.examples import data_fingerprint

    data = config.data if config.data is not None else metas[0].get("data")
    if not isinstance(data, str) or not data:
        raise ConfigError(f"{folders[0]} records no training data; give --data DATA (a "
                          "`fairguard data build` folder)")
    folder = Path(data).expanduser()
    if not folder.is_dir():
        where = "--data" if config.data is not None else f"the data {folders[0]} was trained on,"
        raise DataError(f"{where} {data} is not a folder; give --data DATA (a `fairguard data "
                        "build` folder)")
    fingerprint = data_fingerprint(folder)
    for member, meta in zip(folders, metas):
        if meta.get("data_fingerprint") not in (None, fingerprint):
            log.warning("%s was trained on other data than %s (fingerprint %s, not %s): its "
                        "training rows may be among the validation rows that calibrate",
                        member, folder, meta.get("data_fingerprint"), fingerprint)
    return folder, fingerprint


def _member_names(folders: Sequence[Path]) -> list[str]:
    """Folder names of the copied members: ``0-rm``, ``1-rm-s1``, ..."""
    return [f"{i}-{Path(os.path.abspath(f)).name}" for i, f in enumerate(folders)]


def combine_scores(values: Sequence[np.ndarray], rule: str) -> np.ndarray:
    """The members' scores of one head (or score matrices) combined by ``rule``: ``mean``/``min``."""
    stacked = np.stack([np.asarray(v, dtype=np.float64) for v in values])
    return stacked.mean(axis=0) if rule == "mean" else stacked.min(axis=0)


class _Members:
    """The members' rewards, scoring pairs once per member with a progress bar each."""

    def __init__(self, rewards: Sequence[Any], names: Sequence[str], config: EnsembleConfig):
        self.rewards, self.names, self.config = list(rewards), list(names), config
        self.heads: tuple[str, ...] = tuple(self.rewards[0].heads)
        self._cache: dict[tuple[tuple[str, ...], tuple[str, ...]], list[dict[str, np.ndarray]]] = {}

    def outs(self, prompts: Sequence[str], responses: Sequence[str], desc: str) -> list[dict[str, np.ndarray]]:
        """Each member's ``{head: scores}`` of the pairs (the same pairs are scored once)."""
        from fairguard.evaluation.judge import score_cases

        key = (tuple(prompts), tuple(responses))
        if key not in self._cache:
            self._cache[key] = [
                score_cases(reward, prompts, responses, chunk=self.config.batch_size * 4,
                            progress=self.config.progress, desc=f"{desc} ({name})")
                for reward, name in zip(self.rewards, self.names)]
        return self._cache[key]

    def matrices(self, examples: Any, desc: str) -> list[np.ndarray]:
        """Each member's score matrix [pairs, heads] of ``examples``."""
        outs = self.outs(examples.prompts, examples.responses, desc)
        return [np.stack([out[h] for h in self.heads], axis=1) for out in outs]

    def scorer(self, member: int | None, desc: str) -> Callable[[list[str], list[str]], dict[str, np.ndarray]]:
        """``(prompts, responses) -> {head: scores}`` of one member, or of the ensemble (None)."""
        def score(prompts: list[str], responses: list[str]) -> dict[str, np.ndarray]:
            outs = self.outs(prompts, responses, desc)
            if member is not None:
                return outs[member]
            return {h: combine_scores([o[h] for o in outs], self.config.combine) for h in self.heads}
        return score


def _load_members(config: EnsembleConfig, out: Path) -> tuple[list[Path], _Members]:
    """The members' folders (checked) and rewards."""
    from fairguard.artifacts import reward_model_folders
    from fairguard.registry import get_reward
    from fairguard.scoring import REWARD_MODEL

    folders = reward_model_folders(config.model, "--model")
    for folder in folders:
        if read_ensemble(folder) is not None:
            raise ConfigError(f"--model {folder} is an ensemble already; give its members' "
                              "folders instead")
        if folder.resolve() == out.resolve() or out.resolve() in folder.resolve().parents:
            raise ConfigError(f"--out {out} is (inside) the member {folder}; write elsewhere")
    options = {k: v for k, v in {"backend": config.backend, "batch_size": config.batch_size,
                                 "device": config.device}.items() if v is not None}
    rewards = [get_reward(REWARD_MODEL, path=str(f), **options) for f in folders]
    for folder, reward in zip(folders[1:], rewards[1:]):
        if tuple(reward.heads) != tuple(rewards[0].heads):
            raise ConfigError(f"{folder} has heads {list(reward.heads)}, {folders[0]} has "
                              f"{list(rewards[0].heads)}; an ensemble's members must have the "
                              "same heads")
    return folders, _Members(rewards, _member_names(folders), config)


def _first_training(meta: dict[str, Any]) -> Callable[[str], Any]:
    """A training option of the first member (its ``train_config``, else the default)."""
    from fairguard.reward_model.config import RewardTrainConfig

    defaults = RewardTrainConfig.__dataclass_fields__
    recorded = meta.get("train_config")
    given: dict[str, Any] = recorded if isinstance(recorded, dict) else {}
    return lambda name: given.get(name, defaults[name].default)


def build_ensemble(config: EnsembleConfig) -> dict[str, Any]:
    """Write the ensemble of ``config.model`` to ``config.out`` (atomically): its members
    copied in, thresholds calibrated on the validation split, and metrics.json comparing the
    ensemble with each member on the test split; returns the metrics."""
    from fairguard.evaluation.dilution import dilution_cases, dilution_report
    from fairguard.reward_model.calibrate import validation_calibration
    from fairguard.reward_model.examples import build_examples, load_split
    from fairguard.reward_model.metrics import head_metrics
    from fairguard.reward_model.truncation import cut_and_end

    out = Path(config.out)
    if out.exists() and not config.overwrite:
        raise ArtifactError(f"{out} already exists; choose another --out or pass --overwrite")
    folders, members = _load_members(config, out)
    heads = members.heads
    metas = [read_metadata(f) for f in folders]
    data, fingerprint = _calibration_data(config, metas, folders)
    setting = _first_training(metas[0])

    val_rows = load_split(data, "val")
    if setting("calibrate_cut"):
        val_rows = cut_and_end(val_rows, setting("truncate_prob"), setting("end_mark_prob"),
                               setting("seed"))
    val = build_examples(val_rows, heads)
    calibration = validation_calibration(
        val, combine_scores(members.matrices(val, "calibration"), config.combine),
        config.false_flag_rate, len(val_rows), setting("calibrate_cut"))
    thresholds: dict[str, float] = calibration["thresholds"]
    member_thresholds = [dict(getattr(m, "thresholds", {}) or {}) for m in members.rewards]

    test_rows = load_split(data, "test")
    test = build_examples(test_rows, heads)
    test_probs = members.matrices(test, "test")
    report: dict[str, Any] = {
        "ensemble": head_metrics(test, combine_scores(test_probs, config.combine), thresholds),
        "members": [head_metrics(test, p, t) for p, t in zip(test_probs, member_thresholds)]}
    dilution: dict[str, Any] | None = None
    if "fairness" in heads and config.dilution_cases:
        cases = dilution_cases(test_rows, setting("seed"), config.dilution_cases)
        dilution = {
            "ensemble": dilution_report(members.scorer(None, "dilution"), cases, thresholds["fairness"]),
            "members": [dilution_report(members.scorer(i, "dilution"), cases, t["fairness"])
                        if "fairness" in t else None for i, t in enumerate(member_thresholds)]}

    metrics = {"split": "test", "data": str(data), "data_fingerprint": fingerprint,
               "members": [{"name": n, "source": str(f), "thresholds": t}
                           for n, f, t in zip(members.names, folders, member_thresholds)],
               "combine": config.combine, "thresholds": thresholds, "calibration": calibration,
               "test": report, "dilution": dilution}
    with atomic_output_dir(out, overwrite=config.overwrite) as tmp:
        for name, folder in zip(members.names, folders):
            shutil.copytree(folder, tmp / MEMBERS_DIR / name, symlinks=False)
        write_json(tmp / METADATA_FILE, {
            "kind": ENSEMBLE_KIND, "members": members.names, "sources": [str(f) for f in folders],
            "combine": config.combine, "heads": list(heads), "thresholds": thresholds,
            "calibration": calibration, "data": str(data), "data_fingerprint": fingerprint,
            "metrics": {"ensemble": {h: {k: report["ensemble"]["heads"][h][k]
                                         for k in ("accuracy", "roc_auc", "false_flag_rate")}
                                     for h in heads}},
            "ensemble_config": asdict(config)})
        write_json(tmp / METRICS_FILE, metrics)
    return metrics
