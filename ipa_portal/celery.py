"""The Celery app: ``celery -A ipa_portal worker -B`` runs a production engine node."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipa_portal.settings")

app = Celery("ipa_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
