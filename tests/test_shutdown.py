"""``scimgate serve`` stopped with SIGTERM finishes the requests in flight, then exits 0."""

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import user_body
from tests.serve import ServerProcess, environment, scim_client, set_up_organization

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
OPERATIONS = 300


def _users_stored(path: Path) -> int:
    with closing(sqlite3.connect(path)) as connection:
        count: int = connection.execute("SELECT count(*) FROM users").fetchone()[0]
    return count


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_lets_the_request_in_flight_finish(tmp_path: Path, workers: int) -> None:
    """A Bulk request under way when SIGTERM arrives is completed and answered in full.

    SIGTERM is sent once the first of its operations is stored and before the last
    one is, so the request is certainly in flight; every operation must then succeed
    and the server exit with status 0.
    """
    path = tmp_path / "scimgate.db"
    # The Bulk request is slow on purpose: no request timeout may cut it short.
    env = {**environment(f"sqlite:///{path}"), "SCIMGATE_REQUEST_TIMEOUT_SECONDS": "600"}
    org = set_up_organization(env, "shutdown")
    server = ServerProcess(env, workers=workers)
    server.start()
    assert server.process is not None
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": f"u{n}", "data": user_body(f"b{n}@x.org")}
        for n in range(OPERATIONS)
    ]
    try:
        with scim_client(server.url, org.token, timeout=300) as http, ThreadPoolExecutor(1) as pool:
            bulk = {"schemas": [BULK_REQUEST], "Operations": operations}
            answer = pool.submit(http.post, "/Bulk", json=bulk)
            while (stored := _users_stored(path)) == 0:
                assert not answer.done(), answer.result().text
            assert stored < OPERATIONS, "the request finished before SIGTERM could be sent"
            server.process.terminate()
            response = answer.result(timeout=300)
        assert response.status_code == 200, response.text
        statuses = [result["status"] for result in response.json()["Operations"]]
        assert statuses == ["201"] * OPERATIONS
        assert server.process.wait(timeout=60) == 0, server.error_output()
        assert _users_stored(path) == OPERATIONS
    finally:
        server.close()
