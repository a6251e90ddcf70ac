"""``fairguard eval ...``: bias and quality metrics for models, adapters and layers."""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from fairguard.cli.options import config_file_option, options_from
from fairguard.cli.reports import echo_report
from fairguard.evaluation.bbq import BBQEvalConfig
from fairguard.evaluation.compare import CompareConfig
from fairguard.evaluation.cross_judge import judge_means
from fairguard.evaluation.dilution import DilutionEvalConfig
from fairguard.evaluation.everyday import EverydayEvalConfig
from fairguard.evaluation.judge import JudgeEvalConfig
from fairguard.evaluation.quality import QualityEvalConfig
from fairguard.evaluation.rescore import RescoreConfig
from fairguard.evaluation.side_by_side import SideBySideConfig

UNQOVER_COMMANDS: tuple[str, ...] = ("fairguard.cli.eval_refine:eval_refine",)


@click.group(name="eval")
def eval_group() -> None:
    """Evaluate bias and quality (UnQover, BBQ-style, fairness/relevance/fluency)."""


@eval_group.command("quality")
@options_from(QualityEvalConfig)
@config_file_option
def quality(config_path: str | None, **options: object) -> None:
    """Generate responses to held-out prompts and average the reward heads over them."""
    from fairguard.config import build_config
    from fairguard.evaluation.quality import run_quality_eval

    config = build_config(QualityEvalConfig, config_path, **options)
    metrics = run_quality_eval(config)
    echo_report(Path(config.out, "metrics.md"), metrics, ("means", "n"), **judge_means(metrics))


@eval_group.command("compare")
@options_from(CompareConfig)
@config_file_option
def compare(config_path: str | None, **options: object) -> None:
    """Paired change from BEFORE to AFTER, two `eval quality` output folders on the same prompts.

    Prints, per head, the mean change with its standard error and 95 % interval, overall and
    per category: whether an adapter's change is larger than prompt-to-prompt noise; first per
    --judge both folders were scored by, independent judges first.
    """
    from fairguard.config import build_config
    from fairguard.evaluation.compare import run_compare

    click.echo(run_compare(build_config(CompareConfig, config_path, **options)).markdown())


@eval_group.command("side-by-side")
@options_from(SideBySideConfig)
@config_file_option
def side_by_side(config_path: str | None, **options: object) -> None:
    """Several adapters, or several judges, side by side in one table.

    Adapters: one column per --run LABEL=COMPARE[,BEHAVIOUR] (`eval compare` and `eval behaviour`
    folders against the same base); rows: each judge's heads and flagged share (independent
    judges first), the evasion rules, the chosen behaviour metrics, each with its target.
    Judges: one column per --judge-run LABEL=DIR[,DIR...] (a reward-model folder and its `eval
    judge`, `eval everyday` and `eval dilution` folders); rows: one per measure, then each
    benchmark's groups (HateCheck's functionalities).
    """
    from fairguard.config import build_config
    from fairguard.evaluation.side_by_side import run_side_by_side, side_by_side_markdown

    click.echo(side_by_side_markdown(run_side_by_side(build_config(SideBySideConfig, config_path,
                                                                   **options))), nl=False)


@eval_group.command("rescore")
@options_from(RescoreConfig)
@config_file_option
def rescore(config_path: str | None, **options: object) -> None:
    """Score the saved responses of SOURCE, an `eval quality` output folder, with other rewards.

    Nothing is generated: the same responses are judged anew (e.g. by a retrained reward model)
    and written in the `eval quality` layout, ready for `eval compare`.
    """
    from fairguard.config import build_config
    from fairguard.evaluation.rescore import run_rescore

    config = build_config(RescoreConfig, config_path, **options)
    metrics = run_rescore(config)
    echo_report(Path(config.out, "metrics.md"), metrics, ("means", "n"), **judge_means(metrics))


