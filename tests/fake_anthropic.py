"""A small stand-in for the Messages API on a loopback port, for tests and benchmarks.

It speaks the subset the Claude grader uses: POST /v1/messages (structured
output as JSON text), POST /v1/messages/count_tokens, and Message Batches
(create, retrieve, results as JSONL). The real SDK reaches it through
`base_url`. It checks the key (`Authorization: Bearer`, as SDK 2.x sends it, or `x-api-key`), records every request in memory
(never on disk), counts tokens as characters / 4 and models prompt caching:
the system blocks up to the one carrying `cache_control` are written to the
cache on first sight and read from it afterwards.

Tests script failures with `queue(...)`, replace the judge with `judge = fn`,
or hold requests with `gate` (a threading.Event the handler waits on).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import stat
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest

TEST_KEY = "sk-ant-test-LEAKCANARY-6a1f0c93e4b2"
AUTH_HEADERS = {"authorization", "x-api-key"}
_ANSWER = re.compile(r'<answer step="([a-z_]+)">\n(.*?)\n</answer>', re.S)
_CRITERION = re.compile(r"^- ([a-z0-9_-]+) \(weight [^)]*\): ", re.M)
_STEP = re.compile(r"^## Step ([a-z_]+) ", re.M)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict | None


def tokens(text: str) -> int:
    return max(1, len(text) // 4)


def rubric_criteria(system: list[dict]) -> dict[str, list[str]]:
    """Criterion ids per step, read back from the rubric block of the system prompt."""
    rubric = system[-1]["text"]
    steps: dict[str, list[str]] = {}
    marks = list(_STEP.finditer(rubric))
    for index, mark in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(rubric)
        steps[mark.group(1)] = _CRITERION.findall(rubric, mark.end(), end)
    return steps


def answers_in(body: dict) -> dict[str, str]:
    """The answers of the user turn, entities turned back into the learner's characters."""
    content = body["messages"][0]["content"]
    return {step: html.unescape(text) for step, text in _ANSWER.findall(content)}


def default_judge(body: dict) -> dict:
    """First criterion met (quoting the answer's first words), second partly, the rest missing."""
    criteria = rubric_criteria(body["system"])
    steps = []
    for step, text in answers_in(body).items():
        words = text.split()
        verdicts = []
        for index, criterion in enumerate(criteria.get(step, [])):
            if index == 0:
                verdicts.append({"criterion": criterion, "verdict": "met", "quote": " ".join(words[:6])})
            elif index == 1:
                verdicts.append({"criterion": criterion, "verdict": "partly", "quote": " ".join(words[-3:])})
            else:
                verdicts.append({"criterion": criterion, "verdict": "missing", "quote": ""})
        steps.append({"step": step, "criteria": verdicts, "rationale": f"A start on {step}.", "injection": ""})
    return {"steps": steps}


