"""Synthetic handwritten digits, imitating a person drawing with a mouse.

The generator mimics what a user produces on the app's 280x280 drawing canvas
(Fabric.js free drawing: round caps, round joins, anti-aliased lines). Each
digit has several template variants (the styles people actually use), which
are then randomly slanted, rotated, stretched, wobbled and jittered.

Pipeline, one module a step:

1. :func:`digit_strokes` (``strokes``, from the ``glyphs`` templates built
   with ``geometry``) returns polylines in a unit box (y pointing down).
2. :func:`place_strokes` (``canvas``) scales/moves them to canvas pixels;
   :func:`random_digit_strokes` picks a random size and place on the canvas.
3. :func:`render_strokes` (``brush``) rasterises them like the web canvas does.
4. :func:`random_canvas_digit` (``samples``) combines the three with random
   size, position and brush width.

Only numpy and Pillow are used. Run ``python -m support.handwriting [out.png]``
to write a contact sheet of random samples.
"""

from support.handwriting.brush import render_strokes
from support.handwriting.canvas import (
    digit_polylines,
    fit_polylines,
    place_strokes,
    random_digit_strokes,
)
from support.handwriting.samples import contact_sheet, random_canvas_digit
from support.handwriting.strokes import POINT_SPACING, digit_strokes

__all__ = [
    "POINT_SPACING",
    "contact_sheet",
    "digit_polylines",
    "digit_strokes",
    "fit_polylines",
    "place_strokes",
    "random_canvas_digit",
    "random_digit_strokes",
    "render_strokes",
]
