"""Shared test helpers for ingestion: fixture paths, an independent eForms→JSON converter."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

FIXTURES = Path(__file__).parent / "fixtures"
EFORMS = FIXTURES / "eforms"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
PREFIXES = {
    CAC: "cac",
    CBC: "cbc",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2": "ext",
    "http://data.europa.eu/p27/eforms-ubl-extension-aggregate-components/1": "efac",
    "http://data.europa.eu/p27/eforms-ubl-extensions/1": "efext",
    "http://data.europa.eu/p27/eforms-ubl-extension-basic-components/1": "efbc",
}


def count_lots(path: Path) -> int:
    """Lots of a notice counted with lxml XPath (not the ingester's ElementTree code path)."""
    tree = etree.parse(str(path))
    return int(
        tree.xpath(
            "count(/*/cac:ProcurementProjectLot[cbc:ID[@schemeName='Lot']])",
            namespaces={"cac": CAC, "cbc": CBC},
        )
    )


def to_boamp_json(element) -> object:
    """XML → the JSON form BOAMP uses (prefixed keys, '@attr', '#text', repeats as lists)."""
    node: dict = {f"@{k}": v for k, v in element.attrib.items()}
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments
        ns, _, local = child.tag[1:].partition("}")
        key = f"{PREFIXES[ns]}:{local}"
        value = to_boamp_json(child)
        if key in node:
            node[key] = [*node[key], value] if isinstance(node[key], list) else [node[key], value]
        else:
            node[key] = value
    text = (element.text or "").strip()
    if len(node) == 0:
        return text
    if text:
        node["#text"] = text
    return node
