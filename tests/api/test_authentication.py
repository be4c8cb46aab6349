"""Every endpoint refuses anonymous callers; tokens and trailing slashes work as the contract says."""

import pytest

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/processes/"),
    ("post", "/api/processes/Expense%20Approval/launch"),
    ("get", "/api/instances/"),
    ("get", "/api/instances/1/"),
    ("post", "/api/instances/1/cancel"),
    ("post", "/api/instances/1/retry"),
    ("post", "/api/instances/1/skip"),
    ("post", "/api/instances/1/interactions"),
    ("get", "/api/workitems/"),
    ("get", "/api/workitems/1/"),
    ("post", "/api/workitems/1/pickup"),
    ("post", "/api/workitems/1/complete"),
    ("post", "/api/workitems/1/save"),
    ("post", "/api/workitems/1/hold"),
    ("post", "/api/workitems/1/resume"),
    ("post", "/api/workitems/1/transfer"),
    ("get", "/api/me/"),
    ("put", "/api/me/presence"),
    ("get", "/api/definitions/"),
    ("post", "/api/definitions/"),
    ("post", "/api/definitions/1/publish"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_callers_get_401(api, method, path):
    response = getattr(api(None), method)(path, {}, format="json")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_a_token_is_issued_for_a_right_password_and_authenticates(directory, api):
    anonymous = api(None)
    response = anonymous.post("/api/auth/token", {"username": "alice", "password": "alice-pass"}, format="json")
    assert response.status_code == 200
    anonymous.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    me = anonymous.get("/api/me/").json()
    assert me["username"] == "alice"
    assert me["license"] == "group_routed"
    assert me["workgroups"] == ["Underwriters"]
    assert me["rights"] == ["launch"]


def test_a_wrong_password_gets_no_token(directory, api):
    response = api(None).post("/api/auth/token", {"username": "alice", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()


def test_the_session_of_a_logged_in_browser_authenticates(directory, client):
    assert client.login(username="bob", password="bob-pass")
    assert client.get("/api/me/").json()["username"] == "bob"


@pytest.mark.parametrize("path", ["/api/me", "/api/me/"])
def test_paths_answer_with_and_without_a_trailing_slash(directory, api, path):
    assert api("bob").get(path).status_code == 200


def test_a_post_without_the_trailing_slash_is_not_redirected(demo, api):
    response = api("dave").post("/api/processes/Expense%20Approval/launch",
                                {"inputs": {"employee": "dave", "amount": "5"}}, format="json")
    assert response.status_code == 201


def test_presence_is_set_and_reported(directory, api):
    bob = api("bob")
    response = bob.put("/api/me/presence", {"status": "available"}, format="json")
    assert response.status_code == 200
    assert bob.get("/api/me/").json()["presence"]["status"] == "available"
    bad = bob.put("/api/me/presence", {"status": "sleeping"}, format="json")
    assert bad.status_code == 400
    assert "status" in bad.json()


def test_the_openapi_schema_and_its_documentation_page_are_served(directory, api, client):
    schema = api("bob").get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/workitems/{id}/complete" in schema.content
    client.login(username="bob", password="bob-pass")
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_the_openapi_schema_and_its_pages_need_authentication_like_every_endpoint(directory, api, path):
    response = api(None).get(path)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")


def test_the_process_format_schema_is_served_to_editors(db, client):
    response = client.get("/api/schema/process.json")
    assert response.status_code == 200
    assert response.json()["properties"]["format"]
