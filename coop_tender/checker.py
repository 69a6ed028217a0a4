"""The independent checker of an allocation's hard rules (issue 2, rules 1–8).

Written from the rules alone, never from the solver's code, so that the tests really check the
solver: every figure is recomputed here from the problem and the assignments. Arithmetic is exact
(`Fraction` for rates and shares, `Decimal` for money); a rate given as a float is read as the
decimal the user wrote (0.3 is 3/10). Messages are French sentences naming the rule and figures.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

from coop_tender.geo import great_circle_km
from coop_tender.models import (
    Allocation,
    Member,
    MemberKind,
    MemberResult,
    Problem,
    Role,
    WorkItem,
)

DISTANCE_EPSILON_KM = 1e-6
"""Distances are floats (haversine); one millimetre of slack absorbs rounding noise only."""

CAPPED_KINDS = {MemberKind.EI, MemberKind.ETTI, MemberKind.EITI, MemberKind.OTHER}
"""Companies an AI's lending to is capped by the 480-hour rule (not associations: ACI)."""


def exact(rate: float | int) -> Fraction:
    """A float rate as the decimal it was written as (0.3 -> 3/10), exactly."""
    return Fraction(repr(rate)) if isinstance(rate, float) else Fraction(rate)


def fmt(value: Fraction | Decimal | int | float, places: int = 2) -> str:
    """A figure for a French sentence: 1 234,5 (no trailing zeros beyond what matters)."""
    number = (
        Decimal(value.numerator) / Decimal(value.denominator)
        if isinstance(value, Fraction)
        else Decimal(value)
    )
    text = f"{number:,.{places}f}".rstrip("0").rstrip(".")
    return text.replace(",", "\u202f").replace(".", ",")


class _Figures:
    """Everything the rules need, recomputed from the problem and the allocation."""

    def __init__(self, problem: Problem, allocation: Allocation) -> None:
        self.items: dict[str, WorkItem] = {i.id: i for i in problem.tender.items}
        self.members: dict[str, Member] = {m.id: m for m in problem.members}
        self.owner: dict[str, str] = {}
        self.hours = defaultdict(int)  # (member, period) -> site hours
        self.value: dict[str, Decimal] = defaultdict(Decimal)  # member -> value of its sites
        self.lent_in = defaultdict(int)  # (cocontractor, period) -> hours lent to it
        self.lent_out = defaultdict(int)  # (provider, period) -> hours it lends
        self.lent_pair = defaultdict(int)  # (provider, cocontractor) -> hours over the contract
        for a in allocation.assignments:
            if a.item in self.items and a.member in self.members and a.item not in self.owner:
                self.owner[a.item] = a.member
                item = self.items[a.item]
                self.hours[a.member, item.period] += item.hours
                self.value[a.member] += item.value
        for ph in allocation.provider_hours:
            self.lent_in[ph.member, ph.period] += ph.hours
            self.lent_out[ph.provider, ph.period] += ph.hours
            self.lent_pair[ph.provider, ph.member] += ph.hours

        self._totals = {
            name: _over_periods(getattr(self, name)) for name in ("hours", "lent_in", "lent_out")
        }

    def site_hours(self, member: str) -> int:
        return self._totals["hours"].get(member, 0)

    def received(self, member: str) -> int:
        return self._totals["lent_in"].get(member, 0)

    def lent(self, provider: str) -> int:
        return self._totals["lent_out"].get(provider, 0)


def _over_periods(per_period: dict[tuple[str, str], int]) -> dict[str, int]:
    """Hours per member over the contract, from hours per (member, period): one pass, so that
    checking 13 000 sites and 1 900 members stays linear."""
    total: dict[str, int] = defaultdict(int)
    for (member, _period), hours in per_period.items():
        total[member] += hours
    return total


def check(problem: Problem, allocation: Allocation) -> list[str]:
    """Every violation of the hard rules and every inconsistency, as French sentences."""
    figures = _Figures(problem, allocation)
    problems = _consistency(problem, allocation, figures)
    if allocation.status in ("infeasible", "unknown"):
        return problems
    for rule in (_rule1, _rule2, _rule3, _rule4, _rule5, _rule6, _rule7, _rule8):
        problems += rule(problem, allocation, figures)
    return problems


# --------------------------------------------------------------------------- consistency


