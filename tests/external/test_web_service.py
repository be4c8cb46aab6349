"""invoke_web_service against real SOAP peers on loopback (spyne over HTTP and HTTPS), no mocks."""

from __future__ import annotations

import os
import time

import pytest

from processes.external.errors import ExternalActionError
from processes.external.web_service import cached_wsdls, clear_wsdl_cache, invoke_web_service
from tests.external import peers
from tests.external.peers import TricklePeer, wsdl_with_both_versions, wsdl_with_services

# the peers' fixtures, used here
_quiet_spyne, test_ca, other_ca = peers._quiet_spyne, peers.test_ca, peers.other_ca
http_peer, soap12_peer, https_peer = peers.http_peer, peers.soap12_peer, peers.https_peer
https_localhost_peer, trickle_peer = peers.https_localhost_peer, peers.trickle_peer
web_service_settings, engine_tasks_here = peers.web_service_settings, peers.engine_tasks_here

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("web_service_settings", "engine_tasks_here")]


def call(peer_or_wsdl, operation: str, **params):
    wsdl = getattr(peer_or_wsdl, "wsdl", peer_or_wsdl)
    return invoke_web_service({"wsdl": str(wsdl), "operation": operation, **params})


def failure(peer_or_wsdl, operation: str, **params) -> ExternalActionError:
    with pytest.raises(ExternalActionError) as caught:
        call(peer_or_wsdl, operation, **params)
    return caught.value


def trust_in_database(ca, name: str = "IPA test CA"):
    from administration.models import CertificateAuthority

    return CertificateAuthority.objects.create(name=name, certificate=ca.cert_pem.bytes().decode())


# ------------------------------------------------------------------------------ calls


@pytest.mark.parametrize("peer_name", ["http_peer", "soap12_peer"])
def test_add_over_http_in_soap_11_and_12(request, peer_name):
    peer = request.getfixturevalue(peer_name)
    assert call(peer, "add", inputs={"a": 2, "b": 3}) == 5
    assert peer.count("POST", "/") >= 1


def test_inputs_are_converted_to_the_types_of_the_wsdl(http_peer):
    assert call(http_peer, "add", inputs={"a": "40", "b": " 2 "}) == 42
    assert call(http_peer, "next_day", inputs={"day": "2024-02-28"}) == "2024-02-29"
    assert call(http_peer, "sleep", inputs={"seconds": "0.01"}) == "slept"
    assert call(http_peer, "count", inputs={"words": ["a", "b", "c"]}) == 3


def test_the_result_is_json_with_exact_decimals_and_iso_dates(http_peer):
    assert call(http_peer, "customer", inputs={"id": "42"}) == {
        "name": "Ada Lovelace", "items": ["analytical engine", "notes"], "balance": "1234.50", "since": "1843-07-10",
    }
    result = call(http_peer, "lookup", inputs={"id": 7})
    assert result["found"] is True
    assert result["customer"]["name"] == "Grace Hopper"
    assert call(http_peer, "lookup", inputs={"id": "nobody"}) == {"customer": None, "found": False}


@pytest.mark.parametrize("inputs, message", [
    ({"a": "two", "b": 1}, "a: a text that is not a valid integer"),
    ({"a": 1, "c": 1}, 'the operation add has no parameter "c"; it takes: a, b'),
    ({"a": {"x": 1}}, "a must be a single value, not dict"),
    ({"a": True}, "a: a boolean that is not a valid integer"),
])
def test_an_input_that_does_not_fit_its_type_is_bad_input(http_peer, inputs, message):
    sent = http_peer.count("POST", "/")
    error = failure(http_peer, "add", inputs=inputs)
    assert (error.type, error.message) == ("bad_input", message)
    assert failure(http_peer, "next_day", inputs={"day": "2024-13-01"}).type == "bad_input"
    assert http_peer.count("POST", "/") == sent  # nothing is sent for a bad input


@pytest.mark.parametrize("peer_name", ["http_peer", "soap12_peer"])
def test_a_soap_fault_gives_its_faultstring(request, peer_name):
    peer = request.getfixturevalue(peer_name)
    error = failure(peer, "fail", inputs={"message": "credit refused for Ada"})
    assert (error.type, error.message) == ("soap_fault", "credit refused for Ada")
    assert error.as_error() == {"type": "soap_fault", "message": "credit refused for Ada"}


