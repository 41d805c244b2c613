from __future__ import annotations

import json

from ansim.portal import build_gyeonggi_geojson, gyeonggi_geojson
from ansim.regions import GYEONGGI_SIGUNGU


def test_shipped_geojson_has_the_31_si_gun_named_as_in_regions() -> None:
    shipped = json.loads(gyeonggi_geojson())
    props = {f["properties"]["sigungu_code"]: f["properties"]["name"] for f in shipped["features"]}
    assert props == {code: s.name_ko for code, s in GYEONGGI_SIGUNGU.items()}
    assert props["41610"] == "광주시" and "41730" not in props


def test_shipped_geojson_is_what_the_build_gives() -> None:
    built = json.dumps(build_gyeonggi_geojson(), ensure_ascii=False, separators=(",", ":"))
    assert built.encode("utf-8") == gyeonggi_geojson()
