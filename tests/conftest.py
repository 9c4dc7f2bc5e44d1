import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from factories import good_layers  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture
def layers():
    """A fresh copy of the small good campaign (WGS-84 frames), to break in a test."""
    return good_layers()


@pytest.fixture
def campaign_file(tmp_path, layers):
    from geodata.io import write_layers

    return write_layers(layers, tmp_path / "campaign.gpkg")
