"""A loopback Hugging Face Hub: the HTTP routes huggingface_hub 2.4 and datasets 5.2 use.

Backed by real bare git repositories (`gitrepos.GitRepo`) and a content-addressed LFS folder.
Routes answer the JSON shapes the client parses (read from huggingface_hub's `hf_api.py`,
`_commit_api.py`, `lfs.py`, `file_download.py` and `hf_file_system.py`) and the error headers
`hf_raise_for_status` maps to exception types (`X-Error-Code`).

Test hooks on `LoopbackHub`: `fail_next(route, status)` makes the next request to a route
fail after its body was read (nothing is written), `requests` logs (method, route, path).
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import shutil
import subprocess
import tempfile
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from .gitrepos import (
    INITIAL_GITATTRIBUTES,
    ZERO_SHA,
    Entry,
    GitError,
    GitRepo,
    LfsObjects,
    RefMoved,
    lfs_pointer,
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_REPO_TYPES = {"datasets": "dataset", "models": "model"}
_URL_PREFIX = {"dataset": "datasets/", "model": ""}
LFS_MIN_SIZE = 10 * 1024 * 1024  # the Hub sends files of 10 MB and more through LFS
# the one 401 message that huggingface_hub does not turn into RepositoryNotFoundError
_BAD_TOKEN = "Invalid credentials in Authorization header"


class HubError(Exception):
    """Answered as `{"error": message}` with `X-Error-Code` / `X-Error-Message` headers."""

    def __init__(
        self, status: int, message: str, code: str | None = None, body: dict | None = None
    ):
        super().__init__(message)
        self.status, self.message, self.code, self.body = status, message, code, body or {}


class HubState:
    """Everything the server knows: repositories, LFS objects, tokens, injected failures."""

    def __init__(self, root: Path, tokens: dict[str, tuple[str, list[str]]]):
        self.root = root
        self.lfs = LfsObjects(root / "lfs")
        self.tokens = tokens  # token -> (user, orgs the user may write to)
        self.lock = threading.Lock()
        self.failures: dict[str, list[int]] = defaultdict(list)
        self.requests: list[tuple[str, str, str]] = []
        self.base_url = ""

    def repo(self, repo_type: str, org: str, name: str) -> GitRepo:
        if not (_NAME.match(org) and _NAME.match(name)) or name.endswith(".git"):
            raise HubError(400, f"invalid repo id {org}/{name}")
        return GitRepo(self.root / "repos" / repo_type / org / f"{name}.git")

    def pop_failure(self, route: str) -> int | None:
        with self.lock:
            pending = self.failures.get(route)
            return pending.pop(0) if pending else None


def _is_lfs_path(path: str, gitattributes: bytes) -> bool:
    for line in gitattributes.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and "filter=lfs" in parts[1:]:
            pattern = parts[0]
            target = path if "/" in pattern else path.rsplit("/", 1)[-1]
            if fnmatch.fnmatchcase(target, pattern.lstrip("/")):
                return True
    return False


def _validate_path(path: str) -> str:
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or any(p in ("", ".", "..") for p in parts)
        or ".git" in parts
    ):
        raise HubError(400, f"invalid path in repository: {path!r}")
    return path


def _card_data(readme: bytes) -> dict | None:
    text = readme.decode(errors="replace")
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.S)
    if not match:
        return None
    data = yaml.safe_load(match.group(1))
    return data if isinstance(data, dict) else None


class HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects
    server: _Server

    def log_message(self, format, *args):
        pass

    # --- plumbing -------------------------------------------------------------

    @property
    def state(self) -> HubState:
        return self.server.state

    def _read_body(self) -> bytes:
        # Always drain the body, even for requests that fail, or keep-alive breaks.
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: bytes = b"",
        headers: dict | None = None,
        content_type="application/json",
    ):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _json(self, status: int, data, headers: dict | None = None):
        self._send(status, json.dumps(data).encode(), headers)

    def _user(self) -> tuple[str, list[str]] | None:
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        if token is None:
            return None
        if token not in self.state.tokens:
            raise HubError(401, _BAD_TOKEN)
        return self.state.tokens[token]

    def _writer(self, org: str) -> str:
        user = self._user()
        if user is None:
            raise HubError(401, "You must be authenticated to write (send a token)")
        name, orgs = user
        if org != name and org not in orgs:
            raise HubError(403, f"You don't have the rights to write to {org}")
        return name

    def _readable(self, repo: GitRepo, label: str) -> GitRepo:
        if not (repo.path / "HEAD").is_file():
            raise HubError(404, f"Repository {label} not found", "RepoNotFound")
        if repo.private:
            user = self._user()
            org = repo.path.parent.name
            if user is None or (org != user[0] and org not in user[1]):
                raise HubError(404, f"Repository {label} not found", "RepoNotFound")
        return repo

    def _revision(self, repo: GitRepo, revision: str) -> str:
        sha = repo.resolve(revision)
        if sha is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return sha

    # --- dispatch ---------------------------------------------------------------

    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _dispatch(self):
        body = self._read_body()
        split = urlsplit(self.path)
        query = parse_qs(split.query)
        # split the raw path first: revisions arrive quoted (`refs%2Fconvert%2Fparquet`)
        segments = [unquote(s) for s in split.path.strip("/").split("/")]
        route, handler, args = self._route(segments)
        self.state.requests.append((self.command, route, split.path))
        try:
            if handler is None:
                raise HubError(404, f"no route for {self.command} {split.path}")
            status = self.state.pop_failure(route)
            if status is not None:
                raise HubError(status, f"injected failure of {route}")
            handler(*args, body=body, query=query)
        except HubError as error:
            headers = {"X-Error-Message": error.message}
            if error.code:
                headers["X-Error-Code"] = error.code
            self._json(error.status, {"error": error.message, **error.body}, headers)
        except GitError as error:
            self._json(500, {"error": str(error)}, {"X-Error-Message": "git failure"})

    def _route(self, seg: list[str]):
        method = self.command
        if seg[:2] == ["api", "repos"] and len(seg) == 3:
            if method == "POST" and seg[2] == "create":
                return "create", self.create_repo, ()
            if method == "DELETE" and seg[2] == "delete":
                return "delete", self.delete_repo, ()
        if seg == ["api", "whoami-v2"] and method == "GET":
            return "whoami", self.whoami, ()
        if seg == ["api", "validate-yaml"] and method == "POST":
            return "validate-yaml", self.validate_yaml, ()
        if len(seg) == 2 and seg[0] == "api" and seg[1] in _REPO_TYPES and method == "GET":
            return "list", self.list_repos, (_REPO_TYPES[seg[1]],)
        if len(seg) >= 4 and seg[0] == "api" and seg[1] in _REPO_TYPES:
            repo_type, org, name, rest = _REPO_TYPES[seg[1]], seg[2], seg[3], seg[4:]
            key = (method, rest[0] if rest else "")
            table = {
                ("GET", ""): ("info", self.repo_info, 0),
                ("GET", "revision"): ("info", self.repo_info, 1),
                ("GET", "refs"): ("refs", self.list_refs, 0),
                ("GET", "tree"): ("tree", self.list_tree, None),
                ("POST", "paths-info"): ("paths-info", self.paths_info, 1),
                ("POST", "preupload"): ("preupload", self.preupload, 1),
                ("POST", "commit"): ("commit", self.commit, 1),
                ("POST", "tag"): ("tag", self.create_tag, 1),
                ("DELETE", "tag"): ("delete-tag", self.delete_tag, 1),
                ("POST", "branch"): ("branch", self.create_branch, 1),
                ("DELETE", "branch"): ("delete-branch", self.delete_branch, 1),
            }
            if key in table:
                route, handler, nargs = table[key]
                extra = rest[1:]
                if nargs is None and extra:  # tree/{rev}[/{path}]
                    return route, handler, (repo_type, org, name, extra[0], "/".join(extra[1:]))
                if nargs == len(extra) or (key == ("GET", "") and not extra):
                    return route, handler, (repo_type, org, name, *extra)
            return key[1] or "info", None, ()
        # file routes: [datasets/]org/name/resolve/rev/path, [datasets/]org/name.git/info/lfs/objects/batch
        repo_type = "dataset" if seg and seg[0] == "datasets" else "model"
        rest = seg[1:] if repo_type == "dataset" else seg
        if len(rest) >= 5 and rest[2] == "resolve" and method in ("GET", "HEAD"):
            return (
                "resolve",
                self.resolve_file,
                (repo_type, rest[0], rest[1], rest[3], "/".join(rest[4:])),
            )
        if (
            len(rest) == 6
            and rest[1].endswith(".git")
            and rest[2:] == ["info", "lfs", "objects", "batch"]
        ):
            return "lfs-batch", self.lfs_batch, (repo_type, rest[0], rest[1][: -len(".git")])
        if len(seg) == 2 and seg[0] == "lfs-upload" and method == "PUT":
            return "lfs-upload", self.lfs_upload, (seg[1],)
        return "unknown", None, ()

    # --- account ----------------------------------------------------------------

    def whoami(self, *, body, query):
        user = self._user()
        if user is None:
            raise HubError(401, _BAD_TOKEN)
        name, orgs = user
        self._json(200, {"type": "user", "name": name, "orgs": [{"name": org} for org in orgs]})

    def validate_yaml(self, *, body, query):
        content = json.loads(body or b"{}").get("content", "")
        try:
            _card_data(content.encode())
        except yaml.YAMLError as error:
            raise HubError(
                400, "Invalid metadata", body={"errors": [{"message": str(error).splitlines()[0]}]}
            ) from None
        self._json(200, {"warnings": []})

    # --- repositories -----------------------------------------------------------

    def create_repo(self, *, body, query):
        payload = json.loads(body or b"{}")
        repo_type = payload.get("type") or "model"
        user = self._user()
        org = payload.get("organization") or (user[0] if user else "")
        self._writer(org)
        name = payload.get("name", "")
        repo = self.state.repo(repo_type, org, name)
        url = f"{self.state.base_url}/{_URL_PREFIX[repo_type]}{org}/{name}"
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        with self.state.lock:
            if (repo.path / "HEAD").is_file():
                raise HubError(409, f"You already created this {repo_type} repo", body={"url": url})
            repo.init(private=private)
        self._json(200, {"url": url, "name": f"{org}/{name}", "id": f"{org}/{name}"})

    def delete_repo(self, *, body, query):
        payload = json.loads(body or b"{}")
        repo_type = payload.get("type") or "model"
        org = payload.get("organization") or ""
        self._writer(org)
        repo = self._readable(
            self.state.repo(repo_type, org, payload.get("name", "")), f"{org}/{payload.get('name')}"
        )
        shutil.rmtree(repo.path)
        self._json(200, {})

    def _summary(self, repo: GitRepo, repo_type: str, org: str, name: str, sha: str) -> dict:
        return {
            "id": f"{org}/{name}",
            "author": org,
            "sha": sha,
            "lastModified": repo.commit_time(sha),
            "private": repo.private,
            "disabled": False,
            "gated": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
        }

    def list_repos(self, repo_type: str, *, body, query):
        author = (query.get("author") or [None])[0]
        folder = self.state.root / "repos" / repo_type
        found = []
        for path in sorted(folder.glob("*/*.git")) if folder.is_dir() else []:
            org, name = path.parent.name, path.name[: -len(".git")]
            if author and org != author:
                continue
            repo = GitRepo(path)
            try:
                self._readable(repo, f"{org}/{name}")
            except HubError:
                continue
            sha = repo.resolve("main") or ZERO_SHA
            found.append(self._summary(repo, repo_type, org, name, sha))
        self._json(200, found)

    def repo_info(
        self, repo_type: str, org: str, name: str, revision: str = "main", *, body, query
    ):
        repo = self._readable(self.state.repo(repo_type, org, name), f"{org}/{name}")
        sha = self._revision(repo, revision)
        files = [e for e in repo.entries(sha, recursive=True) or [] if e.kind == "file"]
        with_blobs = (query.get("blobs") or ["false"])[0].lower() == "true"
        siblings = []
        for entry in files:
            sibling: dict = {"rfilename": entry.path}
            if with_blobs:
                sibling.update(size=entry.size, blobId=entry.oid)
                if entry.lfs_oid:
                    sibling["lfs"] = {
                        "size": entry.size,
                        "sha256": entry.lfs_oid,
                        "pointerSize": entry.pointer_size,
                    }
            siblings.append(sibling)
        data = self._summary(repo, repo_type, org, name, sha)
        data["siblings"] = siblings
        readme = repo.entry(sha, "README.md")
        if readme is not None:
            try:
                data["cardData"] = _card_data(repo.blob(readme.oid))
            except yaml.YAMLError:
                pass
        self._json(200, data)

    def list_refs(self, repo_type: str, org: str, name: str, *, body, query):
        repo = self._readable(self.state.repo(repo_type, org, name), f"{org}/{name}")
        groups = {"branches": [], "converts": [], "tags": [], "pullRequests": []}
        prefixes = {
            "refs/heads/": "branches",
            "refs/convert/": "converts",
            "refs/tags/": "tags",
            "refs/pr/": "pullRequests",
        }
        for ref, sha in repo.refs():
            for prefix, group in prefixes.items():
                if ref.startswith(prefix):
                    groups[group].append(
                        {"name": ref[len(prefix) :], "ref": ref, "targetCommit": sha}
                    )
        self._json(200, groups)

    # --- reading files ------------------------------------------------------------

    def list_tree(
        self, repo_type: str, org: str, name: str, revision: str, path: str = "", *, body, query
    ):
        repo = self._readable(self.state.repo(repo_type, org, name), f"{org}/{name}")
        sha = self._revision(repo, revision)
        recursive = (query.get("recursive") or ["false"])[0].lower() == "true"
        entries = repo.entries(sha, path.strip("/"), recursive=recursive)
        if entries is None:
            raise HubError(404, f"Path {path} not found at {revision}", "EntryNotFound")
        self._json(200, [entry.as_json() for entry in entries])

    def paths_info(self, repo_type: str, org: str, name: str, revision: str, *, body, query):
        repo = self._readable(self.state.repo(repo_type, org, name), f"{org}/{name}")
        sha = self._revision(repo, revision)
        form = parse_qs(body.decode())
        if not form and body[:1] == b"{":
            form = {"paths": json.loads(body).get("paths", [])}
        found = [repo.entry(sha, path.strip("/")) for path in form.get("paths", [])]
        self._json(200, [entry.as_json() for entry in found if entry is not None])

    def resolve_file(
        self, repo_type: str, org: str, name: str, revision: str, path: str, *, body, query
    ):
        repo = self._readable(self.state.repo(repo_type, org, name), f"{org}/{name}")
        sha = self._revision(repo, revision)
        entry = repo.entry(sha, path)
        if entry is None or entry.kind != "file":
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
        data = (
            self.state.lfs.path(entry.lfs_oid).read_bytes()
            if entry.lfs_oid
            else repo.blob(entry.oid)
        )
        headers = {
            "X-Repo-Commit": sha,
            "ETag": f'"{entry.lfs_oid or entry.oid}"',
            "Accept-Ranges": "bytes",
        }
        status, content = 200, data
        ranged = re.match(r"^bytes=(\d*)-(\d*)$", self.headers.get("Range", "").strip())
        if ranged and self.command == "GET":
            first, last = ranged.groups()
            if first == "":
                start, end = max(len(data) - int(last or 0), 0), len(data) - 1
            else:
                start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
            if start >= len(data) or start > end:
                raise HubError(416, "Requested range not satisfiable")
            status, content = 206, data[start : end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        headers["Content-Length"] = str(len(content))
        self._send(status, content, headers, content_type="application/octet-stream")

    # --- writing ------------------------------------------------------------------

    def _writable(self, repo_type: str, org: str, name: str) -> GitRepo:
        self._writer(org)
        return self._readable(self.state.repo(repo_type, org, name), f"{org}/{name}")

    def preupload(self, repo_type: str, org: str, name: str, revision: str, *, body, query):
        repo = self._writable(repo_type, org, name)
        sha = self._revision(repo, revision)
        attributes = repo.entry(sha, ".gitattributes")
        gitattributes = repo.blob(attributes.oid) if attributes else INITIAL_GITATTRIBUTES
        answer = []
        for item in json.loads(body or b"{}").get("files", []):
            path = _validate_path(item["path"])
            sample = base64.b64decode(item.get("sample") or "")
            lfs = (
                item.get("size", 0) >= LFS_MIN_SIZE
                or b"\0" in sample
                or _is_lfs_path(path, gitattributes)
            )
            existing: Entry | None = repo.entry(sha, path)
            oid = (
                (existing.lfs_oid or existing.oid) if existing and existing.kind == "file" else None
            )
            answer.append(
                {
                    "path": path,
                    "uploadMode": "lfs" if lfs else "regular",
                    "shouldIgnore": False,
                    "oid": oid,
                }
            )
        self._json(200, {"files": answer, "commitOid": sha})

    def lfs_batch(self, repo_type: str, org: str, name: str, *, body, query):
        self._writable(repo_type, org, name)
        payload = json.loads(body or b"{}")
        objects = []
        for obj in payload.get("objects", []):
            oid, size = obj["oid"], int(obj["size"])
            answer: dict = {"oid": oid, "size": size, "authenticated": True}
            if not self.state.lfs.has(oid):
                answer["actions"] = {"upload": {"href": f"{self.state.base_url}/lfs-upload/{oid}"}}
            objects.append(answer)
        self._send(
            200,
            json.dumps({"transfer": "basic", "objects": objects}).encode(),
            content_type="application/vnd.git-lfs+json",
        )

    def lfs_upload(self, oid: str, *, body, query):
        try:
            self.state.lfs.put(oid, body)
        except ValueError as error:
            raise HubError(400, str(error)) from None
        self._send(200)

    def commit(self, repo_type: str, org: str, name: str, revision: str, *, body, query):
        repo = self._writable(repo_type, org, name)
        if query.get("create_pr"):
            raise HubError(400, "pull requests are not supported by the loopback Hub")
        branch = f"refs/heads/{revision}" if not revision.startswith("refs/") else revision
        if (
            revision.startswith("refs/tags/")
            or repo.rev_parse(f"refs/tags/{revision}")
            and not repo.rev_parse(branch)
        ):
            raise HubError(400, f"Cannot commit to {revision}: not a branch")
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = next((line["value"] for line in lines if line.get("key") == "header"), None)
        if header is None:
            raise HubError(400, "commit payload has no header line")
        operations = []
        for line in lines:
            key, value = line.get("key"), line.get("value", {})
            if key == "file":
                content = (
                    base64.b64decode(value["content"])
                    if value.get("encoding") == "base64"
                    else value["content"].encode()
                )
                operations.append(("file", _validate_path(value["path"]), content))
            elif key == "lfsFile":
                oid = value["oid"]
                if not self.state.lfs.has(oid):
                    raise HubError(422, f"LFS object {oid} was not uploaded for {value['path']}")
                size = self.state.lfs.path(oid).stat().st_size
                operations.append(("file", _validate_path(value["path"]), lfs_pointer(oid, size)))
            elif key in ("deletedFile", "deletedFolder"):
                kind = "delete" if key == "deletedFile" else "delete_folder"
                operations.append((kind, _validate_path(value["path"].rstrip("/")), None))
            elif key != "header":
                raise HubError(400, f"unknown commit operation {key!r}")
        head = repo.rev_parse(branch)
        if head is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        parent = header.get("parentCommit")
        if parent and parent != head:
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        message = header.get("summary") or "commit"
        if header.get("description"):
            message += "\n\n" + header["description"]
        try:
            sha = repo.commit(head, operations, message)
        except KeyError as missing:
            raise HubError(
                404, f"A file with this name doesn't exist: {missing.args[0]}", "EntryNotFound"
            ) from None
        try:
            repo.update_ref(branch, sha, head)
        except RefMoved:
            raise HubError(
                412, "A commit has happened since. Please refresh and try again."
            ) from None
        url = f"{self.state.base_url}/{_URL_PREFIX[repo_type]}{org}/{name}/commit/{sha}"
        self._json(
            200,
            {
                "success": True,
                "commitOid": sha,
                "commitUrl": url,
                "pullRequestUrl": None,
                "hookOutput": "",
            },
        )

    def _ref_name(self, name: str) -> str:
        ok = (
            subprocess.run(
                ["git", "check-ref-format", "--allow-onelevel", name], capture_output=True
            ).returncode
            == 0
        )
        if not ok or name.startswith("-"):
            raise HubError(400, f"invalid ref name {name!r}")
        return name

    def create_tag(self, repo_type: str, org: str, name: str, revision: str, *, body, query):
        repo = self._writable(repo_type, org, name)
        tag = self._ref_name(json.loads(body or b"{}").get("tag", ""))
        sha = self._revision(repo, revision)
        try:
            repo.update_ref(f"refs/tags/{tag}", sha, ZERO_SHA)
        except RefMoved:
            raise HubError(409, f"Tag {tag} already exists") from None
        self._json(200, {})

    def delete_tag(self, repo_type: str, org: str, name: str, tag: str, *, body, query):
        repo = self._writable(repo_type, org, name)
        sha = repo.rev_parse(f"refs/tags/{tag}")
        if sha is None:
            raise HubError(404, f"Invalid rev id: {tag}", "RevisionNotFound")
        repo.git("update-ref", "-d", f"refs/tags/{tag}", sha)
        self._json(200, {})

    def create_branch(self, repo_type: str, org: str, name: str, branch: str, *, body, query):
        repo = self._writable(repo_type, org, name)
        branch = self._ref_name(branch)
        start = json.loads(body or b"{}").get("startingPoint") or "main"
        sha = self._revision(repo, start)
        try:
            repo.update_ref(f"refs/heads/{branch}", sha, ZERO_SHA)
        except RefMoved:
            raise HubError(409, f"Reference already exists: refs/heads/{branch}") from None
        self._json(200, {})

    def delete_branch(self, repo_type: str, org: str, name: str, branch: str, *, body, query):
        repo = self._writable(repo_type, org, name)
        sha = repo.rev_parse(f"refs/heads/{branch}")
        if sha is None or branch == "main":
            raise HubError(
                404 if sha is None else 403,
                f"cannot delete branch {branch}",
                "RevisionNotFound" if sha is None else None,
            )
        repo.git("update-ref", "-d", f"refs/heads/{branch}", sha)
        self._json(200, {})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: HubState


class LoopbackHub:
    """A running loopback Hub on 127.0.0.1 (port chosen by the OS)."""

    def __init__(
        self, root: Path | None = None, tokens: dict[str, tuple[str, list[str]]] | None = None
    ):
        self._own_root = root is None
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="loopback-hub-"))
        self.state = HubState(self.root, tokens or {})
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return self.state.base_url

    @property
    def requests(self) -> list[tuple[str, str, str]]:
        return self.state.requests

    def fail_next(self, route: str, status: int = 500, times: int = 1) -> None:
        """Make the next `times` requests to `route` (e.g. "commit") answer `status`."""
        with self.state.lock:
            self.state.failures[route].extend([status] * times)

    def add_token(self, token: str, user: str, orgs: list[str] | None = None) -> None:
        self.state.tokens[token] = (user, list(orgs or []))

    def start(self) -> LoopbackHub:
        self._server = _Server(("127.0.0.1", 0), HubHandler)
        self._server.state = self.state
        host, port = self._server.server_address[:2]
        self.state.base_url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="loopback-hub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LoopbackHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
