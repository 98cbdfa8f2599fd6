"""The JSON gateway against a live in-process server: every unary RPC is transcoded (and no
streaming one), tracking, registry and artifact calls through JSON read back the same over
gRPC, and the error model (status, reason, message) with nothing written on refusals."""

from __future__ import annotations

import math
import re
import uuid
from typing import Any

import pytest

import modelyard
from modelyard.registry.tracking.store import SqlTrackingStore
from modelyard.v1 import artifacts_pb2, registry_pb2, tracking_pb2
from tests.integration.http.conftest import (
    ARTIFACTS,
    MODEL_FILES,
    REGISTRY,
    TRACKING,
    HttpServer,
    HttpServers,
    artifact_root,
)

pytestmark = pytest.mark.integration

SERVICES = {
    TRACKING: tracking_pb2.DESCRIPTOR.services_by_name["TrackingService"],
    REGISTRY: registry_pb2.DESCRIPTOR.services_by_name["ModelRegistryService"],
    ARTIFACTS: artifacts_pb2.DESCRIPTOR.services_by_name["ArtifactService"],
}


def is_gateway_not_found(reply: Any) -> bool:
    """True for the gateway's own "no JSON method" answer (not a servicer's NOT_FOUND)."""
    if reply.status != 404:
        return False
    return "method" in reply.error["details"][0]["metadata"]


# -- the method table --------------------------------------------------------------------------


def test_every_unary_method_is_served_and_no_streaming_one(http_servers: HttpServers) -> None:
    server = http_servers()
    unary = streaming = 0
    for service_name, service in SERVICES.items():
        for method in service.methods:
            reply = server.api(service_name, method.name, {})
            if method.client_streaming or method.server_streaming:
                streaming += 1
                assert is_gateway_not_found(reply), (method.full_name, reply.body)
                assert reply.error["details"][0]["metadata"]["method"] == (
                    f"{service_name}/{method.name}"
                )
            else:
                unary += 1
                assert not is_gateway_not_found(reply), method.full_name
                # An empty request is refused or served, never an internal error.
                assert reply.status < 500, (method.full_name, reply.status, reply.body)
                assert reply.header("Content-Type") == "application/json"
    assert unary > 40
    assert streaming == 4  # UploadArtifact, DownloadArtifact, StreamLogBatches, Watch


# -- tracking: JSON in, the same over gRPC ---------------------------------------------------


