"""The member and coordinator portal: FastAPI routes rendering Jinja2 pages from templates/portal.

Routes (every page in French; a token is the only key, a member id alone opens nothing):
    GET  /                              a neutral welcome page
    GET  /m/{token}                     the member's own declaration: form, xlsx upload, history
    POST /m/{token}/declaration         the web form              (CSRF, 64 KB, until the deadline)
    POST /m/{token}/xlsx                the filled capacity form  (CSRF, 5 MB, xlsx only)
    GET  /c/{token}                     the coordinator: answers, problems, capacity vs demand
    POST /c/{token}/lien/{member_id}    give a member a new link (the old one stops working)
    POST /c/{token}/revoquer/{member_id} revoke a member's link
    GET  /static/portal.css
Unknown, expired and revoked tokens all get the same 404 page. After the capacity deadline a
member's link still shows its declaration (read-only) for READ_ONLY_GRACE; submissions get 409.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from coop_tender import models
from coop_tender.errors import UserError
from coop_tender.models import Member
from coop_tender.portal import overview
from coop_tender.portal.declaration import (
    KIND_LABELS,
    TEXT_FIELDS,
    FormState,
    read_form,
    turnover_years,
    values_of,
)
from coop_tender.portal.security import (
    FORM_LIMIT,
    SECURITY_HEADERS,
    UPLOAD_LIMIT,
    BodyLimit,
    SecurityHeaders,
    csrf_check,
    csrf_token,
    csrf_valid,
    xlsx_problem,
)
from coop_tender.store import COORDINATOR, Store, hash_token
from coop_tender.workspace import Workspace

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "portal"
READ_ONLY_GRACE = timedelta(days=90)
PARIS = ZoneInfo("Europe/Paris")
STALE_FORM = (
    "la page était ouverte depuis longtemps : par sécurité rien n'a été enregistré ; "
    "vérifiez ce que vous avez saisi puis envoyez de nouveau"
)
MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"

ERRORS = {
    400: ("Demande invalide", "La demande n'a pas pu être lue. Rechargez la page et recommencez."),
    403: (
        "Formulaire expiré",
        "Ce formulaire a expiré ou n'a pas été envoyé depuis la page du portail. "
        "Rechargez la page puis envoyez-le de nouveau ; rien n'a été enregistré.",
    ),
    404: (
        "Lien inconnu ou expiré",
        "Ce lien n'ouvre aucune page. Il a peut-être expiré ou été remplacé : demandez un "
        "nouveau lien à la coordination du réseau.",
    ),
    409: (
        "Date limite dépassée",
        "La date limite de déclaration des capacités est passée : votre déclaration reste "
        "visible mais ne peut plus être modifiée. Contactez la coordination si besoin.",
    ),
    500: (
        "Erreur du portail",
        "Le portail a rencontré une erreur : rien n'a été enregistré pour cette demande. "
        "Réessayez dans un instant ou prévenez la coordination du réseau.",
    ),
    413: (
        "Fichier trop volumineux",
        "Le fichier ou le formulaire envoyé dépasse la taille permise (5 Mo pour un classeur). "
        "Rien n'a été enregistré.",
    ),
}


def french_datetime(value: datetime | None) -> str:
    """`15 mars 2026 à 18 h 00` in Paris time."""
    if value is None:
        return "—"
    local = value.astimezone(PARIS)
    month = MONTHS.split()[local.month - 1]
    return f"{local.day} {month} {local.year} à {local.hour} h {local.minute:02d}"


def source_label(source: str | None) -> str:
    """Where a declaration came from, as the pages say it."""
    if not source:
        return ""
    if source.startswith("portal"):
        return "formulaire en ligne"
    if source.startswith("xlsx"):
        return "classeur"
    return "coordination"


def french_int(value: int | None) -> str:
    return "—" if value is None else f"{value:,}".replace(",", "\u202f")


@dataclass(frozen=True)
class Access:
    """What a member's link allows right now."""

    member_id: str
    token: str
    token_hash: str
    writable: bool
    deadline: datetime


def _xlsx_reader() -> Callable[..., Member] | None:
    """The capacity-form reader if installed (coop_tender.capacity.forms), else None."""
    try:
        from coop_tender.capacity.forms import read_form as read_xlsx
    except ImportError:
        return None
    return read_xlsx


