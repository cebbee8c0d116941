"""What anchors the audit log (`pipelines.audit`): the key its chain is linked with, and the
signed head that records where the log ends.

- The key is not kept beside the log: $OUTCOMES_AUDIT_KEY, `[audit] key` in
  .streamlit/secrets.toml, a key file named there, or (local single-user mode) a key generated
  once into the user's config folder (`key_source`). Without the key nobody can recompute the
  chain.
- The head (the number of entries and the link of the last one, signed with the key) is kept in
  a head file outside the log's folder (`head_path`), replaced whole (`write_head`) and checked
  against its signature and the key in use (`read_head`); whether it matches the log is
  `pipelines.audit`'s question.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path


# -- where the key and the head live -------------------------------------------------------

def config_dir() -> Path:
    """The user's folder for this product's key and heads: $XDG_CONFIG_HOME/infusion-outcomes,
    else ~/.config/infusion-outcomes (never the log's folder)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "infusion-outcomes"


def _secrets_section() -> dict:
    """The `[audit]` section of the secrets.toml Streamlit reads (the project's, else the
    user's), as pipelines.access_policy reads `[auth]`: the CLI sees what the dashboard sees."""
    for path in (Path(".streamlit") / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml"):
        if path.is_file():
            try:
                section = tomllib.loads(path.read_text(encoding="utf-8")).get("audit")
            except (OSError, tomllib.TOMLDecodeError):
                continue
            if isinstance(section, dict):
                return section
    return {}


@dataclass(frozen=True)
class AuditKey:
    secret: bytes
    source: str  # where it came from, said on the Audit page and by `outcomes audit`
    generated: bool = False  # the local key made on this computer (no key configured)

    def __repr__(self) -> str:  # never the secret in a log line or traceback
        return f"AuditKey(source={self.source!r})"

    @property
    def fingerprint(self) -> str:
        return hmac.new(self.secret, b"infusion-outcomes audit key id", hashlib.sha256).hexdigest()[:12]

    def link(self, line: str | None) -> str:
        """The link to `line` (None: the start of the log)."""
        return hmac.new(self.secret, (line or "").encode("utf-8"), hashlib.sha256).hexdigest()


class AuditKeyError(OSError):
    """No key can be read or made: entries cannot be written (a view must not go ahead)."""


def default_key_file() -> Path:
    return config_dir() / "audit.key"


def key_source(create: bool = True) -> AuditKey | None:
    """The audit key: $OUTCOMES_AUDIT_KEY, else `[audit] key` in secrets.toml, else the key file
    $OUTCOMES_AUDIT_KEY_FILE or `[audit] key_file`, else the local key file in `config_dir()`,
    made once (mode 0600) when `create`. None when there is none and `create` is false."""
    section = _secrets_section()
    if value := os.environ.get("OUTCOMES_AUDIT_KEY"):
        return AuditKey(value.encode("utf-8"), "$OUTCOMES_AUDIT_KEY")
    if value := str(section.get("key") or ""):
        return AuditKey(value.encode("utf-8"), "[audit] key in .streamlit/secrets.toml")
    named = os.environ.get("OUTCOMES_AUDIT_KEY_FILE") or str(section.get("key_file") or "")
    path = Path(named).expanduser() if named else default_key_file()
    try:
        return AuditKey(_read_key(path), f"key file {path}", generated=not named)
    except FileNotFoundError:
        if named:
            raise AuditKeyError(f"the audit key file {path} does not exist") from None
        if not create:
            return None
    except AuditKeyError:
        raise
    except OSError as error:
        if not create and not named:
            return None
        raise AuditKeyError(f"the audit key file {path} cannot be read ({error}); set $OUTCOMES_AUDIT_KEY or "
                            f"[audit] key in .streamlit/secrets.toml") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, (secrets.token_hex(32) + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, path)  # whole or not at all; two sessions at once: one key wins
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    except OSError as error:
        raise AuditKeyError(f"no audit key is configured and none can be made at {path} ({error}); set "
                            f"$OUTCOMES_AUDIT_KEY or [audit] key in .streamlit/secrets.toml") from None
    return AuditKey(_read_key(path), f"key file {path}", generated=True)


def _read_key(path: Path) -> bytes:
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise AuditKeyError(f"the audit key file {path} is empty")
    return value.encode("utf-8")


def head_path(log: str | Path) -> Path:
    """Where `log`'s head is kept: a file named after the log's absolute path in the folder
    $OUTCOMES_AUDIT_HEAD_DIR, else `[audit] head_dir` in secrets.toml, else `config_dir()/heads`.
    Never the log's own folder: whoever empties that folder does not remove the head with it."""
    chosen = os.environ.get("OUTCOMES_AUDIT_HEAD_DIR") or str(_secrets_section().get("head_dir") or "")
    folder = Path(chosen).expanduser() if chosen else config_dir() / "heads"
    absolute = str(Path(log).expanduser().resolve())
    return folder / f"{Path(absolute).name}-{hashlib.sha256(absolute.encode('utf-8')).hexdigest()[:16]}.head"


# -- the head ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Head:
    log: str
    entries: int
    last: str  # the link of the last entry (what the next entry's "prev" will be)
    key_id: str


def _head_body(head: Head) -> str:
    return json.dumps(asdict(head), sort_keys=True)


def write_head(path: Path, head: Head, key: AuditKey) -> None:
    """Replace the head atomically (a reader sees the old head or the new one, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = _head_body(head)
    signed = json.dumps({**asdict(head), "hmac": hmac.new(key.secret, body.encode(), hashlib.sha256).hexdigest()},
                        sort_keys=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (signed + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)


def read_head(path: Path, key: AuditKey | None) -> tuple[Head | None, str | None]:
    """The head and None, or None and why it cannot be trusted (None, None: there is none)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        signature = record.pop("hmac")
        head = Head(**record)
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError, KeyError, TypeError):
        return None, f"the head file {path} is not a head"
    if key is None:
        return None, f"there is no audit key to check the head file {path} with"
    expected = hmac.new(key.secret, _head_body(head).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, expected):
        if head.key_id != key.fingerprint:
            return None, (f"the head file {path} was signed with another key (key id {head.key_id}; the key in "
                          f"use, {key.source}, has id {key.fingerprint})")
        return None, f"the head file {path} has been altered (its signature does not match)"
    return head, None
