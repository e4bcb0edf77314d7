"""Rendering of engine snapshots and results; the only package that imports rich."""
