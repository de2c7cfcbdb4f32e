"""The emulator over a real socket: encodings, slashes, the envelope, unknown paths, auth, faults."""

from __future__ import annotations

import io
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from orchestrator.emulator import EmulatorBackend, EmulatorServer, Fault, FaultKind, FaultPlan
from orchestrator.emulator.urls import ROUTES
from tests.emulator.helpers import Api, start_server


def new_project(api: Api, name: str = "Wire") -> int:
    return int(api.ok("projects/create", json={"name": name, "language": "Py"})["projects"][0]["projectId"])


# -- encodings and paths ------------------------------------------------------------------------------


def test_json_form_and_query_requests_reach_the_same_state(api: Api) -> None:
    pid = new_project(api)
    form = {"projectId": str(pid), "description": "via form", "parameters[0][key]": "fast",
            "parameters[0][value]": "10", "parameters[1][key]": "slow", "parameters[1][value]": "50",
            "files[0][name]": "main.py", "files[0][content]": "from AlgorithmImports import *\n",
            "files[1][name]": "research.ipynb", "files[1][content]": "{}", "codeSourceId": "cli"}
    assert api.post("projects/update", data=form) == {"success": True}
    project = api.get("projects/read", projectId=pid)["projects"][0]
    assert project["description"] == "via form"
    assert project["parameters"] == [{"key": "fast", "value": "10"}, {"key": "slow", "value": "50"}]
    files = api.get("files/read", projectId=str(pid))["files"]
    assert [(f["name"], f["content"]) for f in files] == [("main.py", "from AlgorithmImports import *\n"),
                                                          ("research.ipynb", "{}")]
    # parameters="" clears them, as the lean CLI sends it
    api.ok("projects/update", data={"projectId": pid, "parameters": ""})
    assert api.get("projects/read", projectId=pid)["projects"][0]["parameters"] == []


def test_repeated_slashes_are_collapsed(api: Api) -> None:
    root = api.url.removesuffix("api/v2/")
    stamp = str(int(time.time()))
    response = requests.get(root + "/api//v2//authenticate", auth=api.auth(stamp), headers={"Timestamp": stamp},
                            timeout=10)
    assert response.json() == {"success": True}


def test_every_route_answers_get_and_post_with_the_envelope(api: Api) -> None:
    for endpoint in ROUTES:
        for method in ("GET", "POST"):
            response = api.raw(method, endpoint)
            assert response.status_code == 200, (method, endpoint, response.text)
            assert isinstance(response.json()["success"], bool), (method, endpoint)


def test_unknown_endpoints_fail_loudly(api: Api) -> None:
    response = api.raw("POST", "backtests/explode")
    assert response.status_code == 404
    assert response.json() == {"success": False, "errors": [
        "Unknown API endpoint '/api/v2/backtests/explode': the qcloop emulator does not implement it "
        "(see docs/emulator.md for the endpoints it serves)."]}
    assert requests.get(api.url.removesuffix("api/v2/") + "elsewhere", timeout=10).status_code == 404


def test_handled_failures_are_http_200_with_errors(api: Api) -> None:
    response = api.raw("POST", "projects/read", json={"projectId": -1})
    assert response.status_code == 200
    assert response.json() == {"success": False, "errors": ["Project not found"]}


@pytest.mark.parametrize("libraries", [["not-a-project-id"], [1.5], [{"projectId": 1}]])
def test_a_malformed_library_list_is_a_handled_failure_not_a_crash(api: Api, libraries: list[object]) -> None:
    pid = new_project(api)
    response = api.raw("POST", "projects/update", json={"projectId": pid, "libraries": libraries})
    assert response.status_code == 200
    assert response.json()["success"] is False
    assert "libraries" in response.json()["errors"][0]


def test_empty_collections_are_empty_arrays(api: Api) -> None:
    pid = new_project(api)
    for name in ("main.py", "research.ipynb"):
        api.ok("files/delete", json={"projectId": pid, "name": name})
    assert api.get("files/read", projectId=pid)["files"] == []
    assert api.ok("backtests/list", json={"projectId": pid})["backtests"] == []
    assert api.ok("optimizations/list", json={"projectId": pid})["optimizations"] == []


