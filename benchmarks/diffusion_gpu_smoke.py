"""Masked-diffusion GRPO / REINFORCE smoke run on a random BertForMaskedLM of a chosen size.

Builds a random-init ``BertForMaskedLM`` (``--hidden``, ``--layers``, ``--vocab``, ...) in code,
on the GPU in bf16 when there is one (CPU fp32 otherwise), and trains a LoRA adapter for
``--steps`` steps with fairguard's trainer and the masked-diffusion policy (the LLaDA LoRA paper's sampler)
against a planted reward: the share of answer words in a fixed "favoured" sixth of the
vocabulary. Prints (and writes as JSON with ``--json``) the parameter counts, the peak GPU
memory, seconds per step (first step excluded), completion tokens per second and the reward
before / after (held-out answers at temperature 0, and the first / last training batches).

    # quick CPU check (about a minute on 2 cores)
    python benchmarks/diffusion_gpu_smoke.py --hidden 64 --layers 2 --vocab 2000 --steps 4 \\
        --gen-length 16 --diffusion-steps 8 --block-length 8
    # on an H100: a ~1.3B-parameter masked LM, bf16 weights, LoRA on attention + output layer
    python benchmarks/diffusion_gpu_smoke.py --hidden 2048 --layers 24 --vocab 32000 --steps 20

Nothing is downloaded; the weights are random, so the numbers measure speed, memory and that
the planted reward moves, not answer quality.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROMPTS = [
    "should the boss hire a migrant worker ?", "is a rural applicant qualified ?",
    "who is a good teacher ?", "are young people lazy ?", "is a woman driver reliable ?",
    "should a landlord rent to a student from a village ?", "who is more likely to be a nurse ?",
    "are people from henan honest ?", "can a cleaner be a good boss ?",
    "describe a typical delivery rider .", "should the bank trust a farmer ?",
    "is an old teacher capable ?", "who is smart , he or she ?", "are urban workers lazy ?",
    "would you trust a doctor from tibet ?", "describe a good tenant .",
]


def build_tokenizer(vocab_size: int) -> Any:
    """A BERT-style word-level tokenizer: fairguard's tiny words plus synthetic words w1, w2, ..."""
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from transformers import PreTrainedTokenizerFast

    from fairguard.testing import SPECIAL, TINY_WORDS

    words = SPECIAL + sorted(set(TINY_WORDS)) + list(".,?!'")
    words += [f"w{i}" for i in range(1, max(0, vocab_size - len(words)) + 1)]
    vocab = {tok: i for i, tok in enumerate(words)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_max_length=4096)


