"""geodata: campaign files → clean frames, ids and matrices.

Knows files, coordinate systems, schemas, road graphs and storage; knows
nothing of optimisation.
"""

from geodata.campaign import Campaign

__all__ = ["Campaign", "load_campaign"]


def load_campaign(path, **kwargs):
    """Read, normalise, validate and derive a campaign file → :class:`Campaign`."""
    from geodata.load import load_campaign as _load

    return _load(path, **kwargs)
