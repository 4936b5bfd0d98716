"""Echo user-supplied values in Streamlit messages as plain, short text.

Streamlit renders message bodies, captions and labels as Markdown: a value
taken from a share link, a file name or a form could otherwise show a link,
make every browser fetch a remote image, add emphasis, headings or coloured
text, or fill the page with 10,000 characters. :func:`plain` escapes the
value so it shows literally, on one line, cut to a readable length.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["ELLIPSIS", "plain"]

ELLIPSIS = "…"
# Every ASCII character that can start or end Markdown, GFM or Streamlit syntax: emphasis, code,
# links and images, headings, lists, quotes, tables, strikethrough, HTML and entities, maths,
# autolinks (``www.``, ``http://``, ``a@b.c``) and directives. A backslash makes each literal
# (CommonMark escapes any ASCII punctuation); quotes, ``=``, ``,`` and the like need nothing.
_SPECIAL = frozenset("\\`*_{}[]()#+-.!|~<>$:&@")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")  # reorder the text shown
_SPACE = re.compile(r"\s+")
_ZERO_WIDTH_SPACE = "\u200b"
_WWW = re.compile(r"(www)(?=\\\.)", re.IGNORECASE)


def _visible(char: str) -> str:
    """Control and direction-override characters become spaces; everything else stays."""
    return " " if char in _BIDI or unicodedata.category(char) == "Cc" else char


def _escape(char: str, before: str, after: str) -> str:
    if char == "_" and before.isalnum() and after.isalnum():
        return char  # inside a word (batch_size) an underscore never starts or ends emphasis
    if char in ":@":
        # Escaped, and kept from the next word: Streamlit finds ":emoji:", ":material/icon:", "http://"
        # and "a@b.c" in the text after escapes are resolved, and a zero-width space is what stops it.
        return "\\" + char + _ZERO_WIDTH_SPACE
    return "\\" + char if char in _SPECIAL else char


def plain(value: object, limit: int = 60) -> str:
    """``value`` as text that Streamlit's Markdown shows literally, on one line, at most ``limit`` characters.

    Every character that could form Markdown is backslash-escaped, so no link,
    image, emphasis, heading, list, code, maths, HTML tag or entity is formed;
    an invisible zero-width space follows each ``:``, ``@`` and ``www`` so that
    Streamlit's later passes find no emoji, icon, coloured text or bare link.
    Runs of whitespace (newlines included) become one space, control and
    bidi-override characters are dropped, and a value longer than ``limit`` is
    cut with an ellipsis. For Markdown contexts only (messages, captions,
    labels): HTML contexts need ``html.escape``.

    Args:
        value: Anything; it is shown as ``str(value)``.
        limit: The most characters shown (the escapes do not count), at least 1.

    Returns:
        The escaped text.
    """
    raw = str(value)
    head = raw[: 4 * limit + 256]  # enough to fill ``limit`` after whitespace is squeezed; never scan megabytes
    text = _SPACE.sub(" ", "".join(_visible(c) for c in head)).strip()
    if len(text) > limit or len(head) < len(raw):
        text = text[: max(0, limit - 1)].rstrip() + ELLIPSIS
    # "www." is linked the same way; "." is escaped to "\\." by then.
    padded = f" {text} "
    escaped = "".join(_escape(c, padded[i], padded[i + 2]) for i, c in enumerate(text))
    return _WWW.sub("\\1" + _ZERO_WIDTH_SPACE, escaped)
