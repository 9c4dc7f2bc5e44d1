"""file → read → normalise → validate → derive → :class:`Campaign`."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from geodata.campaign import Campaign
from geodata.errors import ValidationError
from geodata.findings import Report
from geodata.io import read_layers
from geodata.schema import LAYERS
from geodata.validate import validate_layers


def check_campaign(path: str | Path, *, crs=None, fix: bool = False):
    """Read and validate a campaign source → :class:`geodata.validate.Validated` (never raises on bad data;
    raises :class:`CampaignReadError` when the input cannot be read at all)."""
    return validate_layers(read_layers(path), crs=crs, fix=fix, source=str(path))


def load_campaign(path: str | Path, *, crs=None, fix: bool = False, name: str | None = None) -> Campaign:
    """Load a usable campaign, or raise :class:`ValidationError` listing every data error."""
    checked = check_campaign(path, crs=crs, fix=fix)
    return campaign_from_validated(checked, name=name or Path(path).stem)


def campaign_from_validated(checked, *, name: str = "campaign") -> Campaign:
    report: Report = checked.report
    if not report.ok:
        lines = "\n".join(f"  {f}" for f in report.errors[:20])
        more = f"\n  ... and {len(report.errors) - 20} more" if len(report.errors) > 20 else ""
        raise ValidationError(
            f"the campaign has {len(report.errors)} data error(s); run `zoufang validate` for all of them:\n{lines}{more}",
            report.findings,
        )
    layers = checked.layers
    crs = checked.crs

    def spatial(layer_name):
        frame = layers.get(layer_name)
        if frame is None:
            cols = [c.name for c in LAYERS[layer_name].columns]
            return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in cols}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
        return frame.reset_index(drop=True)

    return Campaign(
        crs=crs,
        towns=layers.get("towns").reset_index(drop=True) if "towns" in layers else None,
        counties=layers.get("counties").reset_index(drop=True) if "counties" in layers else None,
        villages=spatial("villages"),
        grids=spatial("grids"),
        households=spatial("households"),
        enterprises=spatial("enterprises"),
        teams=pd.DataFrame(layers["teams"]).reset_index(drop=True),
        cadres=pd.DataFrame(layers["cadres"]).reset_index(drop=True),
        roads=layers.get("roads").reset_index(drop=True) if "roads" in layers else None,
        name=name,
        warnings=tuple(report.warnings),
    )
