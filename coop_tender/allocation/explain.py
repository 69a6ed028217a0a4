"""French explanations: why items stay unassigned, and which rules make a tender infeasible.

Unassigned items are grouped by (territory, period) with the hours of work and the hours the
members covering them declared, then each global rule is lifted in turn to see whether it is
the one that blocks coverage. An infeasible tender gets a minimal core of rule groups: CP-SAT
assumptions give a sufficient core, which is then made minimal by removing each rule in turn.
"""

from __future__ import annotations

import time
from collections import defaultdict
from decimal import Decimal

from ortools.sat.python import cp_model

from coop_tender.allocation.model import (
    COMPANY_KINDS,
    SCALE,
    Built,
    Data,
    build_model,
    insertion_expr,
)
from coop_tender.models import MemberKind, Problem
from coop_tender.money import NNBSP, format_euros, from_cents, to_cents

RULE_LABELS = {
    "capacity": "les capacités déclarées par les cotraitants (règle 3)",
    "provider_capacity": "les capacités des prestataires (règle 4)",
    "provider_share": "la part maximale des heures prêtées à un cotraitant (règle 4)",
    "ai_480": "la règle des 480 heures par salarié d'AI et par entreprise (règle 5)",
    "dependency": "le plafond de dépendance économique (règle 6)",
    "social_clause": "la clause sociale (règle 7)",
    "min_provider_share": "la part minimale des heures confiées aux prestataires (règle 8)",
}


def rule_label(name: str) -> str:
    """A rule group's name in French (pins are named by their site and member)."""
    if name.startswith("pin:"):
        _, item, member = name.split(":", 2)
        return f"la réservation du site {item} à {member} (règle 1)"
    return RULE_LABELS.get(name, name)


# --------------------------------------------------------------------------- French figures


def fmt_int(n: float) -> str:
    """`5400` → `5 400` (narrow no-break space between thousands)."""
    text = f"{round(n):,}".replace(",", NNBSP)
    return text


def fmt_h(n: float) -> str:
    return f"{fmt_int(n)}\xa0h"


def fmt_pct(x: float) -> str:
    return f"{x * 100:.1f}".replace(".", ",") + "\xa0%"


def fmt_eur_cents(cents: int) -> str:
    return format_euros(from_cents(cents))


def territory_name(problem: Problem, territory: str) -> str:
    names = {t.id: t.name for t in problem.tender.territories}
    return names.get(territory, territory)


def period_label(problem: Problem, period: str) -> str:
    labels = {p.id: p.label for p in problem.tender.periods}
    return labels.get(period) or period


# --------------------------------------------------------------------------- partial coverage


def _group_sentence(
    data: Data, territory: str, t: int, unassigned: list[int], taken: dict[int, int]
) -> str:
    """One (territory, period) group: work hours, declared hours, and per-item static reasons."""
    problem, period = data.problem, data.periods[t]
    work = [
        i for i, it in enumerate(data.items) if it.territory == territory and it.period == period
    ]
    hours = sum(data.items[i].hours for i in work)
    trades = {data.items[i].trade for i in work}
    cocs = [
        k for k, m in enumerate(data.cocs) if territory in m.territories and trades & set(m.trades)
    ]
    declared = sum(data.cap[(k, t)] for k in cocs)
    members = set(cocs)
    elsewhere = sum(
        data.items[i].hours
        for i, k in taken.items()
        if k in members and data.items[i].period == period and data.items[i].territory != territory
    )
    provs = [p for p, m in enumerate(data.provs) if territory in m.territories]
    lendable = sum(data.pcap[(p, t)] for p in provs)
    missing_h = sum(data.items[i].hours for i in unassigned)
    missing_v = sum(data.values[i] for i in unassigned)
    head = (
        f"{territory_name(problem, territory)}, {period_label(problem, period)} : "
        f"{fmt_h(hours)} de travaux, {fmt_h(declared)} déclarées par les {len(cocs)} cotraitant(s) "
        f"couvrant ce territoire avec ces métiers"
    )
    if elsewhere:
        head += f" (dont {fmt_h(elsewhere)} prises par leurs sites d'autres territoires)"
    if provs:
        head += f" et {fmt_h(lendable)} par les {len(provs)} prestataire(s) du territoire"
    head += (
        f" ; {len(unassigned)} site(s) non attribué(s) ({fmt_h(missing_h)}, "
        f"{fmt_eur_cents(missing_v)})"
    )
    static = [i for i in unassigned if i in data.no_member_reason]
    if static:
        reasons: dict[str, list[str]] = defaultdict(list)
        for i in static:
            reasons[data.no_member_reason[i]].append(data.items[i].id)
        parts = [
            f"{', '.join(ids[:8])}{' …' if len(ids) > 8 else ''} : {why}"
            for why, ids in reasons.items()
        ]
        head += " — " + " ; ".join(parts)
    others = len(unassigned) - len(static)
    if others:
        if declared + lendable - elsewhere < hours:
            head += (
                f" — {others} site(s) faute de capacité : les heures propres restantes et les "
                "heures prêtables ne suffisent pas"
            )
        else:
            head += f" — {others} site(s) bloqué(s) par les règles globales ci-dessous"
    return head + "."


