"""Contact sheets of digits: many 28×28 drawings side by side in one small picture, one sheet per digit.

The Room page shows everyone's drawings grouped by digit and refreshes them
live; one lossless PNG per digit (a few kilobytes) costs the page ten
images, not hundreds.

Nothing here imports streamlit or TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.explain_images import GRID_LINE_GREY, png_bytes

__all__ = ["DigitSheet", "contact_sheet", "sheets_by_digit"]


@dataclass(frozen=True)
class DigitSheet:
    """The drawings of one digit.

    Attributes:
        digit: 0-9.
        count: How many drawings of it there are.
        png: The sheet of the latest of them (a PNG file's bytes), or None when there are none.
        shown: How many are on the sheet.
    """

    digit: int
    count: int
    png: bytes | None
    shown: int


def contact_sheet(images: np.ndarray, columns: int = 12, scale: int = 2) -> np.ndarray:
    """Images in a grid, each enlarged ``scale``× (pixels repeated, never smoothed), one-pixel lines between.

    Args:
        images: (N, 28, 28) ``uint8``, N ≥ 1.
        columns: Images per row.
        scale: Enlargement.

    Returns:
        (H, W) grey ``uint8``.
    """
    n, h, w = images.shape
    cols = min(n, columns)
    rows = math.ceil(n / cols)
    ch, cw = h * scale + 1, w * scale + 1
    sheet = np.full((rows * ch + 1, cols * cw + 1), GRID_LINE_GREY, np.uint8)
    big = images.repeat(scale, axis=1).repeat(scale, axis=2)
    for i, image in enumerate(big):
        r, c = divmod(i, cols)
        sheet[1 + r * ch : (r + 1) * ch, 1 + c * cw : (c + 1) * cw] = image
    return sheet


def sheets_by_digit(images: np.ndarray, labels: np.ndarray, per_digit: int = 36, columns: int = 6) -> list[DigitSheet]:
    """One sheet per digit 0-9 of its latest ``per_digit`` drawings.

    Args:
        images: (N, 28, 28) ``uint8``, oldest first.
        labels: (N,) their digits.
        per_digit: The most drawings a sheet shows (the latest).
        columns: Drawings per row.

    Returns:
        Ten sheets, digit 0 first.
    """
    sheets = []
    for digit in range(10):
        mine = images[labels == digit]
        latest = mine[-per_digit:]
        png = png_bytes(contact_sheet(latest, columns)) if len(latest) else None
        sheets.append(DigitSheet(digit, len(mine), png, len(latest)))
    return sheets
