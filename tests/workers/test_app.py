"""``workers.app`` and ``workers.schedule``: routing, delivery limits and the beat schedule from settings."""

import pytest

from matlas.settings import Settings
from workers.app import app, celery_config, consumes, create_celery
from workers.schedule import REBUILD_TASK, beat_schedule


@pytest.mark.parametrize("hard", [30.0, 3600.0, 6 * 3600.0])
def test_unacknowledged_messages_come_back_only_after_the_hard_limit(hard):
    config = celery_config(Settings(task_time_limit_s=hard))
    assert config["task_soft_time_limit"] < config["task_time_limit"] == hard
    assert config["broker_transport_options"]["visibility_timeout"] > hard
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1


@pytest.mark.parametrize("task,queue", [(REBUILD_TASK, "index"), ("workers.llm_tasks.generate", "llm")])
def test_tasks_are_registered_and_routed_to_their_queue(task, queue):
    app.loader.import_default_modules()
    assert task in app.tasks
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_beat_rebuilds_each_configured_index_every_period():
    schedule = beat_schedule(["materials", "scifact"], 900)
    assert {e["kwargs"]["name"]: (e["task"], e["schedule"]) for e in schedule.values()} == {
        "materials": (REBUILD_TASK, 900), "scifact": (REBUILD_TASK, 900)}
    assert all(e["options"]["expires"] <= 900 for e in schedule.values())  # no pile-up behind a dead worker


def test_a_worker_knows_the_queues_it_consumes():
    celery = create_celery(Settings(), set_as_current=False)
    celery.amqp.queues.select(["gpu"])
    assert consumes(celery, "index", "gpu") and not consumes(celery, "llm")
