"""Random canvas drawings: digits at random sizes, places and brush widths, and a contact sheet of them."""

from __future__ import annotations

import numpy as np
from PIL import Image

from support.handwriting.brush import render_strokes
from support.handwriting.canvas import place_strokes
from support.handwriting.geometry import bbox
from support.handwriting.strokes import digit_strokes


def random_canvas_digit(
    digit: int,
    rng: np.random.Generator,
    canvas: int = 280,
    min_height: float = 40,
    max_height: float = 250,
    min_width: float = 6,
    max_width: float = 30,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Draw a digit at a random size, position and brush width on a canvas.

    Args:
        digit: Digit to draw, 0-9.
        rng: Random generator.
        canvas: Side of the square canvas in pixels.
        min_height: Smallest drawing height in pixels.
        max_height: Largest drawing height in pixels (reduced if the digit,
            including the brush, would not fit).
        min_width: Smallest brush width in pixels.
        max_width: Largest brush width in pixels (also capped at about a
            fifth of the drawing height so small digits stay legible).

    Returns:
        (image, strokes): an opaque (canvas, canvas, 4) uint8 RGBA image with
        light ink on black, and the strokes in canvas pixel coordinates (the
        brush footprint lies fully inside the canvas).
    """
    strokes = digit_strokes(digit, rng)
    lo, hi = bbox(strokes)
    aspect = float((hi[0] - lo[0]) / max(hi[1] - lo[1], 1e-9))  # width / height

    height = float(rng.uniform(min_height, max_height))
    brush_hi = min(max_width, height / 5.0)
    brush = float(rng.uniform(min(min_width, brush_hi), brush_hi))
    # Shrink the drawing if it (plus the brush margin) does not fit.
    room = canvas - brush - 3.0
    height = min(height, room, room / max(aspect, 1e-9))
    brush = min(brush, max(height / 5.0, 1.0))
    draw_w = height * aspect

    margin = brush / 2.0 + 1.5
    x0 = float(rng.uniform(margin, max(margin, canvas - margin - draw_w)))
    y0 = float(rng.uniform(margin, max(margin, canvas - margin - height)))
    placed = place_strokes(strokes, x0, y0, height)

    level = int(rng.integers(215, 256))
    tint = rng.integers(-12, 1, 3)
    ink = tuple(int(v) for v in np.clip(level + tint, 0, 255))
    image = render_strokes(placed, size=(canvas, canvas), width=brush, ink=ink, background=(0, 0, 0))
    return image, placed


def contact_sheet(seed: int = 0, samples: int = 12, cell: int = 56, canvas: int = 280) -> Image.Image:
    """Grid of random samples: one row per digit 0-9.

    Args:
        seed: Seed for the random generator.
        samples: Number of samples (columns) per digit.
        cell: Side of each cell in pixels (each canvas is downscaled to it).
        canvas: Canvas size each sample is drawn on.

    Returns:
        RGB PIL image of (10 * (cell + 2)) rows by (samples * (cell + 2)) columns.
    """
    rng = np.random.default_rng(seed)
    pad = 2
    sheet = Image.new("RGB", (samples * (cell + pad) + pad, 10 * (cell + pad) + pad), (90, 60, 60))
    for d in range(10):
        for i in range(samples):
            img, _ = random_canvas_digit(d, rng, canvas=canvas)
            tile = Image.fromarray(img[..., :3], "RGB").resize((cell, cell), Image.LANCZOS)
            sheet.paste(tile, (pad + i * (cell + pad), pad + d * (cell + pad)))
    return sheet
