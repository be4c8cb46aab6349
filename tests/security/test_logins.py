"""Logins: lockout after repeated failures, password rules, tokens that expire and are revoked."""

from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def ask_token(password: str, username: str = "bob"):
    return APIClient().post("/api/auth/token", {"username": username, "password": password}, format="json")


def test_a_success_before_the_limit_starts_the_count_again(directory):
    for _ in range(4):
        ask_token("wrong")
    assert ask_token("bob-pass").status_code == 200
    for _ in range(4):
        assert ask_token("wrong").status_code == 400


def test_passwords_set_through_forms_follow_the_validators(directory):
    from administration.models import User

    bob = User.objects.get(username="bob")
    for weak in ("bob-pass", "password123", "12345678901"):
        with pytest.raises(ValidationError):
            validate_password(weak, bob)
    validate_password("correct horse battery staple", bob)
    assert Client().login(username="bob", password="bob-pass")  # the demo's passwords still load and work


def test_an_expired_token_authenticates_nobody_and_a_new_one_is_given(directory, settings):
    from rest_framework.authtoken.models import Token

    settings.IPA_TOKEN_LIFETIME_HOURS = 24
    key = ask_token("bob-pass").json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/me/").status_code == 200
    Token.objects.filter(key=key).update(created=timezone.now() - timedelta(hours=25))
    assert client.get("/api/me/").status_code == 401
    fresh = ask_token("bob-pass").json()["token"]
    assert fresh != key
    client.credentials(HTTP_AUTHORIZATION=f"Token {fresh}")
    assert client.get("/api/me/").status_code == 200


def test_logging_out_revokes_the_users_tokens(directory):
    key = ask_token("bob-pass").json()["token"]
    browser = Client()
    browser.post("/accounts/login/", {"username": "bob", "password": "bob-pass"})
    browser.post("/accounts/logout/")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/me/").status_code == 401


def test_a_script_revokes_its_own_token(directory):
    key = ask_token("bob-pass").json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.delete("/api/auth/token").status_code == 204
    assert client.get("/api/me/").status_code == 401