def test_tracking_flow_through_json_reads_back_over_grpc(server: HttpServer) -> None:
    experiment = server.tracking(
        "CreateExperiment", {"name": f"flow-{uuid.uuid4().hex[:8]}", "tags": {"team": "vision"}}
    )["experiment"]
    experiment_id = experiment["experimentId"]
    assert experiment["lifecycleStage"] == "LIFECYCLE_STAGE_ACTIVE"
    assert experiment["tags"] == {"team": "vision"}

    run_ids: list[str] = []
    for index, loss in enumerate([0.9, 0.25, 0.5, 0.1, 0.7]):
        run = server.tracking(
            "CreateRun",
            {
                "experimentId": experiment_id,
                "runName": f"run-{index}",
                "startTime": str(1_700_000_000_000 + index),
                "userId": "alice",
                "tags": {"kind": "sweep"},
            },
        )["run"]
        run_id = run["info"]["runId"]
        # int64 as a string, enums by name.
        assert run["info"]["startTime"] == str(1_700_000_000_000 + index)
        assert run["info"]["status"] == "RUN_STATUS_RUNNING"
        server.tracking(
            "LogMetric",
            {
                "runId": run_id,
                "metric": {"key": "loss", "value": loss + 1, "timestamp": "10", "step": "0"},
            },
        )
        server.tracking(
            "LogBatch",
            {
                "runId": run_id,
                "metrics": [
                    {"key": "loss", "value": loss, "timestamp": "20", "step": "1"},
                    {"key": "big", "value": 2.0**60, "timestamp": "20", "step": "9007199254740993"},
                    {"key": "odd", "value": "NaN", "timestamp": "20", "step": "0"},
                    {"key": "top", "value": "-Infinity", "timestamp": "20", "step": "0"},
                ],
                "params": [{"key": "lr", "value": f"0.0{index}"}],
                "tags": [{"key": "note", "value": f'ünïcode {index} "quoted"'}],
            },
        )
        run_ids.append(run_id)
    server.tracking(
        "UpdateRun",
        {"runId": run_ids[0], "status": "RUN_STATUS_FINISHED", "endTime": "1700000000999"},
    )

    client = modelyard.Client(server.grpc_uri)
    over_json = server.tracking("GetRun", {"runId": run_ids[0]})["run"]
    over_grpc = client.get_run(run_ids[0])
    assert over_json["info"]["runName"] == over_grpc.info.run_name == "run-0"
    assert over_json["info"]["status"] == "RUN_STATUS_FINISHED"
    assert str(over_grpc.info.status) == "FINISHED"
    assert over_json["info"]["endTime"] == str(over_grpc.info.end_time) == "1700000000999"
    assert over_json["info"]["startTime"] == str(over_grpc.info.start_time)
    assert over_json["info"]["userId"] == over_grpc.info.user_id == "alice"
    assert over_json["info"]["artifactUri"] == over_grpc.info.artifact_uri
    assert over_json["data"]["params"] == over_grpc.data.params == {"lr": "0.00"}
    assert over_json["data"]["tags"] == over_grpc.data.tags
    assert over_grpc.data.tags["note"] == 'ünïcode 0 "quoted"'
    json_metrics = {m["key"]: m for m in over_json["data"]["metrics"]}
    grpc_metrics = {m.key: m for m in over_grpc.data.metric_list}
    assert set(json_metrics) == set(grpc_metrics) == {"loss", "big", "odd", "top"}
    assert json_metrics["loss"]["value"] == grpc_metrics["loss"].value == 0.9
    assert json_metrics["big"]["step"] == str(grpc_metrics["big"].step) == "9007199254740993"
    assert json_metrics["big"]["value"] == grpc_metrics["big"].value == 2.0**60
    assert json_metrics["odd"]["value"] == "NaN" and math.isnan(grpc_metrics["odd"].value)
    assert json_metrics["top"]["value"] == "-Infinity" and grpc_metrics["top"].value == -math.inf

    # Metric history through JSON equals the gRPC client's.
    bulk = server.tracking(
        "GetMetricHistoryBulk", {"runIds": run_ids[:2], "metricKey": "loss", "maxPoints": 1000}
    )["histories"]
    assert [h["runId"] for h in bulk] == run_ids[:2]
    for history, run_id in zip(bulk, run_ids[:2], strict=True):
        points = client.get_metric_history(run_id, "loss")
        assert history["key"] == "loss"
        assert history["steps"] == [str(p.step) for p in points] == ["0", "1"]
        assert history["timestamps"] == [str(p.timestamp) for p in points]
        assert history["values"] == [p.value for p in points]

    # Search: filter, orderBy, pageSize and pageToken through JSON; same runs over gRPC.
    query = {
        "experimentIds": [experiment_id],
        "filter": "metrics.loss < 0.8 and tags.kind = 'sweep'",
        "orderBy": ["metrics.loss ASC"],
        "pageSize": 2,
    }
    first = server.tracking("SearchRuns", query)
    assert len(first["runs"]) == 2 and first["nextPageToken"]
    second = server.tracking("SearchRuns", {**query, "pageToken": first["nextPageToken"]})
    assert len(second["runs"]) == 2
    assert "nextPageToken" not in second  # empty strings are left out, as MessageToDict does
    json_ids = [r["info"]["runId"] for r in first["runs"] + second["runs"]]
    assert json_ids == [run_ids[i] for i in (3, 1, 2, 4)]  # losses 0.1, 0.25, 0.5, 0.7
    grpc_ids = [
        r.info.run_id
        for r in client.search_runs(
            experiment_id, query["filter"], order_by=query["orderBy"], max_results=10
        )
    ]
    assert grpc_ids == json_ids
    by_name = server.tracking(
        "SearchRuns",
        {"experimentIds": [experiment_id], "orderBy": ["attributes.run_name DESC"]},
    )
    assert [r["info"]["runName"] for r in by_name["runs"]] == [f"run-{i}" for i in range(4, -1, -1)]

    # Writes through gRPC show through JSON too.
    client.log_param(run_ids[1], "from", "grpc")
    assert server.tracking("GetRun", {"runId": run_ids[1]})["run"]["data"]["params"]["from"] == (
        "grpc"
    )
    found = server.tracking(
        "SearchExperiments", {"filter": f"name = '{experiment['name']}'", "viewType": 3}
    )["experiments"]
    assert [e["experimentId"] for e in found] == [experiment_id]


