"""`fairguard serve` on the command line: option errors, and the embedded model served for real."""

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner

from fairguard.cli import cli


def test_serve_needs_a_reward():
    result = CliRunner().invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code == 1 and "no rewards" in result.output and "--reward-model" in result.output


def test_serve_rejects_a_bad_upstream_url(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--reward-model", str(tmp_path), "--upstream", "localhost:1"])
    assert result.exit_code == 1 and "http(s) base URL" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serve_with_the_embedded_model_and_a_reward_model_folder(tmp_path):
    """`fairguard serve --reward-model DIR` with no other flag: the embedded SmolLM2, offline."""
    import openai
    from onnx_export_data import tiny_reward_dir

    folder = tiny_reward_dir(tmp_path / "rm")
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "FAIRGUARD_API_KEY": "k-123"}
    proc = subprocess.Popen([sys.executable, "-m", "fairguard", "serve", "--reward-model", str(folder),
                             "--port", str(port), "--n", "2"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        end = time.monotonic() + 300
        while time.monotonic() < end and proc.poll() is None:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        assert proc.poll() is None, proc.stdout.read()
        client = openai.OpenAI(base_url=url + "/v1", api_key="k-123", max_retries=0, timeout=300)
        out = client.chat.completions.create(model="smollm2-135m-instruct", max_tokens=8,
                                             messages=[{"role": "user", "content": "Who makes a good nurse?"}])
        record = out.choices[0].model_extra["fairguard"]
        assert record["candidates"] == 2 and set(record["scores"]) == {"fairness", "relevance", "fluency", "total"}
        assert out.choices[0].message.content.strip()
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=url + "/v1", api_key="wrong", max_retries=0).models.list()
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
    assert "k-123" not in output and "serving on http://127.0.0.1" in output
