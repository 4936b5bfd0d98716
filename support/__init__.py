"""Test and benchmark tooling for Digit Studio: not app code (app.py, pages/ and core/ never import it).

* :mod:`support.handwriting`: synthetic mouse-drawn digits (strokes, canvas
  placement, rendering like the web canvas), used by benchmarks and unit tests.
* :mod:`support.browser`: the real app in headless Chromium (the server, the
  browser, a driver of the Draw page), used by the e2e tests and the browser
  benchmarks.
"""

from pathlib import Path

#: The project root (where app.py is).
ROOT = Path(__file__).resolve().parent.parent