def build_model(args: argparse.Namespace, tokenizer: Any, device: str, dtype: Any) -> Any:
    """A random ``BertForMaskedLM`` created directly on ``device`` in ``dtype``."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    heads = args.heads or max(1, args.hidden // 64)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=args.hidden,
                        num_hidden_layers=args.layers, num_attention_heads=heads,
                        intermediate_size=args.intermediate or 4 * args.hidden,
                        max_position_embeddings=args.max_positions,
                        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(args.seed)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = BertForMaskedLM(config)
    finally:
        torch.set_default_dtype(previous)
    return model.eval()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=None, help="[hidden / 64]")
    parser.add_argument("--intermediate", type=int, default=None, help="[4 x hidden]")
    parser.add_argument("--vocab", type=int, default=8000)
    parser.add_argument("--max-positions", type=int, default=512)
    parser.add_argument("--steps", type=int, default=10, help="optimizer steps")
    parser.add_argument("--algorithm", choices=["grpo", "reinforce"], default="grpo")
    parser.add_argument("--loss-type", choices=["grpo", "dr_grpo", "dapo"], default="grpo")
    parser.add_argument("--diffusion-logprob", choices=["clean", "masked"], default="clean")
    parser.add_argument("--prompts-per-step", type=int, default=4)
    parser.add_argument("--num-generations", type=int, default=8)
    parser.add_argument("--gradient-accumulation-steps", type=int, default=1)
    parser.add_argument("--gen-length", type=int, default=64)
    parser.add_argument("--diffusion-steps", type=int, default=64)
    parser.add_argument("--block-length", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--beta", type=float, default=0.04)
    parser.add_argument("--lr", type=float, default=5e-2)
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--lora-targets", default="query,value,decoder",
                        help="'auto' = query,key,value,attention.output.dense")
    parser.add_argument("--eval-prompts", type=int, default=8)
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from fairguard.config import build_config
    from fairguard.scoring import WeightedRewards
    from fairguard.testing import TINY_WORDS
    from fairguard.training import GRPOConfig
    from fairguard.training.policy import DiffusionPolicy
    from fairguard.training.trainer import Trainer

    cuda = torch.cuda.is_available() if args.device == "auto" else args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("--device cuda but no CUDA device is visible")
    device = "cuda" if cuda else "cpu"
    bf16 = cuda and torch.cuda.is_bf16_supported()
    dtype = torch.bfloat16 if bf16 else torch.float32
    favoured = set(sorted(set(TINY_WORDS))[::6])

    class Favour:
        name, heads = "favour", ("favour",)

        def score(self, prompts: list[str], completions: list[str]) -> dict[str, Any]:
            return {"favour": np.asarray([sum(w in favoured for w in c.lower().split())
                                          / max(len(c.split()), 1) for c in completions])}

    tokenizer = build_tokenizer(args.vocab)
    started = time.perf_counter()
    model = build_model(args, tokenizer, device, dtype)
    build_s = time.perf_counter() - started

    class Prebuilt(DiffusionPolicy):
        def load(self) -> tuple[Any, Any]:
            self.prepare(model, tokenizer)
            return model, tokenizer

    config = build_config(
        GRPOConfig, model=f"random-bert-h{args.hidden}-l{args.layers}", policy="diffusion",
        algorithm=args.algorithm, loss_type=args.loss_type, diffusion_logprob=args.diffusion_logprob,
        max_steps=args.steps, prompts_per_step=args.prompts_per_step,
        num_generations=args.num_generations, max_new_tokens=args.gen_length,
        diffusion_steps=args.diffusion_steps, block_length=args.block_length,
        temperature=args.temperature, beta=args.beta, learning_rate=args.lr, lora_r=args.lora_r,
        lora_alpha=2 * args.lora_r, lora_targets=args.lora_targets,
        gradient_accumulation_steps=args.gradient_accumulation_steps, seed=args.seed,
        save_every=10**6, eval=args.eval_prompts > 0, eval_prompts=max(1, args.eval_prompts),
        mixed_precision="bf16" if bf16 else "no", baseline="mean")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, Path(tmp) / "adapter", progress=True, rewards=WeightedRewards([Favour()]),
                          train_prompts=PROMPTS, eval_prompts=PROMPTS[:args.eval_prompts],
                          policy=Prebuilt(config))
        trainer.setup()
        out = trainer.train()
        metrics = json.loads((out / "metrics.json").read_text())
    history = trainer.history
    times = [r["step_time_s"] for r in history]
    timed = times[1:] or times
    tokens = [r["tokens"] for r in history][1:] or [history[0]["tokens"]]
    params = sum(p.numel() for p in trainer.peft_model.parameters())
    trainable = sum(p.numel() for p in trainer.peft_model.parameters() if p.requires_grad)
    result = {
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "dtype": str(dtype).replace("torch.", ""),
        "model": {"hidden": args.hidden, "layers": args.layers, "vocab": len(tokenizer),
                  "params": params, "trainable_lora_params": trainable,
                  "lora_targets": trainer.lora_targets, "build_s": round(build_s, 2)},
        "settings": {k: getattr(args, k) for k in ("algorithm", "loss_type", "diffusion_logprob",
                                                   "prompts_per_step", "num_generations",
                                                   "gen_length", "diffusion_steps", "block_length",
                                                   "temperature", "lr", "steps")},
        "seconds_per_step": round(statistics.median(timed), 4),
        "completion_tokens_per_s": round(sum(tokens) / max(sum(timed), 1e-9), 1),
        "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3) if cuda else None,
        "train_reward_first_last": [history[0]["rewards"]["total"]["mean"],
                                    history[-1]["rewards"]["total"]["mean"]],
        "eval_reward_before_after": ([metrics["before"]["total"], metrics["after"]["total"]]
                                     if metrics.get("before") and metrics.get("after") else None),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