def test_an_unknown_operation_is_a_configuration_error(http_peer):
    error = failure(http_peer, "divide")
    assert error.type == "configuration"
    assert error.message.startswith('the port has no operation "divide"; it has: add, count, customer, fail')


# ---------------------------------------------------------------------------- timeouts


def test_a_peer_slower_than_the_timeout_is_cut_off_at_the_timeout(http_peer):
    call(http_peer, "add", inputs={"a": 1, "b": 1})  # WSDL loaded: only the call is timed below
    started = time.monotonic()
    error = failure(http_peer, "sleep", inputs={"seconds": 4}, timeout=1)
    elapsed = time.monotonic() - started
    assert (error.type, error.message) == ("timeout", "no answer within 1 s")
    assert 0.9 <= elapsed < 3  # the peer would answer after 4 s (the bound leaves room for a busy machine)
    assert call(http_peer, "sleep", inputs={"seconds": 0.2}, timeout=2) == "slept"


def test_the_timeout_bounds_the_whole_call_even_when_the_answer_trickles(http_peer, trickle_peer, settings):
    wsdl = wsdl_with_services(http_peer.wsdl, settings.IPA_WSDL_DIR, "trickle.wsdl",
                              {"Calculator": {"CalculatorService": trickle_peer.url}})
    started = time.monotonic()
    error = failure(wsdl, "add", inputs={"a": 1, "b": 1}, timeout=1.5)
    elapsed = time.monotonic() - started
    assert (error.type, error.message) == ("timeout", "no answer within 1.5 s")
    assert 1.4 <= elapsed < 3.5  # a byte every 0.2 s for 10 s: a per-read timeout alone would never fire


def test_the_timeout_includes_loading_the_wsdl(trickle_peer):
    started = time.monotonic()
    error = failure(trickle_peer.url + "?wsdl", "add", timeout=1)
    assert error.type == "timeout"
    assert time.monotonic() - started < 3  # the WSDL would trickle in for 10 s


@pytest.mark.parametrize("timeout", [-1, "soon"])
def test_a_bad_timeout_is_a_configuration_error(http_peer, timeout):
    assert failure(http_peer, "add", timeout=timeout).type == "configuration"


# --------------------------------------------------------------------------- transport


def test_a_server_that_is_not_there_is_a_transport_error():
    import socket

    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    error = failure(f"http://127.0.0.1:{port}/?wsdl", "add")
    assert error.type == "transport"
    assert error.message == f"cannot reach http://127.0.0.1:{port}: Connection refused"


def test_a_wsdl_url_that_answers_404_is_a_transport_error(http_peer):
    error = failure(http_peer.url + "missing.wsdl", "add")
    assert (error.type, error.message) == ("transport", f"the server answered HTTP 404 for {http_peer.url}missing.wsdl")


def test_a_service_address_that_is_down_is_a_transport_error(http_peer, settings):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    wsdl = wsdl_with_services(http_peer.wsdl, settings.IPA_WSDL_DIR, "down.wsdl",
                              {"Calculator": {"CalculatorService": f"http://127.0.0.1:{port}/"}})
    error = failure(wsdl, "add", inputs={"a": 1, "b": 2})
    assert (error.type, error.message) == ("transport", f"cannot reach http://127.0.0.1:{port}: Connection refused")


# --------------------------------------------------------------------- uploaded WSDLs


def test_an_uploaded_wsdl_file_by_path_by_name_and_by_file_url(http_peer, settings):
    path = wsdl_with_services(http_peer.wsdl, settings.IPA_WSDL_DIR, "calculator.wsdl",
                              {"Calculator": {"CalculatorService": http_peer.url}})
    assert call(str(path), "add", inputs={"a": 1, "b": 2}) == 3
    assert call("calculator.wsdl", "add", inputs={"a": 2, "b": 2}) == 4
    assert call(path.as_uri(), "add", inputs={"a": 3, "b": 2}) == 5


