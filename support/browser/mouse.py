"""Mouse operations that draw strokes on the canvas, planned once for both of Playwright's APIs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

#: One mouse operation: ``("move", x, y, steps)``, ``("down",)`` or ``("up",)``, in page pixels.
MouseOp = tuple


def mouse_ops(
    strokes: Iterable[Sequence[Sequence[float]]], box: dict, step_px: float = 4.0, canvas_size: float = 280.0
) -> list[list[MouseOp]]:
    """Mouse operations drawing ``strokes`` (canvas pixels) on a canvas at ``box`` (page pixels).

    Returns one list per stroke of ``("move", x, y, steps)``, ``("down",)``
    and ``("up",)`` tuples: move to the start, press, many short moves along
    the stroke (``steps`` intermediate mouse events every ~``step_px``), release.
    """
    sx, sy = box["width"] / canvas_size, box["height"] / canvas_size
    out = []
    for stroke in strokes:
        pts = np.asarray(stroke, dtype=float).reshape(-1, 2)
        if len(pts) == 0:
            continue
        xy = np.column_stack([box["x"] + pts[:, 0] * sx, box["y"] + pts[:, 1] * sy])
        ops: list[MouseOp] = [("move", float(xy[0, 0]), float(xy[0, 1]), 1), ("down",)]
        prev = xy[0]
        for q in xy[1:]:
            dist = float(np.hypot(*(q - prev)))
            if dist < 0.5:
                continue
            ops.append(("move", float(q[0]), float(q[1]), max(1, int(dist // step_px))))
            prev = q
        if len(ops) == 2:  # a dot: move a little so Fabric records a path
            ops.append(("move", float(prev[0]) + 1.0, float(prev[1]) + 1.0, 1))
        ops.append(("up",))
        out.append(ops)
    return out
