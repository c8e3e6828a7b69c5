"""Prompts of the supervisor and the experts, kept in the repository (nothing is pulled from a hub)."""
