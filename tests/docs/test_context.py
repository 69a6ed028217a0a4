"""The view-model's rules and the rendered HTML, without the slow PDF step."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from coop_tender.cli import main
from coop_tender.docs.context import build_context
from coop_tender.docs.documents import documents
from coop_tender.errors import UserError
from coop_tender.models import Allocation
from coop_tender.workspace import WorkspaceConfig
from tests.docs import sample

CONFIG = WorkspaceConfig(reference="T", groupement="conjoint", mandataire="peintres")


def html_of(stem: str, **config: object) -> str:
    cfg = CONFIG.model_copy(update=config)
    d = build_context(sample.problem(), sample.allocation(), cfg)
    return next(doc.html for doc in documents(d) if doc.stem == stem)


def with_allocation(**changes: object) -> Allocation:
    data = sample.allocation().model_dump()
    data.update(changes)
    return Allocation.model_validate(data)


def test_offer_and_amounts_are_exact_sums_of_sites() -> None:
    d = build_context(sample.problem(), sample.allocation(), CONFIG)
    assert d.offer == sum(sample.expected_values().values())
    assert {c.member.id: c.value for c in d.cocontractors} == sample.expected_values()
    assert d.mandataire is not None and d.mandataire.member.id == "peintres"
    assert [i.id for i in d.unassigned] == ["c-204"]
    assert [p.document for p in d.providers] == ["03-mise-a-disposition-ai-est", "03-DC4-st-nord"]


def test_allocation_that_does_not_fit_is_refused_in_french() -> None:
    bad = with_allocation(assignments=[{"item": "c-999", "member": "peintres"}])
    with pytest.raises(UserError, match="site inconnu « c-999 »"):
        build_context(sample.problem(), bad, CONFIG)
    wrong_total = with_allocation(covered_value="1.00")
    with pytest.raises(UserError, match="ne correspond pas"):
        build_context(sample.problem(), wrong_total, CONFIG)
    with pytest.raises(UserError, match="mandataire inconnu « personne »"):
        build_context(
            sample.problem(),
            sample.allocation(),
            CONFIG.model_copy(update={"mandataire": "personne"}),
        )


def test_default_mandataire_is_flagged_for_confirmation() -> None:
    d = build_context(
        sample.problem(), sample.allocation(), CONFIG.model_copy(update={"mandataire": None})
    )
    assert d.mandataire is not None and d.mandataire.member.id == "script"  # the largest share
    synthese = next(doc.html for doc in documents(d) if doc.stem.startswith("06"))
    assert "désigné par défaut" in synthese


def test_solidaire_changes_payment_and_attri1_wording() -> None:
    convention = html_of("05-convention-de-groupement", groupement="solidaire")
    assert "Le groupement étant solidaire" in convention
    assert "paie directement chaque membre" not in convention
    assert "Répartition indicative" in html_of(
        "04-annexe-repartition-ATTRI1", groupement="solidaire"
    )
    assert "paie directement chaque membre" in html_of("05-convention-de-groupement")


def test_480_hour_excess_is_shown() -> None:
    problem = sample.problem()
    next(m for m in problem.members if m.id == "ai-est").workers = 1  # a 480-hour ceiling
    lending = [
        {"provider": "ai-est", "member": "peintres", "period": "hiver", "hours": 200},
        {"provider": "ai-est", "member": "peintres", "period": "ete", "hours": 300},
        {"provider": "ai-est", "member": "tpl", "period": "ete", "hours": 150},
        {"provider": "st-nord", "member": "script", "period": "ete", "hours": 30},
    ]
    d = build_context(problem, with_allocation(provider_hours=lending), CONFIG)
    ai = next(p for p in d.providers if p.member.id == "ai-est")
    peintres = next(t for t in ai.totals if t.cocontractor.id == "peintres")
    assert peintres.hours == 500 and peintres.limit == 480 and not peintres.within_limit
    assert peintres.workers_needed == 2
    html = next(doc.html for doc in documents(d) if doc.stem == ai.document)
    assert "dépassement : 20\xa0h de trop" in html
    assert html.count('class="ok">conforme') == 1  # tpl's 150 h


def test_small_subcontract_has_no_direct_payment() -> None:
    lending = [
        h.model_copy(update={"hours": 15}) if h.provider == "st-nord" else h
        for h in sample.allocation().provider_hours
    ]
    d = build_context(sample.problem(), with_allocation(provider_hours=lending), CONFIG)
    st = next(p for p in d.providers if p.member.id == "st-nord")
    assert st.totals[0].cost_ttc == Decimal("577.80")  # 15 h × 32,10 € × 1,2
    html = next(doc.html for doc in documents(d) if doc.stem == st.document)
    assert "ne bénéficie pas du paiement direct" in html


def test_member_text_is_escaped_in_the_html() -> None:
    html = html_of("01-lettre-candidature-DC1")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "{{ 7*7 }}" in html and ">49<" not in html


def test_dossier_command_refuses_an_allocation_of_another_tender(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = Path(__file__).resolve().parents[2] / "data" / "examples" / "colleges-93"
    if not (example / "workspace.json").exists():
        pytest.skip("the colleges-93 example is not there yet")
    alloc = tmp_path / "allocation.json"
    alloc.write_text(sample.allocation().model_dump_json(), encoding="utf-8")
    code = main(["dossier", str(example), "--allocation", str(alloc), "--out", str(tmp_path)])
    assert code == 2
    assert "ne correspond pas à ce dossier" in capsys.readouterr().err
    assert not (tmp_path / "dossier").exists()
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"status": "peut-être"}), encoding="utf-8")
    assert main(["dossier", str(example), "--allocation", str(broken), "--out", str(tmp_path)]) == 2


def test_an_allocation_without_any_site_gives_no_dossier() -> None:
    empty = with_allocation(
        status="infeasible",
        assignments=[],
        provider_hours=[],
        covered_value="0",
        explanation=["La clause sociale ne peut pas être tenue."],
    )
    with pytest.raises(UserError, match=r"aucun site.*clause sociale"):
        build_context(sample.problem(), empty, CONFIG)


def test_member_text_never_becomes_a_spreadsheet_formula(tmp_path: Path) -> None:
    import openpyxl

    from coop_tender.docs.sheets import Sheet

    wb = openpyxl.Workbook()
    sheet = Sheet(wb.active)
    sheet.put(1, 1, '=HYPERLINK("http://evil.example","x")')
    sheet.formula(1, 2, "=1+1")
    wb.save(tmp_path / "t.xlsx")
    back = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    assert back["A1"].data_type == "s"
    assert back["A1"].value == '=HYPERLINK("http://evil.example","x")'
    assert back["B1"].data_type == "f"


def test_addresses_show_the_commune_name_not_its_insee_code() -> None:
    problem = sample.problem()
    members = [
        m.model_copy(update={"commune": "93066", "postcode": "93200"}) for m in problem.members
    ]
    d = build_context(problem.model_copy(update={"members": members}), sample.allocation(), CONFIG)
    html = next(doc.html for doc in documents(d) if doc.stem == "01-lettre-candidature-DC1")
    assert "93200 Saint-Denis" in html and "93066" not in html
    from coop_tender.docs.french import commune

    assert commune("Montreuil") == "Montreuil" and commune("75056") == "75056"