def test_an_uploaded_wsdl_must_be_in_the_wsdl_folder(http_peer, settings, tmp_path):
    outside = wsdl_with_services(http_peer.wsdl, tmp_path, "outside.wsdl",
                                 {"Calculator": {"CalculatorService": http_peer.url}})
    error = failure(str(outside), "add")
    assert error.type == "configuration"
    assert error.message.startswith("a WSDL file must be in the uploaded WSDL folder")
    assert failure("../outside.wsdl", "add").type == "configuration"
    missing = failure("nothing.wsdl", "add")
    expected = f"no WSDL file {settings.IPA_WSDL_DIR / 'nothing.wsdl'}"
    assert (missing.type, missing.message) == ("configuration", expected)


def test_a_file_that_is_not_a_wsdl_is_a_configuration_error(settings):
    (settings.IPA_WSDL_DIR / "broken.wsdl").write_text("<definitions>not closed")
    error = failure("broken.wsdl", "add")
    assert error.type == "configuration"
    assert error.message.startswith("the WSDL cannot be used")


def test_a_changed_uploaded_file_is_loaded_again(http_peer, soap12_peer, settings):
    path = wsdl_with_services(http_peer.wsdl, settings.IPA_WSDL_DIR, "moving.wsdl",
                              {"Calculator": {"CalculatorService": http_peer.url}})
    before = http_peer.count("POST", "/")
    assert call("moving.wsdl", "add", inputs={"a": 1, "b": 1}) == 2
    assert http_peer.count("POST", "/") == before + 1
    # the same file, now sending to a port that is down: the new address applies at once
    import socket

    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    wsdl_with_services(http_peer.wsdl, settings.IPA_WSDL_DIR, "moving.wsdl",
                       {"Calculator": {"CalculatorService": f"http://127.0.0.1:{port}/"}})
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    assert failure("moving.wsdl", "add", inputs={"a": 1, "b": 1}).type == "transport"


# ---------------------------------------------------------------- services and ports


def test_several_services_need_service_and_several_ports_need_port(http_peer, https_peer, settings, test_ca):
    trust_in_database(test_ca)
    wsdl = wsdl_with_services(http_peer.wsdl, settings.IPA_WSDL_DIR, "two.wsdl", {
        "Calculator": {"Plain": http_peer.url, "Secure": https_peer.url},
        "Archive": {"Old": http_peer.url},
    })
    error = failure(wsdl, "add", inputs={"a": 1, "b": 1})
    assert (error.type, error.message) == ("configuration", 'the WSDL has several services: Calculator, Archive; '
                                                            'set "service"')
    error = failure(wsdl, "add", service="Calculator", inputs={"a": 1, "b": 1})
    assert (error.type, error.message) == ("configuration", 'the service "Calculator" has several ports: '
                                                            'Plain (SOAP 1.1), Secure (SOAP 1.1); set "port"')
    error = failure(wsdl, "add", service="Billing")
    assert (error.type, error.message) == ("configuration", 'the WSDL has no service "Billing"; '
                                                            "it has: Calculator, Archive")
    error = failure(wsdl, "add", service="Calculator", port="Fast")
    assert (error.type, error.message) == ("configuration", 'the service "Calculator" has no port "Fast"; '
                                                            "it has: Plain, Secure")

    plain, secure = http_peer.count("POST", "/"), https_peer.count("POST", "/")
    assert call(wsdl, "add", service="Calculator", port="Secure", inputs={"a": 1, "b": 1}) == 2
    assert (http_peer.count("POST", "/"), https_peer.count("POST", "/")) == (plain, secure + 1)
    assert call(wsdl, "add", service="Calculator", port="Plain", inputs={"a": 2, "b": 1}) == 3
    assert call(wsdl, "add", service="Archive", inputs={"a": 3, "b": 1}) == 4
    assert (http_peer.count("POST", "/"), https_peer.count("POST", "/")) == (plain + 2, secure + 1)


def test_a_wsdl_with_a_soap_11_and_a_soap_12_port_calls_the_chosen_one(http_peer, soap12_peer, settings):
    wsdl = wsdl_with_both_versions(http_peer, soap12_peer, settings.IPA_WSDL_DIR)
    error = failure(wsdl, "add", inputs={"a": 1, "b": 1})
    assert (error.type, error.message) == ("configuration", 'the service "Calculator" has several ports: '
                                                            'Soap11 (SOAP 1.1), Soap12 (SOAP 1.2); set "port"')
    sent11, sent12 = http_peer.count("POST", "/"), soap12_peer.count("POST", "/")
    assert call(wsdl, "add", port="Soap12", inputs={"a": 20, "b": 1}) == 21
    assert call(wsdl, "add", port="Soap11", inputs={"a": 10, "b": 1}) == 11
    fault = failure(wsdl, "fail", port="Soap12", inputs={"message": "in 1.2"})
    assert (fault.type, fault.message) == ("soap_fault", "in 1.2")
    assert (http_peer.count("POST", "/"), soap12_peer.count("POST", "/")) == (sent11 + 1, sent12 + 2)


