"""Benchmarks (faiss-bench style): run as ``.venv/bin/python -m bench.NAME [--json]``."""
