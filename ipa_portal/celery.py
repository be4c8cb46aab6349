"""The Celery app: ``celery -A ipa_portal worker -B`` runs a production engine node."""

import os

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipa_portal.settings")

app = Celery("ipa_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def register_engine_node(**kwargs) -> None:
    """The worker is an engine node: register it and beat from a thread of the main process."""
    from processes.services import nodes

    nodes.start_worker_node()


@worker_shutdown.connect
def stop_engine_node(**kwargs) -> None:
    """A warm shutdown (tasks finished): hand this node's instances to the live nodes."""
    from processes.services import nodes

    nodes.stop_worker_node()
