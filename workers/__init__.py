"""Celery workers on Redis: queues llm, gpu and index (issue: workers)."""
