"""Run by the argilla-server venv's python: migrate, create the test users, serve. One process.

Three `python -m argilla_server ...` commands would each import the whole server (about ten
CPU seconds apiece); doing the three steps in one interpreter pays that once.
Arguments: HOST PORT, then USERNAME:PASSWORD:API_KEY:ROLE entries; env as for argilla-server.
"""

import asyncio
import sys

from argilla_server.cli.database.migrate import migrate_db
from argilla_server.cli.database.users.create import _create
from argilla_server.enums import UserRole

host, port, *users = sys.argv[1:]
migrate_db("head")
for entry in users:
    username, password, api_key, role = entry.split(":")
    asyncio.run(
        _create(username, username, UserRole(role), password, None, api_key, ["latxa-review"])
    )

import uvicorn  # noqa: E402

uvicorn.run("argilla_server:app", host=host, port=int(port), access_log=False)
