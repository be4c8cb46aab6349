"""Settings of the tiny django-viewflow project the bench runs the same approval flow on.

It runs only inside bench/.venv-viewflow (django-viewflow is AGPL: installed from PyPI at
bench time, never vendored, never imported by the product). The database comes from
``VIEWFLOW_DB`` (a PostgreSQL database name on 127.0.0.1, user ``postgres``).
"""

import os

SECRET_KEY = "bench-only"  # noqa: S105 - a throwaway project that serves nothing
DEBUG = False
ALLOWED_HOSTS: list[str] = []
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "viewflow",
    "viewflow.workflow",
    "vfbench",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("VIEWFLOW_DB", "bench_viewflow"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        "CONN_MAX_AGE": None,  # one connection per worker process, as the product's workers keep theirs
    }
}
