"""Hostile input: what every hostile upload costs, and how honest the "is this a digit?" signal is.

1. Every file of :func:`bench.hostile_files.hostile_files` is decoded by
   ``core.images.decode_upload`` in a fresh process (``--repeat`` times):
   peak extra memory (the largest seen), wall and CPU time (the smallest
   seen, as the machine is shared), and whether it was accepted or refused.
2. ``core.novelty.not_a_digit`` on real digits (false alarms: the MNIST test
   set and drawings from :mod:`support.handwriting`) and on non-digits from
   :mod:`bench.scribbles` (hits), with the bundled model's probabilities.
   Needs MNIST (``MNIST_DIR``) for the test set; the rest runs without it.

Run::

    MNIST_DIR=../shared/mnist python -m bench.hostile [--repeat 3] [--light] [--drawings 1000] [--non-digits 150]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from bench.hostile_files import Cost, decode_cost, hostile_files, measurable


def _files(repeat: int, light: bool) -> None:
    print(f"{'file':38s} {'size':>9s} {'peak MB':>8s} {'wall s':>7s} {'CPU s':>6s}  outcome")
    worst_mb = worst_cpu = 0.0
    wrong = []
    for item in hostile_files():
        if light and item.heavy:
            continue
        data = item.build()
        costs: list[Cost] = [decode_cost(data, item.name) for _ in range(repeat)]
        peak = max(c.peak_mb for c in costs)
        wall, cpu = min(c.seconds for c in costs), min(c.cpu_seconds for c in costs)
        outcome = costs[0].outcome
        if outcome.startswith("accepted"):
            worst_mb, worst_cpu = max(worst_mb, peak), max(worst_cpu, cpu)
        if outcome.startswith("accepted") != item.accepted or outcome.startswith("crashed"):
            wrong.append(item.name)
        size = f"{len(data) / 2**20:.1f} MB" if len(data) >= 2**20 else f"{len(data) / 1024:.1f} kB"
        text = outcome if len(outcome) <= 90 else outcome[:89] + "…"
        print(f"{item.name:38s} {size:>9s} {peak:8.1f} {wall:7.2f} {cpu:6.2f}  {text}")
    print(
        f"worst_accepted_peak_mb={worst_mb:.1f} worst_accepted_cpu_s={worst_cpu:.2f} "
        f"unexpected={','.join(wrong) or 'none'}"
    )


def _rate(flags: np.ndarray) -> str:
    return f"{flags.mean():.2%} ({int(flags.sum())}/{flags.size})"


def _novelty(drawings: int, non_digits: int) -> None:
    from bench.scribbles import NON_DIGITS, non_digit
    from core.data import MnistUnavailableError, load_mnist
    from core.inference import load_model, predict_proba
    from core.novelty import ink_pattern, not_a_digit
    from core.preprocess import normalize
    from support.handwriting import random_canvas_digit

    model = load_model("models/default.keras")
    print("\nnot_a_digit: false alarms on real digits")
    try:
        (x_train, _), (x_test, _) = load_mnist()
        test = x_test.astype(np.float32) / 255.0
        flags = not_a_digit(test, predict_proba(model, test))
        print(f"  MNIST test set          {_rate(flags)}")
        pattern = ink_pattern(x_train[:20000].astype(np.float32) / 255.0)
        print(
            f"  (first 20,000 MNIST training digits: pieces>=5 {np.mean(pattern.pieces >= 5):.3%}, "
            f"ink 0.5-99.5% {np.percentile(pattern.ink, 0.5):.3f}-{np.percentile(pattern.ink, 99.5):.3f})"
        )
    except MnistUnavailableError as exc:
        print(f"  MNIST test set          skipped: {exc}")
    rng = np.random.default_rng(0)
    drawn = [normalize(random_canvas_digit(i % 10, rng)[0], "dark").image for i in range(drawings)]
    digits = np.stack([image for image in drawn if image is not None])
    print(f"  canvas drawings         {_rate(not_a_digit(digits, predict_proba(model, digits)))}")
    print("not_a_digit: hits on non-digits (refused: the page already says there is no digit)")
    for kind in NON_DIGITS:
        results = [normalize(*non_digit(kind, rng)) for _ in range(non_digits)]
        kept = [r.image for r in results if r.image is not None]
        refused = non_digits - len(kept)
        if kept:
            batch = np.stack(kept)
            probs = predict_proba(model, batch)
            flags, confident = not_a_digit(batch, probs), probs.max(axis=1) >= 0.9
            print(
                f"  {kind:22s}  flagged {_rate(flags)}, refused {refused}; "
                f"model >=90% sure on {confident.mean():.0%} of them"
            )
        else:
            print(f"  {kind:22s}  all {refused} refused")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.hostile")
    parser.add_argument("--repeat", type=int, default=3, help="decodes of each file, each in a fresh process")
    parser.add_argument("--light", action="store_true", help="skip the files that take seconds to build")
    parser.add_argument("--drawings", type=int, default=1000, help="canvas drawings of digits (false alarms)")
    parser.add_argument("--non-digits", type=int, default=150, help="examples of each kind of non-digit (hits)")
    parser.add_argument("--skip-files", action="store_true")
    parser.add_argument("--skip-novelty", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if not args.skip_files:
        if measurable():
            _files(max(1, args.repeat), args.light)
        else:
            print("decode costs skipped: peak memory is read from Linux's /proc")
    if not args.skip_novelty:
        _novelty(args.drawings, args.non_digits)
    print(f"\nbenchmark_seconds={time.perf_counter() - started:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
