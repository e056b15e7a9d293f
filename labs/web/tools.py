"""The shop's tools that the four backends' models can call: plain functions over fixed data.

Fixed data keeps replay honest: a replayed tool round sends the same tool result as the recording, and
the tests can check a tool's output names what it was asked about.
"""

from __future__ import annotations

import json
from functools import partial

__all__ = ["TRAIL_TOOL", "get_forecast", "jacket_size", "stock_level", "trail_conditions"]

TRAILS = {
    "Ridge Trail": {"status": "open", "note": "muddy above the second bridge"},
    "Lakeshore Loop": {"status": "closed", "note": "bridge repairs until Friday"},
}
STOCK = {"Alpine 40": {"in_stock": 3, "colours": ["slate", "moss"]}}
FORECASTS = {"Lake Louise": "tomorrow: 6°C, snow showers until noon, then clearing"}
JACKET_SIZES = [(96, "S"), (104, "M"), (112, "L"), (120, "XL")]
# Real characters ("6°C"), not JSON's ASCII escapes ("6\u00b0C"): the model reads them, and so does the page.
_json = partial(json.dumps, ensure_ascii=False)


def trail_conditions(trail: str) -> str:
    """Current conditions on a trail: open or closed, and a ranger's note."""
    return _json({"trail": trail, **TRAILS.get(trail, {"status": "unknown", "note": "no report"})})


def stock_level(product: str) -> str:
    """How many of a product the shop has, and in which colours."""
    return _json({"product": product, **STOCK.get(product, {"in_stock": 0, "colours": []})})


def get_forecast(place: str) -> str:
    """The weather forecast for a place.

    :param place: The place to look up, for example "Lake Louise".
    :return: The forecast as a JSON string.
    """
    return _json({"place": place, "forecast": FORECASTS.get(place, "no forecast")})


def jacket_size(chest_cm: int) -> str:
    """The Summit jacket size for a chest measurement in centimetres."""
    size = next((label for limit, label in JACKET_SIZES if chest_cm <= limit), "XXL")
    return _json({"chest_cm": chest_cm, "size": size})


# The chat backend's tool as Chat Completions declares it (the other SDKs build theirs from the functions).
TRAIL_TOOL = {
    "type": "function",
    "function": {
        "name": "trail_conditions",
        "description": "Current conditions on a named trail: open or closed, and a ranger's note.",
        "parameters": {"type": "object", "properties": {"trail": {"type": "string"}}, "required": ["trail"]},
    },
}