# -- registry through JSON -----------------------------------------------------------------------


def test_registry_flow_through_json(server: HttpServer) -> None:
    run = server.new_run()
    run_id = run["info"]["runId"]
    root = artifact_root(run)
    for rel, data in MODEL_FILES.items():
        assert server.put_file(f"{root}/model/{rel}", data).status == 201

    name = f"model-{uuid.uuid4().hex[:8]}"
    created = server.registry(
        "CreateRegisteredModel", {"name": name, "description": "first", "tags": {"team": "a"}}
    )["registeredModel"]
    assert created["name"] == name and created["tags"] == {"team": "a"}

    version = server.registry(
        "CreateModelVersion", {"name": name, "source": f"runs:/{run_id}/model", "runId": run_id}
    )["modelVersion"]
    assert version["version"] == "1"
    assert version["status"] == "MODEL_VERSION_STATUS_READY"
    assert version["currentStage"] == "MODEL_STAGE_NONE"
    assert version["runId"] == run_id
    assert version["fileCount"] == str(len(MODEL_FILES))
    assert version["signature"]["inputs"] == '[{"type": "double", "name": "x"}]'

    moved = server.registry(
        "TransitionModelVersionStage",
        {
            "name": name,
            "version": "1",
            "stage": "MODEL_STAGE_STAGING",
            "archiveExistingVersions": True,
        },
    )["modelVersion"]
    assert moved["currentStage"] == "MODEL_STAGE_STAGING"
    assert (
        server.registry(
            "SetRegisteredModelAlias", {"name": name, "alias": "champion", "version": 1}
        )
        == {}
    )
    by_alias = server.registry("GetModelVersionByAlias", {"name": name, "alias": "champion"})
    assert by_alias["modelVersion"]["version"] == "1"
    assert by_alias["modelVersion"]["aliases"] == ["champion"]

    models = server.registry("SearchRegisteredModels", {"filter": f"name LIKE '{name[:10]}%'"})
    [model] = models["registeredModels"]
    assert model["aliases"] == {"champion": "1"}
    assert [v["currentStage"] for v in model["latestVersions"]] == ["MODEL_STAGE_STAGING"]
    versions = server.registry("SearchModelVersions", {"filter": f"name = '{name}'"})
    assert [v["version"] for v in versions["modelVersions"]] == ["1"]
    history = server.registry("ListRegistryHistory", {"name": name})["events"]
    kinds = [e["kind"] for e in history]
    assert kinds == ["REGISTRY_EVENT_KIND_STAGE_TRANSITIONED", "REGISTRY_EVENT_KIND_ALIAS_SET"]
    assert history[0]["fromStage"] == "MODEL_STAGE_NONE"
    assert history[0]["toStage"] == "MODEL_STAGE_STAGING"
    lineage = server.registry("GetModelVersionLineage", {"name": name, "version": "1"})
    assert lineage["run"]["info"]["runId"] == run_id

    # The same over gRPC.
    client = modelyard.Client(server.grpc_uri)
    over_grpc = client.get_model_version(name, 1)
    assert over_grpc.current_stage == "Staging"
    assert list(over_grpc.aliases) == ["champion"]
    assert client.get_registered_model(name).description == "first"

    # Reserved aliases are refused with the servicer's message.
    reply = server.api(
        REGISTRY, "SetRegisteredModelAlias", {"name": name, "alias": "latest", "version": "1"}
    )
    assert reply.status == 400 and "reserved" in reply.error["message"]