def test_project_objects_satisfy_the_lean_clis_required_fields(api: Api) -> None:
    project = api.ok("projects/create", json={"name": "Fields", "language": "Py"})["projects"][0]
    required = {"projectId", "organizationId", "name", "description", "modified", "created", "language",
                "collaborators", "leanVersionId", "leanPinnedToMaster", "leanEnvironment", "parameters", "libraries"}
    assert required <= project.keys()
    assert {"liveControl", "permission", "profileImage", "name"} <= project["collaborators"][0].keys()
    assert time.strptime(project["created"], "%Y-%m-%d %H:%M:%S")


# -- authentication ----------------------------------------------------------------------------------


def test_a_bad_hash_is_http_200_with_the_services_words(api: Api) -> None:
    stamp = str(int(time.time()))
    response = requests.get(api.url + "authenticate", auth=(str(api.user_id), "0" * 64),
                            headers={"Timestamp": stamp}, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"success": False, "errors": [
        f"Hash doesn't match. UID: {api.user_id} Hash: {'0' * 64} Timestamp: {stamp}"]}


def test_the_timestamp_window_is_1800_seconds(api: Api) -> None:
    now = int(time.time())
    assert api.raw("GET", "authenticate", timestamp=now - 1700).json() == {"success": True}
    stale = api.raw("GET", "authenticate", timestamp=now - 1900).json()
    assert stale["success"] is False and stale["errors"][0].startswith("Hash doesn't match.")


def test_no_credentials_at_all_fail(api: Api) -> None:
    body = requests.post(api.url + "projects/read", timeout=10).json()
    assert body == {"success": False, "errors": ["Hash doesn't match. UID:  Hash:  Timestamp: ''"]}


def test_the_documented_401_form_behind_a_switch(backend: EmulatorBackend) -> None:
    server = start_server(backend, auth_failure_status=401)
    try:
        api = Api(server.url, token="wrong")
        response = api.raw("GET", "authenticate")
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert response.json()["errors"][0].startswith("Hash doesn't match.")
    finally:
        server.stop()


# -- Object Store over the wire ---------------------------------------------------------------------


def test_object_store_multipart_upload_then_download_from_this_server(api: Api, backend: EmulatorBackend) -> None:
    org = backend.user(api.user_id).organization_id
    api.ok("object/set", data={"organizationId": org, "key": "qcloop/results/n1.json"},
           files={"objectData": ("blob", b'{"nonce": "n1"}')})
    job = api.ok("object/get", json={"organizationId": org, "keys": ["qcloop/results/n1.json"]})
    assert job["url"] is None
    ready = api.ok("object/get", json={"organizationId": org, "jobId": job["jobId"]})
    assert ready["url"].startswith(api.url.removesuffix("api/v2/"))
    archive = zipfile.ZipFile(io.BytesIO(requests.get(ready["url"], timeout=10).content))
    assert archive.read("qcloop/results/n1.json") == b'{"nonce": "n1"}'
    listing = api.ok("object/list", json={"organizationId": org, "path": "qcloop/results"})
    assert [(o["key"], o["mime"], o["size"]) for o in listing["objects"]] == [
        ("qcloop/results/n1.json", "application/json", 15)]


# -- faults over the wire ----------------------------------------------------------------------------


def test_injected_status_faults(faulty: tuple[Api, FaultPlan]) -> None:
    api, plan = faulty
    plan.on_calls("projects/read", Fault(FaultKind.STATUS, status=429, retry_after=2.5), 1)
    plan.on_calls("projects/read", Fault(FaultKind.STATUS, status=503), 2)
    plan.on_calls("projects/read", Fault(FaultKind.STATUS, status=500), 3)
    first = api.raw("POST", "projects/read")
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2.5")
    second = api.raw("POST", "projects/read")
    assert second.status_code == 503 and second.headers["Content-Type"].startswith("text/html")
    third = api.raw("POST", "projects/read")
    assert third.status_code == 500 and third.json()["success"] is False
    assert api.raw("POST", "projects/read").json()["success"] is True
    assert [entry[1] for entry in plan.log] == [1, 2, 3]


