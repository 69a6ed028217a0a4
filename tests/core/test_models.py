"""The domain model's validation: identifiers, money, references between objects."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from coop_tender.errors import describe_validation_error
from coop_tender.models import Member, Policy, Problem, Tender, WorkItem, luhn_ok
from coop_tender.money import format_euros, from_cents, to_cents, to_euros

GOOD_SIRET = "73282932000074"  # a real, public SIRET with a valid Luhn key


def member(**kw: object) -> dict:
    base = dict(
        id="m1",
        name="Peintures Solidaires",
        siret=GOOD_SIRET,
        kind="EI",
        role="cocontractor",
        lat=48.9,
        lon=2.4,
        territories=["est"],
        trades=["peinture"],
        capacity_hours={"2027-07": 1000},
        annual_turnover="350000",
    )
    base.update(kw)
    return base


def item(**kw: object) -> dict:
    base = dict(
        id="c1",
        lot="1",
        label="Collège Jean Moulin",
        territory="est",
        lat=48.9,
        lon=2.4,
        trade="peinture",
        period="2027-07",
        hours=300,
        value="12000.00",
    )
    base.update(kw)
    return base


def test_luhn_matches_known_sirets() -> None:
    assert luhn_ok(GOOD_SIRET)
    assert not luhn_ok("73282932000075")


@pytest.mark.parametrize("siret", ["73282932000075", "1234", "7328293200007A", ""])
def test_bad_siret_is_refused_in_french(siret: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Member.model_validate(member(siret=siret))
    text = " ".join(describe_validation_error(exc.value))
    assert "siret" in text and "SIRET" in text


def test_la_poste_siret_exception_is_accepted() -> None:
    # La Poste's establishments do not follow Luhn; their digits sum to a multiple of 5.
    assert Member.model_validate(member(siret="35600000049837")).siret == "35600000049837"


def test_negative_hours_are_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        WorkItem.model_validate(item(hours=-5))
    assert "hours" in describe_validation_error(exc.value)[0]
    with pytest.raises(ValidationError):
        Member.model_validate(member(capacity_hours={"2027-07": -1}))


def test_unknown_territory_is_refused() -> None:
    tender = dict(
        reference="T",
        territories=[{"id": "est", "name": "Est Ensemble"}],
        items=[item(territory="ouest")],
    )
    with pytest.raises(ValidationError, match="territoire inconnu « ouest »"):
        Tender.model_validate(tender)
    ok = Tender.model_validate(dict(tender, items=[item()]))
    with pytest.raises(ValidationError, match="membre m1 : territoire inconnu « nord »"):
        Problem(tender=ok, members=[Member.model_validate(member(territories=["nord"]))])


def test_pins_must_name_known_items_and_members() -> None:
    tender = Tender.model_validate(dict(reference="T", items=[item()]))
    policy = Policy(pins=[{"item": "c9", "member": "m1"}])
    with pytest.raises(ValidationError, match="site inconnu « c9 »"):
        Problem(tender=tender, members=[Member.model_validate(member())], policy=policy)


def test_money_is_exact() -> None:
    assert to_euros(0.1) + to_euros(0.2) == Decimal("0.30")
    assert to_euros("1 234,56 €") == Decimal("1234.56")
    assert to_cents(Decimal("1234.56")) == 123456
    assert from_cents(123456) == Decimal("1234.56")
    assert format_euros(Decimal("1234567.8")) == "1\u202f234\u202f567,80\xa0€"
    with pytest.raises(ValueError, match="mille"):
        to_euros("mille")
    dumped = WorkItem.model_validate(item(value=12000.1)).model_dump(mode="json")
    assert dumped["value"] == "12000.10"


def test_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        Member.model_validate(member(capacitty=3))
    assert "champ inconnu" in describe_validation_error(exc.value)[0]


def test_provider_mode_defaults_to_mise_a_disposition_for_ai() -> None:
    ai = Member.model_validate(member(kind="AI", role="provider", hourly_rate="19.50"))
    assert ai.provider_mode == "mise_a_disposition"
