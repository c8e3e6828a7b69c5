"""Celery workers on Redis: queues llm, gpu and index, model hosting, beat schedules.

- ``app``: the Celery app and its configuration from settings; ``schedule``: beat's rebuilds.
- ``rebuild``: plain index rebuilds (lock, build, validate, publish); ``locks``: the locks.
- ``index_tasks`` and ``llm_tasks``: thin tasks over the plain functions.
- ``submit``: what the CLI and the API call: queue work, or run it in-process without a broker.

The package imports nothing on purpose: ``workers.app`` reads the environment when imported.
"""
