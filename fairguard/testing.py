"""Tiny random models and tokenizers built in code, for tests, examples and benchmarks.

Nothing here touches the network: the tokenizer is a word-level tokenizer over a fixed English
vocabulary, and the models are random ``LlamaForCausalLM``, ``BertForMaskedLM`` and
``DebertaV2ForSequenceClassification`` instances a few hundred kilobytes large.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

TINY_WORDS = """
the a an and or but of to in on at for with from by as is are was were be been it this that
he she they him her them his their person people woman man women men worker workers rider
riders migrant teacher doctor nurse engineer driver cleaner farmer student students boss
landlord tenant applicant job hire hired rent loan school city village rural urban province
beijing shanghai henan sichuan guangdong xinjiang tibet han uyghur hui zhuang mongolian
good bad lazy smart honest dishonest poor rich young old capable qualified skilled unskilled
who what which answer question context yes no not unknown cannot determined should would can
will do does did have has had say said think because so very more most less all every some
many few one two first second likely unlikely trust trusted reliable unreliable equal fair
unfair treat treated respect everyone anyone deserves same opportunity based on skills
experience judge individual group background where comes from hukou delivery sanitation
""".split()

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<s>", "</s>"]


def tiny_tokenizer(kind: str = "bert") -> Any:
    """A word-level fast tokenizer; ``kind`` is "bert" (CLS/SEP/MASK) or "causal" (<s>, </s>)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIAL + sorted(set(TINY_WORDS)) + list(".,?!'"))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")
    if kind == "bert":
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
        )
        return PreTrainedTokenizerFast(
            tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
            sep_token="[SEP]", mask_token="[MASK]", model_max_length=128,
        )
    if kind == "causal":
        fast = PreTrainedTokenizerFast(
            tokenizer_object=tok, unk_token="[UNK]", pad_token="</s>", bos_token="<s>",
            eos_token="</s>", model_max_length=128,
            model_input_names=["input_ids", "attention_mask"],
        )
        fast.padding_side = "left"
        return fast
    raise ValueError(f"unknown tiny tokenizer kind {kind!r}")


def _seed(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def tiny_causal_lm(seed: int = 0) -> tuple[Any, Any]:
    """A random 2-layer ``LlamaForCausalLM`` and its tokenizer."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = tiny_tokenizer("causal")
    _seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config).eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model, tokenizer


def tiny_masked_lm(seed: int = 0) -> tuple[Any, Any]:
    """A random 2-layer ``BertForMaskedLM`` and its tokenizer."""
    from transformers import BertConfig, BertForMaskedLM

    tokenizer = tiny_tokenizer("bert")
    _seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=256, pad_token_id=tokenizer.pad_token_id,
    )
    return BertForMaskedLM(config).eval(), tokenizer


def tiny_deberta_classifier(num_labels: int = 3, labels: list[str] | None = None,
                            seed: int = 0) -> tuple[Any, Any]:
    """A random 2-layer ``DebertaV2ForSequenceClassification`` (DeBERTa-v3 architecture)."""
    from transformers import DebertaV2Config, DebertaV2ForSequenceClassification

    tokenizer = tiny_tokenizer("bert")
    labels = labels or ["fairness", "relevance", "fluency"][:num_labels]
    _seed(seed)
    config = DebertaV2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=256, pad_token_id=tokenizer.pad_token_id,
        relative_attention=True, position_buckets=32, max_relative_positions=64,
        pos_att_type=["p2c", "c2p"], num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)},
    )
    return DebertaV2ForSequenceClassification(config).eval(), tokenizer


def save_tiny(model: Any, tokenizer: Any, folder: str | os.PathLike[str]) -> Path:
    """Save a tiny model and tokenizer as a Hugging Face folder (safetensors)."""
    folder = Path(folder)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
