#!/usr/bin/env bash
# The Argilla review tests' services: Debian's redis-server and chromium (+ chromedriver), and
# argilla-server 2.8 with osmem-server (in-memory OpenSearch-compatible) in their own venv,
# because argilla-server needs click<8.2 and the project's typer needs a newer click.
# Idempotent; prints the venv path. The tests start and stop the processes themselves.
set -euo pipefail
VENV="${ARGILLA_SERVER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/latxa-factory/argilla-venv}"
if ! command -v redis-server >/dev/null || ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server chromium chromium-driver >/dev/null
fi
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import argilla_server, osmem_server" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "argilla-server[server]==2.8.0" "click<8.2" "osmem-server==0.1.6"
fi
echo "$VENV"
