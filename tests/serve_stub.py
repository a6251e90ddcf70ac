"""A tiny real OpenAI-compatible HTTP server for the `fairguard serve` tests: scripted answers,
streamed or not, and scripted failures (HTTP 500, a 400, a slow answer, one choice only)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StubUpstream:
    """Answers ``POST /v1/chat/completions`` and ``/v1/completions`` with ``texts`` in turn.

    ``mode``: ``ok``; ``error`` (HTTP 500); ``reject`` (HTTP 400 in OpenAI's shape); ``slow``
    (waits ``delay`` s first); ``one`` (always one choice, whatever ``n`` says). A stream sends
    one word per chunk, ``chunk_delay`` s apart. ``requests`` records the bodies received;
    ``broken`` counts streams whose client went away.
    """

    def __init__(self, texts: list[str], mode: str = "ok", delay: float = 0.0, chunk_delay: float = 0.0):
        self.texts, self.mode, self.delay, self.chunk_delay = list(texts), mode, delay, chunk_delay
        self.requests: list[dict] = []
        self.broken = 0
        self._turn = 0
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _send(self, status, payload):
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                stub.requests.append(body)
                chat = self.path.endswith("/chat/completions")
                if stub.mode == "error":
                    return self._send(500, {"error": {"message": "the model crashed", "type": "server_error",
                                                      "param": None, "code": None}})
                if stub.mode == "reject":
                    return self._send(400, {"error": {"message": "temperature is too hot",
                                                      "type": "invalid_request_error", "param": "temperature",
                                                      "code": None}})
                if stub.mode == "slow":
                    time.sleep(stub.delay)
                n = 1 if stub.mode == "one" else int(body.get("n") or 1)
                if isinstance(body.get("prompt"), list):  # OpenAI: n choices per prompt, prompt by prompt
                    n *= len(body["prompt"])
                texts = [stub.next_text() for _ in range(n)]
                if body.get("stream"):
                    return self._stream(chat, texts[0])
                choices = []
                for i, text in enumerate(texts):
                    choice = {"index": i, "finish_reason": "stop", "logprobs": None}
                    choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
                    choices.append(choice)
                self._send(200, {"id": "stub", "object": "chat.completion" if chat else "text_completion",
                                 "created": 0, "model": body.get("model"), "choices": choices,
                                 "usage": {"prompt_tokens": 7, "completion_tokens": 5 * n, "total_tokens": 7 + 5 * n}})

            def _stream(self, chat, text):
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                words = text.split(" ")
                try:
                    for i, word in enumerate(words):
                        piece = word if i == 0 else " " + word
                        delta = {"delta": {"content": piece}} if chat else {"text": piece}
                        event = {"id": "stub", "choices": [{"index": 0, "finish_reason": None, **delta}]}
                        self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
                        self.wfile.flush()
                        if stub.chunk_delay:
                            time.sleep(stub.chunk_delay)
                    end = {"id": "stub", "choices": [{"index": 0, "finish_reason": "stop",
                                                      **({"delta": {}} if chat else {"text": ""})}]}
                    self.wfile.write(b"data: " + json.dumps(end).encode() + b"\n\ndata: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    with stub._lock:
                        stub.broken += 1
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # clients that hang up are expected
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    def next_text(self) -> str:
        with self._lock:
            text = self.texts[self._turn % len(self.texts)]
            self._turn += 1
        return text

    def __enter__(self) -> "StubUpstream":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
