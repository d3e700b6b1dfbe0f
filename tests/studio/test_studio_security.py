"""The studio's guard, from a client's side: the token, the cookie, the CSRF header, the Host
allowlist, the headers of every answer, and what a request may name."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from studio_site import BASE, HOST, PORT

from dramaturg.studio.app import Studio, build_app
from dramaturg.studio.security import COOKIE, CSRF_HEADER
from dramaturg.studio.workspace import Workspace


@pytest.fixture
def run(runs: Callable[[], Path]) -> Path:
    return runs()


@pytest.fixture
def studio(run: Path) -> Studio:
    workspace, _ = Workspace.at(run.parent)
    return Studio(workspace)


@pytest.fixture
def client(studio: Studio) -> Iterator[TestClient]:
    app = build_app(studio, host=HOST, port=PORT)
    with TestClient(app, base_url=BASE, follow_redirects=False) as c:
        yield c


def signed_in(client: TestClient, studio: Studio) -> TestClient:
    answer = client.get(f"/?token={studio.secrets.token}")
    assert answer.status_code == 303
    return client


def test_without_the_token_every_page_is_refused(client: TestClient, run: Path) -> None:
    for path in ["/", f"/runs/{run.name}", "/static/htmx.min.js", f"/runs/{run.name}/events"]:
        assert client.get(path).status_code == 403, path


def test_a_wrong_token_is_refused(client: TestClient) -> None:
    assert client.get("/?token=not-the-token").status_code == 403


def test_the_token_becomes_a_strict_httponly_cookie_and_leaves_the_url(
    client: TestClient, studio: Studio, run: Path
) -> None:
    answer = client.get(f"/runs/{run.name}?token={studio.secrets.token}&step=plot")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/runs/{run.name}?step=plot"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert studio.secrets.token not in cookie
    page = client.get(f"/runs/{run.name}")
    assert page.status_code == 200
    assert studio.secrets.token not in page.text


@pytest.mark.parametrize("path", ["//evil.example/x", "/\\evil.example/x", "evil"])
async def test_the_welcome_never_redirects_to_another_host(studio: Studio, path: str) -> None:
    """A raw request (a client library would normalise the path before sending it)."""
    app = build_app(studio, host=HOST, port=PORT)
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": f"token={studio.secrets.token}".encode(),
        "headers": [(b"host", f"{HOST}:{PORT}".encode())],
    }
    await app(scope, receive, send)
    start = sent[0]
    assert start["status"] == 303
    headers = dict(start["headers"])  # type: ignore[call-overload]
    assert headers[b"location"] == b"/"


def test_a_change_needs_the_csrf_header_besides_the_cookie(
    client: TestClient, studio: Studio, run: Path
) -> None:
    signed_in(client, studio)
    url = f"/runs/{run.name}/step/title/edit"
    body = json.dumps({"text": "A new title"})
    assert client.post(url, content=body).status_code == 403
    assert client.post(url, content=body, headers={CSRF_HEADER: "wrong"}).status_code == 403
    assert json.loads((run / "steps" / "title.json").read_text())["output"] != "A new title"
    ok = client.post(url, content=body, headers={CSRF_HEADER: studio.secrets.csrf})
    assert ok.status_code == 200
    assert json.loads((run / "steps" / "title.json").read_text())["output"] == "A new title"


def test_a_foreign_host_is_refused_even_with_the_cookie(client: TestClient, studio: Studio) -> None:
    signed_in(client, studio)
    assert client.get("/", headers={"host": f"attacker.example:{PORT}"}).status_code == 400
    assert client.get("/", headers={"host": f"127.0.0.1:{PORT + 1}"}).status_code == 400
    assert client.get("/", headers={"host": f"localhost:{PORT}"}).status_code == 200


def test_every_answer_carries_the_strict_policy(client: TestClient, studio: Studio) -> None:
    signed_in(client, studio)
    for answer in [client.get("/"), client.get("/nowhere"), client.get("/?token=bad")]:
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp and "unsafe" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    "path",
    [
        "/runs/..%2f..%2fetc/files/passwd",
        "/runs/RUN/files/..%2fmanifest.json",
        "/runs/RUN/files/../../outside.txt",
        "/runs/RUN/files/manifest.json",
        "/runs/RUN/files/steps/title.json",
        "/runs/RUN/files/%2fetc%2fpasswd",
        "/runs/RUN/step/..%2f..%2fx",
        "/runs/nope/files/screenplay.fountain",
    ],
)
def test_a_path_outside_what_the_manifest_lists_is_not_found(
    client: TestClient, studio: Studio, run: Path, path: str
) -> None:
    (run.parent / "outside.txt").write_text("secret")
    signed_in(client, studio)
    answer = client.get(path.replace("RUN", run.name))
    assert answer.status_code == 404
    assert "secret" not in answer.text


def test_the_files_the_manifest_lists_are_sent(
    client: TestClient, studio: Studio, run: Path
) -> None:
    signed_in(client, studio)
    fountain = client.get(f"/runs/{run.name}/files/screenplay.fountain")
    assert fountain.status_code == 200
    assert fountain.content == (run / "screenplay.fountain").read_bytes()
    assert "attachment" in fountain.headers["content-disposition"]
    portrait = client.get(f"/runs/{run.name}/files/steps/portraits/0.png")
    assert portrait.status_code == 200 and portrait.content.startswith(b"\x89PNG")
    preview = client.get(f"/runs/{run.name}/files/screenplay.html")
    assert preview.status_code == 200
    assert "sandbox" in preview.headers["content-security-policy"]
    assert "script" not in preview.headers["content-security-policy"]


def test_hostile_model_text_is_text_on_the_page(
    client: TestClient, studio: Studio, run: Path
) -> None:
    signed_in(client, studio)
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    edit = client.post(
        f"/runs/{run.name}/step/title/edit",
        content=json.dumps({"text": hostile}),
        headers={CSRF_HEADER: studio.secrets.csrf},
    )
    assert edit.status_code == 200
    for page in [edit.text, client.get(f"/runs/{run.name}?step=title").text]:
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_edit_from_a_stale_tab_is_refused_with_the_newer_version(
    client: TestClient, studio: Studio, run: Path
) -> None:
    signed_in(client, studio)
    url = f"/runs/{run.name}/step/title/edit"
    headers = {CSRF_HEADER: studio.secrets.csrf}
    first = client.post(url, content=json.dumps({"text": "Tab one", "base": "1"}), headers=headers)
    assert first.status_code == 200
    late = client.post(url, content=json.dumps({"text": "Tab two", "base": "1"}), headers=headers)
    assert late.status_code == 409
    assert "version 2" in late.text and "Tab one" in late.text
    assert json.loads((run / "steps" / "title.json").read_text())["output"] == "Tab one"
