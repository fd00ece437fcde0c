#!/usr/bin/env bash
# The participants' environment for a single-server hub, from the same files Binder uses.
# TLJH: run as root with the user environment's pip, e.g.
#   sudo -E PIP=/opt/tljh/user/bin/pip deploy/jupyterhub/install-env.sh
# Any other venv: PIP=/path/to/venv/bin/pip deploy/jupyterhub/install-env.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PIP="${PIP:-pip}"
"$PIP" install -r binder/requirements.txt "jupyterhub>=5"
PYTHON="$(dirname "$(command -v "$PIP")")/python"
PATH="$(dirname "$PYTHON"):$PATH" bash binder/postBuild
