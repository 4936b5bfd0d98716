"""Write a contact sheet of random handwriting samples: ``python -m support.handwriting [out.png] [seed] [cell_px]``."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from support.handwriting.samples import contact_sheet


def main(argv: list[str] | None = None) -> int:
    """Write a contact sheet PNG.

    Args:
        argv: Command-line arguments (without the program name): the output
            file (default: ``handwriting_sheet.png`` in the temporary folder),
            the seed and the cell size in pixels.

    Returns:
        Process exit code.
    """
    args = sys.argv[1:] if argv is None else argv
    out = args[0] if len(args) > 0 else str(Path(tempfile.gettempdir()) / "handwriting_sheet.png")
    seed = int(args[1]) if len(args) > 1 else 0
    cell = int(args[2]) if len(args) > 2 else 56
    contact_sheet(seed=seed, cell=cell).save(out)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
