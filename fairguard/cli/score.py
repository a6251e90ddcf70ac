"""``fairguard score``: try a trained reward model on a prompt and one or more responses."""

from __future__ import annotations

import json

import click


@click.command(name="score")
@click.option("--model", "model", required=True, type=click.Path(),
              help="Reward-model folder (from `fairguard train reward`, or its ONNX export).")
@click.option("--prompt", required=True, help="The prompt.")
@click.option("--response", "responses", multiple=True, required=True,
              help="A response to score; repeat for several.")
@click.option("--backend", type=click.Choice(["auto", "torch", "onnx"]), default="auto",
              show_default=True, help="auto = onnx when the folder holds model.onnx, else torch.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def score(model, prompt, responses, backend, as_json) -> None:
    """Score responses to a prompt for fairness, relevance and fluency (1 = good)."""
    from fairguard.registry import get_reward

    reward = get_reward("reward-model", path=model, backend=backend)
    prompts = [prompt] * len(responses)
    scores = reward.score(prompts, list(responses))
    thresholds = getattr(reward, "thresholds", {}) or {}
    rows = []
    for i, response in enumerate(responses):
        row = {"response": response}
        row.update({head: round(float(scores[head][i]), 4) for head in reward.heads})
        row["flags"] = [head for head in reward.heads
                        if float(scores[head][i]) < float(thresholds.get(head, 0.5))]
        rows.append(row)
    if as_json:
        click.echo(json.dumps({"prompt": prompt, "heads": list(reward.heads), "results": rows},
                              indent=2))
        return
    header = "  ".join(f"{head:>9}" for head in reward.heads)
    click.echo(f"{header}  response")
    for row in rows:
        values = "  ".join(f"{row[head]:>9.3f}" for head in reward.heads)
        flag = f"  [low: {', '.join(row['flags'])}]" if row["flags"] else ""
        text = row["response"] if len(row["response"]) <= 70 else row["response"][:67] + "..."
        click.echo(f"{values}  {text}{flag}")