@eval_group.command("bbq")
@options_from(BBQEvalConfig)
@config_file_option
def bbq(config_path: str | None, **options: object) -> None:
    """BBQ-style accuracy and bias scores (s_dis, s_amb) by option log-likelihood."""
    from fairguard.config import build_config
    from fairguard.evaluation.bbq import run_bbq_eval

    config = build_config(BBQEvalConfig, config_path, **options)
    echo_report(Path(config.out, "metrics.md"), run_bbq_eval(config), ("n", "accuracy", "s_dis", "s_amb"))


@eval_group.command("judge")
@options_from(JudgeEvalConfig)
@config_file_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
def judge(config_path: str | None, quiet: bool, **options: object) -> None:
    """Score labelled texts with a reward model and report how well it flags the biased ones.

    A case is flagged when its fairness score is below the threshold; reports accuracy overall,
    per label, per group and per target group, ROC-AUC and the false-flag rate on fair cases.
    """
    from fairguard.config import build_config
    from fairguard.evaluation.judge import REPORT_FILE, run_judge_eval

    config = build_config(JudgeEvalConfig, config_path, **options)
    metrics = run_judge_eval(config, progress=not quiet)
    echo_report(Path(config.out, REPORT_FILE), metrics,
                ("n", "accuracy", "roc_auc", "false_flag_rate", "threshold"))
    cal = metrics["calibration"]
    if cal:
        lo, hi = cal["threshold_interval"]
        click.echo(f"fairness threshold {cal['threshold']:.4f} ({lo:.4f}-{hi:.4f}, {cal['interval']}); "
                   + (f"written into {config.model[0]}/fairguard.json" if config.save_threshold
                      else "not saved (--save-threshold writes it into the model)"))


@eval_group.command("everyday")
@options_from(EverydayEvalConfig)
@config_file_option
@click.option("--quiet", is_flag=True, help="No progress bars.")
def everyday(config_path: str | None, quiet: bool, **options: object) -> None:
    """Answer everyday questions (no social group in them) and count how often the judge flags them.

    A head flags an answer when its score is below the head's threshold in the reward model's
    fairguard.json; reports the share flagged for fairness, by any head, per head and per topic,
    and every flagged answer.
    """
    from fairguard.config import build_config
    from fairguard.evaluation.everyday import REPORT_FILE, run_everyday_eval

    config = build_config(EverydayEvalConfig, config_path, **options)
    echo_report(Path(config.out, REPORT_FILE), run_everyday_eval(config, progress=not quiet),
                ("n", "flag_rate_fairness", "flag_rate_any", "flag_rate"))


@eval_group.command("dilution")
@options_from(DilutionEvalConfig)
@config_file_option
@click.option("--quiet", is_flag=True, help="No progress bars.")
def dilution(config_path: str | None, quiet: bool, **options: object) -> None:
    """Hide one biased passage among neutral sentences and count how often the judge still flags it.

    Mixed answers are built from a dataset split (the passage between whole neutral answers of
    3 to --max-sentences sentences); each is scored with and without the passage, in windows as
    the guard reads it. Reports the share flagged with it and the share passing without it,
    overall, by length and by where the passage sits.
    """
    from fairguard.config import build_config
    from fairguard.evaluation.dilution import REPORT_FILE, run_dilution_eval

    config = build_config(DilutionEvalConfig, config_path, **options)
    echo_report(Path(config.out, REPORT_FILE), run_dilution_eval(config, progress=not quiet),
                ("cases", "flagged_with_biased", "passed_without", "threshold"))


def add_unqover_commands(group: click.Group, paths: tuple[str, ...] = UNQOVER_COMMANDS) -> None:
    """Attach the UnQover / REFINE-LM evaluation commands, each given as ``"module:attribute"``."""
    for path in paths:
        module, _, attribute = path.partition(":")
        group.add_command(getattr(importlib.import_module(module), attribute))


add_unqover_commands(eval_group)
add_unqover_commands(eval_group, ("fairguard.cli.eval_behaviour:eval_behaviour",))
