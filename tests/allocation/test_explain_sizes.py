"""Explanations at realistic sizes and their figures (allocation/explain.py).

Infeasible tenders of 130 sites must get their rules named (the assumption-based core alone
ran out of time there), the social clause's reach must be the maximum under every other rule
(computed here by hand), partly covered tenders must say which rule blocks and by how much,
or say that time ran out, and the declared-hours sentence must never show a part larger than
its whole. Every expected figure below is worked out from the problem, not read from the
solver.
"""

from __future__ import annotations

import time
from typing import Any

from bench.instances import eligible_pairs, seed_problem
from coop_tender.allocation.explain import _single_move_blocks, explain_partial
from coop_tender.allocation.model import SCALE, build_model, prepare
from coop_tender.allocation.solve import Solution, fix_rules
from coop_tender.models import Allocation, Problem, Role
from tests.allocation.helpers import item, member, problem, provider, solved


def flat(a: Allocation | list[str]) -> str:
    """The explanation as one string, French spaces made plain."""
    sentences = a.explanation if isinstance(a, Allocation) else a
    return " ".join(sentences).replace("\u202f", " ").replace("\xa0", " ")


def changed(p: Problem, **tender: Any) -> Problem:
    """The problem with some tender fields replaced (validated again)."""
    data = p.model_dump(mode="json")
    data["tender"].update(tender)
    return Problem.model_validate(data)


# --------------------------------------------------------------------------- infeasible, 130 sites


def test_unreachable_social_clause_on_130_sites_is_named_alone() -> None:
    p = seed_problem()
    total = sum(it.hours for it in p.tender.items)
    best_rate = max(m.insertion_rate for m in p.members)
    required = int(total * 0.99)
    # Every hour, own or lent, counts at most at the best rate: the clause alone cannot hold.
    assert required > best_rate * total
    started = time.perf_counter()
    a = solved(changed(p, insertion_hours_min=required), time_limit=12.0)
    assert time.perf_counter() - started < 13.0
    assert a.status == "infeasible"
    head = flat(a)
    assert "Ces règles ne peuvent pas être tenues ensemble : la clause sociale (règle 7)." in head
    assert "temps a manqué pour isoler" not in head
    assert "non minimal" not in head


def test_pin_to_a_member_without_hours_on_130_sites_names_pin_capacity_and_share() -> None:
    p = seed_problem()
    cocs = {m.id: m for m in p.members if m.role is Role.COCONTRACTOR}
    items = {it.id: it for it in p.tender.items}
    site, mid = next((i, m) for i, m in eligible_pairs(p) if items[i].period == "ete")
    data = p.model_dump(mode="json")
    for m in data["members"]:
        if m["id"] == mid:
            m["capacity_hours"]["ete"] = 0
    data["policy"]["pins"] = [{"item": site, "member": mid}]
    pinned = Problem.model_validate(data)
    # 0 own hours in summer, and lent hours are at most 30 % of the member's site hours: the
    # pinned site needs own hours (capacity, rule 3) beyond what lending may cover (rule 4).
    assert pinned.policy.max_provider_share == 0.3 and cocs[mid].capacity_hours["ete"] > 0
    a = solved(pinned, time_limit=15.0)
    assert a.status == "infeasible"
    text = flat(a)
    first = text.split(" Sans l'une")[0]
    assert f"la réservation du site {site} à {mid} (règle 1)" in first
    assert "les capacités déclarées par les cotraitants (règle 3)" in first
    assert "la part maximale des heures prêtées à un cotraitant (règle 4)" in first
    assert first.count(" ; ") == 2  # exactly these three rules
    assert "Sans l'une d'elles, les autres pourraient l'être." in text


# --------------------------------------------------------------------------- the clause's reach


def test_reach_of_the_clause_is_the_maximum_under_every_other_rule() -> None:
    # Three 40 h sites. A (60 h, rate 0.37) and B (50 h, rate 0.2) can each take one site
    # only: at most 40 × 0.37 + 40 × 0.2 = 22,8 h of insertion. Without the capacities, A
    # would take all three: 120 × 0.37 = 44,4 h < 50 h, so the clause alone cannot hold.
    items = [item(f"S{n}", 40, 1000) for n in (1, 2, 3)]
    members = [member("A", 60, insertion_rate=0.37), member("B", 50, insertion_rate=0.2)]
    a = solved(problem(items, members, insertion_hours_min=50))
    assert a.status == "infeasible"
    text = flat(a)
    assert "tenues ensemble : la clause sociale (règle 7)." in text
    assert "au plus 22,8 h sont atteignables en respectant toutes les autres règles" in text


