"""Waiting for members: who was invited, who answered, who declined, and which reminders are due.

Plain functions (no Prefect): the flow calls them on every check. The rules:
- a member has answered when the store holds a declaration of it, or it declined;
- a reminder goes only to a member who has neither answered nor declined, never after the
  capacity deadline, at most `max_reminders` times, and not sooner than `interval` after the
  invitation or the previous reminder;
- every reminder is recorded in the store before its message is written, so a re-run never
  sends it twice. "Sending" writes the French message into OUT/outbox/ (no mail server here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from coop_tender.files import write_atomic
from coop_tender.models import Member
from coop_tender.portal.invite import DEFAULT_BASE_URL
from coop_tender.workspace import Workspace

DEFAULT_PORTAL_URL = DEFAULT_BASE_URL  # where `coop-tender portal` listens by default


@dataclass(frozen=True)
class AnswerStatus:
    """Where the collection of declarations stands at one moment."""

    invited: list[str]
    answered: list[str]
    declined: list[str]
    deadline: datetime | None
    now: datetime
    names: dict[str, str] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        done = set(self.answered) | set(self.declined)
        return [m for m in self.invited if m not in done]

    @property
    def deadline_passed(self) -> bool:
        return self.deadline is not None and self.now >= self.deadline

    def describe_missing(self) -> str:
        return ", ".join(f"{self.names.get(m, m)} ({m})" for m in self.missing) or "personne"


def invited_members(ws: Workspace) -> list[Member]:
    """The members the network invites: every member it knows (members/*.json), by id."""
    return ws.seed_members()


def answer_status(ws: Workspace, store, now: datetime) -> AnswerStatus:
    """Read the store: declarations received, members who declined, against the invitations."""
    invited = invited_members(ws)
    answered = set(store.answered())
    declined = {m.id for m in invited if m.declined} | set(store.declined())
    return AnswerStatus(
        invited=[m.id for m in invited],
        answered=sorted(answered - declined),
        declined=sorted(declined),
        deadline=ws.config.capacity_deadline,
        now=now,
        names={m.id: m.name for m in invited},
    )


def due_reminders(
    status: AnswerStatus,
    last_contact: dict[str, datetime | None],
    sent_count: dict[str, int],
    max_reminders: int,
    interval: timedelta,
) -> list[str]:
    """Members to remind now (see the module's rules); pure, so it is tested without a store."""
    if status.deadline_passed:
        return []
    due = []
    for member in status.missing:
        if sent_count.get(member, 0) >= max_reminders:
            continue
        last = last_contact.get(member)
        if last is not None and status.now - last < interval:
            continue
        due.append(member)
    return due


def _deadline_text(deadline: datetime | None) -> str:
    if deadline is None:
        return "dès que possible"
    return f"avant le {deadline.astimezone():%d/%m/%Y à %H:%M}"


def invitation_message(reference: str, name: str, url: str, deadline: datetime | None) -> str:
    """The French invitation a member receives, with its personal link."""
    return (
        f"Bonjour {name},\n\n"
        f"Le réseau répond en groupement à l'appel d'offres {reference}. Merci de déclarer vos "
        f"capacités (métiers, territoires, heures par période, salariés en insertion) "
        f"{_deadline_text(deadline)}, soit sur le portail avec votre lien personnel :\n\n"
        f"    {url}\n\n"
        "soit en renvoyant le formulaire xlsx joint, rempli.\n"
        "Ce lien est personnel : ne le transférez pas.\n\n"
        "Si vous ne souhaitez pas participer à ce marché, dites-le simplement au coordinateur.\n"
    )


def reminder_message(reference: str, name: str, number: int, deadline: datetime | None) -> str:
    """The French reminder (number 1, 2, …) to a member who has not answered yet."""
    return (
        f"Bonjour {name},\n\n"
        f"Relance n° {number} : nous n'avons pas encore reçu votre déclaration de capacités "
        f"pour l'appel d'offres {reference}. Merci de la déposer {_deadline_text(deadline)} "
        "avec le lien personnel reçu dans l'invitation, ou de renvoyer le formulaire xlsx.\n"
        "Si vous ne participez pas, prévenez le coordinateur : nous ne vous relancerons plus.\n"
    )


def write_outbox(out: Path, name: str, text: str) -> Path:
    """'Send' a message: write it atomically into OUT/outbox/ (the coordinator forwards it).
    Messages may hold a personal link: readable by their owner only."""
    return write_atomic(Path(out) / "outbox" / name, text, private=True)
