"""The Celery app: ``celery -A ipa_portal worker -B`` runs a production engine node.

What a worker does as an engine node (register, beat, hand over at a warm stop) is wired to
Celery's signals by ``processes.apps.ProcessesConfig.ready``: nothing of the domain lives here.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipa_portal.settings")

app = Celery("ipa_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