def test_a_dropped_connection_gets_no_response_and_changes_nothing(faulty: tuple[Api, FaultPlan],
                                                                   backend: EmulatorBackend) -> None:
    api, plan = faulty
    plan.on_calls("projects/create", Fault(FaultKind.DROP), 1)
    with pytest.raises(requests.ConnectionError):
        api.raw("POST", "projects/create", json={"name": "Dropped", "language": "Py"})
    assert backend.read_projects(backend.user(api.user_id)) == []


def test_drop_after_processes_the_request_then_loses_the_reply(faulty: tuple[Api, FaultPlan],
                                                               backend: EmulatorBackend) -> None:
    api, plan = faulty
    plan.on_calls("projects/create", Fault(FaultKind.DROP_AFTER), 1)
    with pytest.raises(requests.ConnectionError):
        api.raw("POST", "projects/create", json={"name": "Lost reply", "language": "Py"})
    assert [p.name for p in backend.read_projects(backend.user(api.user_id))] == ["Lost reply"]


def test_malformed_json_and_slow_responses(faulty: tuple[Api, FaultPlan]) -> None:
    api, plan = faulty
    plan.on_calls("authenticate", Fault(FaultKind.MALFORMED), 1)
    plan.on_calls("authenticate", Fault(FaultKind.SLOW, seconds=1.0), 2)
    broken = api.raw("GET", "authenticate")
    with pytest.raises(requests.JSONDecodeError):
        broken.json()
    stamp = str(int(time.time()))
    with pytest.raises(requests.ReadTimeout):
        requests.get(api.url + "authenticate", auth=api.auth(stamp), headers={"Timestamp": stamp}, timeout=0.3)


# -- concurrency -------------------------------------------------------------------------------------


def test_concurrent_creates_get_distinct_ids_and_all_land(api: Api, backend: EmulatorBackend) -> None:
    def create(index: int) -> int:
        return new_project(api, f"c{index}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, range(40)))
    assert len(set(ids)) == 40
    assert sorted(p.project_id for p in backend.read_projects(backend.user(api.user_id))) == sorted(ids)


def test_the_server_picks_a_free_port_and_stops_cleanly(backend: EmulatorBackend) -> None:
    server = EmulatorServer(backend)
    url = server.start()
    assert url == f"http://127.0.0.1:{server.port}/api/v2/"
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "authenticate", timeout=2)


def test_logs_name_method_path_and_status_but_no_secrets(api: Api, backend: EmulatorBackend,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    org = backend.user(api.user_id).organization_id
    with caplog.at_level("INFO", logger="orchestrator.emulator"):
        api.ok("object/set", data={"organizationId": org, "key": "k"}, files={"objectData": ("k", b"v")})
        job = api.ok("object/get", json={"organizationId": org, "keys": ["k"]})
        url = api.ok("object/get", json={"organizationId": org, "jobId": job["jobId"]})["url"]
        requests.get(url, timeout=10)
        api.raw("GET", "authenticate", timestamp=0)  # a failed signature: its hash is echoed to the client
    text = caplog.text
    assert "POST /api/v2/object/set -> 200" in text
    assert "GET /downloads/object-store/<secret> -> 200" in text
    secret = url.rsplit("/", 1)[-1].removesuffix(".zip")
    assert api.token not in text and secret not in text and "Hash doesn't match" not in text


def test_field_names_are_the_services_not_near_misses(api: Api) -> None:
    pid = new_project(api)
    compiled = api.ok("compile/create", json={"projectId": pid})
    misnamed = api.post("backtests/create", json={"projectId": pid, "compileId": compiled["compileId"], "name": "x"})
    assert misnamed == {"success": False, "errors": ["backtestName is required"]}
    org = api.get("projects/read", projectId=pid)["projects"][0]["organizationId"]
    not_a_file = api.post("object/set", data={"organizationId": org, "key": "k", "objectData": "inline"})
    assert not_a_file["success"] is False and "multipart/form-data file part" in not_a_file["errors"][0]
