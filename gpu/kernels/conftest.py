"""Doctest collection: triton is installed on Linux x86-64 only; elsewhere skip its module."""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("triton") else ["maxsim_triton.py"]
