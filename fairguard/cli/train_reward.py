"""``fairguard train reward``: train the multi-head (fairness, relevance, fluency) reward model."""

from __future__ import annotations

import click


@click.command(name="reward")
@click.option("--data", "data", type=click.Path(), help="Dataset folder from `fairguard data build`.")
@click.option("--out", "out", type=click.Path(), help="Folder to write the reward model to.")
@click.option("--backbone", default=None,
              help="Encoder: embedded `minilm-l6` (default offline), a local HF folder, or a hub "
                   "id such as microsoft/deberta-v3-small (the default wherever the hub is reachable).")
@click.option("--epochs", type=int, default=None, help="Training epochs [4].")
@click.option("--batch-size", type=int, default=None,
              help="Dataset rows per step; each row gives up to 4 (prompt, response) pairs [8].")
@click.option("--lr", type=float, default=None, help="Peak learning rate (AdamW, linear warmup/decay) [2e-4].")
@click.option("--max-length", type=int, default=None, help="Max tokens of prompt + response [128].")
@click.option("--heads", default=None, help="Comma list of heads [fairness,relevance,fluency].")
@click.option("--seed", type=int, default=None, help="Random seed (init, dropout, shuffling) [0].")
@click.option("--limit", type=int, default=None, help="Use at most N rows of each split (quick runs).")
@click.option("--rows-per-epoch", type=int, default=None,
              help="Train each epoch on the next N rows of a seeded shuffle [1000]; 0 = all rows.")
@click.option("--val-rows", type=int, default=None,
              help="Validate each epoch on a fixed seeded sample of N val rows [150]; 0 = all.")
@click.option("--freeze-layers", type=int, default=None,
              help="Freeze the embeddings and the first N encoder layers [a third of them: 2 on minilm-l6].")
@click.option("--extra-data", "extra_data", multiple=True, type=click.Path(),
              help="Your own labelled .csv/.jsonl file (text,label or prompt,response,label) mixed "
                   "into the train rows; trains the fairness head. Repeatable.")
@click.option("--extra-text-column", default=None, help="Text column of --extra-data files [text].")
@click.option("--extra-prompt-column", default=None, help="Prompt column of --extra-data files [prompt].")
@click.option("--extra-response-column", default=None,
              help="Response column of --extra-data files [response].")
@click.option("--extra-label-column", default=None, help="Label column of --extra-data files [label].")
@click.option("--extra-target-column", default=None,
              help="Target-group column framing text-only rows as 'What do you think about "
                   "{target}?' [target_ident when present].")
@click.option("--extra-default-prompt", default=None,
              help="Prompt of text-only rows with no target ['What do you think?'].")
@click.option("--false-flag-rate", type=float, default=None,
              help="Each head's shipped threshold lets this share of its good validation texts "
                   "fall below it [0.02].")
@click.option("--config", "config_path", type=click.Path(), default=None,
              help="YAML file with any of these options (and pairwise_weight, warmup_ratio, "
                   "weight_decay, eval_batch_size, device); flags override it.")
@click.option("--overwrite", is_flag=True, default=None, help="Replace an existing --out folder.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def train_reward(data, out, backbone, epochs, batch_size, lr, max_length, heads, seed, limit,
                 rows_per_epoch, val_rows, freeze_layers, extra_data, extra_text_column,
                 extra_prompt_column, extra_response_column, extra_label_column,
                 extra_target_column, extra_default_prompt, false_flag_rate, config_path,
                 overwrite, quiet) -> None:
    """Train a reward model that scores (prompt, response) for fairness, relevance and fluency.

    Writes an ordinary AutoModelForSequenceClassification folder plus fairguard.json,
    metrics.json (test split and a hand-written set) and training.png.
    """
    from fairguard.config import build_config
    from fairguard.reward_model.config import RewardTrainConfig
    from fairguard.reward_model.train import train_reward_model

    config = build_config(
        RewardTrainConfig, config_path, data=data, out=out, backbone=backbone, epochs=epochs,
        batch_size=batch_size, lr=lr, max_length=max_length, heads=heads, seed=seed, limit=limit,
        rows_per_epoch=rows_per_epoch, val_rows=val_rows, freeze_layers=freeze_layers,
        overwrite=overwrite, progress=False if quiet else None, extra_data=extra_data or None,
        extra_text_column=extra_text_column, extra_prompt_column=extra_prompt_column,
        extra_response_column=extra_response_column, extra_label_column=extra_label_column,
        extra_target_column=extra_target_column, extra_default_prompt=extra_default_prompt,
        false_flag_rate=false_flag_rate,
    )
    result = train_reward_model(config)
    if not result.main_process:  # another rank of a torchrun / accelerate launch run; rank 0 reports
        return
    m = result.metrics
    click.echo(f"wrote {result.out} (best epoch {m['best_epoch']}, {m['train_seconds']:.0f} s training)")
    for head, hm in m["heads"].items():
        auc = "n/a" if hm["roc_auc"] is None else f"{hm['roc_auc']:.3f}"
        pair = "n/a" if hm["pairwise_accuracy"] is None else f"{hm['pairwise_accuracy']:.3f}"
        hand = m["handwritten"]["heads"][head]
        hauc = "n/a" if hand["roc_auc"] is None else f"{hand['roc_auc']:.3f}"
        cut = m.get("test_cut_off", {}).get("heads", {}).get(head, {}).get("roc_auc")
        cauc = "n/a" if cut is None else f"{cut:.3f}"
        click.echo(f"  {head:<10} test acc {hm['accuracy']:.3f}  auc {auc}  pairwise {pair}   "
                   f"cut-off auc {cauc}   handwritten acc {hand['accuracy']:.3f}  auc {hauc}")
    cal = m.get("calibration")
    if cal:
        shown = ", ".join(f"{h} {t:.3f}" for h, t in cal["thresholds"].items())
        click.echo(f"  thresholds for a {cal['false_flag_rate']:.0%} false-flag rate on "
                   f"{cal['split']}: {shown}")
    dil = m.get("dilution")
    if dil:
        click.echo(f"  one biased sentence among 3-30 neutral ones (test split): flagged "
                   f"{dil['flagged_with_biased']:.1%}; the same answers without it pass "
                   f"{dil['passed_without']:.1%}")
