"""Turn a solution into an Allocation: assignments, lent hours, per-member figures and sentences."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from coop_tender.allocation.explain import (
    fmt_eur_cents,
    fmt_h,
    fmt_pct,
    period_label,
)
from coop_tender.allocation.model import Data, ai_hours_cap, dependency_cap
from coop_tender.models import (
    STAGE_LABELS,
    Allocation,
    Assignment,
    MemberResult,
    Problem,
    ProviderHours,
    Role,
    Stage,
    now,
)
from coop_tender.money import format_euros, from_cents, to_cents


def _coverage_pct(covered: int, total: int) -> str:
    """The covered share, never shown as 100 % while something is left uncovered."""
    if not total or covered >= total:
        return fmt_pct(1.0)
    tenths = covered * 1000 // total  # rounded down: 99.96 % is "99,9 %", not "100,0 %"
    return f"{tenths // 10},{tenths % 10}\xa0%"


def _window(target: float, tol: float) -> tuple[float, float]:
    return (target * (1 - tol), target * (1 + tol))


def _excess(amount: float, lo: float, hi: float) -> float:
    return max(0.0, lo - amount, amount - hi)


def _cocontractor(
    data: Data, k: int, sol, covered: int, received_by: dict, eligible: list[int]
) -> MemberResult:
    """Figures and sentences of one co-contractor (`eligible`: the items it may take)."""
    m, problem = data.cocs[k], data.problem
    policy = problem.policy
    tol = policy.fairness_tolerance or 0.0
    mine = sorted(i for i in eligible if sol.x.get((i, k)))
    mine_set = set(mine)
    hours = sum(data.items[i].hours for i in mine)
    lent = sum(received_by[k].values())
    cents = sum(data.values[i] for i in mine)
    target = data.targets[k]
    lo, hi = _window(target, tol)
    covered_eur = covered / 100
    excess = _excess(cents / 100, lo * covered_eur, hi * covered_eur)
    turnover = to_cents(m.annual_turnover)
    share = cents / covered if covered else 0.0
    lines = [
        f"Cible : {fmt_pct(target)} de la valeur couverte, soit "
        f"{fmt_eur_cents(round(target * covered))} (fenêtre {fmt_pct(lo)} – {fmt_pct(hi)}) ; "
        f"obtenu : {fmt_eur_cents(cents)}, {fmt_pct(share)}"
        + (
            " — dans la fenêtre."
            if excess <= 0.005
            else f" — hors de la fenêtre de {fmt_eur_cents(round(excess * 100))}."
        )
    ]
    eligible_cents = sum(data.values[i] for i in eligible)
    if eligible_cents < lo * covered:
        lines.append(
            f"Limité par l'éligibilité : ses métiers et territoires"
            f"{' et la distance maximale' if policy.max_distance_km else ''} ne lui ouvrent que "
            f"{len(eligible)} site(s), {fmt_eur_cents(eligible_cents)}."
        )
    for t, period in enumerate(data.periods):
        its = data.items_of.get((k, t), [])
        mine_hours = sum(data.items[i].hours for i in its if i in mine_set)
        others = [data.items[i].hours for i in its if i not in mine_set]
        room = data.cap[(k, t)] + received_by[k].get(t, 0) - mine_hours
        if others and room < min(others):
            used = data.cap[(k, t)] + received_by[k].get(t, 0) - room
            lines.append(
                f"Limité par sa capacité en {period_label(problem, period)} : "
                f"{fmt_h(used)} de sites pour {fmt_h(data.cap[(k, t)])} déclarées + "
                f"{fmt_h(received_by[k].get(t, 0))} prêtées ; les {fmt_h(max(room, 0))} restantes "
                f"ne suffisent pour aucun autre de ses sites possibles (le plus petit fait "
                f"{fmt_h(min(others))})."
            )
    if policy.max_dependency is not None:
        cap = dependency_cap(policy, m)
        others = [data.values[i] for i in eligible if i not in mine_set]
        if others and cap - cents < min(others):
            lines.append(
                f"Limité par le plafond de dépendance : {fmt_eur_cents(cents)} sur "
                f"{fmt_eur_cents(cap)} autorisés ({fmt_pct(policy.max_dependency)} de son "
                f"chiffre d'affaires de {format_euros(m.annual_turnover)})."
            )
    if lent:
        lines.append(f"Reçoit {fmt_h(lent)} prêtées par les prestataires.")
    own = hours - lent
    return MemberResult(
        member=m.id,
        name=m.name,
        role=Role.COCONTRACTOR,
        hours=hours,
        own_hours=own,
        lent_hours=lent,
        value=from_cents(cents),
        share=share,
        target=target,
        window=(lo, hi),
        excess=round(excess, 2),
        insertion_hours=round(m.insertion_rate * own, 2),
        distance_km=round(sum(data.dist_km[(i, k)] for i in mine), 1),
        dependency=(cents / turnover) if turnover else 0.0,
        items=[data.items[i].id for i in mine],
        explanation=lines,
    )


def _provider(data: Data, p: int, lends_of: dict, total_lent: int) -> MemberResult:
    """Figures and sentences of one provider."""
    m, problem = data.provs[p], data.problem
    policy = problem.policy
    tol = policy.fairness_tolerance or 0.0
    mine = lends_of.get(p, {})
    lent = sum(mine.values())
    rate = to_cents(m.hourly_rate) if m.hourly_rate is not None else 0
    cents = lent * rate
    target = data.prov_targets[p]
    lo, hi = _window(target, tol)
    excess = _excess(lent, lo * total_lent, hi * total_lent)
    share = lent / total_lent if total_lent else 0.0
    lines = [
        f"Cible : {fmt_pct(target)} des heures prêtées (sa part des capacités déclarées par "
        f"les prestataires), fenêtre {fmt_pct(lo)} – {fmt_pct(hi)} ; prêté : {fmt_h(lent)}, "
        f"{fmt_pct(share)}"
        + (" — dans la fenêtre." if excess < 0.5 else f" — hors de la fenêtre de {fmt_h(excess)}.")
    ]
    if not any(key[0] == p for key in data.lend_pairs):
        lines.append(
            "Ne partage aucun territoire avec un cotraitant ayant des sites sur une période où "
            "il a déclaré des heures : il ne peut rien prêter."
        )
    by_member: dict[int, int] = defaultdict(int)
    for (_p, k, _t), h in mine.items():
        by_member[k] += h
    if by_member:
        lines.append(
            "Heures prêtées à : "
            + ", ".join(f"{data.cocs[k].name} ({fmt_h(h)})" for k, h in sorted(by_member.items()))
            + "."
        )
    for t, period in enumerate(data.periods):
        used = sum(h for (_p, _k, tt), h in mine.items() if tt == t)
        if data.pcap[(p, t)] and used >= data.pcap[(p, t)]:
            lines.append(
                f"Limité par sa capacité en {period_label(problem, period)} : "
                f"{fmt_h(data.pcap[(p, t)])} toutes prêtées."
            )
    for k, h in by_member.items():
        limit = ai_hours_cap(policy, m, data.cocs[k])
        if limit is not None and h >= limit:
            lines.append(
                f"Limité par la règle des {policy.ai_max_hours_per_worker} heures envers "
                f"{data.cocs[k].name} : {fmt_h(h)} pour {m.workers} salarié(s)."
            )
    turnover = to_cents(m.annual_turnover)
    if policy.max_dependency is not None and rate:
        cap = dependency_cap(policy, m)
        if cap - cents < rate:
            lines.append(
                f"Limité par le plafond de dépendance : {fmt_eur_cents(cents)} sur "
                f"{fmt_eur_cents(cap)} autorisés."
            )
    return MemberResult(
        member=m.id,
        name=m.name,
        role=Role.PROVIDER,
        hours=lent,
        own_hours=0,
        lent_hours=lent,
        value=from_cents(cents),
        share=share,
        target=target,
        window=(lo, hi),
        excess=round(excess, 2),
        insertion_hours=round(m.insertion_rate * lent, 2),
        distance_km=0.0,
        dependency=(cents / turnover) if turnover else 0.0,
        items=[],
        explanation=lines,
    )


def target_warnings(problem: Problem, data: Data) -> list[str]:
    """Say it when policy.target (a table of shares) names members that are not
    co-contractors, or gives them all a zero share (equal shares are then used)."""
    target = problem.policy.target
    if not isinstance(target, dict):
        return []
    ids = {m.id for m in data.cocs}
    unknown = sorted(set(target) - ids)
    out = []
    if len(unknown) == 1:
        out.append(
            f"Parts cibles : {unknown[0]} n'est pas cotraitant de ce marché ; sa part n'est "
            "pas comptée."
        )
    elif unknown:
        out.append(
            f"Parts cibles : {', '.join(unknown)} ne sont pas cotraitants de ce marché ; leurs "
            "parts ne sont pas comptées."
        )
    if data.cocs and not any(target.get(i, 0) for i in ids):
        out.append(
            "Parts cibles : aucun cotraitant n'a de part non nulle dans la politique du "
            "groupement ; des parts égales sont utilisées."
        )
    return out


def build_allocation(
    problem: Problem, data: Data, outcome, extra: list[str], solver: str
) -> Allocation:
    """The Allocation of a solved model, with its per-member figures and explanations."""
    sol = outcome.solution
    assignments = [
        Assignment(item=data.items[i].id, member=data.cocs[k].id)
        for (i, k), v in sorted(sol.x.items())
        if v
    ]
    assigned = {i for (i, _k), v in sol.x.items() if v}
    received_by: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for (_p, k, t), h in sol.lend.items():
        received_by[k][t] += h
    covered = sum(data.values[i] for i in assigned)
    total_lent = sum(sol.lend.values())
    eligible_of: list[list[int]] = [[] for _ in data.cocs]
    for i, ms in enumerate(data.eligible):
        for k in ms:
            eligible_of[k].append(i)
    members = [
        _cocontractor(data, k, sol, covered, received_by, eligible_of[k])
        for k in range(len(data.cocs))
    ]
    lends_of: dict[int, dict] = defaultdict(dict)
    for key, h in sol.lend.items():
        if h:
            lends_of[key[0]][key] = h
    members += [_provider(data, p, lends_of, total_lent) for p in range(len(data.provs))]
    insertion = sum(r.insertion_hours for r in members)
    status = "optimal" if all(s.status == "optimal" for s in outcome.stages) else "feasible"
    total = sum(data.values)
    summary = [
        f"Valeur couverte : {fmt_eur_cents(covered)} sur {fmt_eur_cents(total)} "
        f"({_coverage_pct(covered, total)}), {len(assigned)} site(s) sur "
        f"{len(data.items)}.",
        f"Heures d'insertion : {fmt_h(insertion)} pour {fmt_h(problem.tender.insertion_hours_min)} "
        "exigées par la clause sociale.",
        f"Heures prêtées par les prestataires : {fmt_h(total_lent)}.",
    ]
    summary += target_warnings(problem, data)
    if status != "optimal":
        pending = [STAGE_LABELS[s.name].lower() for s in outcome.stages if s.status != "optimal"]
        summary.append(
            "Répartition valable mais non prouvée optimale pour : " + ", ".join(pending) + "."
        )
    return Allocation(
        status=status,
        assignments=assignments,
        provider_hours=[
            ProviderHours(
                provider=data.provs[p].id,
                member=data.cocs[k].id,
                period=data.periods[t],
                hours=h,
            )
            for (p, k, t), h in sorted(sol.lend.items())
            if h
        ],
        unassigned=[it.id for i, it in enumerate(data.items) if i not in assigned],
        stages=outcome.stages,
        members=members,
        explanation=summary + extra,
        total_value=from_cents(total),
        covered_value=from_cents(covered),
        insertion_hours=round(insertion, 2),
        insertion_hours_min=problem.tender.insertion_hours_min,
        computed_at=now(),
        solver=solver,
    )


def infeasible_allocation(
    problem: Problem,
    data: Data,
    stages: list[Stage],
    sentences: list[str],
    proven: bool = True,
) -> Allocation:
    """No allocation: every item unassigned, the reasons in `explanation`.

    When no solution was found in time but none was proven impossible either, and leaving
    everything unassigned is itself valid (no pin, no social clause), that empty allocation is
    returned as "feasible"; otherwise the status is "unknown", never an infeasibility that was
    not proven.
    """
    from coop_tender.allocation.solve import solver_name

    names = ("coverage", "turnover_fairness", "provider_fairness", "travel")
    done = {s.name for s in stages}
    stages = list(stages) + [Stage(name=n, status="skipped") for n in names if n not in done]
    empty_ok = not problem.policy.pins and problem.tender.insertion_hours_min == 0
    status = "infeasible" if proven else ("feasible" if empty_ok else "unknown")
    return Allocation(
        status=status,
        unassigned=[it.id for it in data.items],
        stages=stages,
        members=[],
        explanation=sentences,
        total_value=from_cents(sum(data.values)),
        covered_value=Decimal("0.00"),
        insertion_hours=0,
        insertion_hours_min=problem.tender.insertion_hours_min,
        computed_at=now(),
        solver=solver_name(),
    )
