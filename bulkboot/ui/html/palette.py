"""Series colours: the Okabe-Ito palette (distinct under the common colour-blindnesses,
readable on light and dark backgrounds), given to each phase once for every chart."""

from __future__ import annotations

__all__ = ["BASE", "NEW", "PHASE_COLORS", "QUANTILE_COLORS", "color_of"]

PHASE_COLORS = {
    "queued": "#999999",
    "creating": "#E69F00",
    "building": "#56B4E9",
    "active": "#009E73",
    "error": "#D55E00",
    "timeout": "#CC79A7",
    "gone": "#8A6D3B",
    "deleting": "#0072B2",
    "deleted": "#6E7B8B",
}
QUANTILE_COLORS = {"p50": "#009E73", "p95": "#E69F00", "p99": "#D55E00"}
BASE = "#0072B2"
NEW = "#E69F00"
_OTHERS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999")


def color_of(name: str, index: int = 0) -> str:
    return PHASE_COLORS.get(name, _OTHERS[index % len(_OTHERS)])
