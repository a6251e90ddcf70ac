"""``fairguard eval ...``: bias and quality metrics for models, adapters and layers."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import click

UNQOVER_COMMANDS: tuple[str, ...] = ("fairguard.cli.eval_refine:eval_refine",)


@click.group(name="eval")
def eval_group() -> None:
    """Evaluate bias and quality (UnQover, BBQ-style, fairness/relevance/fluency)."""


@eval_group.command("quality")
@click.option("--model", required=True, help="Policy causal LM: embedded name, folder or hub id.")
@click.option("--adapter", type=click.Path(file_okay=False), help="peft adapter folder to apply.")
@click.option("--data", required=True, type=click.Path(), help="Dataset folder from `fairguard data build`.")
@click.option("--split", default=None, help="Split to evaluate on [default: test].")
@click.option("--limit", type=int, help="Evaluate only the first N prompts.")
@click.option("--reward-model", type=click.Path(), help="Reward-model folder (fairness/relevance/fluency heads).")
@click.option("--reward", help="Rewards and weights, e.g. fairness=1,relevance=0.5,gender-bias=0.3.")
@click.option("--fluency-proxy", is_flag=True, default=None,
              help="Add the reference-free fluency proxy exp(-NLL/T) under --fluency-model.")
@click.option("--fluency-model", help="Reference causal LM of the fluency proxy [default: smollm2-135m-instruct].")
@click.option("--fluency-temperature", type=float, help="T of the fluency proxy [default: 4].")
@click.option("--max-new-tokens", type=int, help="Tokens generated per response [default: 64].")
@click.option("--sample", is_flag=True, default=None, help="Sample instead of greedy decoding.")
@click.option("--temperature", type=float, help="Sampling temperature [default: 1].")
@click.option("--top-p", type=float, help="Nucleus sampling p [default: 1].")
@click.option("--batch-size", type=int, help="Prompts per generation batch [default: 8].")
@click.option("--seed", type=int, help="Sampling seed [default: 0].")
@click.option("--refine-layer", type=click.Path(), help="REFINE-LM layer folder applied while generating.")
@click.option("--guard", is_flag=True, default=None,
              help="Also pass every response through a rewrite-strategy Guard on the same rewards "
                   "and report the scores of what it would show.")
@click.option("--guard-filters", help="Comma list of the guard's filters [default: neutralize].")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML file of these options.")
@click.option("--out", required=True, type=click.Path(), help="Output folder (metrics.json, metrics.md, responses.jsonl).")
@click.option("--overwrite", is_flag=True, default=None, help="Replace an existing --out folder.")
def quality(config_path: str | None, **options: object) -> None:
    """Generate responses to held-out prompts and average the reward heads over them."""
    from fairguard.config import build_config
    from fairguard.evaluation.quality import QualityEvalConfig, run_quality_eval

    config = build_config(QualityEvalConfig, config_path, **options)
    metrics = run_quality_eval(config)
    click.echo(Path(config.out, "metrics.md").read_text(encoding="utf-8"))
    click.echo(json.dumps({"means": metrics["means"], "n": metrics["n"]}))


@eval_group.command("compare")
@click.argument("before", type=click.Path(file_okay=False))
@click.argument("after", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(), help="Also write compare.json and compare.md into this folder.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out folder.")
def compare(before: str, after: str, out: str | None, overwrite: bool) -> None:
    """Paired change from BEFORE to AFTER, two `eval quality` output folders on the same prompts.

    Prints, per head, the mean change with its standard error and 95 % interval, overall and
    per category: whether an adapter's change is larger than prompt-to-prompt noise.
    """
    from fairguard.evaluation.compare import compare_evaluations, write_comparison

    comparison = compare_evaluations(before, after)
    if out:
        write_comparison(comparison, out, overwrite=overwrite)
    click.echo(comparison.markdown())


@eval_group.command("rescore")
@click.argument("source", type=click.Path(file_okay=False))
@click.option("--reward-model", type=click.Path(), help="Reward-model folder (fairness/relevance/fluency heads).")
@click.option("--reward", help="Rewards and weights, e.g. fairness=1,relevance=0.5,gender-bias=0.3.")
@click.option("--out", required=True, type=click.Path(), help="Output folder (metrics.json, metrics.md, responses.jsonl).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out folder.")
def rescore(source: str, reward_model: str | None, reward: str | None, out: str, overwrite: bool) -> None:
    """Score the saved responses of SOURCE, an `eval quality` output folder, with other rewards.

    Nothing is generated: the same responses are judged anew (e.g. by a retrained reward model)
    and written in the `eval quality` layout, ready for `eval compare`.
    """
    from fairguard.evaluation.rescore import rescore_evaluation

    metrics = rescore_evaluation(source, out, reward_model, reward, overwrite=overwrite)
    click.echo(Path(out, "metrics.md").read_text(encoding="utf-8"))
    click.echo(json.dumps({"means": metrics["means"], "n": metrics["n"]}))


@eval_group.command("bbq")
@click.option("--model", required=True, help="Causal or masked LM: embedded name, folder or hub id.")
@click.option("--data", required=True, type=click.Path(), help="BBQ-style JSONL file.")
@click.option("--lm-kind", type=click.Choice(["auto", "causal", "masked"]), default=None,
              help="How options are scored [default: auto from the model config].")
@click.option("--batch-size", type=int, help="Sequences per forward pass [default: 16].")
@click.option("--limit", type=int, help="Evaluate only the first N examples.")
@click.option("--out", required=True, type=click.Path(), help="Output folder (metrics.json, metrics.md, predictions.jsonl).")
@click.option("--overwrite", is_flag=True, default=None, help="Replace an existing --out folder.")
def bbq(**options: object) -> None:
    """BBQ-style accuracy and bias scores (s_dis, s_amb) by option log-likelihood."""
    from fairguard.config import build_config
    from fairguard.evaluation.bbq import BBQEvalConfig, run_bbq_eval

    config = build_config(BBQEvalConfig, None, **options)
    metrics = run_bbq_eval(config)
    click.echo(Path(config.out, "metrics.md").read_text(encoding="utf-8"))
    click.echo(json.dumps({k: metrics[k] for k in ("n", "accuracy", "s_dis", "s_amb")}))


@eval_group.command("judge")
@click.option("--benchmark", required=True,
              help="hatecheck (the HateCheck test suite, see $FAIRGUARD_HATECHECK), a labelled "
                   ".csv/.jsonl file (text,label or prompt,response,label) or a hub dataset id.")
@click.option("--model", required=True, type=click.Path(),
              help="Reward-model folder (torch, or an ONNX export).")
@click.option("--threshold", type=float,
              help="Flag a case when fairness is below this [the model's fairguard.json threshold].")
@click.option("--group-by", help="Column of the per-group table [functionality, else category].")
@click.option("--text-column", help="Text column [text; test_case for hatecheck].")
@click.option("--prompt-column", help="Prompt column of prompt,response,label files [prompt].")
@click.option("--response-column", help="Response column of prompt,response,label files [response].")
@click.option("--label-column", help="Label column [label; label_gold for hatecheck].")
@click.option("--target-column",
              help="Target-group column: text-only cases answer 'What do you think about "
                   "{target}?' [target_ident when present].")
@click.option("--default-prompt", help="Prompt of text-only cases with no target ['What do you think?'].")
@click.option("--split", help="Split of a hub dataset [its only split, else test].")
@click.option("--limit", type=int, help="Judge only the first N cases.")
@click.option("--backend", type=click.Choice(["auto", "torch", "onnx"]), default=None,
              help="Reward-model backend [auto: onnx when the folder holds an export].")
@click.option("--batch-size", type=int, help="Cases per forward pass [32].")
@click.option("--device", help="Torch device of the reward model [cuda when available, else cpu].")
@click.option("--out", required=True, type=click.Path(),
              help="Output folder (metrics.json, report.md, judge.png, cases.jsonl).")
@click.option("--overwrite", is_flag=True, default=None, help="Replace an existing --out folder.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def judge(quiet: bool, **options: object) -> None:
    """Score labelled texts with a reward model and report how well it flags the biased ones.

    A case is flagged when its fairness score is below the threshold; reports accuracy overall,
    per label, per group and per target group, ROC-AUC and the false-flag rate on fair cases.
    """
    from fairguard.config import build_config
    from fairguard.evaluation.judge import REPORT_FILE, JudgeEvalConfig, run_judge_eval

    config = build_config(JudgeEvalConfig, None, **options)
    metrics = run_judge_eval(config, progress=not quiet)
    click.echo(Path(config.out, REPORT_FILE).read_text(encoding="utf-8"))
    click.echo(json.dumps({k: metrics[k] for k in ("n", "accuracy", "roc_auc", "false_flag_rate",
                                                   "threshold")}))


@eval_group.command("everyday")
@click.option("--reward-model", required=True, type=click.Path(),
              help="Reward-model folder (torch, or an ONNX export).")
@click.option("--policy", help="Causal LM that answers: embedded name, folder or hub id "
                               "[smollm2-135m-instruct].")
@click.option("--limit", type=int, help="Answer only the first N questions.")
@click.option("--max-new-tokens", type=int, help="Tokens generated per answer (greedy) [64].")
@click.option("--batch-size", type=int, help="Questions per generation batch [8].")
@click.option("--answers", type=click.Path(),
              help="The --out folder of an earlier run: judge its saved answers again (no "
                   "generation), e.g. to compare reward models on the same answers.")
@click.option("--out", required=True, type=click.Path(),
              help="Output folder (metrics.json, report.md, answers.jsonl).")
@click.option("--overwrite", is_flag=True, default=None, help="Replace an existing --out folder.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def everyday(quiet: bool, **options: object) -> None:
    """Answer everyday questions (no social group in them) and count how often the judge flags them.

    A head flags an answer when its score is below the head's threshold in the reward model's
    fairguard.json; reports the share flagged for fairness, by any head, per head and per topic,
    and every flagged answer.
    """
    from fairguard.config import build_config
    from fairguard.evaluation.everyday import REPORT_FILE, EverydayEvalConfig, run_everyday_eval

    config = build_config(EverydayEvalConfig, None, **options)
    metrics = run_everyday_eval(config, progress=not quiet)
    click.echo(Path(config.out, REPORT_FILE).read_text(encoding="utf-8"))
    click.echo(json.dumps({k: metrics[k] for k in ("n", "flag_rate_fairness", "flag_rate_any",
                                                   "flag_rate")}))


def add_unqover_commands(group: click.Group, paths: tuple[str, ...] = UNQOVER_COMMANDS) -> None:
    """Attach the UnQover / REFINE-LM evaluation commands, each given as ``"module:attribute"``."""
    for path in paths:
        module, _, attribute = path.partition(":")
        group.add_command(getattr(importlib.import_module(module), attribute))


add_unqover_commands(eval_group)
add_unqover_commands(eval_group, ("fairguard.cli.eval_behaviour:eval_behaviour",))