def create_app(
    workspace: Workspace, *, now: Callable[[], datetime] = models.now, store: Store | None = None
) -> FastAPI:
    """The portal of one tender workspace; `now` is injectable so tests can pass the deadline."""
    store = store or Store(workspace.store_url)
    secret = store.secret()
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    env.filters["date"] = french_datetime
    env.filters["int"] = french_int
    env.filters["source"] = source_label

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        store.close()

    app = FastAPI(
        title="coop-tender portail",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("reference", workspace.config.reference)
        return HTMLResponse(env.get_template(name).render(**context), status_code=status)

    def error_page(status: int) -> HTMLResponse:
        title, text = ERRORS.get(status, ERRORS[404 if status == 405 else 400])
        return page("error.html", 404 if status == 405 else status, title=title, text=text)

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> HTMLResponse:
        return error_page(exc.status_code)

    @app.exception_handler(Exception)
    async def _bug(_request: Request, _exc: Exception) -> HTMLResponse:
        # Logged by uvicorn; the visitor gets a French page, no traceback. This handler runs
        # outside the middlewares, so the headers are set here.
        response = error_page(500)
        response.headers.update(SECURITY_HEADERS | {"cache-control": "no-store"})
        return response

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_request: Request, _exc: RequestValidationError) -> HTMLResponse:
        return error_page(400)

    app.add_middleware(
        BodyLimit,
        limit_for=lambda path: UPLOAD_LIMIT + FORM_LIMIT if path.endswith("/xlsx") else FORM_LIMIT,
        refuse=lambda _limit: error_page(413),
    )
    app.add_middleware(SecurityHeaders)

    # ------------------------------------------------------------------ access

    def deadline_of(expires_at: datetime) -> datetime:
        configured = workspace.config.capacity_deadline
        return min(expires_at, configured) if configured else expires_at

    def member_access(token: str) -> Access:
        """The member a link opens, or the generic 404 (unknown, revoked, long expired)."""
        invitation = store.invitation_for_token(token)
        current = now()
        if (
            invitation is None
            or invitation.member_id == COORDINATOR
            or invitation.revoked_at is not None
            or current >= invitation.expires_at + READ_ONLY_GRACE
            or invitation.member_id not in overview.all_members(workspace, store)
        ):
            raise HTTPException(404)
        deadline = deadline_of(invitation.expires_at)
        return Access(invitation.member_id, token, hash_token(token), current < deadline, deadline)

    def coordinator_access(token: str) -> str:
        if not store.is_coordinator_token(token, now()):
            raise HTTPException(404)
        return hash_token(token)

    async def read_post(request: Request, token_hash: str) -> Any:
        """The posted form, after the CSRF check (403 when missing or wrong)."""
        form = await request.form(max_files=1, max_fields=300, max_part_size=FORM_LIMIT)
        if not csrf_valid(secret, token_hash, form.get("csrf")):
            raise HTTPException(403)
        return form

    # ------------------------------------------------------------------ member pages

    def current_member(member_id: str) -> Member:
        return overview.all_members(workspace, store)[member_id]

    def trade_options(member: Member) -> list[str]:
        trades = set(member.trades)
        tender, _ = cached_tender()
        if tender is not None:
            trades |= {i.trade for i in tender.items}
        return sorted(trades)

    tender_cache: dict[str, Any] = {}

    def cached_tender() -> tuple[models.Tender | None, str | None]:
        """The tender (or why not), read again only when the notice or DQE file changes."""
        files = [workspace.path(workspace.config.notice), workspace.path(workspace.config.dqe)]
        key = tuple(f.stat().st_mtime_ns if f.exists() else 0 for f in files)
        if tender_cache.get("key") != key:
            tender_cache["tender"] = overview.read_tender(workspace)
            tender_cache["key"] = key
        return tender_cache["tender"]

    def member_page(
        access: Access,
        state: FormState | None = None,
        status: int = 200,
        upload_errors: list[str] | None = None,
        saved: int | None = None,
    ) -> HTMLResponse:
        member = current_member(access.member_id)
        years = turnover_years(member, now().year)
        state = state or FormState(values=values_of(member, years))
        history = list(reversed(store.declaration_history(access.member_id)))
        return page(
            "member.html",
            status,
            member=member,
            access=access,
            token_url=access.token,
            v=state.values,
            errors=state.errors,
            general=state.general,
            upload_errors=upload_errors or [],
            periods=workspace.config.periods,
            territories=workspace.config.territories,
            trades=trade_options(member),
            kinds=KIND_LABELS,
            text_fields=TEXT_FIELDS,
            years=years,
            history=history,
            csrf=csrf_token(secret, access.token_hash),
            upload_available=_xlsx_reader() is not None,
            saved=saved,
        )

    @app.get("/", response_class=HTMLResponse)
    async def home() -> HTMLResponse:
        return page("home.html")

    @app.get("/static/portal.css")
    async def css() -> Response:
        return Response(
            (TEMPLATES / "portal.css").read_bytes(),
            media_type="text/css",
            headers={"cache-control": "public, max-age=3600"},
        )

    @app.get("/m/{token}", response_class=HTMLResponse)
    def member_view(token: str, envoi: int | None = None) -> HTMLResponse:
        return member_page(member_access(token), saved=envoi)

    @app.post("/m/{token}/declaration", response_class=HTMLResponse)
    async def member_submit(token: str, request: Request) -> Response:
        access = member_access(token)
        form = await request.form(max_files=0, max_fields=300, max_part_size=FORM_LIMIT)
        check = csrf_check(secret, access.token_hash, form.get("csrf"))
        if check == "bad":
            raise HTTPException(403)
        if not access.writable:
            raise HTTPException(409)
        values = {k: form.get(k) for k in form if k not in ("trades", "territories")}
        values["trades"] = [str(v) for v in form.getlist("trades")]
        values["territories"] = [str(v) for v in form.getlist("territories")]
        if check == "stale":  # the page stayed open too long: show what was typed, save nothing
            stale = FormState(values=values, general=[STALE_FORM])
            return member_page(access, stale, status=403)
        base = current_member(access.member_id)
        periods = [p.id for p in workspace.config.periods]
        member, state = read_form(values, base, periods, turnover_years(base, now().year))
        if member is None:
            return member_page(access, state, status=422)
        version = store.save_declaration(member, "portal", access.member_id)
        if member.declined != (access.member_id in store.declined()):
            store.set_declined(access.member_id, member.declined, author=access.member_id)
        return RedirectResponse(f"/m/{token}?envoi={version}", status_code=303)

    @app.post("/m/{token}/xlsx", response_class=HTMLResponse)
    async def member_upload(token: str, request: Request) -> Response:
        access = member_access(token)
        form = await read_post(request, access.token_hash)
        if not access.writable:
            raise HTTPException(409)
        reader = _xlsx_reader()
        upload = form.get("file")
        if reader is None:
            return member_page(access, status=503, upload_errors=["envoi de classeur indisponible"])
        if not isinstance(upload, UploadFile) or not upload.filename:
            return member_page(access, status=400, upload_errors=["choisissez un fichier .xlsx"])
        if upload.size is not None and upload.size > UPLOAD_LIMIT:
            raise HTTPException(413)
        data = await upload.read(UPLOAD_LIMIT + 1)
        if len(data) > UPLOAD_LIMIT:
            raise HTTPException(413)
        problem = xlsx_problem(data)
        if problem:
            store.log(access.member_id, "refused", access.member_id, problem)
            return member_page(access, status=415, upload_errors=[problem])
        try:
            if "workspace" in inspect.signature(reader).parameters:
                member = reader(data, workspace=workspace)
            else:
                member = reader(data)
        except UserError as exc:
            problems = exc.problems or [str(exc)]
            store.log(access.member_id, "refused", access.member_id, "; ".join(problems)[:500])
            return member_page(access, status=422, upload_errors=problems)
        if member.id != access.member_id:
            message = "ce formulaire est celui d'une autre structure : envoyez le vôtre"
            store.log(access.member_id, "refused", access.member_id, message)
            return member_page(access, status=422, upload_errors=[message])
        version = store.save_declaration(member, "xlsx", access.member_id)
        return RedirectResponse(f"/m/{token}?envoi={version}", status_code=303)

    # ------------------------------------------------------------------ coordinator pages

    def coordinator_page(token: str, new_link: tuple[str, str] | None = None) -> HTMLResponse:
        token_hash = hash_token(token)
        rows = overview.member_rows(workspace, store, now())
        totals = overview.totals(workspace, [r.member for r in rows], *cached_tender())
        return page(
            "coordinator.html",
            rows=rows,
            totals=totals,
            answered=sum(r.answered for r in rows),
            deadline=workspace.config.capacity_deadline,
            csrf=csrf_token(secret, token_hash),
            token_url=token,
            new_link=new_link,
        )

    @app.get("/c/{token}", response_class=HTMLResponse)
    def coordinator_view(token: str) -> HTMLResponse:
        coordinator_access(token)
        return coordinator_page(token)

    @app.post("/c/{token}/lien/{member_id}", response_class=HTMLResponse)
    async def coordinator_relink(token: str, member_id: str, request: Request) -> HTMLResponse:
        token_hash = coordinator_access(token)
        await read_post(request, token_hash)
        if member_id not in overview.all_members(workspace, store):
            raise HTTPException(404)
        deadline = workspace.config.capacity_deadline
        if deadline is None or deadline <= now():
            raise HTTPException(409)
        new = store.create_invitation(member_id, deadline)
        url = f"{str(request.base_url).rstrip('/')}/m/{new}"
        return coordinator_page(token, new_link=(member_id, url))

    @app.post("/c/{token}/revoquer/{member_id}", response_class=HTMLResponse)
    async def coordinator_revoke(token: str, member_id: str, request: Request) -> Response:
        token_hash = coordinator_access(token)
        await read_post(request, token_hash)
        if member_id not in overview.all_members(workspace, store):
            raise HTTPException(404)
        store.revoke(member_id)
        return RedirectResponse(f"/c/{token}", status_code=303)

    return app


def portal_command(args: argparse.Namespace) -> int:
    """`coop-tender portal --workspace W [--host 127.0.0.1 --port 8000]`."""
    import socket

    import uvicorn

    workspace = Workspace.open(args.workspace)
    try:  # say it in French before uvicorn does in English
        with socket.create_server((args.host, args.port)):
            pass
    except OSError as exc:
        raise UserError(
            f"impossible d'écouter sur {args.host}:{args.port} ({exc.strerror}) : le port est "
            "peut-être déjà pris (un autre portail ?) ; choisissez-en un autre avec --port"
        ) from None
    app = create_app(workspace)
    print(
        f"portail de {workspace.config.reference} sur http://{args.host}:{args.port} "
        "(liens personnels : coop-tender invite)"
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", server_header=False)
    return 0
