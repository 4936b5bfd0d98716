"""The presenter lock: which of the Train page's controls a settings link fixes (``?dropout=0.3&lock=arch,epochs``).

Like TensorFlow Playground's classroom mode, a presenter hands the room a
link that sets every control and locks some, so the room works on one
question ("only dropout changes"). The lock is a classroom convenience, not
a security boundary: it binds only the browser tab that opens the link, on
that person's own trainings, and anyone can drop it by removing ``lock=``
from the address. Making one therefore needs no presenter key (a key or a
signature in a link passed round a room would protect nothing).

Nothing here imports streamlit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["ALL", "LOCK_PARAM", "lock_text", "parse_lock"]

LOCK_PARAM = "lock"  #: the query parameter
ALL = "all"  #: ``lock=all`` locks every control


def parse_lock(value: object, fields: Sequence[str]) -> tuple[list[str], list[str]]:
    """The controls a link's ``lock`` value names, in ``fields``' order, and what was wrong with it.

    Args:
        value: The parameter's value, untrusted (``"arch, epochs"``, ``"all"``, anything).
        fields: The controls that can be locked.

    Returns:
        ``(locked, problems)``: the names locked; one sentence per unknown name (plain text, at
        most five, each name cut to 30 characters: escape them before showing them as Markdown).
    """
    if not isinstance(value, str):
        return [], []
    names = [n.strip().lower() for n in value[:1000].split(",") if n.strip()]
    if ALL in names:
        return list(fields), []
    unknown = [n for n in dict.fromkeys(names) if n not in fields]
    problems = [f"Ignored lock={n[:30]!r}: no such control (one of {', '.join(fields)})." for n in unknown[:5]]
    return [f for f in fields if f in names], problems


def lock_text(locked: Iterable[str], fields: Sequence[str]) -> str:
    """The ``lock`` value for these controls (``"all"`` when every one is locked; ``""`` for none)."""
    chosen = [f for f in fields if f in set(locked)]
    return ALL if chosen and len(chosen) == len(fields) else ",".join(chosen)
