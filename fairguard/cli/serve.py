"""``fairguard serve``: the guard as an OpenAI-compatible HTTP server."""

from __future__ import annotations

import logging

import click

STRATEGIES = ("score", "rerank", "rewrite")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


@click.command(name="serve")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="YAML with the guard's and the server's options; flags override it.")
@click.option("--reward-model", type=click.Path(),
              help="Reward-model folder (from `fairguard train reward` or `fairguard export onnx`).")
@click.option("--rewards", help="Rewards and their weights, e.g. reward-model=1,gender-bias=0.5 "
                                "[default: reward-model].")
@click.option("--filters", help="Filters tried in order by --strategy rewrite, comma-separated, e.g. neutralize.")
@click.option("--strategy", type=click.Choice(STRATEGIES), help="score, rerank (best of --n) or rewrite "
                                                                 "[default: rerank].")
@click.option("--n", type=int, help="Candidates per request for rerank/rewrite [default: 4].")
@click.option("--weights", help="Per-head weights, e.g. fairness=1,relevance=0.5.")
@click.option("--thresholds", help="Minimum scores, e.g. fairness=0.5 [default: the reward model's].")
@click.option("--fail", type=click.Choice(["open", "closed"]),
              help="When a plugin or the generator fails: closed refuses, open lets it through [default: closed].")
@click.option("--below", type=click.Choice(["refuse", "flag", "raise"]),
              help="An answer under threshold: refuse, flag, or raise (an error) [default: flag].")
@click.option("--timeout", "timeout_s", type=float, help="Seconds for one plugin call [default: 10].")
@click.option("--model", help="Local causal LM: an embedded name, a folder or a hub id "
                              "[default: smollm2-135m-instruct].")
@click.option("--device", help="Device of the local model (cpu, cuda, ...).")
@click.option("--upstream", help="Base URL of an OpenAI-compatible server to guard instead of the local model, "
                                 "e.g. http://127.0.0.1:8080/v1.")
@click.option("--upstream-model", help="Model name to ask the upstream for (and the only name clients may use).")
@click.option("--upstream-candidates", type=click.Choice(["one-call", "parallel"]),
              help="Ask the upstream for n candidates in one call (vLLM) or n parallel calls (llama.cpp) "
                   "[default: one-call].")
@click.option("--upstream-api-key", envvar="FAIRGUARD_UPSTREAM_API_KEY", show_envvar=True,
              help="Bearer key for the upstream.")
@click.option("--served-model-name", help="The model name clients use [default: --model or --upstream-model].")
@click.option("--host", help="Address to bind [default: 127.0.0.1, this machine only].")
@click.option("--port", type=int, help="Port [default: 8000].")
@click.option("--api-key", envvar="FAIRGUARD_API_KEY", show_envvar=True,
              help="Require 'Authorization: Bearer KEY' on every endpoint but /health.")
@click.option("--deadline", "deadline_s", type=float, help="Seconds for a whole request, generation "
                                                           "included [default: 120].")
@click.option("--max-body-bytes", type=int, help="Largest request body [default: 1000000].")
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="info", show_default=True)
def serve(config_path, reward_model, rewards, filters, strategy, n, weights, thresholds, fail, below,
          timeout_s, model, device, upstream, upstream_model, upstream_candidates, upstream_api_key,
          served_model_name, host, port, api_key, deadline_s, max_body_bytes, log_level) -> None:
    """Serve the guard as an OpenAI-compatible API: /v1/chat/completions, /v1/completions,
    /v1/moderations, /health and /metrics."""
    from fairguard.serve import build_serve_config, run

    config = build_serve_config(
        config_path,
        guard_overrides={"strategy": strategy, "n": n, "weights": weights, "thresholds": thresholds,
                         "fail": fail, "below": below, "timeout_s": timeout_s},
        reward_model=reward_model, rewards=rewards, filters=filters, model=model, device=device,
        upstream=upstream, upstream_model=upstream_model, upstream_candidates=upstream_candidates,
        upstream_api_key=upstream_api_key, served_model_name=served_model_name, host=host, port=port,
        api_key=api_key, deadline_s=deadline_s, max_body_bytes=max_body_bytes)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    library = logging.getLogger("fairguard")
    library.addHandler(handler)
    library.setLevel(log_level.upper())
    run(config, log_level=log_level)
