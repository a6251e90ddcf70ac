"""How wide the ONNX scorer's boundary re-check should be: per quantile of int8's logit error.

    python benchmarks/recheck_margins.py --export DIR --data DATASET --split val
    python benchmarks/recheck_margins.py --export DIR --data DATASET --split test --write

The int8 scorer re-scores in fp32 every pair whose int8 logit lies within a margin of some
head's threshold (docs/export.md, "Decisions near a threshold"). The margin is a quantile of
``|int8 - fp32|`` logits on the export's calibration pairs (the train split's first 1024, as the
export measures it). For each quantile this prints the margins, the share of ``--split``'s
pairs re-scored, and how often the resulting decisions agree with fp32's. Choose on ``val``;
report ``test`` once. Counts, not times: it can run beside other work.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import write_section  # noqa: E402

SECTION = "## Boundary re-check: margin against re-scored share"
QUANTILES = (0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1.0)


def run(export: str, data: str, split: str, calibration_pairs: int = 1024) -> str:
    """The markdown report of one export on one split."""
    from fairguard.export.onnx_scorer import OnnxRewardScorer
    from fairguard.export.parity import logit_threshold, recheck_report
    from fairguard.export.parity_inputs import dataset_pairs
    from fairguard.export.quantize import RECHECK_QUANTILE

    int8 = OnnxRewardScorer(export, quantized=True, windows=False, recheck=False)
    fp32 = OnnxRewardScorer(export, quantized=False, windows=False)
    heads = list(int8.heads)
    at = np.array([logit_threshold(int8.thresholds[h]) for h in heads], dtype=np.float32)

    def logits(pairs: object) -> tuple[np.ndarray, np.ndarray]:
        p, r = pairs.prompts, pairs.responses  # type: ignore[attr-defined]
        return int8.logits(p, r), fp32.logits(p, r)

    ci, cf = logits(dataset_pairs(data, "train", calibration_pairs))
    error = np.abs(ci - cf)
    pairs = dataset_pairs(data, split)
    ei, ef = logits(pairs)
    truth = ef >= at
    alone = ((ei >= at) == truth).mean(axis=0)
    lines = [
        SECTION, "",
        f"- command: `python benchmarks/recheck_margins.py {' '.join(sys.argv[1:])}`",
        f"- date: {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}; export "
        f"{export}; {len(pairs)} pairs of {pairs.source}; margins from |int8 - fp32| on the "
        f"first {len(ci)} train pairs (the export's calibration pairs); the export's default "
        f"quantile is {RECHECK_QUANTILE}",
        "- int8 alone: decisions agree with fp32 on "
        + ", ".join(f"{h} {a:.2%}" for h, a in zip(heads, alone)),
        "",
        "| quantile | margins (logit), " + " / ".join(heads) + " | pairs re-scored | agreement "
        "with fp32, " + " / ".join(heads) + " | worst head |",
        "|---:|---|---:|---|---:|",
    ]
    for q in QUANTILES:
        margins = np.quantile(error, q, axis=0)
        report = recheck_report(ef, ei, heads, int8.thresholds, margins)
        agree = list(report["decision_agreement"].values())
        lines.append(f"| {q} | " + " / ".join(f"{m:.3f}" for m in margins)
                     + f" | {report['rescored_share']:.2%} | "
                     + " / ".join(f"{a:.2%}" for a in agree) + f" | {min(agree):.2%} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", required=True, help="folder written by `fairguard export onnx`")
    parser.add_argument("--data", required=True, help="dataset folder (`fairguard data build`)")
    parser.add_argument("--split", default="val", choices=("val", "test"),
                        help="pairs to measure on [val]; choose on val, report test")
    parser.add_argument("--write", action="store_true", help=f"write {SECTION!r} in RESULTS.md")
    args = parser.parse_args(argv)
    text = run(args.export, args.data, args.split)
    print(text)
    if args.write:
        write_section(text, SECTION)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