def _relaxation_sentences(
    problem: Problem, data: Data, covered: int, deadline: float, workers: int
) -> list[str]:
    """Lift each global rule in turn: the ones whose removal raises coverage are blocking."""
    from coop_tender.allocation.solve import fix_rules, new_solver

    groups = ["capacity", "provider_capacity", "provider_share", "ai_480", "dependency"]
    groups += ["min_provider_share"]
    out: list[str] = []
    build = 0.0  # the last model's building time: it counts against the deadline too
    for n, group in enumerate(groups):
        if deadline - time.perf_counter() < build + 0.05:
            break
        started = time.perf_counter()
        b = build_model(problem, data)
        build = time.perf_counter() - started
        budget = min((deadline - time.perf_counter()) / (len(groups) - n), 3.0)
        if budget < 0.05:
            break
        fix_rules(b, {group: False})
        b.model.maximize(b.covered)
        solver = new_solver(budget, workers)
        code = solver.solve(b.model)
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            better = round(solver.objective_value) - covered
            if better > 0:
                proven = "" if code == cp_model.OPTIMAL else "au moins "
                out.append(
                    f"Sans {RULE_LABELS[group]}, {proven}{fmt_eur_cents(better)} de travaux "
                    "de plus seraient couverts : c'est une règle qui bloque."
                )
    return out


def explain_partial(
    problem: Problem, data: Data, solution, deadline: float, workers: int
) -> list[str]:
    """Sentences for items left unassigned, grouped by (territory, period); empty if all covered."""
    taken = {i: k for (i, k), v in solution.x.items() if v}
    assigned = set(taken)
    unassigned = [i for i in range(len(data.items)) if i not in assigned]
    if not unassigned:
        return []
    tidx = {p: t for t, p in enumerate(data.periods)}
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i in unassigned:
        it = data.items[i]
        groups[(it.territory, tidx[it.period])].append(i)
    total = sum(data.values[i] for i in unassigned)
    out = [
        f"{len(unassigned)} site(s) sur {len(data.items)} restent non attribués "
        f"({fmt_eur_cents(total)}) :"
    ]
    out += [_group_sentence(data, terr, t, its, taken) for (terr, t), its in sorted(groups.items())]
    if any(i not in data.no_member_reason for i in unassigned):
        covered = sum(data.values[i] for i in assigned)
        out += _relaxation_sentences(problem, data, covered, deadline, workers)
    return out


# --------------------------------------------------------------------------- infeasibility


def _solve_with(b: Built, names: list[str], seconds: float) -> tuple[int, list[str]]:
    """Feasibility solve assuming the rule literals in `names` (others free); returns the core."""
    from coop_tender.allocation.solve import free_rules, new_solver

    free_rules(b)
    b.model.clear_objective()
    b.model.clear_hints()
    b.model.clear_assumptions()
    b.model.add_assumptions([b.rules[n] for n in names])
    solver = new_solver(seconds, 1)  # cores need a single worker
    code = solver.solve(b.model)
    core: list[str] = []
    if code == cp_model.INFEASIBLE:
        found = set(solver.sufficient_assumptions_for_infeasibility())
        core = [n for n in names if b.rules[n].index in found]
    return code, core


def minimal_core(b: Built, deadline: float) -> tuple[list[str], bool]:
    """A core of rule groups, minimal when every removal test finished (second value)."""
    names = list(b.rules)
    left = deadline - time.perf_counter()
    code, core = _solve_with(b, names, max(left * 0.4, 0.5))
    if code != cp_model.INFEASIBLE:
        return [], False
    if not core:
        core = names
    minimal = True
    for name in list(core):
        if name not in core:
            continue
        trial = [n for n in core if n != name]
        left = deadline - time.perf_counter()
        if left < 0.05:
            minimal = False
            break
        code, smaller = _solve_with(b, trial, max(min(left / 2, 5.0), 0.05))
        if code == cp_model.INFEASIBLE:
            core = smaller or trial
        elif code != cp_model.FEASIBLE and code != cp_model.OPTIMAL:
            minimal = False
    return core, minimal


def _max_insertion(b: Built, core: list[str], deadline: float) -> int | None:
    """The most insertion hours reachable under the other rules of the core."""
    from coop_tender.allocation.solve import fix_rules, new_solver

    fix_rules(b, {n: (n in core and n != "social_clause") for n in b.rules})
    b.model.clear_assumptions()
    b.model.maximize(insertion_expr(b))
    left = deadline - time.perf_counter()
    solver = new_solver(max(min(left, 3.0), 0.2), 1)
    code = solver.solve(b.model)
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return int(solver.best_objective_bound) // SCALE
    return None