# -- ArtifactService through JSON ------------------------------------------------------------------


def test_artifact_service_json_methods(server: HttpServer) -> None:
    run = server.new_run()
    root = artifact_root(run)
    files = {"a.txt": b"alpha", "dir/b.bin": bytes(range(256)), "dir/sub/c.json": b"{}"}
    for rel, data in files.items():
        assert server.put_file(f"{root}/{rel}", data).status == 201

    listing = server.artifacts("ListArtifacts", {"path": root, "recursive": True})["files"]
    assert [f["path"] for f in listing] == [f"{root}/{rel}" for rel in sorted(files)]
    assert [f["size"] for f in listing] == [str(len(files[rel])) for rel in sorted(files)]
    assert all("isDir" not in f for f in listing)
    top = server.artifacts("ListArtifacts", {"path": root})["files"]
    assert [(f["path"], f.get("isDir", False)) for f in top] == [
        (f"{root}/a.txt", False),
        (f"{root}/dir", True),
    ]
    stat = server.artifacts("StatArtifact", {"path": f"{root}/dir/b.bin"})["info"]
    assert stat["size"] == "256" and int(stat["modifiedTime"]) > 0

    assert server.artifacts("DeleteArtifacts", {"path": f"{root}/dir"}) == {}
    gone = server.api(ARTIFACTS, "StatArtifact", {"path": f"{root}/dir/b.bin"})
    assert gone.status == 404 and gone.reason == "NOT_FOUND"
    assert server.get(f"/files/{root}/dir/b.bin").status == 404
    assert not (server.destination / root / "dir").exists()
    assert (server.destination / root / "a.txt").read_bytes() == b"alpha"
    # Deleting a missing path succeeds (a retry is safe); the root cannot be deleted.
    assert server.artifacts("DeleteArtifacts", {"path": f"{root}/dir"}) == {}
    refused = server.api(ARTIFACTS, "DeleteArtifacts", {"path": ""})
    assert refused.status == 400
    bad = server.api(ARTIFACTS, "ListArtifacts", {"path": "../outside"})
    assert bad.status == 400 and "'..'" in bad.error["message"]


def test_deleting_files_backing_a_model_version_is_refused(server: HttpServer) -> None:
    run = server.new_run()
    root = artifact_root(run)
    for rel, data in MODEL_FILES.items():
        assert server.put_file(f"{root}/model/{rel}", data).status == 201
    name = f"protected-{uuid.uuid4().hex[:8]}"
    server.registry("CreateRegisteredModel", {"name": name})
    server.registry(
        "CreateModelVersion",
        {
            "name": name,
            "source": f"runs:/{run['info']['runId']}/model",
            "runId": run["info"]["runId"],
        },
    )
    reply = server.api(ARTIFACTS, "DeleteArtifacts", {"path": f"{root}/model"})
    assert reply.status == 400
    assert reply.error["status"] == "FAILED_PRECONDITION"
    assert reply.reason == "ARTIFACT_PROTECTED"
    assert reply.error["details"][0]["metadata"]["model"] == name
    assert (server.destination / root / "model" / "MLmodel").read_bytes() == MODEL_FILES["MLmodel"]


# -- the error model -------------------------------------------------------------------------


def assert_error(reply: Any, http_status: int, status: str, reason: str | None = None) -> dict:
    """The answer is Google's JSON error form with this status (and reason)."""
    assert reply.status == http_status, (reply.status, reply.body)
    assert reply.header("Content-Type") == "application/json"
    error = reply.error
    assert error["code"] == http_status
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    if reason is not None:
        assert reply.reason == reason
    return error  # type: ignore[no-any-return]


