"""Benchmark helpers for Digit Studio (synthetic handwriting, accuracy checks)."""
