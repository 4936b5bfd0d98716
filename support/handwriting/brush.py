"""Rasterising strokes the way the web canvas's brush paints them."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def render_strokes(
    strokes: list[np.ndarray],
    size: tuple[int, int] = (280, 280),
    width: float = 18.0,
    ink: tuple[int, int, int] = (255, 255, 255),
    background: tuple[int, int, int] | None = (0, 0, 0),
) -> np.ndarray:
    """Rasterise canvas-coordinate strokes like the web drawing canvas.

    Lines get round caps and round joins and are anti-aliased: they are drawn
    at 4x resolution (PIL lines plus a disc at every vertex) and box-filtered
    down, so each pixel holds its exact-ish ink coverage.

    Args:
        strokes: Polylines in pixel coordinates (as from :func:`place_strokes`);
            a pixel (i, j) covers [i, i+1) x [j, j+1) like on an HTML canvas.
        size: Output (width, height) in pixels.
        width: Brush width in pixels.
        ink: Ink RGB colour.
        background: Background RGB colour, or None for a transparent
            background.

    Returns:
        (H, W, 4) uint8 RGBA image.  With ``background=None`` RGB is the ink
        colour everywhere and alpha is the ink coverage; otherwise alpha is 255
        and the ink is blended over the background colour.
    """
    ss = 4
    w_px, h_px = int(size[0]), int(size[1])
    mask = Image.new("L", (w_px * ss, h_px * ss), 0)
    draw = ImageDraw.Draw(mask)
    line_w = max(1, int(round(width * ss)))
    r = line_w / 2.0
    for stroke in strokes:
        pts = np.asarray(stroke, dtype=np.float64).reshape(-1, 2) * ss - 0.5
        if len(pts) == 0:
            continue
        if len(pts) > 1:
            draw.line([tuple(p) for p in pts], fill=255, width=line_w)
        # PIL's ellipse box is inclusive on both sides: shrink by half a pixel
        # so the disc has the true diameter.
        for x, y in pts:
            draw.ellipse([x - r + 0.5, y - r + 0.5, x + r - 0.5, y + r - 0.5], fill=255)
    small = mask.resize((w_px, h_px), Image.BOX)
    cov = np.asarray(small, dtype=np.float64) / 255.0
    ink_arr = np.asarray(ink, dtype=np.float64)
    out = np.empty((h_px, w_px, 4), dtype=np.uint8)
    if background is None:
        out[..., :3] = np.asarray(ink, dtype=np.uint8)
        out[..., 3] = np.asarray(small, dtype=np.uint8)
    else:
        bg = np.asarray(background, dtype=np.float64)
        rgb = bg * (1.0 - cov[..., None]) + ink_arr * cov[..., None]
        out[..., :3] = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
        out[..., 3] = 255
    return out
