"""A loopback OpenAI-compatible `/v1/completions` server wrapping a real engine (the demo model).

Speaks the request and response shapes of the OpenAI completions API (`model`, `prompt` as a
string, a list of strings, a list of token ids or a list of those; `max_tokens`, `temperature`,
`top_p`, `n`, `stop`, `seed`; answer `choices[{text, index, finish_reason}]` and `usage`), plus
vLLM's `stop_token_ids` extension, so the openai engine is tested over real HTTP. `GET /v1/models`
names the server kind it plays (`owned_by`, default vllm), and `faults` makes it answer the first
requests with those statuses (or `"garbage"`: a 200 that is not JSON), to test retries and errors.
This is a test double for what no CPU machine can run (vLLM, faults on demand); the real server
tests are in test_transformers_serve.py.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from factory.engines import Engine, SamplingParams


def _prompts(prompt) -> list:
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
        return [prompt]  # one prompt given as token ids
    return list(prompt)


def make_handler(engine: Engine, api_key: str | None, seen: list[dict], owner: str, faults: list):
    lock = threading.Lock()  # one generate at a time: the engine is not thread-safe

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def _send(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _authorized(self) -> bool:
            if api_key is not None and self.headers.get("Authorization") != f"Bearer {api_key}":
                self._send(401, {"error": {"message": "invalid api key"}})
                return False
            return True

        def do_GET(self):
            if self.path != "/v1/models":
                return self._send(404, {"error": {"message": f"no route {self.path}"}})
            if self._authorized():
                self._send(200, {"object": "list", "data": [{"id": "demo", "owned_by": owner}]})

        def do_POST(self):
            if self.path != "/v1/completions":
                return self._send(404, {"error": {"message": f"no route {self.path}"}})
            if not self._authorized():
                return None
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"body": request, "headers": dict(self.headers)})
            if faults:
                fault = faults.pop(0)
                if fault == "garbage":
                    body = b"<html>not an API</html>"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return None
                return self._send(fault, {"error": {"message": f"injected {fault}"}})
            params = SamplingParams(
                temperature=request.get("temperature", 1.0),
                top_p=request.get("top_p", 1.0),
                max_tokens=request.get("max_tokens", 16),
                stop=[request["stop"]]
                if isinstance(request.get("stop"), str)
                else request.get("stop") or [],
                stop_token_ids=request.get("stop_token_ids") or [],
                n=request.get("n", 1),
                seed=request.get("seed"),
            )
            prompts = _prompts(request["prompt"])
            with lock:
                results = engine.generate(prompts, params)
            choices, prompt_tokens, completion_tokens = [], 0, 0
            for completions in results:
                prompt_tokens += completions[0].prompt_tokens
                for c in completions:
                    choices.append(
                        {
                            "text": c.text,
                            "index": len(choices),
                            "finish_reason": c.finish_reason,
                            "logprobs": None,
                        }
                    )
                    completion_tokens += c.completion_tokens
            self._send(
                200,
                {
                    "id": f"cmpl-{len(seen)}",
                    "object": "text_completion",
                    "model": request.get("model"),
                    "choices": choices,
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens,
                    },
                },
            )

    return Handler


@contextmanager
def serve(
    engine: Engine, api_key: str | None = None, *, owner: str = "vllm", faults: list | None = None
):
    """Yields (base_url, seen_requests) of a server on 127.0.0.1 at a free port."""
    seen: list[dict] = []
    handler = make_handler(engine, api_key, seen, owner, list(faults or []))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()
