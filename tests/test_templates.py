"""The CSV templates shipped in docs/templates import cleanly (they are what the README points to)."""

import pytest

from conftest import REPO
from geodata.importers import import_layer
from geodata.normalise import normalise_layer
from geodata.findings import Collector


@pytest.mark.parametrize("layer", ["households", "enterprises", "teams", "cadres"])
def test_csv_template_imports_without_findings(layer):
    frame = import_layer(REPO / "docs" / "templates" / f"{layer}.csv", layer)
    out = Collector()
    normalise_layer(layer, frame, out)
    assert out.items == []
    assert len(frame) >= 2
