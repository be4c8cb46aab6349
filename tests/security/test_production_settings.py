"""Production settings come from the environment: DEBUG off unless asked for, HTTPS settings
switchable, and ``manage.py check --deploy`` clean with the documented variables."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "portal.example.com",
    "IPA_HTTPS": "true",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
}


def django(code: str, **env: str) -> str:
    """Runs ``code`` after django.setup() in a fresh interpreter with only ``env`` set of ours."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("DEBUG", "SECRET_KEY", "IPA_HTTPS", "ALLOWED_HOSTS") and not k.startswith("SECURE_")}
    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
                               "'ipa_portal.settings'); django.setup(); from django.conf import settings; " + code],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_debug_is_off_unless_asked_for():
    assert django("print(settings.DEBUG)") == "False"
    assert django("print(settings.DEBUG)", DEBUG="true") == "True"


def test_https_settings_follow_the_environment():
    shown = django("print(settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,"
                   " settings.SECURE_HSTS_SECONDS, settings.SECURE_PROXY_SSL_HEADER)", **PRODUCTION)
    assert shown == "True True True 31536000 ('HTTP_X_FORWARDED_PROTO', 'https')"
    assert django("print(settings.SESSION_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS)") == "False 0"


@pytest.mark.django_db
def test_check_deploy_finds_no_security_problem_with_the_documented_variables():
    base = {k: v for k, v in os.environ.items() if k not in ("DEBUG",)}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT,
                            env={**base, **PRODUCTION}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "security." not in result.stdout + result.stderr
    assert "axes." not in result.stdout + result.stderr
    assert "ipa." not in result.stdout + result.stderr


def test_anonymous_visitors_get_no_technical_page_for_an_unknown_path(client):
    page = client.get("/no/such/page/")
    assert page.status_code == 404
    assert b"URLconf" not in page.content