# ------------------------------------------------------------------------- the cache


def test_the_wsdl_is_fetched_once_for_many_calls(http_peer):
    fetched = http_peer.count("GET", "?wsdl")
    for number in range(5):
        assert call(http_peer, "add", inputs={"a": number, "b": 1}) == number + 1
    assert http_peer.count("GET", "?wsdl") == fetched + 1
    assert cached_wsdls() == [http_peer.wsdl]
    clear_wsdl_cache()
    assert call(http_peer, "add", inputs={"a": 1, "b": 1}) == 2
    assert http_peer.count("GET", "?wsdl") == fetched + 2


def test_calls_from_several_threads_share_the_cached_wsdl(http_peer):
    from concurrent.futures import ThreadPoolExecutor

    call(http_peer, "add", inputs={"a": 0, "b": 0})
    fetched = http_peer.count("GET", "?wsdl")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: call(http_peer, "add", inputs={"a": n, "b": n}, timeout=10), range(12)))
    assert results == [n * 2 for n in range(12)]
    assert http_peer.count("GET", "?wsdl") == fetched


# ----------------------------------------------------------------- HTTPS and the CA bundle


def test_https_is_refused_when_the_test_ca_is_not_in_the_bundle(https_peer, settings):
    settings.IPA_TRUST_PUBLIC_CAS = True  # the public CAs do not vouch for the test CA either
    sent = https_peer.count("POST", "/")
    error = failure(https_peer, "add", inputs={"a": 1, "b": 2})
    assert error.type == "certificate"
    assert error.message.startswith(
        "the server's certificate is not signed by a certification authority in the CA bundle "
        f"(https://127.0.0.1:{https_peer.port}: unable to get local issuer certificate; the bundle has the public "
        "certification authorities)")
    assert https_peer.count("POST", "/") == sent


def test_https_succeeds_with_the_test_ca_in_the_database(https_peer, test_ca):
    trust_in_database(test_ca)
    assert call(https_peer, "add", inputs={"a": 1, "b": 2}) == 3
    assert call(https_peer, "customer", inputs={"id": "7"})["name"] == "Grace Hopper"


def test_https_succeeds_with_the_test_ca_in_the_bundle_file(https_peer, test_ca, settings, tmp_path):
    bundle = tmp_path / "ca-bundle.crt"
    bundle.write_text("IPA test CA\n===========\n" + test_ca.cert_pem.bytes().decode())
    settings.IPA_CA_BUNDLE = str(bundle)
    assert call(https_peer, "add", inputs={"a": 2, "b": 2}) == 4


def test_another_ca_in_the_bundle_does_not_vouch_for_the_server(https_peer, other_ca):
    trust_in_database(other_ca, "Somebody else")
    error = failure(https_peer, "add", inputs={"a": 1, "b": 2})
    assert error.type == "certificate"
    assert "not signed by a certification authority in the CA bundle" in error.message
    assert "1 from the administration pages" in error.message


def test_an_empty_bundle_says_so(https_peer):
    error = failure(https_peer, "add")
    assert error.type == "certificate"
    assert error.message.startswith("the CA bundle is empty")


def test_a_certificate_for_another_name_is_refused(https_localhost_peer, test_ca):
    trust_in_database(test_ca)
    error = failure(https_localhost_peer, "add")
    assert error.type == "certificate"
    assert error.message.startswith("the server's certificate is not valid for its address")


def test_a_change_of_the_bundle_in_the_database_applies_on_the_next_call(https_peer, test_ca):
    assert failure(https_peer, "add", inputs={"a": 1, "b": 1}).type == "certificate"
    authority = trust_in_database(test_ca)
    assert call(https_peer, "add", inputs={"a": 1, "b": 1}) == 2  # no restart, no cache clear
    authority.delete()
    assert failure(https_peer, "add", inputs={"a": 1, "b": 1}).type == "certificate"


