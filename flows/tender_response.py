"""The tender-response flow, the spine of the product: notice → invitations → declarations →
coverage → allocation → dossier → notification.

Each stage is a subflow (visible on its own in the Prefect UI, runnable alone on a workspace and
an output folder) made of thin tasks that call `coop_tender`. Stages pass their results through
files in OUT (tender.json, problem.json, coverage.json, allocation.json, dossier/), which is what
makes every stage idempotent and re-runnable: a crash and a re-run give the same files, the
store never gets a duplicate invitation or reminder, and the solve is cached on its inputs
(hash of the problem JSON and the time limit) so a re-run after a late correction only redoes
what changed. See docs/orchestration.md.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.filesystems import LocalFileSystem
from prefect.runtime import deployment as runtime_deployment
from prefect.runtime import flow_run as runtime_flow_run
from prefect.states import State
from prefect.tasks import exponential_backoff

from coop_tender import coverage
from coop_tender.errors import UserError
from coop_tender.files import write_atomic, write_model
from coop_tender.models import Allocation, MemberResult, Problem, Role, Tender
from coop_tender.money import format_euros
from coop_tender.workspace import CONFIG_NAME, Workspace
from flows import artifacts, waiting

STORE_FILES = ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm")
INVITATION_DAYS = 60  # how long a personal link lives when the tender has no capacity deadline


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- plain helpers


def working_copy(workspace: Path, out: Path) -> Path:
    """The workspace the flow may write to: a shipped example is copied into OUT/workspace.

    The copy is refreshed from the example on every run (its store, which holds what members
    sent, is kept), and marked as not an example so a run on the copy writes into it. The
    example's declarations count as the members' answers (see `_load_example_answers`).
    """
    ws = Workspace.open(workspace)
    if not ws.config.example:
        return workspace
    target = out / "workspace"
    shutil.copytree(
        workspace,
        target,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(*STORE_FILES, "forms", "__pycache__"),
    )
    write_model(target / CONFIG_NAME, ws.config.model_copy(update={"example": False}))
    _load_example_answers(Workspace.open(target))
    return target


def _load_example_answers(ws: Workspace) -> None:
    """A shipped example stands for a tender whose members have all answered: its members/*.json
    are stored as their declarations (once; a later submission stays the latest)."""
    from coop_tender.store import Store

    with Store(ws.store_url) as store:
        stored = store.latest_declarations()
        for member in ws.seed_members():
            if member.id not in stored:
                store.save_declaration(member, source="import", author="exemple livré")


def reference_of(workspace: str | Path) -> str:
    """The tender's reference (workspace.json), or the folder's name if it cannot be read."""
    try:
        return Workspace.open(workspace).config.reference
    except UserError:
        return Path(workspace).name


def _run_name() -> str:
    """Run names a coordinator recognises: tender reference and date."""
    params = runtime_flow_run.parameters
    return f"{reference_of(params['workspace'])} — {_now().astimezone():%Y-%m-%d %H:%M}"


def _stage_name(label: str) -> Callable[[], str]:
    def name() -> str:
        return f"{reference_of(runtime_flow_run.parameters['workspace'])} · {label}"

    return name


def solver_version() -> str:
    """A hash of the allocation engine's source: a changed solver never serves a stale cache."""
    import coop_tender.allocation as engine

    digest = hashlib.sha256()
    for path in sorted(Path(engine.__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def problem_key(problem_json: str, time_limit: float) -> str:
    """The solve's cache key: what the solver sees, how long it may think, which solver."""
    text = f"{problem_json}\n{time_limit!r}\n{solver_version()}"
    return hashlib.sha256(text.encode()).hexdigest()


def _not_user_error(task: Any, task_run: Any, state: State) -> bool:
    """Retry the outside world's hiccups, never a user's mistake (a bad notice stays bad)."""
    try:
        state.result()
    except UserError:
        return False
    except Exception:
        return True
    return False


# --------------------------------------------------------------------------- 1. the tender


@task(
    name="lire l'avis et le DQE",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.3,
    retry_condition_fn=_not_user_error,
)
def read_tender(workspace: str) -> str:
    """The notice (path or URL: fetched with retries) and the DQE, as tender JSON."""
    return Workspace.open(workspace).tender().model_dump_json()


@flow(name="1 · avis et DQE", flow_run_name=_stage_name("avis et DQE"))
def ingest_tender(workspace: str, out: str) -> str:
    """Read the tender and write OUT/tender.json; returns its reference."""
    logger = get_run_logger()
    tender = Tender.model_validate_json(read_tender(workspace))
    write_model(Path(out) / "tender.json", tender)
    logger.info(
        "Avis lu : %s (%s), %d lots, %d sites.",
        tender.title or tender.reference,
        tender.buyer or "acheteur inconnu",
        len(tender.lots),
        len(tender.items),
    )
    for warning in tender.warnings:
        logger.warning("Avis : %s", warning)
    return tender.reference


# --------------------------------------------------------------------------- 2. invitations


@task(name="inviter les membres")
def create_invitations(workspace: str, out: str, portal_url: str) -> list[str]:
    """One invitation per member who has none yet (never duplicated), its message in the outbox."""
    from coop_tender.portal.invite import COORDINATOR_GRACE
    from coop_tender.store import COORDINATOR, Store

    ws = Workspace.open(workspace)
    deadline = ws.config.capacity_deadline
    created: list[str] = []
    if deadline is not None and deadline <= _now():
        get_run_logger().warning("Échéance des déclarations passée : aucune nouvelle invitation.")
        return created
    with Store(ws.store_url) as store:
        already = store.invitations()
        expires = deadline or _now() + timedelta(days=INVITATION_DAYS)
        if COORDINATOR not in already:  # the coordinator's page: who answered, shortfalls
            token = store.create_coordinator_token(expires + COORDINATOR_GRACE)
            text = (
                f"Page du coordinateur pour l'appel d'offres {ws.config.reference} (qui a "
                f"répondu, couverture par territoire et période) :\n\n"
                f"    {portal_url.rstrip('/')}/c/{token}\n"
            )
            waiting.write_outbox(Path(out), "lien-coordinateur.txt", text)
        for member in waiting.invited_members(ws):
            if member.id in already or member.declined:
                continue
            token = store.create_invitation(member.id, expires_at=expires, author="flux")
            url = f"{portal_url.rstrip('/')}/m/{token}"
            text = waiting.invitation_message(ws.config.reference, member.name, url, deadline)
            waiting.write_outbox(Path(out), f"invitation-{member.id}.txt", text)
            created.append(member.id)
    return created


@task(name="écrire les formulaires de capacités")
def write_forms(workspace: str, out: str) -> list[str]:
    """One prefilled xlsx form per invited member, in OUT/forms/ (written atomically).

    A form is rewritten only when what it is prefilled with changed (OUT/forms/index.json keeps
    a hash of the tender's settings and the member's latest declaration per form).
    """
    from coop_tender.capacity.forms import write_form
    from coop_tender.capacity.write import known_declarations

    ws = Workspace.open(workspace)
    known = known_declarations(ws)
    folder = Path(out) / "forms"
    index_path = folder / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    config = ws.config.model_dump_json()
    paths = []
    for member in waiting.invited_members(ws):
        if member.declined:
            continue
        path = folder / f"{member.id}.xlsx"
        previous = known.get(member.id, member)
        key = hashlib.sha256(f"{config}\n{previous.model_dump_json()}".encode()).hexdigest()
        if index.get(member.id) != key or not path.exists():
            write_form(ws, member.id, path, previous=previous)
            index[member.id] = key
        paths.append(str(path))
    write_atomic(index_path, json.dumps(index, indent=2, sort_keys=True) + "\n")
    return paths


@flow(name="2 · invitations et formulaires", flow_run_name=_stage_name("invitations"))
def invite_members(workspace: str, out: str, portal_url: str = waiting.DEFAULT_PORTAL_URL) -> int:
    """Invite every member once and publish its capacity form; returns how many were new."""
    logger = get_run_logger()
    created = create_invitations(workspace, out, portal_url)
    forms = write_forms(workspace, out)
    logger.info(
        "%d nouvelle(s) invitation(s) écrite(s) dans %s/outbox ; %d formulaire(s) dans %s/forms.",
        len(created),
        out,
        len(forms),
        out,
    )
    return len(created)


# --------------------------------------------------------------------------- 3. declarations


def _status(workspace: str) -> waiting.AnswerStatus:
    from coop_tender.store import Store

    ws = Workspace.open(workspace)
    with Store(ws.store_url) as store:
        return waiting.answer_status(ws, store, _now())


@task(name="relancer les membres")
def send_reminders(
    workspace: str, out: str, max_reminders: int, interval_hours: float
) -> list[str]:
    """Remind who has not answered (see flows.waiting's rules); recorded, so never resent."""
    from coop_tender.store import Store

    ws = Workspace.open(workspace)
    sent = []
    with Store(ws.store_url) as store:
        status = waiting.answer_status(ws, store, _now())
        previous = {m: [when for when, _ in store.reminders(m)] for m in status.missing}
        invitations = store.invitations()
        last = {}
        for m in status.missing:
            invited = invitations[m].created_at if m in invitations else None
            last[m] = max([*previous[m], invited], default=None, key=_sort_key)
        due = waiting.due_reminders(
            status,
            last,
            {m: len(previous[m]) for m in status.missing},
            max_reminders,
            timedelta(hours=interval_hours),
        )
        for member in due:
            number = len(previous[member]) + 1
            store.record_reminder(member, _now(), channel="outbox")
            text = waiting.reminder_message(
                ws.config.reference, status.names.get(member, member), number, status.deadline
            )
            waiting.write_outbox(Path(out), f"relance-{member}-{number}.txt", text)
            sent.append(member)
    return sent


def _append_line(path: Path, line: str) -> None:
    """Append one line to a journal (append-only; a crash loses at most this line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def _sort_key(value: datetime | None) -> datetime:
    return value or datetime.min.replace(tzinfo=UTC)


@flow(name="3 · déclarations", flow_run_name=_stage_name("déclarations"))
def collect_declarations(
    workspace: str,
    out: str,
    wait: bool = True,
    poll_seconds: float = 60.0,
    max_wait_seconds: float | None = None,
    max_reminders: int = 2,
    reminder_interval_hours: float = 48.0,
) -> dict[str, Any]:
    """Wait until every invited member answered or the capacity deadline passed.

    The store is polled every `poll_seconds` (cheap: one query, no task run per poll) for at
    most `max_wait_seconds` in this process (None: until the deadline). If members are still
    missing after that budget, the stage returns `waiting` and the next check is another run
    (see `tender_response`): no process holds a worker for days.
    """
    logger = get_run_logger()
    reference = reference_of(workspace)
    started = time.monotonic()
    progress = None
    missing_before: list[str] = []
    while True:
        status = _status(workspace)
        done = len(status.invited) - len(status.missing)
        share = 100.0 * done / len(status.invited) if status.invited else 100.0
        if progress is None:
            progress = artifacts.start_progress("Déclarations reçues", reference)
        artifacts.set_progress(progress, share)
        if not status.missing:
            logger.info("Tous les membres invités ont répondu (%d).", len(status.invited))
            return _collected("complete", status)
        if status.deadline_passed:
            logger.warning(
                "Échéance des déclarations passée ; on continue sans : %s.",
                status.describe_missing(),
            )
            return _collected("deadline", status)
        if not wait:
            logger.warning(
                "Sans attendre : on continue avec %d réponse(s) ; il manque : %s.",
                done,
                status.describe_missing(),
            )
            return _collected("no-wait", status)
        reminded = send_reminders(workspace, out, max_reminders, reminder_interval_hours)
        if reminded:
            logger.info("Relance écrite dans %s/outbox pour : %s.", out, ", ".join(reminded))
        remaining = (status.deadline - _now()).total_seconds() if status.deadline else float("inf")
        if max_wait_seconds is not None:
            remaining = min(remaining, max_wait_seconds - (time.monotonic() - started))
        if remaining > 0 and missing_before != status.missing:
            logger.info(
                "En attente de %d membre(s) jusqu'au %s (vérification toutes les %.0f s) : %s.",
                len(status.missing),
                f"{status.deadline.astimezone():%d/%m/%Y %H:%M}" if status.deadline else "—",
                poll_seconds,
                status.describe_missing(),
            )
            missing_before = status.missing
        if remaining <= 0:
            logger.info(
                "En attente de %d membre(s) : %s. Prochaine vérification par une nouvelle "
                "exécution.",
                len(status.missing),
                status.describe_missing(),
            )
            return _collected("waiting", status)
        time.sleep(max(0.05, min(poll_seconds, remaining)))


def _collected(outcome: str, status: waiting.AnswerStatus) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "invited": status.invited,
        "answered": status.answered,
        "declined": status.declined,
        "missing": status.missing,
        "deadline": status.deadline.isoformat() if status.deadline else None,
    }


# --------------------------------------------------------------------------- 4-5. allocation


@task(name="assembler le problème")
def assemble_problem(workspace: str, out: str) -> str:
    """Notice + DQE + declarations + policy as problem.json; returns its JSON."""
    problem = Workspace.open(workspace).problem()
    problem = problem.model_copy(
        update={"tender": problem.tender.model_copy(update={"source": None})}
    )
    text = problem.model_dump_json(indent=2)
    write_atomic(Path(out) / "problem.json", text + "\n")
    return text


@task(name="vérifier la couverture")
def check_coverage(problem_json: str, out: str) -> list[str]:
    """Demand against declared capacity per territory and period: table artifact + sentences."""
    logger = get_run_logger()
    problem = Problem.model_validate_json(problem_json)
    rows = coverage.coverage(problem)
    write_atomic(
        Path(out) / "coverage.json",
        json.dumps([r.model_dump() for r in rows], ensure_ascii=False, indent=2) + "\n",
    )
    artifacts.publish_table(
        "couverture",
        problem.tender.reference,
        artifacts.coverage_rows(rows),
        "Demande et capacités déclarées par territoire et période",
    )
    sentences = coverage.shortfall_sentences(rows)
    for sentence in sentences:
        logger.warning("Couverture insuffisante — %s.", sentence)
    if not sentences:
        logger.info(
            "Les capacités déclarées couvrent la demande dans chaque territoire et période."
        )
    return sentences


def result_storage(out: str) -> LocalFileSystem:
    """Cached results live in OUT/.prefect-cache: deleting OUT forgets them.

    Prefect wants the storage block saved server-side; its name derives from the folder.
    """
    basepath = str(Path(out).resolve() / ".prefect-cache")
    block = LocalFileSystem(basepath=basepath)
    block.save(f"coop-tender-{hashlib.sha256(basepath.encode()).hexdigest()[:16]}", overwrite=True)
    return block


def _solve_key(context: Any, parameters: dict[str, Any]) -> str:
    return problem_key(parameters["problem_json"], parameters["time_limit"])


@task(
    name="répartir (CP-SAT)",
    cache_key_fn=_solve_key,
    persist_result=True,
    result_serializer="json",
)
def solve(problem_json: str, time_limit: float, out: str) -> str:
    """Run the allocation engine; cached on the problem and time limit (see `problem_key`).

    The solve runs in a thread so that a progress artifact moves while CP-SAT thinks. Every
    real solve (not a cache hit) adds a line to OUT/solves.jsonl: when, which inputs, how long.
    """
    from coop_tender.allocation import solve as solve_problem

    logger = get_run_logger()
    problem = Problem.model_validate_json(problem_json)
    reference = problem.tender.reference
    progress = artifacts.start_progress("Répartition en cours", reference)
    logger.info(
        "Répartition de %d sites entre %d membres (limite %.0f s).",
        len(problem.tender.items),
        len(problem.members),
        time_limit,
    )
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(solve_problem, problem, time_limit)
        while not future.done():
            elapsed = time.monotonic() - started
            artifacts.set_progress(progress, 99.0 * min(1.0, elapsed / max(time_limit, 1e-3)))
            time.sleep(0.5)
        allocation = future.result()
    artifacts.set_progress(progress, 100.0)
    seconds = time.monotonic() - started
    journal = {"at": _now().isoformat(), "key": problem_key(problem_json, time_limit)}
    journal |= {"seconds": round(seconds, 2), "status": allocation.status}
    _append_line(Path(out) / "solves.jsonl", json.dumps(journal))
    logger.info("Répartition terminée en %.1f s : statut %s.", seconds, allocation.status)
    return allocation.model_dump_json()


@task(name="contrôler et publier la répartition")
def record_allocation(problem_json: str, allocation_json: str, out: str) -> list[str]:
    """Check the allocation independently, write allocation.json, publish its artifacts."""
    from coop_tender.checker import check

    logger = get_run_logger()
    problem = Problem.model_validate_json(problem_json)
    allocation = Allocation.model_validate_json(allocation_json)
    violations = check(problem, allocation)
    for violation in violations:
        logger.error("Règle non respectée : %s", violation)
    if violations:  # never build a dossier on an allocation that breaks a hard rule
        raise RuntimeError(
            f"la répartition enfreint {len(violations)} règle(s) : {'; '.join(violations[:3])}"
        )
    write_model(Path(out) / "allocation.json", allocation)
    reference = problem.tender.reference
    artifacts.publish_table(
        "repartition",
        reference,
        artifacts.allocation_rows(allocation),
        "Répartition par membre",
    )
    artifacts.publish_markdown(
        "explications",
        reference,
        artifacts.explanation_markdown(reference, allocation),
        "Explications de la répartition",
    )
    return violations


@flow(name="4 · couverture et répartition", flow_run_name=_stage_name("répartition"))
def allocate(workspace: str, out: str, time_limit: float = 60.0) -> dict[str, Any]:
    """Problem → coverage check → solve (cached) → checked allocation.json."""
    logger = get_run_logger()
    problem_json = assemble_problem(workspace, out)
    shortfalls = check_coverage(problem_json, out)
    allocation_json = solve.with_options(result_storage=result_storage(out))(
        problem_json, time_limit, out
    )
    violations = record_allocation(problem_json, allocation_json, out)
    allocation = Allocation.model_validate_json(allocation_json)
    if allocation.unassigned:
        logger.warning("%d site(s) sans attributaire.", len(allocation.unassigned))
    return {
        "status": allocation.status,
        "shortfalls": shortfalls,
        "violations": violations,
        "unassigned": allocation.unassigned,
    }


# --------------------------------------------------------------------------- 6-7. dossier, notify


@task(name="produire le dossier et les classeurs")
def build_documents(workspace: str, out: str) -> list[str]:
    """The dossier (OUT/dossier/), the work-split workbook (OUT/repartition.xlsx) and one
    workbook per member (OUT/membres/), from OUT/allocation.json and OUT/problem.json."""
    from coop_tender.docs import build_dossier
    from coop_tender.files import read_model

    out_dir = Path(out)
    allocation = read_model(out_dir / "allocation.json", Allocation)
    problem = read_model(out_dir / "problem.json", Problem)
    ws = Workspace.open(workspace)
    files = build_dossier(ws, allocation, out_dir, problem=problem)
    return [str(p) for p in files]


@flow(name="5 · dossier", flow_run_name=_stage_name("dossier"))
def make_dossier(workspace: str, out: str) -> list[str]:
    """Build the dossier from OUT/allocation.json and publish where its files are."""
    logger = get_run_logger()
    files = build_documents(workspace, out)
    reference = reference_of(workspace)
    artifacts.publish_markdown(
        "dossier",
        reference,
        artifacts.files_markdown(reference, Path(out).resolve(), [Path(f) for f in files]),
        "Fichiers du dossier",
    )
    logger.info("Dossier produit : %d fichier(s) dans %s.", len(files), out)
    return files


def member_message(reference: str, result: MemberResult, workbook: Path | None) -> str:
    """What one member is told: its share, its sites or lent hours, and its workbook."""
    role = "cotraitant" if result.role is Role.COCONTRACTOR else "mise à disposition"
    lines = [
        f"Bonjour {result.name or result.member},",
        "",
        f"La répartition de l'appel d'offres {reference} est prête. Votre part ({role}) : "
        f"{format_euros(result.value)}, {result.hours} h, {len(result.items)} site(s), "
        f"soit {result.share:.1%} (cible {result.target:.1%}).",
        "",
        "Pourquoi :",
        *[f"- {sentence}" for sentence in result.explanation],
    ]
    if workbook is not None:
        lines += ["", f"Votre classeur (sites et calendrier) : {workbook}"]
    return "\n".join(lines) + "\n"


@task(name="prévenir le groupement")
def notify(workspace: str, out: str, collected: dict[str, Any], files: list[str]) -> str:
    """Messages (French) in the outbox: to the consortium (where the dossier is, who did not
    answer) and to each member (its share, why, its workbook)."""
    ws = Workspace.open(workspace)
    out_dir = Path(out).resolve()
    allocation = Allocation.model_validate_json(
        (out_dir / "allocation.json").read_text(encoding="utf-8")
    )
    reference = ws.config.reference
    lines = [
        f"Réponse en groupement à l'appel d'offres {reference}",
        "",
        f"Répartition : {artifacts.STATUS_FR.get(allocation.status, allocation.status)}, "
        f"{len(allocation.assignments)} site(s) attribué(s), "
        f"{len(allocation.unassigned)} sans attributaire.",
        f"Dossier à signer et déposer : {out_dir / 'dossier'}",
        f"Classeur de répartition : {out_dir / 'repartition.xlsx'}",
        f"Classeurs par membre : {out_dir / 'membres'}",
        "",
    ]
    if collected["missing"]:
        lines.append("Sans réponse à la clôture : " + ", ".join(collected["missing"]) + ".")
    if collected["declined"]:
        lines.append("Ont décliné : " + ", ".join(collected["declined"]) + ".")
    lines += ["", "Fichiers :", *[f"- {f}" for f in files]]
    for result in allocation.members:
        workbook = out_dir / "membres" / f"{result.member}.xlsx"
        text = member_message(reference, result, workbook if workbook.exists() else None)
        waiting.write_outbox(out_dir, f"repartition-{result.member}.txt", text)
    path = waiting.write_outbox(out_dir, "groupement-dossier.txt", "\n".join(lines) + "\n")
    return str(path)


# --------------------------------------------------------------------------- the main flow


@flow(name="tender-response", flow_run_name=_run_name)
def tender_response(
    workspace: str,
    out: str,
    time_limit: float = 60.0,
    wait: bool = True,
    poll_seconds: float = 60.0,
    max_wait_seconds: float | None = None,
    max_reminders: int = 2,
    reminder_interval_hours: float = 48.0,
    portal_url: str = waiting.DEFAULT_PORTAL_URL,
) -> dict[str, Any]:
    """Answer one tender: every stage in order; returns a summary (status, files, missing).

    `status` is "done", or "waiting" when members are still expected and this run's waiting
    budget (`max_wait_seconds`) is spent: on a deployment the next check is then scheduled as a
    new run of the same deployment, so no worker is held while members take days to answer.
    """
    logger = get_run_logger()
    out_dir = Path(out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    ws_path = str(working_copy(Path(workspace).resolve(), out_dir))
    if ws_path != str(Path(workspace).resolve()):
        logger.info("Exemple livré : copié dans %s (l'original n'est jamais modifié).", ws_path)
    out = str(out_dir)
    reference = ingest_tender(ws_path, out)
    invite_members(ws_path, out, portal_url)
    collected = collect_declarations(
        ws_path,
        out,
        wait=wait,
        poll_seconds=poll_seconds,
        max_wait_seconds=max_wait_seconds,
        max_reminders=max_reminders,
        reminder_interval_hours=reminder_interval_hours,
    )
    if collected["outcome"] == "waiting":
        next_run = _schedule_next_check(poll_seconds, collected)
        return {
            "status": "waiting",
            "reference": reference,
            "out": out,
            "next_check": next_run,
            **collected,
        }
    result = allocate(ws_path, out, time_limit)
    files = make_dossier(ws_path, out)
    message = notify(ws_path, out, collected, files)
    logger.info("Terminé. Dossier : %s ; message au groupement : %s.", out_dir / "dossier", message)
    return {
        "status": "done",
        "reference": reference,
        "out": out,
        "allocation": str(out_dir / "allocation.json"),
        "allocation_status": result["status"],
        "files": files,
        **collected,
    }


def _schedule_next_check(poll_seconds: float, collected: dict[str, Any]) -> str | None:
    """On a deployment, schedule the next check as a new run (no worker held meanwhile).

    The idempotency key is this run's id: a retried run never schedules a second check.
    """
    logger = get_run_logger()
    if not runtime_deployment.id:
        logger.info("Hors déploiement : relancez le flux pour vérifier de nouveau.")
        return None
    from prefect.deployments import run_deployment

    when = _now() + timedelta(seconds=poll_seconds)
    if collected["deadline"]:
        when = min(when, datetime.fromisoformat(collected["deadline"]))
    run = run_deployment(
        runtime_deployment.id,
        parameters=dict(runtime_flow_run.parameters),
        scheduled_time=when,
        flow_run_name=f"{reference_of(runtime_flow_run.parameters['workspace'])} — "
        f"vérification du {when.astimezone():%Y-%m-%d %H:%M}",
        timeout=0,
        as_subflow=False,
        idempotency_key=f"{runtime_flow_run.id}-prochaine-verification",
    )
    logger.info("Prochaine vérification programmée le %s (exécution %s).", when, run.name)
    return when.isoformat()
