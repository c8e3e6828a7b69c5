"""LLaMP-style agents: a supervisor routing to Materials Project experts (issue: agents)."""
