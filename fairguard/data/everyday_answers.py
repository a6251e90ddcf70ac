"""A language model's own answers to the everyday questions of ``broad.yaml``.

The everyday rows of the broad dataset answer in two voices: the two or three sentences written
for each question in ``broad.yaml``, and (half the rows, ``broad.GENERATED_ANSWER_PROB``) an
answer that the embedded SmolLM2-135M-Instruct generated, read from ``everyday_answers.yaml``.
The generated answers carry what no template here writes: a policy's openings ("The age-old
question of ..."), hedges, lists and markdown, cut off where the token limit fell. A judge
trained only on the written voice flagged several per cent of a policy's ordinary answers
(docs/judge-runs.md, forty-sixth run).

The file ships with the package, so building a dataset needs no model; ``python -m
fairguard.data.everyday_answers [--policy NAME] [--out FILE]`` writes it again (greedy, then
``SAMPLES - 1`` sampled answers per question).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Sequence

from fairguard.data.broad_lexicon import EVERYDAY_ANSWERS_FILE, pools

log = logging.getLogger(__name__)

DEFAULT_POLICY = "smollm2-135m-instruct"
SAMPLES = 4  # answers per question: one greedy, the rest sampled
MAX_NEW_TOKENS = 64  # as `fairguard eval everyday` answers
TEMPERATURE = 0.8
TOP_P = 0.95
HEADER = """\
# Answers that {policy} wrote to the everyday questions of broad.yaml (none names
# a group): per question one greedy answer and {sampled} sampled at temperature {temperature}
# (top-p {top_p}, seeds 1-{sampled}), at most {tokens} new tokens each, kept as the model wrote
# them (cut off where the token limit fell). They give the everyday rows text that no template
# here wrote, in the words and layout of a policy; the rows label them fair (and, with one biased
# sentence inserted, biased). The eval set fairguard/evaluation/everyday_questions.yaml asks
# other questions. Written by `python -m fairguard.data.everyday_answers`; do not edit by hand.
"""


def everyday_questions() -> list[str]:
    """The everyday questions of ``broad.yaml``, in file order."""
    return [question for question, _ in pools()["everyday"]]


def generate_everyday_answers(policy: str = DEFAULT_POLICY, questions: Sequence[str] | None = None,
                              samples: int = SAMPLES, max_new_tokens: int = MAX_NEW_TOKENS,
                              progress: bool = True) -> dict[str, list[str]]:
    """Per question (default every everyday question of ``broad.yaml``), ``samples`` answers
    of ``policy``: the greedy one first, then answers sampled with seeds 1, 2, ..."""
    from fairguard.generation import DecodingConfig, generate_responses, load_policy

    questions = list(everyday_questions() if questions is None else questions)
    model, tokenizer = load_policy(policy)
    decodings = [DecodingConfig(max_new_tokens=max_new_tokens)] + [
        DecodingConfig(max_new_tokens=max_new_tokens, do_sample=True, temperature=TEMPERATURE,
                       top_p=TOP_P, seed=seed) for seed in range(1, samples)]
    answers: dict[str, list[str]] = {question: [] for question in questions}
    for decoding in decodings:
        for question, answer in zip(questions, generate_responses(model, tokenizer, questions,
                                                                  decoding, progress=progress)):
            answers[question].append(answer.strip())
    return answers


def write_everyday_answers(answers: dict[str, list[str]], path: str | Path,
                           policy: str = DEFAULT_POLICY, max_new_tokens: int = MAX_NEW_TOKENS) -> None:
    """Write ``answers`` as ``everyday_answers.yaml`` (its header says how they were made)."""
    import yaml

    sampled = max(len(a) for a in answers.values()) - 1 if answers else 0
    header = HEADER.format(policy=policy, sampled=sampled, temperature=TEMPERATURE, top_p=TOP_P,
                           tokens=max_new_tokens)
    body = yaml.safe_dump({"answers": answers}, allow_unicode=True, sort_keys=False, width=100)
    Path(path).write_text(header + body, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m fairguard.data.everyday_answers``: write the answers file again."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", default=DEFAULT_POLICY, help="Causal LM: embedded name, folder or hub id.")
    parser.add_argument("--out", default=str(Path(__file__).with_name(EVERYDAY_ANSWERS_FILE)),
                        help="File to write (default: the packaged one).")
    args = parser.parse_args(argv)
    write_everyday_answers(generate_everyday_answers(args.policy), args.out, args.policy)
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
