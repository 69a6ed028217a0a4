"""Getting a notice's bytes from a path or an http(s) URL, with timeouts, retries and a size limit.

Retries (exponential backoff) cover what may pass on its own: connection errors, timeouts and
5xx answers. A 4xx answer is the user's address being wrong, so it fails at once.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from coop_tender.errors import UserError

MAX_BYTES = 20 * 1024 * 1024
"""Largest notice accepted (20 MB): real eForms notices weigh tens of kilobytes."""

BACKOFF = 1.0
"""First pause between two attempts, in seconds (doubled at each new attempt)."""

REASONS = {
    400: "requête refusée",
    401: "authentification requise",
    403: "accès refusé",
    404: "introuvable",
    408: "délai dépassé côté serveur",
    410: "supprimé",
    429: "trop de requêtes",
    500: "erreur interne du serveur",
    502: "passerelle en erreur",
    503: "service indisponible",
    504: "délai de passerelle dépassé",
}


def is_url(source: str) -> bool:
    """True for http(s) addresses; anything else is a file path."""
    return source.lower().startswith(("http://", "https://"))


def load(source: str, **options: float) -> bytes:
    """The bytes of `source`, a file path or an http(s) URL (options go to `fetch`)."""
    return fetch(source, **options) if is_url(source) else read_file(Path(source))


def read_file(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """Read a local file, refusing what is missing, a folder, or too large."""
    if not path.exists():
        raise UserError(f"{path} : fichier introuvable")
    if path.is_dir():
        raise UserError(f"{path} : c'est un dossier, pas un fichier")
    try:
        if path.stat().st_size > max_bytes:
            raise UserError(f"{path} : fichier trop volumineux (plus de {max_bytes // 2**20} Mo)")
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path} : lecture impossible ({exc.strerror or exc})") from None


def _status_error(url: str, code: int, attempts: int) -> UserError:
    reason = REASONS.get(code, "erreur du serveur" if code >= 500 else "requête refusée")
    tail = f" après {attempts} essais" if attempts > 1 else ""
    return UserError(f"{url} : le serveur a répondu {code} ({reason}){tail}")


def fetch(
    url: str,
    *,
    timeout: float = 30.0,
    connect_timeout: float = 10.0,
    retries: int = 3,
    backoff: float | None = None,
    max_bytes: int = MAX_BYTES,
) -> bytes:
    """GET `url`; retry `retries` times on connection errors, timeouts and 5xx, then fail clearly.

    Waits `backoff` (default `BACKOFF`), then twice, four times as long… between attempts.
    Never raises anything but `UserError` for network trouble.
    """
    backoff = BACKOFF if backoff is None else backoff
    attempts = retries + 1
    limits = httpx.Timeout(timeout, connect=connect_timeout)
    last: UserError | None = None
    with httpx.Client(timeout=limits, follow_redirects=True) as client:
        for attempt in range(attempts):
            if attempt:
                time.sleep(backoff * 2 ** (attempt - 1))
            try:
                return _get(client, url, max_bytes, attempt + 1)
            except _Retry as retry:
                last = retry.error
            except httpx.InvalidURL as exc:
                raise UserError(f"{url} : adresse invalide ({exc})") from None
            except httpx.TimeoutException:
                last = UserError(
                    f"{url} : pas de réponse du serveur dans le délai ({timeout:g} s)"
                    + (f" après {attempt + 1} essais" if attempt else "")
                )
            except httpx.TransportError as exc:
                last = UserError(
                    f"{url} : connexion impossible (serveur injoignable ou adresse erronée : "
                    f"{type(exc).__name__})" + (f" après {attempt + 1} essais" if attempt else "")
                )
    assert last is not None
    raise last


class _Retry(Exception):
    """A failure worth another attempt (5xx), carrying the error to raise if none is left."""

    def __init__(self, error: UserError) -> None:
        super().__init__(str(error))
        self.error = error


def _get(client: httpx.Client, url: str, max_bytes: int, attempt: int) -> bytes:
    with client.stream("GET", url) as response:
        if response.status_code >= 500:
            raise _Retry(_status_error(url, response.status_code, attempt))
        if response.status_code >= 400:
            raise _status_error(url, response.status_code, 1)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise _too_big(url, max_bytes)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise _too_big(url, max_bytes)
            chunks.append(chunk)
        return b"".join(chunks)


def _too_big(url: str, max_bytes: int) -> UserError:
    return UserError(f"{url} : document trop volumineux (plus de {max_bytes // 2**20} Mo)")
