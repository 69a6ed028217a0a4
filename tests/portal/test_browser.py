"""End to end in headless Chromium (Debian package) driven by Playwright, on a real uvicorn.

A member opens its personal link, types "mille" in an hours field, sees the French error next
to the field with what it typed kept, corrects it, submits; the coordinator's page shows it as
answered and the capacity totals include the new figure. Screenshots (desktop and phone) go to
test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from coop_tender.coverage import coverage_rows
from coop_tender.models import Member
from coop_tender.portal.app import create_app
from coop_tender.portal.invite import invite_members
from coop_tender.workspace import Workspace
from tests.conftest import require_binary
from tests.portal.conftest import Clock, example_workspace, serve_app, tiny_workspace

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser() -> Iterator[object]:
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def number_before_slash(text: str) -> int:
    return int(re.sub(r"\D", "", text.split("/")[0]))


def expected_capacity(
    workspace: Workspace, members: list[Member], territory: str, period: str
) -> int:
    """The flow's coverage of (territory, period) by the non-declining members: what the
    coordinator's page must show (trades matched, provider hours capped by the policy)."""
    active = [m for m in members if not m.declined]
    share = workspace.policy().max_provider_share
    rows = coverage_rows(workspace.tender(), active, share)
    return next(
        (r.capacity_hours for r in rows if (r.territory, r.period) == (territory, period)), 0
    )


@pytest.mark.browser
def test_member_corrects_a_mistake_and_the_coordinator_sees_it(
    browser, tmp_path: Path, clock: Clock, artifacts_dir: Path
) -> None:
    root = example_workspace(tmp_path / "ws") or tiny_workspace(tmp_path / "tiny")
    workspace = Workspace.open(root)
    links = dict(invite_members(workspace, base_url="http://portal.invalid", now=clock()))
    member = workspace.seed_members()[0]
    territory = member.territories[0]
    period = workspace.config.periods[0]
    hours_id = f"#f-hours-{period.id}"

    with serve_app(create_app(workspace, now=clock)) as base:
        member_url = links[member.id].replace("http://portal.invalid", base)
        coordinator_url = links["coordinateur"].replace("http://portal.invalid", base)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
        page = context.new_page()
        page.goto(member_url)
        assert page.locator("html").get_attribute("lang") == "fr"
        assert member.name in page.locator("h1").inner_text()

        # Accessibility basics: every visible control has a label; the keyboard reaches the skip
        # link first and the focus outline is visible.
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select')]
                   .filter(e => !e.labels || e.labels.length === 0).map(e => e.name)"""
        )
        assert unlabelled == []
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("none", "")
        page.screenshot(path=str(artifacts_dir / "portal-member-form.png"), full_page=True)

        # A mistake: words in an hours field.
        page.fill("#f-name", member.name + " (corrigé)")
        page.fill(hours_id, "mille")
        page.get_by_role("button", name="Enregistrer ma déclaration").click()
        error = page.locator(f"{hours_id}-erreur")
        assert "« mille » n'est pas un nombre d'heures" in error.inner_text()
        assert page.input_value(hours_id) == "mille"  # what the member typed is kept
        assert page.input_value("#f-name") == member.name + " (corrigé)"
        assert page.get_attribute(hours_id, "aria-invalid") == "true"
        assert "pas encore enregistrée" in page.locator("#erreurs").inner_text()
        page.screenshot(path=str(artifacts_dir / "portal-member-error.png"), full_page=True)

        # The correction.
        page.fill(hours_id, "1 500")
        page.get_by_role("button", name="Enregistrer ma déclaration").click()
        assert "enregistrée (version 1)" in page.locator("[role=status]").inner_text()
        assert page.input_value(hours_id) == "1500"
        assert "formulaire en ligne" in page.locator("#titre-historique + div").inner_text()
        page.screenshot(path=str(artifacts_dir / "portal-member-saved.png"), full_page=True)

        # The coordinator sees the answer and the new totals.
        page.goto(coordinator_url)
        row = page.locator(f'tr[data-member="{member.id}"]')
        assert "a répondu" in row.locator(".status").inner_text()
        assert "(corrigé)" in row.inner_text()
        current = workspace.members()
        assert {m.id: m for m in current}[member.id].capacity_hours[period.id] == 1500
        cell = page.locator(f'td[data-cell="{territory}/{period.id}"]').inner_text()
        assert number_before_slash(cell) == expected_capacity(
            workspace, current, territory, period.id
        )
        page.screenshot(path=str(artifacts_dir / "portal-coordinator.png"), full_page=True)
        context.close()

        # The same pages on a phone.
        phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="fr-FR")
        page = phone.new_page()
        page.goto(member_url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1  # no horizontal scrolling of the form
        page.fill(hours_id, "mille")
        page.get_by_role("button", name="Enregistrer ma déclaration").click()
        assert page.locator(f"{hours_id}-erreur").is_visible()
        page.screenshot(path=str(artifacts_dir / "portal-member-phone.png"), full_page=False)
        page.goto(coordinator_url)
        page.screenshot(path=str(artifacts_dir / "portal-coordinator-phone.png"), full_page=True)
        phone.close()