def rule_sentence(name: str, data: Data, b: Built, core: list[str], deadline: float) -> str:
    """One rule group of a core, in plain French with its figures."""
    problem, policy = data.problem, data.problem.policy
    total_h = sum(it.hours for it in data.items)
    if name.startswith("pin:"):
        _, item_id, member_id = name.split(":", 2)
        i = next(k for k, it in enumerate(data.items) if it.id == item_id)
        k = next(k for k, m in enumerate(data.cocs) if m.id == member_id)
        it, m = data.items[i], data.cocs[k]
        t = data.periods.index(it.period)
        pinned_h = sum(
            data.items[j].hours
            for j, kk in data.pins
            if kk == k and data.items[j].period == it.period
        )
        return (
            f"Le site {it.id} ({fmt_h(it.hours)}, {fmt_eur_cents(data.values[i])}) est réservé à "
            f"{m.name} (pins), qui a déclaré {fmt_h(data.cap[(k, t)])} pour "
            f"{period_label(problem, it.period)} ({fmt_h(pinned_h)} de sites réservés à ce "
            f"membre sur cette période) et un chiffre d'affaires de "
            f"{format_euros(m.annual_turnover)}."
        )
    if name == "social_clause":
        best = _max_insertion(b, core, deadline)
        reach = (
            f" ; au plus {fmt_h(best)} sont atteignables avec les autres règles"
            if best is not None
            else ""
        )
        return (
            f"La clause sociale exige {fmt_h(problem.tender.insertion_hours_min)} d'insertion "
            f"(règle 7){reach} ({fmt_h(total_h)} de travaux au total)."
        )
    if name == "capacity":
        declared = sum(data.cap.values())
        return (
            f"Les cotraitants ont déclaré {fmt_h(declared)} au total pour {fmt_h(total_h)} "
            "de travaux (règle 3)."
        )
    if name == "provider_capacity":
        return (
            f"Les prestataires ont déclaré {fmt_h(sum(data.pcap.values()))} à prêter au total "
            "(règle 4)."
        )
    if name == "provider_share":
        return (
            f"Au plus {fmt_pct(policy.max_provider_share or 0)} des heures d'un cotraitant "
            "peuvent lui être prêtées par les prestataires (règle 4)."
        )
    if name == "ai_480":
        ais = [p for p in data.provs if p.kind is MemberKind.AI]
        companies = [m for m in data.cocs if m.kind in COMPANY_KINDS]
        return (
            f"Une AI ne met pas plus de {fmt_h(policy.ai_max_hours_per_worker or 0)} par salarié "
            f"à disposition d'une même entreprise (règle 5) : {len(ais)} AI, "
            f"{sum(p.workers for p in ais)} salariés, {len(companies)} cotraitants concernés."
        )
    if name == "dependency":
        dep = policy.max_dependency or 0
        caps = sum(int(Decimal(str(dep)) * to_cents(m.annual_turnover)) for m in data.cocs)
        return (
            f"Aucun membre ne doit tirer plus de {fmt_pct(dep)} de son chiffre d'affaires de ce "
            f"marché (règle 6) : les cotraitants peuvent recevoir au plus {fmt_eur_cents(caps)} "
            f"ensemble, pour {fmt_eur_cents(sum(data.values))} de travaux."
        )
    if name == "min_provider_share":
        return (
            f"Au moins {fmt_pct(policy.min_provider_share or 0)} des heures attribuées doivent "
            f"être prêtées par les prestataires (règle 8), qui ont déclaré "
            f"{fmt_h(sum(data.pcap.values()))} pour {len(data.provs)} prestataire(s)."
        )
    return name


def explain_infeasible(problem: Problem, data: Data, deadline: float, workers: int) -> list[str]:
    """Name a minimal set of rules that cannot hold together, with figures."""
    del workers  # the core is computed with one worker, as CP-SAT requires
    b = build_model(problem, data)
    core, minimal = minimal_core(b, deadline)
    if not core:
        return [
            "Aucune répartition ne respecte toutes les règles, mais le temps a manqué pour "
            "isoler les règles en cause."
        ]
    labels = [rule_label(n) for n in core]
    qualifier = "" if minimal else " (ensemble peut-être non minimal, faute de temps)"
    out = [
        "Aucune répartition ne respecte toutes les règles. Ces règles ne peuvent pas être "
        f"tenues ensemble{qualifier} : " + " ; ".join(labels) + "."
    ]
    if minimal and len(core) > 1:
        out[0] += " Sans l'une d'elles, les autres pourraient l'être."
    out += [rule_sentence(n, data, b, core, deadline) for n in core]
    return out
