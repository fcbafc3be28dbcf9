"""Annotator privacy: usernames become a salted hash before anything is written.

The salt comes from the environment variable `FACTORY_ANNOTATOR_SALT` and is read when the
step runs, never stored on the step: datatrove saves every step's attributes to
`executor.json` in the logs, and the salt must reach no log, card or published file.
A build refuses to start without it (one line, exit 2) rather than inventing one: a random
salt would change every annotator hash on each rebuild, and a fixed default would make the
hashes reversible by anyone who can guess usernames.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from factory.errors import BuildError

SALT_ENV = "FACTORY_ANNOTATOR_SALT"
MIN_SALT_LENGTH = 16


def annotator_salt() -> bytes:
    """The salt from the environment; `BuildError` when it is missing or too short to be secret."""
    salt = os.environ.get(SALT_ENV, "")
    if not salt:
        raise BuildError(
            f"{SALT_ENV} is not set: annotator usernames are published only as salted hashes; "
            f"export {SALT_ENV} to a secret of at least {MIN_SALT_LENGTH} characters and keep it "
            f"(the same salt gives the same hashes in every build)"
        )
    if len(salt) < MIN_SALT_LENGTH:
        raise BuildError(
            f"{SALT_ENV} is {len(salt)} characters long: use a secret of at least {MIN_SALT_LENGTH} characters"
        )
    return salt.encode()


def annotator_hash(username: str, salt: bytes) -> str:
    """HMAC-SHA256 of the username under the salt, 16 hex digits (64 bits: no collisions at arena scale)."""
    return "ann_" + hmac.new(salt, username.strip().encode(), hashlib.sha256).hexdigest()[:16]


class AnonymizeAnnotators(PipelineStep):
    """Replace `record["username"]` by `record["annotator"]` (salted hash) in every parsed record.

    Usernames in `anonymous` (the arena's `guest`) or empty ones become `annotator: None`.
    Input columns: `metadata["record"]`. Output columns: the same, without `username`.
    """

    name = "🕶 Anonymize annotators"
    type = "✂️ - FORMAT"

    def __init__(self, anonymous: list[str] | tuple[str, ...] = ("guest",)):
        super().__init__()
        self.anonymous = {name.strip().lower() for name in anonymous}

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        salt = annotator_salt()
        for doc in data:
            record = doc.metadata.get("record")
            if isinstance(record, dict):
                username = record.pop("username", None)
                # never trust an incoming `annotator` field: it could hold a raw name
                record.pop("annotator", None)
                if (
                    isinstance(username, str)
                    and username.strip()
                    and username.strip().lower() not in self.anonymous
                ):
                    record["annotator"] = annotator_hash(username, salt)
                    self.stat_update("annotated")
                else:
                    record["annotator"] = None
                    self.stat_update("anonymous")
            yield doc