def _consistency(problem: Problem, allocation: Allocation, f: _Figures) -> list[str]:
    """References are known, each site appears once, reported totals are the true sums."""
    out: list[str] = []
    seen: set[str] = set()
    for a in allocation.assignments:
        if a.item not in f.items:
            out.append(f"Cohérence : l'affectation cite un site inconnu « {a.item} ».")
        if a.member not in f.members:
            out.append(
                f"Cohérence : le site {a.item} est affecté à un membre inconnu « {a.member} »."
            )
        if a.item in seen:
            out.append(f"Cohérence : le site {a.item} est affecté plusieurs fois.")
        seen.add(a.item)
    if allocation.status in ("infeasible", "unknown") and (
        allocation.assignments or allocation.provider_hours
    ):
        out.append(
            f"Cohérence : une réponse « {allocation.status} » ne doit affecter aucun site ni "
            "aucune heure."
        )
    expected = [i for i in f.items if i not in f.owner]
    listed = allocation.unassigned
    if len(set(listed)) != len(listed):
        out.append("Cohérence : la liste des sites non affectés contient des doublons.")
    missing = sorted(set(expected) - set(listed))
    extra = sorted(set(listed) - set(expected))
    if missing:
        out.append(
            f"Cohérence : sites ni affectés ni déclarés non affectés : {', '.join(missing[:10])}."
        )
    if extra:
        out.append(
            "Cohérence : sites déclarés non affectés à tort (affectés ou inconnus) : "
            f"{', '.join(extra[:10])}."
        )
    periods = {p.id for p in problem.tender.periods}
    for ph in allocation.provider_hours:
        where = f"prêt {ph.provider} → {ph.member}, période {ph.period}"
        provider, receiver = f.members.get(ph.provider), f.members.get(ph.member)
        if provider is None or provider.role is not Role.PROVIDER:
            out.append(f"Cohérence : {where} : « {ph.provider} » n'est pas un prestataire connu.")
        if receiver is None or receiver.role is not Role.COCONTRACTOR:
            out.append(f"Cohérence : {where} : « {ph.member} » n'est pas un cotraitant connu.")
        if periods and ph.period not in periods:
            out.append(f"Cohérence : {where} : période inconnue.")
        if ph.hours < 0:
            out.append(f"Cohérence : {where} : heures négatives ({ph.hours} h).")
    for m in problem.members:
        if m.declined and (
            f.site_hours(m.id) or f.received(m.id) or f.lent(m.id) or f.value.get(m.id)
        ):
            out.append(
                f"Cohérence : {m.id} a décliné ce marché mais reçoit des sites ou des heures."
            )
    covered = sum((f.items[i].value for i in f.owner), Decimal(0))
    if Decimal(allocation.covered_value) != covered:
        out.append(
            f"Cohérence : valeur couverte annoncée {fmt(allocation.covered_value)} €, "
            f"somme des sites affectés {fmt(covered)} €."
        )
    total = sum((i.value for i in problem.tender.items), Decimal(0))
    if allocation.total_value and Decimal(allocation.total_value) != total:
        out.append(
            f"Cohérence : valeur totale annoncée {fmt(allocation.total_value)} €, "
            f"somme des sites {fmt(total)} €."
        )
    for r in allocation.members:
        out += _member_result(r, f)
    if allocation.status == "optimal":
        unproven = [s.name for s in allocation.stages if s.status not in ("optimal", "skipped")]
        if unproven:
            out.append(
                "Cohérence : statut « optimal » alors que ces étapes ne sont pas prouvées : "
                f"{', '.join(unproven)}."
            )
    return out


def _member_result(r: MemberResult, f: _Figures) -> list[str]:
    """A member's reported figures are the sums of its sites (to the cent) and its hours."""
    member = f.members.get(r.member)
    if member is None:
        return [f"Cohérence : résultat pour un membre inconnu « {r.member} »."]
    out: list[str] = []
    if member.role is Role.COCONTRACTOR:
        value, hours, received = (
            f.value.get(r.member, Decimal(0)),
            f.site_hours(r.member),
            f.received(r.member),
        )
        if Decimal(r.value) != value:
            out.append(
                f"Cohérence : {r.member} : chiffre d'affaires annoncé {fmt(r.value)} €, "
                f"somme de ses sites {fmt(value)} €."
            )
        if r.hours != hours:
            out.append(f"Cohérence : {r.member} : {r.hours} h annoncées, ses sites font {hours} h.")
        if r.lent_hours != received:
            out.append(
                f"Cohérence : {r.member} : {r.lent_hours} h reçues annoncées, {received} h prêtées."
            )
        mine = sorted(i for i, m in f.owner.items() if m == r.member)
        if r.items and sorted(r.items) != mine:
            out.append(
                f"Cohérence : {r.member} : sa liste de sites ne correspond pas aux affectations."
            )
    else:
        lent = f.lent(r.member)
        if r.lent_hours != lent or r.hours != lent:
            out.append(
                f"Cohérence : {r.member} : {r.lent_hours} h prêtées annoncées, "
                f"{lent} h dans les prêts."
            )
    return out


