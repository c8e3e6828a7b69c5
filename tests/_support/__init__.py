"""Test-only builders shared by the suites (tiny models, local servers)."""