def test_requests_ca_bundle_in_the_environment_does_not_widen_the_trust(https_peer, test_ca, tmp_path, monkeypatch):
    rogue = tmp_path / "rogue.pem"
    rogue.write_text(test_ca.cert_pem.bytes().decode())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(rogue))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(rogue))
    assert failure(https_peer, "add").type == "certificate"


def test_a_certificate_authority_that_is_not_pem_is_refused_and_left_out(https_peer, test_ca):
    from django.core.exceptions import ValidationError

    from administration.models import CertificateAuthority

    broken = CertificateAuthority(name="Broken", certificate="-----BEGIN CERTIFICATE-----\nnot base64\n"
                                                             "-----END CERTIFICATE-----\n")
    with pytest.raises(ValidationError):
        broken.full_clean()
    broken.save()  # saved past the form: left out of the bundle, the others still count
    trust_in_database(test_ca)
    assert call(https_peer, "add", inputs={"a": 5, "b": 5}) == 10
    CertificateAuthority(name="Good", certificate=test_ca.cert_pem.bytes().decode()).full_clean()


def test_administrators_add_a_certification_authority_in_the_administration_pages(
        https_peer, test_ca, directory, client):
    from administration.models import CertificateAuthority, User

    client.force_login(User.objects.get(username="admin"))
    url = "/admin/administration/certificateauthority/add/"
    refused = client.post(url, {"name": "Typo", "certificate": "-----BEGIN CERTIFICATE-----\nxyz\n"})
    assert refused.status_code == 200 and "not a PEM certificate OpenSSL accepts" in refused.content.decode()
    assert failure(https_peer, "add").type == "certificate"
    added = client.post(url, {"name": "IPA test CA", "certificate": test_ca.cert_pem.bytes().decode()})
    assert added.status_code == 302
    assert CertificateAuthority.objects.get().name == "IPA test CA"
    assert call(https_peer, "add", inputs={"a": 2, "b": 5}) == 7


def test_a_bundle_file_removed_from_disk_is_written_again(https_peer, test_ca):
    import shutil

    from processes.external.trust import ca_bundle

    trust_in_database(test_ca)
    assert call(https_peer, "add", inputs={"a": 1, "b": 1}) == 2
    os.remove(ca_bundle().path)
    assert call(https_peer, "add", inputs={"a": 1, "b": 2}) == 3
    shutil.rmtree(os.path.dirname(ca_bundle().path))  # a temporary-files cleaner took the folder
    assert call(https_peer, "add", inputs={"a": 1, "b": 3}) == 4


def test_a_bundle_file_is_made_per_content():
    from processes.external.trust import ca_bundle

    first, again = ca_bundle(), ca_bundle()
    assert first == again
    assert os.path.exists(first.path)
    assert first.certificates == 0


def test_the_trickle_peer_stops_by_itself():
    with TricklePeer(interval=0.05, limit=0.2) as peer:
        assert peer.port


# ------------------------------------------------------ end to end, through the API


def web_service_process(name: str, actions: list, variables: list) -> dict:
    return {"format": "ipa.process/v1", "name": name, "category": "Tests", "variables": variables,
            "start_state": "Calling", "states": [{"name": "Calling", "actions": [*actions, {"action": "end_process"}]}]}


def launched(api, capture, document: dict, inputs: dict) -> dict:
    """Import and publish ``document`` as admin, launch it, run the calls its commit hands out."""
    admin = api("admin")
    response = admin.post("/api/definitions/?publish=true", document, format="json")
    assert response.status_code == 201, response.json()
    with capture(execute=True):
        response = admin.post(f"/api/processes/{document['name']}/launch", {"inputs": inputs}, format="json")
    assert response.status_code == 201, response.json()
    return admin.get(f"/api/instances/{response.json()['id']}/").json()


