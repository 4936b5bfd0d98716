"""The presenter key: what lets one person open, tidy, export and close rooms.

The key comes from configuration (``DIGIT_STUDIO_PRESENTER_KEY``, at least
:data:`MIN_LENGTH` characters) or, when that is unset (or too short), is
generated once per server process and written to the server's log, which
only whoever started the server reads. A generated key is 72 random bits:
far beyond guessing through a web page. It is compared in constant time and
never shown in a page or kept in the store (a browser that showed it keeps a
one-way digest of it, :meth:`PresenterKey.proof`); a server restart makes a
new one (links holding the old key then get "wrong presenter key").

Nothing here imports streamlit.
"""

from __future__ import annotations

import functools
import hmac
import logging
import os
import secrets
from collections.abc import Mapping

__all__ = ["ENV_VAR", "MIN_LENGTH", "PresenterKey", "presenter_key"]

logger = logging.getLogger(__name__)

ENV_VAR = "DIGIT_STUDIO_PRESENTER_KEY"
MIN_LENGTH = 8  #: characters a configured key needs at least
MAX_LENGTH = 200  #: longer candidates are refused without comparing (a link may carry megabytes)


class PresenterKey:
    """The server's presenter key.

    Args:
        value: The key.
        generated: Whether it was generated at start-up (rather than configured).
    """

    def __init__(self, value: str, generated: bool) -> None:
        if len(value) < MIN_LENGTH:
            raise ValueError(f"a presenter key needs at least {MIN_LENGTH} characters")
        self._value, self.generated = value, generated

    def matches(self, candidate: object) -> bool:
        """Whether ``candidate`` (anything: typed, or from a link) is the key, compared in constant time."""
        if not isinstance(candidate, str) or not candidate or len(candidate) > MAX_LENGTH:
            return False
        return hmac.compare_digest(candidate.strip().encode("utf-8"), self._value.encode("utf-8"))

    def proof(self) -> str:
        """A one-way digest of the key, kept for a browser that showed it, so a reload keeps its controls.

        Another key (a restart with a generated one) gives another digest, so a stale proof proves nothing.
        """
        return hmac.new(self._value.encode("utf-8"), b"digit-studio presenter v1", "sha256").hexdigest()[:32]

    def proves(self, proof: object) -> bool:
        """Whether ``proof`` (a stored :meth:`proof`) was made with this key."""
        return isinstance(proof, str) and hmac.compare_digest(proof, self.proof())

    @property
    def value(self) -> str:
        """The key itself (for the server's log, and tests)."""
        return self._value

    def __repr__(self) -> str:  # keep the key out of tracebacks and reprs
        return f"PresenterKey(generated={self.generated})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> PresenterKey:
        """The configured key, or a new random one when none (or one too short) is configured."""
        configured = env.get(ENV_VAR, "").strip()
        if len(configured) >= MIN_LENGTH:
            return cls(configured, generated=False)
        if configured:
            logger.error("Digit Studio: %s is shorter than %d characters; one is generated.", ENV_VAR, MIN_LENGTH)
        return cls(secrets.token_urlsafe(9), generated=True)


@functools.cache
def presenter_key() -> PresenterKey:
    """The process's presenter key, decided on first use; a generated one is written to the server's log."""
    key = PresenterKey.from_env()
    if key.generated:
        # A warning: Python's last-resort handler prints it to the server's terminal whatever logging is set up.
        logger.warning(
            "Digit Studio presenter key: %s  (the presenter opens /room?key=%s, or types it on the Room page; "
            "set %s to choose one)",
            key.value,
            key.value,
            ENV_VAR,
        )
    return key
