"""Benchmarks for Digit Studio, run as ``python -m bench.NAME`` (the tooling they share with the tests is in support/)."""  # noqa: E501
