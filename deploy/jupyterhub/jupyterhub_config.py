"""JupyterHub for a workshop on one server: the shape The Littlest JupyterHub (TLJH) takes.

One machine, one Hub, one single-user Jupyter server per participant, all in the
environment `binder/` describes (install it with `deploy/jupyterhub/install-env.sh`).
Each participant gets their own home folder with a copy of the workbook's
notebooks; their answers go to `~/notebooks/my-work/`, which nobody else's server
reads or writes.

Settings come from environment variables so the same file serves a real room and
the localhost test (tests/test_hub.py loads it, then swaps in test doubles):

    WORKBOOK_HUB_PASSWORD   the shared password handed out in the room (required for the
                            default authenticator; at least 8 characters)
    WORKBOOK_HUB_ADMIN      the facilitator's user name (an admin)
    WORKBOOK_HUB_URL        where the Hub listens (default http://:8000)
    WORKBOOK_HUB_HOMES      home folder template (default /home/{username}; TLJH: jupyter-{username})
    WORKBOOK_HUB_STATE      where the Hub keeps its database and cookie secret (default: this folder)
    WORKBOOK_REPO           the workbook checkout (default: two folders up from this file)
    WORKBOOK_HUB_SPAWNER    spawner class (default: jupyterhub.spawner.LocalProcessSpawner, real Unix users;
                            TLJH uses systemdspawner)

Run: `jupyterhub -f deploy/jupyterhub/jupyterhub_config.py`.
"""

import os
import shutil
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

HERE = Path(__file__).resolve().parent
REPO = Path(os.environ.get("WORKBOOK_REPO", HERE.parents[1]))  # the checkout whose notebooks/ users get
NOTEBOOKS = REPO / "notebooks"
STATE = Path(os.environ.get("WORKBOOK_HUB_STATE", HERE))

c.JupyterHub.bind_url = os.environ.get("WORKBOOK_HUB_URL", "http://:8000")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
local_proxy = REPO / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"  # `make proxy`
if local_proxy.exists():
    c.ConfigurableHTTPProxy.command = [str(local_proxy)]

# Who may log in: everyone in the room, with the password on the whiteboard.
c.JupyterHub.authenticator_class = "jupyterhub.authenticators.shared.SharedPasswordAuthenticator"
c.SharedPasswordAuthenticator.user_password = os.environ.get("WORKBOOK_HUB_PASSWORD", "")
c.Authenticator.allow_all = True
if os.environ.get("WORKBOOK_HUB_ADMIN"):
    c.Authenticator.admin_users = {os.environ["WORKBOOK_HUB_ADMIN"]}

# One server per participant, in their own home folder, opening on the start notebook.
c.JupyterHub.spawner_class = os.environ.get("WORKBOOK_HUB_SPAWNER", "jupyterhub.spawner.LocalProcessSpawner")
c.Spawner.default_url = "/lab/tree/notebooks/00_start_here.ipynb"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {"WORKBOOK_WORK_DIR": ""}  # never one shared folder: my-work/ beside each user's notebooks
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 120
c.Spawner.mem_limit = "1G"  # what a notebook and the scorer need, with room to spare
homes = os.environ.get("WORKBOOK_HUB_HOMES")
if homes:
    c.SimpleLocalProcessSpawner.home_dir_template = homes


def copy_notebooks(spawner) -> None:
    """Before a server starts: give the participant their own copy of the notebooks (kept if already there)."""
    home = Path(getattr(spawner, "home_dir", "") or os.path.expanduser(f"~{spawner.user.name}"))
    target = home / "notebooks"
    if not target.exists():
        home.mkdir(parents=True, exist_ok=True)
        shutil.copytree(NOTEBOOKS, target, ignore=shutil.ignore_patterns("my-work", ".ipynb_checkpoints"))


c.Spawner.pre_spawn_hook = copy_notebooks

# A room of 20-100: stop servers idle for an hour (answers are on disk, nothing is lost).
try:
    import jupyterhub_idle_culler  # noqa: F401
except ImportError:
    pass
else:
    import sys

    c.JupyterHub.load_roles = [{"name": "idle-culler", "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
                                "services": ["idle-culler"]}]
    c.JupyterHub.services = [{"name": "idle-culler", "command": [sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=3600"]}]