# --------------------------------------------------------------------------- rules 1–8


def _rule1(problem: Problem, allocation: Allocation, f: _Figures) -> list[str]:
    """Each site whole to at most one co-contractor; pins and forbids hold."""
    out: list[str] = []
    for item, member in f.owner.items():
        if f.members[member].role is not Role.COCONTRACTOR:
            out.append(
                f"Règle 1 : le site {item} est affecté à {member}, qui n'est pas cotraitant."
            )
    for pin in problem.policy.pins:
        if f.owner.get(pin.item) != pin.member:
            got = f.owner.get(pin.item, "personne")
            out.append(f"Règle 1 : le site {pin.item} est réservé à {pin.member} mais va à {got}.")
    for forbid in problem.policy.forbids:
        if f.owner.get(forbid.item) == forbid.member:
            out.append(
                f"Règle 1 : le site {forbid.item} est interdit à {forbid.member} "
                "mais lui est affecté."
            )
    return out


def _rule2(problem: Problem, allocation: Allocation, f: _Figures) -> list[str]:
    """Trade, territory and distance of each assigned site."""
    out: list[str] = []
    limit = problem.policy.max_distance_km
    for item_id, member_id in f.owner.items():
        item, member = f.items[item_id], f.members[member_id]
        if item.trade not in member.trades:
            out.append(
                f"Règle 2 : {member_id} n'a pas le métier « {item.trade} » du site {item_id}."
            )
        if item.territory not in member.territories:
            out.append(
                f"Règle 2 : {member_id} ne couvre pas le territoire {item.territory} "
                f"du site {item_id}."
            )
        if limit is not None:
            km = great_circle_km(member.lat, member.lon, item.lat, item.lon)
            if km > limit + DISTANCE_EPSILON_KM:
                out.append(
                    f"Règle 2 : le site {item_id} est à {fmt(km, 3)} km de {member_id}, "
                    f"au-delà de la limite de {fmt(limit, 3)} km."
                )
    return out


def _rule3(problem: Problem, allocation: Allocation, f: _Figures) -> list[str]:
    """Per period: site hours ≤ own capacity + hours lent to the co-contractor."""
    out: list[str] = []
    for (member_id, period), hours in sorted(f.hours.items()):
        own = f.members[member_id].capacity_hours.get(period, 0)
        lent = f.lent_in.get((member_id, period), 0)
        if hours > own + lent:
            out.append(
                f"Règle 3 : {member_id}, période {period} : {hours} h de sites pour {own} h de "
                f"capacité propre + {lent} h prêtées (dépassement de {hours - own - lent} h)."
            )
    return out


def _rule4(problem: Problem, allocation: Allocation, f: _Figures) -> list[str]:
    """Providers lend where territories meet, within capacity and within the share cap."""
    out: list[str] = []
    for ph in allocation.provider_hours:
        provider, receiver = f.members.get(ph.provider), f.members.get(ph.member)
        shared = provider and receiver and set(provider.territories) & set(receiver.territories)
        if provider and receiver and ph.hours > 0 and not shared:
            out.append(
                f"Règle 4 : {ph.provider} prête {ph.hours} h à {ph.member} "
                f"(période {ph.period}) sans territoire commun."
            )
    for (provider_id, period), lent in sorted(f.lent_out.items()):
        provider = f.members.get(provider_id)
        if provider is None:
            continue
        capacity = provider.capacity_hours.get(period, 0)
        if lent > capacity:
            out.append(
                f"Règle 4 : {provider_id}, période {period} : {lent} h prêtées pour une capacité "
                f"de {capacity} h (dépassement de {lent - capacity} h)."
            )
    share = problem.policy.max_provider_share
    if share is not None:
        cap_share = exact(share)
        for (member_id, period), lent in sorted(f.lent_in.items()):
            hours = f.hours.get((member_id, period), 0)
            if lent > cap_share * hours:
                out.append(
                    f"Règle 4 : {member_id}, période {period} : {lent} h prêtées pour {hours} h de "
                    f"sites, au-delà de {fmt(cap_share * 100)} % ({fmt(cap_share * hours)} h)."
                )
    return out