def test_a_process_launched_through_the_api_calls_the_service_and_sets_its_outputs(
        http_peer, https_peer, test_ca, directory, api, django_capture_on_commit_callbacks):
    trust_in_database(test_ca)
    document = web_service_process("Customer Check", [
        {"action": "invoke_web_service", "wsdl": http_peer.wsdl, "operation": "add",
         "inputs": {"a": "a", "b": "b"}, "outputs": {"total": "result"}, "timeout": 10},
        {"action": "invoke_web_service", "wsdl": https_peer.wsdl, "operation": "lookup",
         "inputs": {"id": "customer_id"}, "timeout": 10,
         "outputs": {"customer_name": "result.customer.name", "first_item": "result.customer.items.0",
                     "balance": "result.customer.balance", "since": "result.customer.since", "found": "result.found"}},
    ], [
        {"name": "a", "type": "integer", "input": True, "required": True},
        {"name": "b", "type": "integer", "input": True, "required": True},
        {"name": "customer_id", "type": "string", "input": True, "required": True},
        {"name": "total", "type": "integer"},
        {"name": "customer_name", "type": "string"},
        {"name": "first_item", "type": "string"},
        {"name": "balance", "type": "decimal"},
        {"name": "since", "type": "date"},
        {"name": "found", "type": "boolean"},
    ])
    instance = launched(api, django_capture_on_commit_callbacks, document, {"a": 40, "b": 2, "customer_id": "42"})
    assert instance["status"] == "completed", instance
    variables = instance["variables"]
    assert (variables["total"], variables["customer_name"], variables["first_item"]) == (
        42, "Ada Lovelace", "analytical engine")
    assert (variables["balance"], variables["since"], variables["found"]) == ("1234.50", "1843-07-10", True)


def test_a_soap_fault_runs_on_error_with_the_faultstring_in_error(
        http_peer, directory, api, django_capture_on_commit_callbacks):
    document = web_service_process("Refusal", [
        {"action": "invoke_web_service", "wsdl": http_peer.wsdl, "operation": "fail",
         "inputs": {"message": "reason"}, "timeout": 10,
         "on_error": [{"action": "assign", "variable": "problem", "value": 'error["type"] + ": " + error["message"]'}]},
    ], [
        {"name": "reason", "type": "string", "input": True, "required": True},
        {"name": "problem", "type": "string"},
    ])
    instance = launched(api, django_capture_on_commit_callbacks, document, {"reason": "credit refused"})
    assert instance["status"] == "completed", instance
    assert instance["variables"]["problem"] == "soap_fault: credit refused"


def test_without_on_error_a_refused_certificate_stops_the_instance_in_error(
        https_peer, directory, api, django_capture_on_commit_callbacks, settings):
    settings.IPA_TRUST_PUBLIC_CAS = True
    document = web_service_process("Untrusted", [
        {"action": "invoke_web_service", "wsdl": https_peer.wsdl, "operation": "add",
         "inputs": {"a": "1", "b": "2"}, "outputs": {"total": "result"}, "timeout": 10},
    ], [{"name": "total", "type": "integer"}])
    instance = launched(api, django_capture_on_commit_callbacks, document, {})
    assert instance["status"] == "error", instance
    assert "not signed by a certification authority in the CA bundle" in instance["error"]


def test_the_demo_process_calls_the_demo_service_and_keeps_the_reason_when_it_is_down(
        http_peer, directory, api, django_capture_on_commit_callbacks):
    import json
    import socket
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "demo" / "processes" / "web_service_demo.json"
    text = path.read_text()
    assert "http://127.0.0.1:8099/?wsdl" in text  # what demo/soap_peer.py --port 8099 serves
    document = json.loads(text.replace("http://127.0.0.1:8099/?wsdl", http_peer.wsdl))
    instance = launched(api, django_capture_on_commit_callbacks, document, {"customer_id": "7"})
    assert instance["status"] == "completed", instance
    variables = instance["variables"]
    assert (variables["total"], variables["found"], variables["customer_name"], variables["first_item"],
            variables["balance"], variables["problem"]) == (42, True, "Grace Hopper", "compiler", "0.10", None)

    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    document = json.loads(text.replace("http://127.0.0.1:8099/?wsdl", f"http://127.0.0.1:{port}/?wsdl"))
    document["name"] = "Web Service Demo Down"
    instance = launched(api, django_capture_on_commit_callbacks, document, {})
    assert instance["status"] == "completed", instance
    assert instance["variables"]["problem"] == f"transport: cannot reach http://127.0.0.1:{port}: Connection refused"
    assert instance["variables"]["total"] is None