def test_not_found_is_404_with_its_reason(server: HttpServer) -> None:
    missing_run = uuid.uuid4().hex
    error = assert_error(
        server.api(TRACKING, "GetRun", {"runId": missing_run}), 404, "NOT_FOUND", "RUN_NOT_FOUND"
    )
    assert missing_run in error["message"]
    assert_error(
        server.api(TRACKING, "GetExperiment", {"experimentId": "987654"}),
        404,
        "NOT_FOUND",
        "EXPERIMENT_NOT_FOUND",
    )
    assert_error(
        server.api(REGISTRY, "GetRegisteredModel", {"name": "no-such-model"}),
        404,
        "NOT_FOUND",
        "REGISTERED_MODEL_NOT_FOUND",
    )


def test_bad_filter_is_400_invalid_filter_naming_the_text(server: HttpServer) -> None:
    experiment_id = server.new_experiment()
    bad = "metrics.loss >>> 0.5"
    error = assert_error(
        server.api(TRACKING, "SearchRuns", {"experimentIds": [experiment_id], "filter": bad}),
        400,
        "INVALID_ARGUMENT",
        "INVALID_FILTER",
    )
    assert bad in error["message"]
    assert error["details"][0]["metadata"]["filter"] == bad
    order = assert_error(
        server.api(
            TRACKING, "SearchRuns", {"experimentIds": [experiment_id], "orderBy": ["nonsense ASC"]}
        ),
        400,
        "INVALID_ARGUMENT",
        "INVALID_FILTER",
    )
    assert "nonsense" in order["message"]


def test_refused_requests_write_nothing(server: HttpServer) -> None:
    experiment_id = server.new_experiment()
    run_id = server.new_run(experiment_id)["info"]["runId"]
    before = server.db_counts()
    name = f"never-{uuid.uuid4().hex[:8]}"
    create = f"/api/{TRACKING}/CreateExperiment"

    # Unknown JSON field: 400 naming it.
    error = assert_error(
        server.api(TRACKING, "CreateExperiment", {"name": name, "bogusField": 1}),
        400,
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
    )
    assert "bogusField" in error["message"]
    assert error["details"][0]["metadata"]["message_type"] == "modelyard.v1.CreateExperimentRequest"
    nested = server.api(
        TRACKING, "LogBatch", {"runId": run_id, "metrics": [{"key": "m", "valu": 1.0}]}
    )
    assert "valu" in assert_error(nested, 400, "INVALID_ARGUMENT")["message"]
    # Wrong types.
    wrong = server.api(
        TRACKING, "LogMetric", {"runId": run_id, "metric": {"key": "m", "value": "x"}}
    )
    assert_error(wrong, 400, "INVALID_ARGUMENT")
    # Not JSON, not an object.
    for body in (b"{", b"name=x", b"\xff\xfe\x00", b"[1, 2]", b'"text"', b"null", b"[" * 50_000):
        assert_error(server.api_raw(TRACKING, "CreateExperiment", body), 400, "INVALID_ARGUMENT")
    # Not application/json: 415 (a cross-site form can only send the simple types).
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        reply = server.request(
            "POST", create, f'{{"name": "{name}"}}'.encode(), {"Content-Type": content_type}
        )
        assert_error(reply, 415, "INVALID_ARGUMENT")
        assert content_type in reply.error["message"]
    reply = server.request("POST", create, f'{{"name": "{name}"}}'.encode())
    assert_error(reply, 415, "INVALID_ARGUMENT")
    # Another verb.
    for verb in ("GET", "PUT", "DELETE"):
        reply = server.request(verb, create, b"{}" if verb != "GET" else None)
        assert_error(reply, 405, "UNIMPLEMENTED")
        assert reply.header("Allow") == "POST"
    # Unknown service, method, a streaming method, a malformed API path.
    for path in (
        "/api/modelyard.v1.NoService/GetRun",
        f"/api/{TRACKING}/NoSuchMethod",
        f"/api/{TRACKING}/StreamLogBatches",
        f"/api/{ARTIFACTS}/UploadArtifact",
    ):
        reply = server.request("POST", path, b"{}", {"Content-Type": "application/json"})
        assert_error(reply, 404, "NOT_FOUND", "NOT_FOUND")
    for path in ("/api/", "/api/x", f"/api/{TRACKING}/GetRun/extra"):
        reply = server.request("POST", path, b"{}", {"Content-Type": "application/json"})
        assert_error(reply, 404, "NOT_FOUND")

    assert server.db_counts() == before
    listed = server.tracking("SearchExperiments", {"filter": f"name = '{name}'", "viewType": 3})
    assert listed == {}


