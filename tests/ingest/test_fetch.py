"""Fetching notices over HTTP from a real server on 127.0.0.1: success, 404, retry, timeout."""

from __future__ import annotations

import time

import pytest

from coop_tender.errors import UserError
from coop_tender.ingest import fetch, read_notice

FAST = {"timeout": 0.5, "connect_timeout": 0.5, "retries": 2, "backoff": 0.05}


def test_notice_by_url(server: str, hits: dict[str, int]):
    tender = read_notice(f"{server}/notice.xml", **FAST)
    assert tender.notice_id == "f42be27e-09cf-4f0e-a745-63ec689631e6"
    assert len(tender.lots) == 1
    assert tender.source == f"{server}/notice.xml"
    assert hits["/notice.xml"] == 1


def test_404_fails_at_once_without_retry(server: str, hits: dict[str, int]):
    with pytest.raises(UserError) as err:
        fetch(f"{server}/missing", **FAST)
    assert str(err.value) == f"{server}/missing : le serveur a répondu 404 (introuvable)"
    assert hits["/missing"] == 1


def test_500_then_200_is_retried(server: str, hits: dict[str, int]):
    tender = read_notice(f"{server}/flaky", **FAST)
    assert len(tender.lots) == 1
    assert hits["/flaky"] == 2


def test_500_every_time_gives_up_after_retries(server: str, hits: dict[str, int]):
    with pytest.raises(UserError) as err:
        fetch(f"{server}/broken", **FAST)
    assert "le serveur a répondu 500 (erreur interne du serveur) après 3 essais" in str(err.value)
    assert hits["/broken"] == 3


def test_backoff_grows(server: str, hits: dict[str, int]):
    start = time.monotonic()
    with pytest.raises(UserError):
        fetch(f"{server}/broken", timeout=1, retries=2, backoff=0.2)
    assert time.monotonic() - start >= 0.2 + 0.4


def test_server_that_never_answers_times_out(server: str, hits: dict[str, int]):
    start = time.monotonic()
    with pytest.raises(UserError) as err:
        fetch(f"{server}/slow", timeout=0.3, connect_timeout=0.3, retries=1, backoff=0.01)
    assert "pas de réponse du serveur" in str(err.value)
    assert "2 essais" in str(err.value)
    assert hits["/slow"] == 2
    assert time.monotonic() - start < 2


def test_connection_refused(closed_port: int):
    url = f"http://127.0.0.1:{closed_port}/avis.xml"
    with pytest.raises(UserError) as err:
        fetch(url, **FAST)
    assert str(err.value).startswith(f"{url} : connexion impossible")


def test_size_limit(server: str, hits: dict[str, int]):
    with pytest.raises(UserError, match="trop volumineux"):
        fetch(f"{server}/big", **FAST)
    assert hits["/big"] == 1


def test_size_limit_while_streaming(server: str, hits: dict[str, int]):
    with pytest.raises(UserError, match="trop volumineux"):
        fetch(f"{server}/notice.xml", max_bytes=1000, **FAST)