class FakeAnthropic:
    def __init__(self, key: str = TEST_KEY):
        self.key = key
        self.requests: list[Received] = []
        self.judge: Callable[[dict], dict | str] = default_judge
        self.queued: deque[Callable[[dict], tuple[int, dict, bytes] | None]] = deque()
        self.gate: threading.Event | None = None
        self.arrived = threading.Event()  # set when a /v1/messages request comes in
        self.cached_prefixes: set[str] = set()
        self.batches: dict[str, dict] = {}
        self.polls_before_end = 1
        self.batch_errors: set[str] = set()  # custom_ids whose batch result is "errored"
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> "FakeAnthropic":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.gate is not None:
            self.gate.set()
        self._server.shutdown()
        self._server.server_close()

    # --- scripting ---------------------------------------------------------------

    def queue_status(self, status: int, times: int = 1, error_type: str = "api_error") -> None:
        """The next `times` message requests fail with `status`."""
        payload = json.dumps({"type": "error", "error": {"type": error_type, "message": f"scripted {status}"}}).encode()
        for _ in range(times):
            self.queued.append(lambda body: (status, {"retry-after-ms": "1"}, payload))

    def queue_text(self, text: str) -> None:
        """The next message request answers with this text as the model's output."""
        self.queued.append(lambda body: (200, {}, json.dumps(self.message(body, text)).encode()))

    def message_bodies(self, path: str = "/v1/messages") -> list[dict]:
        return [r.body for r in self.requests if r.path == path and r.body is not None]

    # --- the API -------------------------------------------------------------------

    def usage(self, body: dict, output: str) -> dict:
        system = body.get("system") or []
        prefix: list[dict] = []
        for block in system:
            prefix.append(block)
            if block.get("cache_control"):
                break
        else:
            prefix = []
        prefix_tokens = sum(tokens(b["text"]) for b in prefix)
        rest = json.dumps(system[len(prefix):]) + json.dumps(body.get("messages")) + json.dumps(body.get("output_config") or {})
        digest = hashlib.sha256(json.dumps([body.get("model"), prefix]).encode()).hexdigest()
        with self._lock:
            hit = digest in self.cached_prefixes
            self.cached_prefixes.add(digest)
        return {
            "input_tokens": tokens(rest),
            "output_tokens": tokens(output),
            "cache_creation_input_tokens": 0 if hit or not prefix else prefix_tokens,
            "cache_read_input_tokens": prefix_tokens if hit else 0,
        }

    def message(self, body: dict, text: str) -> dict:
        return {
            "id": f"msg_{len(self.requests):06d}", "type": "message", "role": "assistant", "model": body.get("model"),
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": self.usage(body, text),
        }

    def answer(self, body: dict) -> dict:
        output = self.judge(body)
        if "FollowUpQuestion" in json.dumps(body.get("output_config") or {}):
            output = {"question": "What happens when the refund tool times out halfway?"}
        return self.message(body, output if isinstance(output, str) else json.dumps(output))

    def _batch_view(self, batch_id: str) -> dict:
        batch = self.batches[batch_id]
        ended = batch["polls"] > self.polls_before_end
        total = len(batch["requests"])
        errored = sum(1 for r in batch["requests"] if r["custom_id"] in self.batch_errors)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return {
            "id": batch_id, "type": "message_batch", "processing_status": "ended" if ended else "in_progress",
            "request_counts": {"processing": 0 if ended else total, "succeeded": total - errored if ended else 0,
                               "errored": errored if ended else 0, "canceled": 0, "expired": 0},
            "created_at": now, "expires_at": now, "ended_at": now if ended else None, "archived_at": None,
            "cancel_initiated_at": None, "results_url": f"{self.base_url}/v1/messages/batches/{batch_id}/results" if ended else None,
        }

    def _results(self, batch_id: str) -> bytes:
        lines = []
        for request in reversed(self.batches[batch_id]["requests"]):  # out of order on purpose
            if request["custom_id"] in self.batch_errors:
                result = {"type": "errored", "error": {"type": "error", "error": {"type": "overloaded_error", "message": "scripted"}}}
            else:
                result = {"type": "succeeded", "message": self.answer(request["params"])}
            lines.append(json.dumps({"custom_id": request["custom_id"], "result": result}))
        return ("\n".join(lines) + "\n").encode()

    def route(self, method: str, path: str, body: dict | None) -> tuple[int, dict, bytes]:
        ok = lambda payload: (200, {}, json.dumps(payload).encode())  # noqa: E731
        if method == "POST" and path == "/v1/messages":
            self.arrived.set()
            if self.gate is not None:
                self.gate.wait(30)
            if self.queued:
                return self.queued.popleft()(body)
            return ok(self.answer(body))
        if method == "POST" and path == "/v1/messages/count_tokens":
            counted = sum(tokens(b["text"]) for b in body.get("system") or [])
            counted += tokens(json.dumps(body.get("messages")) + json.dumps(body.get("output_config") or {}))
            return ok({"input_tokens": counted})
        if method == "POST" and path == "/v1/messages/batches":
            batch_id = f"msgbatch_{len(self.batches) + 1:04d}"
            self.batches[batch_id] = {"requests": body["requests"], "polls": 0}
            return ok(self._batch_view(batch_id))
        match = re.fullmatch(r"/v1/messages/batches/([\w-]+)(/results)?", path)
        if method == "GET" and match and match.group(1) in self.batches:
            if match.group(2):
                return 200, {"content-type": "application/binary"}, self._results(match.group(1))
            self.batches[match.group(1)]["polls"] += 1
            return ok(self._batch_view(match.group(1)))
        return 404, {}, json.dumps({"type": "error", "error": {"type": "not_found_error", "message": path}}).encode()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet, and nothing written anywhere
                pass

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                path = self.path.split("?")[0]
                fake.requests.append(Received(method, path, dict(self.headers.items()), body))
                if fake.key not in (self.headers.get("x-api-key"), (self.headers.get("authorization") or "").removeprefix("Bearer ")):
                    status, headers, payload = 401, {}, json.dumps(
                        {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}).encode()
                else:
                    status, headers, payload = fake.route(method, path, body)
                try:
                    self.send_response(status)
                    self.send_header("content-type", headers.pop("content-type", "application/json"))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def do_POST(self) -> None:
                self._serve("POST")

            def do_GET(self) -> None:
                self._serve("GET")

        return Handler


# --- the key must never reach a file -----------------------------------------------

def files_containing(key: str, roots: list[Path], since: float = 0.0) -> list[Path]:
    """Files under `roots` modified after `since` whose bytes contain `key`."""
    needle = key.encode()
    found = []
    for root in roots:
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if d not in (".git", ".venv", "node_modules", "__pycache__")]
            for name in names:
                path = Path(folder) / name
                try:
                    status = path.lstat()
                    # Only regular files: a test's FIFO (the hostile-input tests make some) would block the read forever.
                    if not stat.S_ISREG(status.st_mode) or status.st_mtime < since:
                        continue
                    if needle in path.read_bytes():
                        found.append(path)
                except OSError:
                    continue
    return found


@pytest.fixture(scope="session")
def key_leak_guard(tmp_path_factory):
    """At the end of the session: no file the tests wrote (temp folders, the checkout) holds the test key."""
    started = time.time() - 1
    yield TEST_KEY
    roots = [tmp_path_factory.getbasetemp(), Path(__file__).resolve().parents[1]]
    leaks = files_containing(TEST_KEY, roots, started)
    assert not leaks, f"the test API key was written to: {', '.join(map(str, leaks))}"
