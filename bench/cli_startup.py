"""How long ``python -m core.train --help`` takes, beside importing the trainer itself.

Run: ``python -m bench.cli_startup [--repeats N]``. Each command runs in a fresh
interpreter; the figure is the median wall time. The command line parses its
arguments with only ``core.config`` loaded, so its help needs no TensorFlow.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from support import ROOT

COMMANDS = {
    "python -m core.train --help": [sys.executable, "-m", "core.train", "--help"],
    "python -c 'import core.training'": [sys.executable, "-c", "import core.training"],
}


def median_seconds(command: list[str], repeats: int) -> float:
    """Median wall time of ``command`` over ``repeats`` fresh runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=True, timeout=300)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cli_startup", description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    for name, command in COMMANDS.items():
        print(f"{name}: median {median_seconds(command, args.repeats):.2f} s over {args.repeats} runs", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