def test_reach_of_the_clause_is_zero_when_no_site_can_be_taken() -> None:
    # The only member declares 10 h for a 40 h site: nothing can be assigned, no insertion.
    # Without its capacity it would take the site: 40 × 0.5 = 20 h ≥ 15 h, so both rules.
    a = solved(problem([item("S1", 40, 1000)], [member("A", 10, insertion_rate=0.5)], 15))
    assert a.status == "infeasible"
    text = flat(a)
    assert (
        "tenues ensemble : les capacités déclarées par les cotraitants (règle 3) ; la clause "
        "sociale (règle 7). Sans l'une d'elles" in text
    )
    assert "aucune heure d'insertion n'est atteignable" in text


def test_unproven_reach_gives_the_bound_and_the_best_found() -> None:
    from coop_tender.allocation.explain import Reach, _reach_text

    sentence = _reach_text(Reach("all", 94 * SCALE, 11_830_000), 103)
    plain = sentence.replace("\xa0", " ")
    assert "au plus 94 h sont atteignables (borne prouvée)" in plain
    assert "la meilleure répartition trouvée dans le temps en atteint 11,83 h" in plain
    assert "avec les autres règles de cet ensemble" in _reach_text(Reach("core", 5, 5), 1)


def test_hours_are_rounded_the_safe_way() -> None:
    from coop_tender.allocation.explain import fmt_scaled_h

    assert fmt_scaled_h(11_831_000, up=False) == "11,83\xa0h"
    assert fmt_scaled_h(11_831_000, up=True) == "11,84\xa0h"
    assert fmt_scaled_h(70 * SCALE, up=True) == "70\xa0h"
    # A bound just under the requirement never shows as the requirement itself.
    assert fmt_scaled_h(11_999_000, up=True, below=12 * SCALE) == "11,999\xa0h"


# --------------------------------------------------------------------------- partial coverage


def test_lifting_the_capacity_says_how_much_more_is_covered() -> None:
    # A has 50 h: it takes S2 (2 000 €); without the capacities it would take S1 too.
    items = [item("S1", 40, 1000), item("S2", 40, 2000)]
    a = solved(problem(items, [member("A", 50)]))
    assert [x.item for x in a.assignments] == ["S2"]
    text = flat(a)
    assert (
        "Sans les capacités déclarées par les cotraitants (règle 3), 1 000,00 € de travaux de "
        "plus seraient couverts" in text
    )


def test_single_move_blocks_reads_each_row_upper_bound() -> None:
    # A may earn 2 000 € (rule 6) and has 500 h: S1 is left out by the dependency cap alone.
    # The capacity row `hours ≤ 500` must not count the move (S1 to A) as blocked: its upper
    # bound is the domain's last value, which a negative index on OR-Tools' proto field does
    # not read (it returned memory outside the field).
    items = [item("S1", 40, 1000), item("S2", 40, 2000)]
    members = [member("A", 500, annual_turnover="4000")]
    p = problem(items, members, max_dependency=0.5)
    b = build_model(p, prepare(p))
    fix_rules(b)
    blocks = _single_move_blocks(b, Solution(x={(0, 0): 0, (1, 0): 1}))
    assert blocks.get("dependency") == 1
    assert blocks.get("capacity", 0) == 0


def test_lifting_tests_out_of_time_are_said_not_dropped() -> None:
    items = [item("S1", 40, 1000), item("S2", 40, 2000)]
    p = problem(items, [member("A", 50)])
    data = prepare(p)
    s1, s2 = (next(i for i, it in enumerate(data.items) if it.id == x) for x in ("S1", "S2"))
    solution = Solution(x={(s1, 0): 0, (s2, 0): 1})
    text = flat(explain_partial(p, data, solution, time.perf_counter(), 2))
    assert "Le temps a manqué pour mesurer ce que couvrirait la levée" in text
    assert "les capacités déclarées par les cotraitants (règle 3)" in text


def test_declared_hours_sentence_never_shows_a_part_above_its_whole() -> None:
    # A declares 50 h and serves both territories; P lends it 30 h. A takes S2 in T2 (80 h:
    # 50 own + 30 lent, 5 000 €) and has no own hour left for S1 in T1 (40 h, 1 000 €). Its
    # 80 h of sites elsewhere exceed its 50 declared hours: they are not a part of them.
    items = [item("S1", 40, 1000), item("S2", 80, 5000, territory="T2")]
    members = [
        member("A", 50, territories=["T1", "T2"]),
        provider("P", 30, territories=["T1", "T2"]),
    ]
    a = solved(problem(items, members))
    assert [x.item for x in a.assignments] == ["S2"]
    group = next(s for s in a.explanation if s.startswith("Est Ensemble"))
    plain = group.replace("\u202f", " ").replace("\xa0", " ")
    assert "50 h déclarées pour cette période" in plain
    assert "dont 0 h encore libres" in plain
    assert "80 h de sites dans d'autres territoires, heures prêtées par les prestataires" in plain
    assert "prises par" not in plain
