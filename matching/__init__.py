"""Matching engine: pure Python, no I/O, imports nothing from this project."""