def test_internal_error_is_500_with_an_incident_id_and_no_traceback(
    server: HttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment_id = server.new_experiment()

    def boom(self: object, experiment_id: str) -> None:
        raise RuntimeError("secret detail /etc/shadow")

    monkeypatch.setattr(SqlTrackingStore, "get_experiment", boom)
    reply = server.api(TRACKING, "GetExperiment", {"experimentId": experiment_id})
    error = assert_error(reply, 500, "INTERNAL", "INTERNAL")
    incident = error["details"][0]["metadata"]["incident_id"]
    assert re.fullmatch(r"[0-9a-f]{8,}", incident)
    assert incident in error["message"]
    for leak in (b"Traceback", b"secret detail", b"RuntimeError", b".py", b"/etc/shadow"):
        assert leak not in reply.body
    monkeypatch.undo()
    assert server.tracking("GetExperiment", {"experimentId": experiment_id})["experiment"]


def test_int64_and_enum_inputs_in_both_json_forms(server: HttpServer) -> None:
    run_id = server.new_run()["info"]["runId"]
    # int64 as a number or a string; enums by name or number.
    server.tracking(
        "LogMetric",
        {"runId": run_id, "metric": {"key": "k", "value": 1, "timestamp": 5, "step": "7"}},
    )
    server.tracking("UpdateRun", {"runId": run_id, "status": 3})
    run = server.tracking("GetRun", {"runId": run_id})["run"]
    assert run["info"]["status"] == "RUN_STATUS_FINISHED"
    assert run["data"]["metrics"] == [{"key": "k", "value": 1.0, "timestamp": "5", "step": "7"}]
    # The snake_case names protobuf's JSON parser also accepts.
    again = server.tracking("GetRun", {"run_id": run_id})["run"]
    assert again["info"]["runId"] == run_id


def test_search_runs_fast_path_equals_the_generic_encoding(server: HttpServer) -> None:
    """SearchRuns over JSON is built from the runs directly (no messages); it must be byte for
    byte the JSON mapping of what the same call answers over gRPC, pages and odd values too."""
    import grpc

    from modelyard.gateway.codec import message_to_dict
    from modelyard.v1 import tracking_pb2_grpc

    experiment_id = server.new_experiment()
    for i, value in enumerate([0.5, -0.0, math.nan, math.inf, 0.0]):
        run_id = server.new_run(experiment_id, runName=f"r{i}")["info"]["runId"]
        server.tracking(
            "LogBatch",
            {
                "runId": run_id,
                "metrics": [
                    {"key": "m", "value": _json_float(value), "timestamp": "7", "step": "0"}
                ],
                "params": [{"key": "p", "value": str(i)}],
                "tags": [{"key": "t", "value": "é"}],
            },
        )
        if i % 2:
            server.tracking("UpdateRun", {"runId": run_id, "status": "RUN_STATUS_FINISHED"})
    query = {"experimentIds": [experiment_id], "pageSize": 3, "orderBy": ["attributes.run_name"]}
    with grpc.insecure_channel(server.grpc_uri.removeprefix("grpc://")) as channel:
        stub = tracking_pb2_grpc.TrackingServiceStub(channel)
        token = ""
        for _ in range(2):
            request = tracking_pb2.SearchRunsRequest(
                experiment_ids=[experiment_id],
                page_size=3,
                order_by=["attributes.run_name"],
                page_token=token,
            )
            expected = message_to_dict(stub.SearchRuns(request))
            got = server.tracking(
                "SearchRuns", {**query, **({"pageToken": token} if token else {})}
            )
            assert _same(got, expected), (got, expected)
            token = got.get("nextPageToken", "")
        assert not token


def _json_float(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal, with floats compared by their bits (-0.0 is not 0.0)."""
    if isinstance(a, float) and isinstance(b, float):
        return a.hex() == b.hex()
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b
