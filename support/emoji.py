"""Emoji and pictographs: characters a browser shows only with an emoji font.

A plain Linux or kiosk browser (a lab machine, a projector's PC) often has no
emoji font and draws these as empty boxes, so the app's own text holds none:
its icons are Streamlit's Material icons, drawn from a font Streamlit ships.
The tests read the page sources and the text a real browser renders with
:func:`emoji_in`.

What counts: the emoji and pictograph blocks (U+1F000-U+1FAFF), the
miscellaneous symbols and dingbats (the pencil U+270F, U+2600-U+27BF), the
miscellaneous technical symbols (the hourglass U+23F3, U+2300-U+23FF), the
symbols and arrows of U+2B00-U+2BFF (the star U+2B50), the arrows beyond the
four plain ones and the two double-headed ones (the undo arrows U+21B6 and
U+21BA, which text fonts often lack), the information sign U+2139, and the
joiners that build emoji sequences (U+FE0F, U+200D, U+20E3). Plain arrows
(U+2190-U+2195: ← → ↑ ↓ ↔ ↕), ×, –, · and the like are text every font has,
and stay allowed.
"""

from __future__ import annotations

import re

__all__ = ["EMOJI", "emoji_in"]

#: One emoji or pictograph code point (see the module's docstring for what counts).
EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"  # emoji, pictographs, symbols of the supplementary plane
    "\u2600-\u27bf"  # miscellaneous symbols, dingbats
    "\u2300-\u23ff"  # miscellaneous technical (hourglasses, media buttons, …)
    "\u2b00-\u2bff"  # miscellaneous symbols and arrows (stars, squares, …)
    "\u2196-\u21ff"  # arrows other than ← ↑ → ↓ ↔ ↕
    "\u2139"  # the information sign
    "\u3030\u303d\u3297\u3299"  # CJK symbols with an emoji form
    "\ufe0f\u200d\u20e3"  # emoji presentation selector, joiner, keycap
    "]"
)


def emoji_in(text: str) -> list[str]:
    """The emoji code points in ``text``, each once, in order of first appearance.

    Args:
        text: Any text (a page source, a label, a page's rendered text).

    Returns:
        The characters found (empty when there are none), e.g. ``["\\U0001f680"]`` for a rocket.
    """
    return list(dict.fromkeys(EMOJI.findall(text)))