def _rule5(problem: Problem, allocation: Allocation, f: _Figures) -> list[str]:
    """The 480-hour rule: an AI lends at most cap × workers to any one company."""
    per_worker = problem.policy.ai_max_hours_per_worker
    if per_worker is None:
        return []
    out: list[str] = []
    for (provider_id, member_id), hours in sorted(f.lent_pair.items()):
        provider, receiver = f.members.get(provider_id), f.members.get(member_id)
        if provider is None or receiver is None or provider.kind is not MemberKind.AI:
            continue
        if receiver.kind not in CAPPED_KINDS:
            continue
        limit = per_worker * provider.workers
        if hours > limit:
            out.append(
                f"Règle 5 : l'AI {provider_id} prête {hours} h à {member_id} "
                f"({receiver.kind.value}) sur le marché, au-delà de {per_worker} h × "
                f"{provider.workers} salariés = {limit} h."
            )
    return out


def _rule6(problem: Problem, allocation: Allocation, f: _Figures) -> list[str]:
    """Economic dependency: turnover from this market ≤ max_dependency × annual turnover."""
    dependency = problem.policy.max_dependency
    if dependency is None:
        return []
    ratio = exact(dependency)
    out: list[str] = []
    for m in problem.members:
        if m.role is Role.COCONTRACTOR:
            turnover = Fraction(f.value.get(m.id, Decimal(0)))
        else:
            turnover = Fraction(f.lent(m.id)) * Fraction(m.hourly_rate or 0)
        limit = ratio * Fraction(m.annual_turnover)
        if turnover > limit:
            out.append(
                f"Règle 6 : {m.id} tirerait {fmt(turnover)} € de ce marché, au-delà de "
                f"{fmt(ratio * 100)} % de son chiffre d'affaires annuel ({fmt(limit)} €)."
            )
    return out


def insertion_hours(problem: Problem, allocation: Allocation) -> Fraction:
    """Rule 7's insertion hours of an allocation, exactly."""
    f = _Figures(problem, allocation)
    total = Fraction(0)
    for m in problem.members:
        if m.role is Role.COCONTRACTOR:
            total += exact(m.insertion_rate) * (f.site_hours(m.id) - f.received(m.id))
        else:
            total += exact(m.insertion_rate) * f.lent(m.id)
    return total


def _rule7(problem: Problem, allocation: Allocation, f: _Figures) -> list[str]:
    """Insertion hours (social clause) ≥ insertion_hours_min."""
    minimum = problem.tender.insertion_hours_min
    got = insertion_hours(problem, allocation)
    if got < minimum:
        return [
            f"Règle 7 : {fmt(got)} heures d'insertion pour un minimum de {minimum} h "
            f"(il manque {fmt(minimum - got)} h)."
        ]
    return []


def _rule8(problem: Problem, allocation: Allocation, f: _Figures) -> list[str]:
    """Total lent hours ≥ min_provider_share × total assigned hours."""
    share = problem.policy.min_provider_share
    if share is None:
        return []
    lent = sum(f.lent_out.values())
    assigned = sum(f.hours.values())
    needed = exact(share) * assigned
    if lent < needed:
        return [
            f"Règle 8 : {lent} h prêtées par les prestataires pour {assigned} h de sites affectés, "
            f"en dessous de {fmt(exact(share) * 100)} % ({fmt(needed)} h)."
        ]
    return []


# --------------------------------------------------------------------------- fairness


def target_shares(problem: Problem) -> dict[str, Fraction]:
    """Each co-contractor's target share t_m of the covered value, from policy.target."""
    cocontractors = [m for m in problem.members if m.role is Role.COCONTRACTOR and not m.declined]
    target = problem.policy.target
    if target == "capacity":
        weights = {m.id: Fraction(m.total_capacity) for m in cocontractors}
    elif target == "equal":
        weights = {m.id: Fraction(1) for m in cocontractors}
    else:
        weights = {m.id: exact(target.get(m.id, 0)) for m in cocontractors}
    total = sum(weights.values())
    if total == 0:
        return {m: Fraction(1, len(weights)) for m in weights} if weights else {}
    return {m: w / total for m, w in weights.items()}


def fairness_excess(problem: Problem, allocation: Allocation) -> dict[str, Decimal]:
    """Each co-contractor's euros outside its window [target(1−tol), target(1+tol)]."""
    f = _Figures(problem, allocation)
    covered = Fraction(sum((f.items[i].value for i in f.owner), Decimal(0)))
    tolerance = exact(problem.policy.fairness_tolerance or 0)
    result: dict[str, Decimal] = {}
    for member_id, share in target_shares(problem).items():
        target = share * covered
        value = Fraction(f.value.get(member_id, Decimal(0)))
        excess = max(
            Fraction(0), target * (1 - tolerance) - value, value - target * (1 + tolerance)
        )
        result[member_id] = (Decimal(excess.numerator) / Decimal(excess.denominator)).quantize(
            Decimal("0.01")
        )
    return result
