"""The Hugging Face Hub store: `HfApi` behind the `Store` interface.

A publish is ONE `create_commit` (adds for every file, deletes for the parent's files that are
no longer published) with `parent_commit` set, then `create_tag`. If another publish moved the
branch meanwhile, the Hub refuses the commit (412) and the previous revision stays as it was;
if the commit fails for any reason, nothing was published. Identical content (same manifest of
sha256 per file, `factory.store.base.build_manifest`) makes no commit at all.

`.gitattributes` is kept: the Hub writes it in every new repository and git clients need it
to see LFS files as files.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

import httpx2
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from factory import settings
from factory.errors import CredentialsError, RepoNotFound, RevisionNotFound, StoreError
from factory.refs import DatasetRef, validate_revision
from factory.store.base import (
    MANIFEST_PATH,
    FileSource,
    RefInfo,
    Revision,
    Store,
    tag_taken,
    validate_publish,
    with_manifest,
)

logger = logging.getLogger(__name__)


def _is_xet_error(error: BaseException) -> bool:
    """An error raised by the xet transfer layer (the `hf_xet` extension)."""
    module = type(error).__module__ or ""
    return module.split(".")[0] == "hf_xet" or "xet" in type(error).__name__.lower()


REPO_TYPE = "dataset"
HUB_MANAGED = frozenset({".gitattributes"})


class HubStore(Store):
    backend = "hub"

    def __init__(
        self, endpoint: str | None = None, token: str | None = None, cache_dir: Path | None = None
    ):
        self.endpoint = (endpoint or settings.hf_endpoint()).rstrip("/")
        self._token = token or settings.hf_token()
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.api = HfApi(endpoint=self.endpoint, token=self._token)

    def __repr__(self) -> str:  # never show the token
        return f"HubStore(endpoint={self.endpoint!r})"

    # --- errors -------------------------------------------------------------------

    @contextmanager
    def _errors(self, action: str, repo_id: str, revision: str | None = None):
        """Turn huggingface_hub failures into one-line `factory.errors` (never with the token)."""
        where = f"the Hub at {self.endpoint}"
        try:
            yield
        except RevisionNotFoundError:
            raise RevisionNotFound(
                f"dataset {repo_id!r} has no revision {revision or 'main'!r} on {where}"
            ) from None
        except RepositoryNotFoundError:
            raise RepoNotFound(
                f"dataset {repo_id!r} not found on {where} (check the name, or set HF_TOKEN if it is private)"
            ) from None
        except HfHubHTTPError as error:
            status = error.response.status_code if error.response is not None else None
            if status == 401:
                raise CredentialsError(
                    f"{where} refused the token while trying to {action} {repo_id!r} (401): set a valid HF_TOKEN"
                ) from None
            if status == 403:
                raise CredentialsError(
                    f"the token has no write access to {repo_id!r} on {where} (403)"
                ) from None
            if status == 412:
                raise StoreError(
                    f"{repo_id!r}: the branch moved while publishing (another publish won); nothing was "
                    "published and the previous revision is intact; run the build again"
                ) from None
            detail = (error.server_message or "").strip().splitlines()
            raise StoreError(
                f"{where} failed to {action} {repo_id!r}: HTTP {status}"
                + (f": {detail[0]}" if detail else "")
            ) from None
        except httpx2.TransportError as error:
            raise StoreError(
                f"cannot reach {where} to {action} {repo_id!r}: {type(error).__name__}"
            ) from None
        except Exception as error:
            if not _is_xet_error(error):
                raise
            first = (str(error).strip().splitlines() or [""])[0][:200]
            raise StoreError(
                f"the xet transfer to {where} failed to {action} {repo_id!r}: "
                f"{type(error).__name__}{': ' + first if first else ''}; nothing was published, "
                "rerun the build (or set HF_HUB_DISABLE_XET=1)"
            ) from None

    def _write_token(self, repo_id: str) -> str:
        # only HF_TOKEN (or an explicit token) writes: a login file left on the machine never does
        token = self._token
        if not token:
            raise CredentialsError(
                f"publishing {repo_id!r} to the Hub at {self.endpoint} needs a token: set HF_TOKEN "
                "(a token with write access), or publish to the local store (output.backend: local)"
            )
        return token

    def check_writable(self, repo_id: str) -> None:
        """Fail fast, before a long build, when its publish could not be written.

        No token, a token the Hub refuses (401), a token whose user is not the repository's
        namespace nor one of its organisations or that is read-only (403), an unreachable Hub.
        """
        token = self._write_token(repo_id)
        with self._errors("check write access to", repo_id):
            who = self.api.whoami(token=token)
        namespace = repo_id.split("/", 1)[0]
        user = who.get("name")
        writable = {user, *(org.get("name") for org in who.get("orgs") or [])}
        if namespace not in writable:
            raise CredentialsError(
                f"the token has no write access to {repo_id!r} on the Hub at {self.endpoint} (403): "
                f"its user {user!r} is not {namespace!r} nor a member of it"
            )
        role = ((who.get("auth") or {}).get("accessToken") or {}).get("role")
        if role == "read":
            raise CredentialsError(
                f"the token is read-only; publishing {repo_id!r} to the Hub at {self.endpoint} "
                "needs a token with write access (403)"
            )

    # --- Store ------------------------------------------------------------------------

    def publish(
        self,
        repo_id: str,
        files: dict[str, FileSource],
        *,
        message: str,
        branch: str = "main",
        tag: str | None = None,
        private: bool = False,
    ) -> Revision:
        validate_publish(repo_id, files, branch, tag)
        token = self._write_token(repo_id)
        files = with_manifest(files)

        with self._errors("publish", repo_id, branch):
            self.api.create_repo(
                repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True, token=token
            )
            branches, tags = self._refs(repo_id, token)
            parent = branches.get(branch)
            base = parent or branches.get("main")
            same = (
                base is not None
                and self._read(repo_id, MANIFEST_PATH, base, token) == files[MANIFEST_PATH]
            )
            existing_tag = tags.get(tag) if tag else None
            # tags are immutable: refuse before anything is written
            if existing_tag and not (same and existing_tag == base):
                raise tag_taken(repo_id, tag, existing_tag)
            if parent is None and base is not None:
                self.api.create_branch(
                    repo_id, branch=branch, revision=base, repo_type=REPO_TYPE, token=token
                )
            if same:
                sha, created = base, False
            else:
                sha = self._commit(repo_id, files, message, branch, base, token)
                created = True
            if tag and not existing_tag:
                self.api.create_tag(
                    repo_id, tag=tag, revision=sha, repo_type=REPO_TYPE, token=token
                )
        logger.info(
            "published %s@%s (%s)", repo_id, sha[:12], "new commit" if created else "unchanged"
        )
        return Revision(repo_id=repo_id, sha=sha, branch=branch, tag=tag, created=created)

    def _commit(
        self,
        repo_id: str,
        files: dict[str, FileSource],
        message: str,
        branch: str,
        parent: str | None,
        token: str,
    ) -> str:
        operations: list = [
            CommitOperationAdd(
                path_in_repo=path,
                path_or_fileobj=source if isinstance(source, bytes) else str(source),
            )
            for path, source in sorted(files.items())
        ]
        if parent is not None:
            stale = sorted(set(self._files(repo_id, parent, token)) - set(files) - HUB_MANAGED)
            operations += [CommitOperationDelete(path_in_repo=path) for path in stale]
        info = self.api.create_commit(
            repo_id,
            operations,
            commit_message=message,
            revision=branch,
            parent_commit=parent,
            repo_type=REPO_TYPE,
            token=token,
        )
        return info.oid

    def _refs(
        self, repo_id: str, token: str | None = None
    ) -> tuple[dict[str, str], dict[str, str]]:
        refs = self.api.list_repo_refs(repo_id, repo_type=REPO_TYPE, token=token)
        return {b.name: b.target_commit for b in refs.branches}, {
            t.name: t.target_commit for t in refs.tags
        }

    def _files(self, repo_id: str, sha: str, token: str | None = None) -> list[str]:
        entries = self.api.list_repo_tree(
            repo_id, revision=sha, recursive=True, repo_type=REPO_TYPE, token=token
        )
        return [entry.path for entry in entries if hasattr(entry, "blob_id")]

    def _read(
        self, repo_id: str, path: str, revision: str, token: str | None = None
    ) -> bytes | None:
        try:
            local = self.api.hf_hub_download(
                repo_id,
                path,
                revision=revision,
                repo_type=REPO_TYPE,
                token=token,
                cache_dir=self.cache_dir,
            )
        except EntryNotFoundError:
            return None
        return Path(local).read_bytes()

    def resolve(self, repo_id: str, revision: str | None = None) -> str:
        DatasetRef.parse(repo_id)
        revision = revision or "main"
        validate_revision(revision)
        with self._errors("read", repo_id, revision):
            return self.api.dataset_info(repo_id, revision=revision).sha

    def exists(self, repo_id: str) -> bool:
        DatasetRef.parse(repo_id)
        try:
            with self._errors("read", repo_id):
                self.api.dataset_info(repo_id)
        except RepoNotFound:
            return False
        return True

    def list_repos(self) -> list[str]:
        """Datasets of the token's user and organisations (nothing without a token)."""
        if not self._token:
            return []
        with self._errors("list the datasets of", "<token owner>"):
            who = self.api.whoami()
            authors = [who["name"], *(org["name"] for org in who.get("orgs", []))]
            return sorted(
                {d.id for author in authors for d in self.api.list_datasets(author=author)}
            )

    def list_refs(self, repo_id: str) -> list[RefInfo]:
        with self._errors("read", repo_id):
            branches, tags = self._refs(repo_id)
        return [RefInfo(name, "branch", sha) for name, sha in sorted(branches.items())] + [
            RefInfo(name, "tag", sha) for name, sha in sorted(tags.items())
        ]

    def read_file(self, repo_id: str, path: str, revision: str | None = None) -> bytes | None:
        sha = self.resolve(repo_id, revision)
        with self._errors("read", repo_id, revision):
            return self._read(repo_id, path, sha)

    def snapshot(self, repo_id: str, revision: str | None = None) -> Path:
        sha = self.resolve(repo_id, revision)  # pin the sha: a branch may move between calls
        with self._errors("download", repo_id, revision):
            folder = self.api.snapshot_download(
                repo_id, revision=sha, repo_type=REPO_TYPE, cache_dir=self.cache_dir
            )
        return Path(folder)

    def load(self, repo_id: str, revision: str | None = None, config: str | None = None):
        """`datasets.load_dataset(repo_id, revision=sha)`, the sha resolved first.

        datasets reads its endpoint once, from HF_ENDPOINT at import; when this store talks to
        another endpoint, the rows are read from a snapshot instead (same files, same rows).
        """
        import datasets

        sha = self.resolve(repo_id, revision)
        if datasets.config.HF_ENDPOINT.rstrip("/") != self.endpoint:
            return super().load(repo_id, sha, config=config)
        kwargs = {"name": config} if config else {}
        with self._errors("load", repo_id, revision):
            return datasets.load_dataset(repo_id, revision=sha, token=self._token, **kwargs)
