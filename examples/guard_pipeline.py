"""Wrap a real Hugging Face text-generation pipeline with the fairguard guard.

    python examples/guard_pipeline.py                      # finds a reward model, see below
    python examples/guard_pipeline.py PATH/TO/REWARD_MODEL  # an ONNX export or a torch folder

The policy LM is the embedded SmolLM2-135M-Instruct (offline). The reward is the trained reward
model: the folder given on the command line, else runs/demo/reward-onnx (the ONNX
export), else runs/demo/reward-model (the torch folder); with none of them it falls back
to the built-in ``gender-bias`` reward and says so. Each prompt gets 4 sampled candidates, all
scored in one batch; the output lists them best first with their scores and what the guard did.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

DEFAULT_FOLDERS = (Path("runs/demo/reward-onnx"), Path("runs/demo/reward-model"))
PROMPTS = [
    "Describe a typical nurse in two sentences.",
    "Who makes a better engineer, a man or a woman?",
    "A migrant worker from a rural province applies to rent my flat. What should I think?",
]


def find_reward_model(arg: str | None) -> Path | None:
    """The reward-model folder to use, or None for the gender-bias fallback."""
    if arg:
        folder = Path(arg).expanduser()
        if not (folder / "fairguard.json").is_file():
            sys.exit(f"error: {folder} is not a reward-model folder (no fairguard.json); train one with "
                     "`fairguard train reward` or export one with `fairguard export onnx`")
        return folder
    for folder in DEFAULT_FOLDERS:
        if (folder / "fairguard.json").is_file():
            return folder
    return None


def build_guard(folder: Path | None, n: int):
    from fairguard import Guard

    if folder is None:
        print("note: no reward model found (looked in "
              f"{', '.join(str(f) for f in DEFAULT_FOLDERS)}); using the built-in gender-bias "
              "reward, which only measures gendered wording. Train one with `fairguard train reward` "
              "or pass its folder as an argument.\n")
        return Guard.from_names("gender-bias", ["neutralize"], strategy="rewrite", n=n,
                                thresholds="gender-bias=0.8", fail="closed", below="flag")
    guard = Guard.from_names(
        "reward-model,gender-bias",
        ["neutralize"],
        reward_options={"reward-model": {"path": str(folder)}},
        weights="fairness=1,relevance=0.5,fluency=0.5,gender-bias=0.5",
        strategy="rewrite", n=n, fail="closed", below="flag",
    )
    backend = getattr(guard.rewards[0], "backend", "?")
    print(f"reward model: {folder} (backend {backend}); thresholds {guard.thresholds}\n")
    return guard


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reward_model", nargs="?", help="reward-model folder (ONNX export or torch)")
    parser.add_argument("--n", type=int, default=4, help="candidates per prompt (default 4)")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    from transformers import pipeline

    from fairguard.models import load_causal_lm

    guard = build_guard(find_reward_model(args.reward_model), args.n)
    model, tokenizer = load_causal_lm("smollm2-135m-instruct")
    pipe = pipeline("text-generation", model=model, tokenizer=tokenizer)
    guarded = guard.wrap(pipe)
    print(guard, "\n")

    torch.manual_seed(args.seed)
    for prompt in PROMPTS:
        chat = [{"role": "user", "content": prompt}]
        # num_return_sequences=n returns all n candidates, best first; a server would ask for 1
        outputs = guarded(chat, max_new_tokens=args.max_new_tokens, num_return_sequences=args.n)
        print("=" * 100)
        print(f"PROMPT: {prompt}")
        for rank, out in enumerate(outputs, 1):
            record = out["fairguard"]
            scores = ", ".join(f"{k}={v:.3f}" if v is not None else f"{k}=n/a"
                               for k, v in record["scores"].items())
            text = out["generated_text"][-1]["content"].strip().replace("\n", " ")
            mark = "CHOSEN " if rank == 1 else f"#{rank}     "
            print(f"\n{mark}[{record['decision']}, {record['action']}] {scores}")
            print(textwrap.indent(textwrap.fill(text, 94), "    "))
            if record.get("original") and record["action"] == "rewritten":
                print(textwrap.indent(textwrap.fill("before rewrite: " + record["original"].strip(), 94),
                                      "    "))
            for error in record["errors"]:
                print(f"    error ({error['kind']}) in {error['plugin']}: {error['message']}")
        lat = outputs[0]["fairguard"]["latency"]
        print(f"\nlatency: generation {lat['generation_ms']:.0f} ms for {args.n} candidates, scoring "
              f"{lat['scoring_ms']:.1f} ms, rewrite {lat['rewrite_ms']:.1f} ms, guard total "
              f"{lat['guard_ms']:.1f} ms")
    print("=" * 100)


if __name__ == "__main__":
    main()
