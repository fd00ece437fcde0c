"""A real JupyterHub on localhost, with the committed deploy/jupyterhub/jupyterhub_config.py.

The test config loads that file, then swaps in DummyAuthenticator and
SimpleLocalProcessSpawner (no Unix users here) and the configurable-http-proxy
that `make proxy` installs from npm. Three users log in through the login form at
once, their servers are started through the Hub's REST API, and each one opens
the practice notebook's kernel (a session on design_loop.ipynb) and saves answers
through the form. The three `my-work/` folders must be separate and intact.
The Hub (and with it the proxy and the user servers) is stopped by PID.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import in_ci
from test_browser import free_port

from workbook.answers import load_answers

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[1]
PROXY = ROOT / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
SCENARIO = "support-refund-agent"
USERS = ("ada", "grace", "linus")

SAVE_CODE = """
from workbook.form import practice
form = practice({scenario!r}, display=False)
form.panels["user_intent"].value = {text!r}
assert form.flush(), form.notices
print("SAVED", form.answers_path)
"""


def text_for(user: str) -> str:
    return f"{user} designs for 30 support agents; success is 20% fewer escalations within 6 weeks."


class Hub:
    """`jupyterhub -f test_config.py`, whose PID we hold; an admin service token for the REST API."""

    def __init__(self, base: Path):
        self.base = base
        self.port, self.hub_port, self.api_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(16)
        self.homes = base / "homes"
        state = base / "state"
        state.mkdir(parents=True)
        config = base / "test_config.py"
        config.write_text(f"""
c = get_config()
load_subconfig({str(ROOT / 'deploy' / 'jupyterhub' / 'jupyterhub_config.py')!r})
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "workshop-pass"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(self.homes) + '/{username}'!r}
c.Spawner.cmd = [{sys.executable!r}, "-m", "jupyterhub.singleuser"]
c.Spawner.args = ["--ServerApp.terminals_enabled=False", "--allow-root"]  # CI runs as root
c.JupyterHub.hub_port = {self.hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.api_port}"
c.ConfigurableHTTPProxy.command = [{str(PROXY)!r}]
c.JupyterHub.services = [{{"name": "workbook-test", "api_token": {self.token!r}}}]
c.JupyterHub.load_roles = [{{"name": "workbook-test", "services": ["workbook-test"],
    "scopes": ["admin:users", "admin:servers", "access:servers", "read:users"]}}]
""")
        env = dict(os.environ, WORKBOOK_HUB_URL=self.url, WORKBOOK_HUB_STATE=str(state))
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.pop("WORKBOOK_WORK_DIR", None)
        self.log = (base / "hub.log").open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=base, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.proxy_pid_file = state / "jupyterhub-proxy.pid"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self.process.returncode}; see {self.log.name}")
            try:
                self.api("GET", "/hub/api/")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        raise RuntimeError(f"jupyterhub did not answer within {timeout} s; see {self.log.name}")

    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 30):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def stop(self) -> None:
        proxy_pid = int(self.proxy_pid_file.read_text()) if self.proxy_pid_file.exists() else None
        self.process.send_signal(signal.SIGTERM)  # the Hub stops the user servers and its proxy on the way out
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if proxy_pid is not None and _alive(proxy_pid):
            os.kill(proxy_pid, signal.SIGTERM)
        self.log.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def log_in(hub: Hub, user: str) -> urllib.request.OpenerDirector:
    """The login form, as a browser posts it (with its _xsrf cookie)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{hub.url}/hub/login", timeout=30).read()
    xsrf = next(cookie.value for cookie in jar if cookie.name == "_xsrf")
    form = urllib.parse.urlencode({"username": user, "password": "workshop-pass", "_xsrf": xsrf}).encode()
    request = urllib.request.Request(f"{hub.url}/hub/login?next=", data=form, method="POST")
    try:
        opener.open(request, timeout=30).read()
    except urllib.error.HTTPError as error:  # a redirect to a server not yet started may end in an error page
        if error.code not in (404, 424, 503):
            raise
    names = {cookie.name for cookie in jar}
    assert "jupyterhub-session-id" in names or "jupyterhub-hub-login" in names, f"{user} was not logged in: {names}"
    return opener


