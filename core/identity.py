"""Who a browser is: an unguessable id the server issued, kept in a cookie.

A person is recognised by a cookie holding a token ``<id>.<signature>``:
``id`` is 192 random bits (:func:`secrets.token_urlsafe`), ``signature`` an
HMAC-SHA256 of it under a secret only the server knows (a file in the data
folder). The server accepts a token only when the signature verifies, so an
id typed, guessed or copied from somewhere else is rejected in constant time
and that browser simply gets a fresh identity.

Why a signature rather than a table of issued ids: nothing is written when
someone merely opens the app (link previews, people who never train), a new
tab opened before a person has stored anything still shares their identity,
and checking a cookie needs no database read.

The store never sees the token: runs are filed under :attr:`Identity.owner`,
a one-way digest of the id, so neither the database nor a saved model's card
(which records who saved it) holds anything that would let a reader take over
someone's identity.

Nothing here imports streamlit.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.atomic import fsync_folder

__all__ = ["COOKIE_MAX_AGE", "COOKIE_NAME", "Identity", "IdentityIssuer", "shared_issuer"]

#: The cookie that holds a browser's token.
COOKIE_NAME = "digit_studio_id"
#: How long a browser keeps its cookie (seconds): 400 days, the most browsers allow.
COOKIE_MAX_AGE = 400 * 24 * 3600
#: Random bytes per id: 192 bits, well over the 128 an unguessable id needs.
ID_BYTES = 24
SECRET_FILE = "identity-secret"
_ID_CHARS = len(secrets.token_urlsafe(ID_BYTES))  # 32
_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{{_ID_CHARS}}}\.[A-Za-z0-9_-]{{43}}")
_DOMAIN = b"digit-studio identity v1:"  # keeps these signatures apart from any other use of the secret


@dataclass(frozen=True)
class Identity:
    """One person (one browser), as the server knows them.

    Attributes:
        token: The cookie's value (``<id>.<signature>``); never stored or logged.
        owner: The key their runs and saved models are filed under (a digest of the id).
    """

    token: str
    owner: str

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"Identity(owner={self.owner!r})"


def _signature(secret: bytes, person_id: str) -> str:
    digest = hmac.new(secret, _DOMAIN + person_id.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def owner_of(person_id: str) -> str:
    """The store key of an id: 32 hex digits of its SHA-256 (one-way)."""
    return hashlib.sha256(b"digit-studio owner:" + person_id.encode("ascii")).hexdigest()[:32]


def load_secret(folder: Path) -> bytes:
    """The server's signing secret in ``folder``, created (readable by its owner only) on first use.

    The file is complete before it gets its name, and that name is taken with a
    hard link (which, unlike a rename, fails when the name exists), so two server
    processes starting together end up with the same secret.

    Args:
        folder: The data folder.

    Returns:
        32 secret bytes.
    """
    path = Path(folder) / SECRET_FILE
    for _ in range(3):  # bounded: another process may be creating it right now
        try:
            secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
            if len(secret) >= 32:
                return secret
            raise ValueError(f"{path} holds a secret that is too short")
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{SECRET_FILE}.", suffix=".tmp", dir=path.parent)  # mode 0600
        tmp = Path(name)
        try:
            os.write(fd, secrets.token_hex(32).encode("ascii"))
            os.fsync(fd)
            os.close(fd)
            fd = -1
            os.link(tmp, path)  # fails if another process got there first: then read theirs
            fsync_folder(path.parent)
        except FileExistsError:
            pass
        finally:
            if fd >= 0:
                os.close(fd)
            tmp.unlink(missing_ok=True)
    raise RuntimeError(f"could not create or read {path}")


class IdentityIssuer:
    """Issues identities and tells a genuine cookie from a forged or malformed one.

    Args:
        secret: The server's signing secret (see :func:`load_secret`).
    """

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the signing secret needs at least 32 bytes")
        self._secret = secret

    @classmethod
    def in_folder(cls, folder: Path) -> IdentityIssuer:
        """An issuer whose secret lives in the data folder ``folder``."""
        return cls(load_secret(folder))

    def issue(self) -> Identity:
        """A brand-new identity (192 random bits, signed)."""
        person_id = secrets.token_urlsafe(ID_BYTES)
        return Identity(f"{person_id}.{_signature(self._secret, person_id)}", owner_of(person_id))

    def verify(self, token: object) -> Identity | None:
        """The identity a cookie's value stands for, or None when it is missing, malformed or forged.

        Args:
            token: The cookie's value, as the browser sent it (anything).

        Returns:
            The identity when the token is well formed and this server signed it.
        """
        if not isinstance(token, str) or len(token) != _ID_CHARS + 44 or not _TOKEN.fullmatch(token):
            return None
        person_id, signature = token.split(".")
        if not hmac.compare_digest(signature, _signature(self._secret, person_id)):
            return None
        return Identity(token, owner_of(person_id))

    def recognise(self, token: object) -> tuple[Identity, bool]:
        """The identity behind ``token``, or a fresh one when it does not verify.

        Returns:
            ``(identity, fresh)``: ``fresh`` is True when a new identity was issued
            (the browser must be given its cookie).
        """
        known = self.verify(token)
        return (known, False) if known is not None else (self.issue(), True)


@functools.cache
def _issuer(folder: Path) -> IdentityIssuer:
    return IdentityIssuer.in_folder(folder)


def shared_issuer(folder: Path | None = None) -> IdentityIssuer:
    """The process-wide issuer whose secret lives in ``folder`` (default: the data folder)."""
    from core.store_limits import data_folder

    return _issuer(Path(folder or data_folder()).resolve())
