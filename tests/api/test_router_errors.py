"""What the router answers itself is a problem document too, like every other error."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import problem


def test_unknown_path_is_a_404_problem(client: TestClient, read_headers: dict[str, str]) -> None:
    body = problem(client.get("/v1/no-such-thing", headers=read_headers), 404, None)
    assert body["type"] == "https://patron.dev/problems/not-found"
    assert body["title"] == "Not Found"


def test_wrong_method_is_a_405_problem_with_allow(
    client: TestClient, read_headers: dict[str, str]
) -> None:
    response = client.delete("/health", headers=read_headers)
    body = problem(response, 405, None)
    assert body["type"] == "https://patron.dev/problems/method-not-allowed"
    assert response.headers["allow"] == "GET"
