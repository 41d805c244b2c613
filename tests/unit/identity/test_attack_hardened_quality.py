"""The default (hardened) encoding keeps linkage quality: the project's prepare and link.

Beside it, the old field-level spec (``LEGACY_FIELD_LEVEL_SPEC``, the default before issue 18).
The parts a custodian's ``prepare`` makes by default leave the linkage unit no column that the
hub's by-sex feedback could label, while the old spec's ``bf_sex`` is labelled for every record.
"""

import hashlib
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from ansim.demo import generate_world
from ansim.errors import LinkageError
from ansim.identity import (
    DEFAULT_ENCODING_SPEC,
    LEGACY_FIELD_LEVEL_SPEC,
    EncodingSpec,
    LinkageSecret,
    prepare,
)
from ansim.ingest import ingest_file
from ansim.linkage import LinkageConfig, link, pairwise_quality
from ansim.linkage._comparison import DEFAULT_DICE_BANDS, diffused_bands
from ansim.linkage._encoded import FEW_VALUES, automatic_comparisons, encode_records
from ansim.packages import Part, read_part
from ansim.schema import DatasetSpec

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench" / "privacy_attacks"))
from attacks import sex_from_feedback

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
    landed: tuple[dict, pa.Table, Path], encoding: EncodingSpec | None, label: str
) -> tuple[list[Part], list[pa.Table]]:
    """Both datasets prepared with ``encoding`` (``None``: prepare's own default)."""
    datasets, _, tmp = landed
    secret = LinkageSecret(hashlib.sha256(b"hardened quality").digest())
    chosen = {} if encoding is None else {"encoding": encoding}
    parts, located = [], []
    for d, (spec, records) in datasets.items():
        prepared = prepare(spec, records, secret, tmp / label, project="q", **chosen)
        parts.append(read_part(prepared.identity, "identity"))
        serials = pq.read_table(prepared.serial_map)
        located.append(serials.append_column("dataset", pa.array([d] * serials.num_rows)))
    return parts, located


def _f1(landed: tuple[dict, pa.Table, Path], encoding: EncodingSpec | None, label: str) -> float:
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


def test_default_encoding_links_as_well_as_the_field_level_spec(landed) -> None:
    field_level = _f1(landed, LEGACY_FIELD_LEVEL_SPEC, "field-level")
    default = _f1(landed, None, "default")
    assert field_level > 0.98
    assert default >= field_level - 0.005  # 100k and 1M, one run each: see docs/privacy.md


def test_default_parts_leave_the_hub_feedback_nothing_to_label(landed) -> None:
    datasets, _, _ = landed
    by_sex = Counter(datasets[DATASETS[1]][1]["sex"].drop_null().to_pylist())  # hub's 'records'
    for encoding, label in ((None, "default"), (LEGACY_FIELD_LEVEL_SPEC, "field-level")):
        parts, _ = _parts(landed, encoding, f"feedback-{label}")
        table = parts[1].table
        labelled = {
            c: sex_from_feedback(table[c].combine_chunks(), by_sex)
            for c in table.column_names
            if c != "serial"
        }
        hits = {c: sum(g is not None for g in guess) for c, guess in labelled.items()}
        if encoding is None:  # every column the linkage unit gets has many values, none two
            assert "bf_sex" not in table.column_names and not any(hits.values())
            for c in hits:
                assert len(table[c].unique()) > FEW_VALUES, c
        else:  # the same attack labels every record with a sex under the old spec
            assert hits["bf_sex"] == table.num_rows - table["bf_sex"].null_count > 0


def test_parts_of_the_old_and_the_new_default_are_not_linked_together(landed) -> None:
    new, _ = _parts(landed, None, "mixed-new")
    old, _ = _parts(landed, LEGACY_FIELD_LEVEL_SPEC, "mixed-old")
    with pytest.raises(LinkageError, match=r"probabilistic linkage: .* disagree on the diffusion"):
        link([new[0], old[1]], LinkageConfig())


def test_prepared_default_parts_are_compared_on_diffused_bands(landed) -> None:
    parts, _ = _parts(landed, None, "bands")
    columns = ["bf_birth_date", "bf_name", "clk"]
    records = encode_records(parts, columns)
    assert {c: records.taps[c] for c in columns} == {"bf_birth_date": 6, "bf_name": 6, "clk": 8}
    bands = {c.column: c.bands for c in automatic_comparisons(columns, records)}
    assert bands == {
        "bf_birth_date": diffused_bands(DEFAULT_DICE_BANDS, 6),
        "bf_name": diffused_bands(DEFAULT_DICE_BANDS, 6),
    }
    today, _ = _parts(landed, LEGACY_FIELD_LEVEL_SPEC, "bands-field-level")
    assert encode_records(today, columns).taps == {}


def test_record_level_only_falls_back_to_tokens_and_loses_quality(landed) -> None:
    clk_only = replace(
        DEFAULT_ENCODING_SPEC,
        fields=tuple(replace(f, bits=0) for f in DEFAULT_ENCODING_SPEC.fields),
    )
    assert _f1(landed, clk_only, "clk-only") < _f1(landed, None, "default2") - 0.02
