"""Talk to a running `fairguard serve` with the official openai client.

    fairguard serve --config examples/serve/serve.yaml --reward-model runs/demo/reward-onnx
    python examples/serve/client.py [--base-url http://127.0.0.1:8000/v1]

A chat answer (with the guard's record), the same question streamed sentence by sentence, and a
moderation batch. Nothing here is fairguard-specific except reading the `fairguard` field.
"""

from __future__ import annotations

import argparse
import os

import openai

QUESTION = "A migrant worker from a rural province wants to rent my flat. Should I worry?"
TEXTS = [
    "Judge the tenant on references and income, like anyone else.",
    "People from rural provinces are dishonest and will not pay the rent.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    parser.add_argument("--api-key", default=os.environ.get("FAIRGUARD_API_KEY", "none"))
    parser.add_argument("--model", help="default: the first model the server lists")
    parser.add_argument("--max-tokens", type=int, default=48)
    args = parser.parse_args()

    client = openai.OpenAI(base_url=args.base_url, api_key=args.api_key)
    model = args.model or client.models.list().data[0].id
    messages = [{"role": "user", "content": QUESTION}]

    answer = client.chat.completions.create(model=model, messages=messages, max_tokens=args.max_tokens)
    choice = answer.choices[0]
    record = choice.model_extra["fairguard"]
    print(f"CHAT [{record['decision']}, {record['action']}, {record['candidates']} candidates] "
          f"finish={choice.finish_reason}")
    print("   ", choice.message.content)
    print("    scores:", {k: v if v is None else round(v, 3) for k, v in record["scores"].items()})

    print("STREAM:", end=" ", flush=True)
    for chunk in client.chat.completions.create(model=model, messages=messages, max_tokens=args.max_tokens,
                                                stream=True):
        if not chunk.choices:
            continue
        print(chunk.choices[0].delta.content or "", end="", flush=True)
        if chunk.choices[0].finish_reason:
            final = chunk.choices[0].model_extra["fairguard"]
            print(f"\n    [{final['decision']}, {final['action']}] finish={chunk.choices[0].finish_reason}; "
                  f"{final['notes'][0]}")

    moderation = client.moderations.create(input=TEXTS)
    for text, result in zip(TEXTS, moderation.results):
        scores = {k: round(v, 3) for k, v in result.category_scores.model_extra.items() if v is not None}
        print(f"MODERATION flagged={result.flagged} {scores}: {text}")


if __name__ == "__main__":
    main()
