"""What a room accepts: names, nicknames and drawings checked, its limits, and the errors that say why not.

Everything a participant sends to a room passes through here first: a room
name or nickname must be short and made of letters, digits and a few
separators (nothing that could form Markdown, HTML or a link, though pages
escape them anyway). A shared drawing is checked as the personal collection
checks it (``core.contribution``: one 28×28 ``uint8`` digit, a label 0-9).

=============================  ===========================================  =======
variable                       what                                         default
=============================  ===========================================  =======
``DIGIT_STUDIO_ROOM_DRAWINGS``  drawings one room holds at most              2000
=============================  ===========================================  =======

Nothing here imports streamlit or TensorFlow.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from core.store_limits import _number

__all__ = [
    "NameTaken",
    "NotAMember",
    "RoomClosed",
    "RoomError",
    "RoomLimits",
    "UnknownRoom",
    "WrongKey",
    "check_name",
    "name_key",
]

NAME_LENGTH = (2, 30)  #: characters in a room's name
NICKNAME_LENGTH = (2, 20)  #: characters in a nickname
_SEPARATORS = frozenset(" -_.'")  #: besides letters and digits


class RoomError(Exception):
    """Something a room refused; the message says what and what to do, in plain text (escape it for Markdown)."""


class UnknownRoom(RoomError):
    """No room of that name was ever opened here."""


class RoomClosed(RoomError):
    """The room was closed by its presenter (a stale link)."""


class WrongKey(RoomError):
    """The presenter key is missing or wrong."""


class NameTaken(RoomError):
    """An open room, or a participant of the room, already has that name."""


class NotAMember(RoomError):
    """The person has not joined the room (or has left it)."""


@dataclass(frozen=True)
class RoomLimits:
    """How much a room takes.

    Attributes:
        drawings_per_room: Drawings one room holds (hidden ones count).
        drawings_per_person: Drawings one participant may share with a room.
        shares_per_minute: Drawings one person may share in any 60 seconds.
        retention_days: Rooms untouched this long are closed at start-up (0: never).
    """

    drawings_per_room: int = 2000
    drawings_per_person: int = 100
    shares_per_minute: int = 30
    retention_days: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> RoomLimits:
        """The limits the environment sets (``DIGIT_STUDIO_ROOM_DRAWINGS``, the store's retention)."""
        base = cls()
        return cls(
            drawings_per_room=int(_number(env, "DIGIT_STUDIO_ROOM_DRAWINGS", base.drawings_per_room, 1)),
            retention_days=_number(env, "DIGIT_STUDIO_RETENTION_DAYS", base.retention_days, 0),
        )


def check_name(raw: object, what: str = "Nickname", length: tuple[int, int] = NICKNAME_LENGTH) -> str:
    """A room name or nickname, tidied (NFKC, spaces squeezed), or ``ValueError`` saying what is wrong.

    Args:
        raw: What the person typed (anything).
        what: How the message names it (``"Nickname"``, ``"Room name"``).
        length: Fewest and most characters allowed.

    Returns:
        The name as it will be shown.

    Raises:
        ValueError: Not text, too short or long, or a character other than letters, digits,
            spaces and ``- _ . '``, or not starting with a letter or digit.
    """
    if not isinstance(raw, str):
        raise ValueError(f"{what} must be text.")
    name = " ".join(unicodedata.normalize("NFKC", raw[:200]).split())
    low, high = length
    if not low <= len(name) <= high or len(raw) > 200:
        raise ValueError(f"{what} must be {low} to {high} characters long.")
    if not all(c.isalnum() or c in _SEPARATORS for c in name):
        raise ValueError(f"{what} may hold only letters, digits, spaces and - _ . '")
    if not name[0].isalnum():
        raise ValueError(f"{what} must start with a letter or a digit.")
    return name


def name_key(name: str) -> str:
    """What two names must differ in to be told apart: case and width folded (``Ana`` = ``ANA`` = ``ａｎａ``)."""
    return unicodedata.normalize("NFKC", name).casefold()
