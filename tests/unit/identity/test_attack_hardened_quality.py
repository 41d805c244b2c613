"""The hardened encoding keeps linkage quality: the project's own prepare and link, side by side."""

import hashlib
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from ansim.demo import generate_world
from ansim.identity import (
    DEFAULT_ENCODING_SPEC,
    HARDENED_ENCODING_SPEC,
    EncodingSpec,
    LinkageSecret,
    prepare,
)
from ansim.ingest import ingest_file
from ansim.linkage import LinkageConfig, link, pairwise_quality
from ansim.linkage._comparison import DEFAULT_DICE_BANDS, diffused_bands
from ansim.linkage._encoded import automatic_comparisons, encode_records
from ansim.packages import Part, read_part
from ansim.schema import DatasetSpec

SPECS = Path(__file__).resolve().parents[3] / "src" / "ansim" / "demo" / "specs"
DATASETS = ("gyeonggi_cases", "kostat_register")


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, pa.Table, Path]:
    tmp = tmp_path_factory.mktemp("world")
    world = generate_world(3000, 7, tmp / "world")
    truth = pacsv.read_csv(
        world.truth, convert_options=pacsv.ConvertOptions(column_types={"record_id": pa.string()})
    )
    out = {}
    for d in DATASETS:
        spec = DatasetSpec.from_yaml(SPECS / f"{d}.yaml")
        result = ingest_file(spec, world.datasets[d], tmp / "ingest")
        out[d] = (spec, pq.read_table(result.directory / "records.parquet"))
    return out, truth.filter(pc.is_in(truth["dataset"], value_set=pa.array(DATASETS))), tmp


def _parts(
    landed: tuple[dict, pa.Table, Path], encoding: EncodingSpec, label: str
) -> tuple[list[Part], list[pa.Table]]:
    datasets, _, tmp = landed
    secret = LinkageSecret(hashlib.sha256(b"hardened quality").digest())
    parts, located = [], []
    for d, (spec, records) in datasets.items():
        prepared = prepare(spec, records, secret, tmp / label, project="q", encoding=encoding)
        parts.append(read_part(prepared.identity, "identity"))
        serials = pq.read_table(prepared.serial_map)
        located.append(serials.append_column("dataset", pa.array([d] * serials.num_rows)))
    return parts, located


def _f1(landed: tuple[dict, pa.Table, Path], encoding: EncodingSpec, label: str) -> float:
    truth = landed[1]
    parts, located = _parts(landed, encoding, label)
    linkmap = link(parts, LinkageConfig()).table
    joined = pa.concat_tables(located).join(linkmap, ["serial", "dataset"])

    def key(t: pa.Table) -> pa.Array:
        return pc.binary_join_element_wise(t["dataset"], pc.cast(t["record_id"], pa.string()), "|")

    return pairwise_quality(
        pa.table({"key": key(joined), "cluster": joined["person_id"]}),
        pa.table({"key": key(truth), "entity": truth["person_id"]}),
    ).f1


def test_hardened_spec_links_as_well_as_the_default(landed) -> None:
    today = _f1(landed, DEFAULT_ENCODING_SPEC, "default")
    hardened = _f1(landed, HARDENED_ENCODING_SPEC, "hardened")
    assert today > 0.98
    assert hardened >= today - 0.005  # 100k, one run: see docs/privacy.md


def test_prepared_hardened_parts_are_compared_on_diffused_bands(landed) -> None:
    parts, _ = _parts(landed, HARDENED_ENCODING_SPEC, "bands")
    columns = ["bf_birth_date", "bf_name", "clk"]
    records = encode_records(parts, columns)
    assert {c: records.taps[c] for c in columns} == {"bf_birth_date": 6, "bf_name": 5, "clk": 8}
    bands = {c.column: c.bands for c in automatic_comparisons(columns, records)}
    assert bands == {
        "bf_birth_date": diffused_bands(DEFAULT_DICE_BANDS, 6),
        "bf_name": diffused_bands(DEFAULT_DICE_BANDS, 5),
    }
    today, _ = _parts(landed, DEFAULT_ENCODING_SPEC, "bands-default")
    assert encode_records(today, columns).taps == {}


def test_record_level_only_falls_back_to_tokens_and_loses_quality(landed) -> None:
    clk_only = replace(
        HARDENED_ENCODING_SPEC,
        fields=tuple(replace(f, bits=0) for f in HARDENED_ENCODING_SPEC.fields),
    )
    assert _f1(landed, clk_only, "clk-only") < _f1(landed, DEFAULT_ENCODING_SPEC, "default2") - 0.02