def start_server(hub: Hub, user: str, timeout: float = 90) -> None:
    try:
        hub.api("POST", f"/hub/api/users/{user}/server")
    except urllib.error.HTTPError as error:
        if error.code != 400:  # 400: already starting (the login redirect may have started it)
            raise
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = hub.api("GET", f"/hub/api/users/{user}")
        if model.get("server") and not model.get("pending"):
            return
        time.sleep(0.3)
    raise RuntimeError(f"{user}'s server did not start within {timeout} s")


def run_in_kernel(hub: Hub, user: str, code: str, timeout: float = 60) -> str:
    """Open a session on the user's practice notebook (its own kernel), run `code`, return what it printed."""
    import asyncio

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    base = f"/user/{user}/api"
    session = hub.api("POST", f"{base}/sessions", {"path": "notebooks/design_loop.ipynb", "type": "notebook",
                                                    "name": "design_loop.ipynb", "kernel": {"name": "python3"}})
    kernel = session["kernel"]["id"]

    async def execute() -> str:
        url = f"ws://127.0.0.1:{hub.port}{base}/kernels/{kernel}/channels"
        ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {hub.token}"}))
        msg_id = uuid.uuid4().hex
        ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": user, "session": uuid.uuid4().hex,
                       "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False},
        }))
        printed, status, idle = [], None, False
        while status is None or not idle:
            message = json.loads(await asyncio.wait_for(ws.read_message(), timeout))
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["msg_type"]
            if kind == "status" and message["content"].get("execution_state") == "idle":
                idle = True  # every output of the request has come (iopub and shell arrive in any order)
            elif kind == "stream":
                printed.append(message["content"]["text"])
            elif kind == "error":
                printed.append("\n".join(message["content"]["traceback"]))
            elif kind == "execute_reply":
                status = message["content"]["status"]
        ws.close()
        assert status == "ok", f"{user}: {status}: {''.join(printed)}"
        return "".join(printed)

    return asyncio.run(execute())


def user_journey(hub: Hub, user: str, timings: dict[str, float], errors: list[BaseException],
                 phases: dict[str, float] | None = None) -> None:
    try:
        started = time.monotonic()
        log_in(hub, user)
        start_server(hub, user)
        if phases is not None:
            phases[user] = time.monotonic() - started  # login to a running server
        printed = run_in_kernel(hub, user, SAVE_CODE.format(scenario=SCENARIO, text=text_for(user)))
        assert "SAVED" in printed, printed
        timings[user] = time.monotonic() - started
    except BaseException as error:  # noqa: BLE001 - reported by the main thread
        errors.append(error)


def run_three_users(base: Path, users: tuple[str, ...] = USERS, phases: dict[str, float] | None = None) -> tuple[Hub, dict[str, float]]:
    """Start a hub, send the users in at once; return the (stopped) hub and each user's seconds from login to a saved form."""
    if not PROXY.exists():
        message = f"no configurable-http-proxy at {PROXY} (run `make proxy`)"
        pytest.fail(message) if in_ci() else pytest.skip(message)
    hub = Hub(base)
    timings: dict[str, float] = {}
    errors: list[BaseException] = []
    try:
        hub.wait_ready()
        threads = [threading.Thread(target=user_journey, args=(hub, user, timings, errors, phases)) for user in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        if errors:
            raise errors[0]
    finally:
        hub.stop()
    return hub, timings


def test_three_users_get_separate_intact_work_folders(tmp_path):
    hub, timings = run_three_users(tmp_path)
    print("login to a saved form, three users at once:", {u: f"{s:.1f} s" for u, s in sorted(timings.items())})
    assert sorted(timings) == sorted(USERS)
    folders = {user: hub.homes / user / "notebooks" / "my-work" for user in USERS}
    assert len({f.resolve() for f in folders.values()}) == 3
    for user, folder in folders.items():
        answers = load_answers(folder / f"{SCENARIO}.answers.json")
        assert answers.text("user_intent") == text_for(user)
        others = [text_for(other) for other in USERS if other != user]
        for path in folder.iterdir():
            if path.is_file():
                content = path.read_text(encoding="utf-8", errors="replace")
                assert not any(other in content for other in others), path
    assert hub.process.returncode is not None
    assert not list(tmp_path.glob("state/jupyterhub-proxy.pid")) or not _alive(int((tmp_path / "state" / "jupyterhub-proxy.pid").read_text()))
