"""The portal refuses what it must, and then stores nothing: tokens, CSRF, sizes, file types."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from coop_tender.portal.app import READ_ONLY_GRACE, create_app
from coop_tender.portal.security import UPLOAD_LIMIT, csrf_token, csrf_valid, xlsx_problem
from coop_tender.store import Store, hash_token
from coop_tender.workspace import Workspace
from tests.portal.conftest import DEADLINE, Clock, snapshot

NOT_FOUND_TITLE = "Lien inconnu ou expiré"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def good_form(csrf: str, **extra: str) -> dict[str, str]:
    data = {
        "csrf": csrf,
        "name": "Peinture Nord",
        "siret": "73282932000074",
        "kind": "EI",
        "hours:P1": "900",
        "hours:P2": "400",
        "territories": "T1",
        "workers": "12",
        "insertion_rate": "60",
        "annual_turnover": "310 000",
    }
    data.update(extra)
    return data


def test_member_sees_only_its_own_declaration(client: TestClient, links: dict[str, str]) -> None:
    page = client.get(links["ei-nord"])
    assert page.status_code == 200
    assert "Peinture Nord" in page.text
    for other in ("Chantier Est", "Relais Emploi", "aci-est", "ai-relais"):
        assert other not in page.text


@pytest.mark.parametrize(
    "path",
    ["/m/", "/m", "/m/ei-nord", "/m/aci-est", "/c/", "/c/ei-nord", "/m/" + "A" * 43, "/nope"],
)
def test_missing_forged_or_unknown_token_is_a_generic_404(
    client: TestClient, links: dict[str, str], path: str
) -> None:
    generic = client.get("/m/" + "x" * 43)
    response = client.get(path)
    assert response.status_code == 404
    assert NOT_FOUND_TITLE in response.text
    assert response.text == generic.text  # nothing tells which members exist


def test_member_token_does_not_open_the_coordinator_page(
    client: TestClient, links: dict[str, str]
) -> None:
    token = links["ei-nord"].removeprefix("/m/")
    assert client.get(f"/c/{token}").status_code == 404
    coordinator = links["coordinateur"].removeprefix("/c/")
    assert client.get(f"/m/{coordinator}").status_code == 404


def test_security_headers(client: TestClient, links: dict[str, str]) -> None:
    for response in (client.get(links["ei-nord"]), client.get("/m/unknown")):
        headers = response.headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        assert headers["x-content-type-options"] == "nosniff"


def test_a_bug_gives_a_french_page_with_the_same_headers_and_no_traceback(
    workspace: Workspace, clock: Clock
) -> None:
    app = create_app(workspace, now=clock)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/boom")
    assert response.status_code == 500
    assert "secret internal detail" not in response.text and "Traceback" not in response.text
    assert '<html lang="fr"' in response.text
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_valid_submission_is_stored_with_history(
    client: TestClient, links: dict[str, str], workspace: Workspace
) -> None:
    link = links["ei-nord"]
    response = client.post(
        f"{link}/declaration",
        data=good_form(csrf_of(client.get(link).text)),
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "enregistrée (version 1)" in page.text
    with Store(workspace.store_url) as store:
        (decl,) = store.declaration_history("ei-nord")
    assert decl.source == "portal" and decl.author == "ei-nord"
    assert decl.member.capacity_hours == {"P1": 900, "P2": 400}
    assert decl.member.insertion_rate == pytest.approx(0.6)
    assert str(decl.member.annual_turnover) == "310000.00"
    assert decl.member.lat == 48.9  # fields a member does not type are kept
    # the Workspace now sees the stored declaration
    assert {m.id: m for m in workspace.members()}["ei-nord"].capacity_hours["P1"] == 900


def test_invalid_value_shows_french_error_keeps_input_and_stores_nothing(
    client: TestClient, links: dict[str, str], workspace: Workspace
) -> None:
    link = links["ei-nord"]
    before = snapshot(workspace)
    form = good_form(csrf_of(client.get(link).text), **{"hours:P1": "mille", "name": "Ma SIAE"})
    response = client.post(f"{link}/declaration", data=form)
    assert response.status_code == 422
    assert "« mille » n&#39;est pas un nombre d&#39;heures" in response.text
    assert 'value="mille"' in response.text and 'value="Ma SIAE"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert snapshot(workspace) == before


def test_other_members_token_cannot_submit_with_my_csrf(
    client: TestClient, links: dict[str, str], workspace: Workspace
) -> None:
    mine = csrf_of(client.get(links["ei-nord"]).text)
    before = snapshot(workspace)
    response = client.post(f"{links['aci-est']}/declaration", data=good_form(mine))
    assert response.status_code == 403
    assert snapshot(workspace) == before


@pytest.mark.parametrize("csrf", [None, "", "123.abc", "9999999999.00", "garbage"])
def test_missing_or_wrong_csrf_refused(
    client: TestClient, links: dict[str, str], workspace: Workspace, csrf: str | None
) -> None:
    before = snapshot(workspace)
    form = good_form("")
    if csrf is None:
        del form["csrf"]
    else:
        form["csrf"] = csrf
    response = client.post(f"{links['ei-nord']}/declaration", data=form)
    assert response.status_code == 403
    assert "Formulaire expiré" in response.text
    assert snapshot(workspace) == before


def test_csrf_token_expires_and_is_bound() -> None:
    secret = b"s" * 32
    token = csrf_token(secret, "hash-a", now=1_000_000)
    assert csrf_valid(secret, "hash-a", token, now=1_000_100)
    assert not csrf_valid(secret, "hash-b", token, now=1_000_100)
    assert not csrf_valid(b"t" * 32, "hash-a", token, now=1_000_100)
    assert not csrf_valid(secret, "hash-a", token, now=1_000_000 + 13 * 3600)


def test_revoked_and_replaced_links_are_dead(
    client: TestClient, links: dict[str, str], workspace: Workspace, clock: Clock
) -> None:
    with Store(workspace.store_url) as store:
        store.revoke("ei-nord")
        fresh = store.create_invitation("aci-est", DEADLINE)
    assert client.get(links["ei-nord"]).status_code == 404
    assert client.get(links["aci-est"]).status_code == 404  # replaced by a new link
    assert client.get(f"/m/{fresh}").status_code == 200


def test_after_deadline_read_only_then_gone(
    client: TestClient, links: dict[str, str], workspace: Workspace, clock: Clock
) -> None:
    link = links["ei-nord"]
    csrf = csrf_of(client.get(link).text)
    before = snapshot(workspace)
    clock.value = DEADLINE + timedelta(minutes=1)
    page = client.get(link)
    assert page.status_code == 200
    assert "La date limite" in page.text and "Peinture Nord" in page.text
    assert "Enregistrer ma déclaration" not in page.text
    refused = client.post(f"{link}/declaration", data=good_form(csrf))
    assert refused.status_code == 409
    assert "Date limite dépassée" in refused.text
    assert snapshot(workspace) == before
    clock.value = DEADLINE + READ_ONLY_GRACE + timedelta(days=1)
    assert client.get(link).status_code == 404


def test_expired_token_in_store_semantics(workspace: Workspace, links: dict[str, str]) -> None:
    token = links["ei-nord"].removeprefix("/m/")
    with Store(workspace.store_url) as store:
        assert store.member_for_token(token, DEADLINE - timedelta(seconds=1)) == "ei-nord"
        assert store.member_for_token(token, DEADLINE) is None


def test_token_not_stored_in_clear(workspace: Workspace, links: dict[str, str]) -> None:
    from pathlib import Path

    db = Path(workspace.store_url.removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    for link in links.values():
        token = link.rsplit("/", 1)[1]
        assert token.encode() not in raw
        assert hash_token(token).encode() in raw


def _zip(names: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in names.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("capacites.xlsx", b"%PDF-1.7 not a workbook"),
        ("capacites.xlsx", b""),
        ("capacites.xlsx", _zip({"word/document.xml": b"<w/>", "[Content_Types].xml": b"<T/>"})),
        ("capacites.xlsx", b"PK\x03\x04" + b"\0" * 100),
        ("capacites.csv", b"a;b\n1;2\n"),
    ],
)
def test_non_xlsx_upload_refused(
    client: TestClient,
    links: dict[str, str],
    workspace: Workspace,
    filename: str,
    content: bytes,
) -> None:
    link = links["ei-nord"]
    csrf = csrf_of(client.get(link).text)
    before = snapshot(workspace)
    response = client.post(
        f"{link}/xlsx", data={"csrf": csrf}, files={"file": (filename, content, "text/plain")}
    )
    assert response.status_code in (400, 415, 503)
    if response.status_code != 503:  # 503: the xlsx reader is not installed yet
        assert "Classeur refusé" in response.text or "choisissez un fichier" in response.text
    assert snapshot(workspace) == before


def test_xlsx_problem_detects_zip_bombs_and_fakes() -> None:
    assert xlsx_problem(b"MZ\x90\x00") is not None
    assert xlsx_problem(_zip({"[Content_Types].xml": b"x", "xl/workbook.xml": b"x"})) is None
    bomb = _zip(
        {"[Content_Types].xml": b"x", "xl/workbook.xml": b"x", "xl/big.xml": b"0" * 60_000_000}
    )
    assert "volumineux" in (xlsx_problem(bomb) or "")


def test_oversized_upload_refused_413(
    client: TestClient, links: dict[str, str], workspace: Workspace
) -> None:
    link = links["ei-nord"]
    csrf = csrf_of(client.get(link).text)
    before = snapshot(workspace)
    big = b"PK\x03\x04" + b"\0" * (UPLOAD_LIMIT + 10)
    response = client.post(
        f"{link}/xlsx", data={"csrf": csrf}, files={"file": ("gros.xlsx", big, "application/zip")}
    )
    assert response.status_code == 413
    assert "Fichier trop volumineux" in response.text
    huge_form = client.post(f"{link}/declaration", data=good_form(csrf, name="x" * 100_000))
    assert huge_form.status_code == 413
    assert snapshot(workspace) == before


def test_oversized_upload_on_real_server_without_content_length(
    live_portal: str, links: dict[str, str], workspace: Workspace
) -> None:
    """A chunked body (no Content-Length) is cut as soon as it passes the limit."""
    link = live_portal + links["ei-nord"]
    with httpx.Client(timeout=30) as http:
        csrf = csrf_of(http.get(link).text)
        before = snapshot(workspace)
        boundary = "coopboundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="g.xlsx"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()

        def body():  # ~6.5 MB, streamed in chunks
            yield head + b"PK\x03\x04"
            for _ in range(100):
                yield b"\0" * 65536
            yield f"\r\n--{boundary}--\r\n".encode()

        response = http.post(
            f"{link}/xlsx",
            content=body(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
        assert response.status_code == 413
        assert "Fichier trop volumineux" in response.text
        declared = http.post(
            f"{link}/xlsx",
            content=b"x" * (UPLOAD_LIMIT + 200_000),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
        assert declared.status_code == 413
    assert snapshot(workspace) == before


def test_autoescape(client: TestClient, links: dict[str, str], workspace: Workspace) -> None:
    link = links["ei-nord"]
    form = good_form(csrf_of(client.get(link).text), name="<script>alert(1)</script>")
    assert client.post(f"{link}/declaration", data=form).status_code == 200  # after redirect
    page = client.get(link).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    coordinator = client.get(links["coordinateur"]).text
    assert "<script>" not in coordinator and "&lt;script&gt;" in coordinator


def test_stale_csrf_keeps_what_was_typed_and_stores_nothing(
    client: TestClient, links: dict[str, str], workspace: Workspace
) -> None:
    """A page left open past CSRF_MAX_AGE: refused, but the form comes back filled in."""
    import time

    link = links["ei-nord"]
    token = link.removeprefix("/m/")
    with Store(workspace.store_url) as store:
        old = csrf_token(store.secret(), hash_token(token), now=time.time() - 13 * 3600)
    before = snapshot(workspace)
    response = client.post(f"{link}/declaration", data=good_form(old, **{"hours:P1": "4321"}))
    assert response.status_code == 403
    assert "rien n&#39;a été enregistré" in response.text
    assert 'value="4321"' in response.text
    fresh = csrf_of(response.text)
    assert fresh != old
    assert snapshot(workspace) == before
    saved = client.post(f"{link}/declaration", data=good_form(fresh), follow_redirects=False)
    assert saved.status_code == 303


def test_internal_error_is_a_french_page(
    workspace: Workspace, clock: Clock, links: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from coop_tender.portal import app as portal_app

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(portal_app.overview, "member_rows", broken)
    application = portal_app.create_app(workspace, now=clock)
    with TestClient(application, raise_server_exceptions=False) as client:
        response = client.get(links["coordinateur"])
    assert response.status_code == 500
    assert "Erreur du portail" in response.text and "boom" not in response.text
