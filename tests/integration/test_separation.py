"""The separation principle, tested: no party's store holds what it must not see."""

import itertools
import unicodedata

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from ansim.demo import DemoRun, demo_spec
from ansim.demo._run import ANALYST, DATASETS, PROJECT
from ansim.engine import attach_encrypted
from ansim.errors import AccessDenied
from ansim.governance import Governance
from ansim.identity import standardise_phone, standardise_rrn
from ansim.packages import PartyKeyStore, open_package


def _raw(demo_run: DemoRun, dataset: str) -> pa.Table:
    names = demo_spec(dataset).column_names
    encoding = "cp949" if dataset == "kostat_register" else "utf-8-sig"
    return pacsv.read_csv(
        demo_run.world.datasets[dataset],
        read_options=pacsv.ReadOptions(encoding=encoding),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
    )


def _secrets(demo_run: DemoRun) -> dict[str, set[str]]:
    """Every direct-identifier value in the custodians' raw files, in raw and standardised form."""
    found: dict[str, set[str]] = {
        "names": set(),
        "rrns": set(),
        "phones": set(),
        "addresses": set(),
    }
    for dataset in DATASETS:
        raw = _raw(demo_run, dataset)
        for value in raw["name"].to_pylist():
            if value and len(value.strip()) >= 2:
                found["names"].add(unicodedata.normalize("NFC", value).replace(" ", ""))
        for value in raw["rrn"].to_pylist():
            if value and len(value) >= 13:
                found["rrns"].update({value, value.replace("-", "")})
        for value in raw["phone"].to_pylist():
            if value:
                found["phones"].update({value, value.replace("-", "")})
        found["addresses"].update(v for v in raw["address"].to_pylist() if v)
    return found


def _hub_strings(demo_run: DemoRun) -> tuple[list[str], list[str]]:
    # the store is encrypted: an analyst's audited key opens it; every table is still scanned
    assert demo_run.governance is not None
    gov = Governance(demo_run.governance)
    key = gov.project_key(ANALYST, PROJECT)
    gov.close()
    con = duckdb.connect()
    try:
        attach_encrypted(con, demo_run.hub_store, key.key, read_only=True)
        con.execute("USE hub")
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_catalog = 'hub'"
            ).fetchall()
        ]
        assert tables
        columns, values = [], []
        for table in tables:
            data = con.table(table).to_arrow_table()
            columns += data.column_names
            for column in data.columns:
                values += [str(v) for v in column.to_pylist() if v is not None]
    finally:
        con.close()
    return columns, values


def test_hub_store_holds_no_identifier_token_or_serial(demo_run: DemoRun) -> None:
    columns, values = _hub_strings(demo_run)
    for spec in map(demo_spec, DATASETS):
        for column in spec.direct_identifiers:
            assert column.name not in columns
    assert not any(c.startswith(("token_", "bf_")) or c in ("clk", "serial") for c in columns)
    secrets = _secrets(demo_run)
    stored = set(values)
    for kind, raw in secrets.items():
        leaked = stored & raw
        assert not leaked, f"hub holds {len(leaked)} {kind}"
    text = "\n".join(values)
    for rrn in itertools.islice(secrets["rrns"], 2000):
        assert rrn not in text
    serials = set()
    for part in (demo_run.out / "hub" / "received").glob("*.parquet"):
        serials.update(pq.read_table(part, columns=["serial"])["serial"].to_pylist())
    assert not stored & serials


def test_linkage_unit_sees_identity_parts_only(demo_run: DemoRun) -> None:
    unit = demo_run.out / "linkage_unit"
    attributes = {c.name for ds in DATASETS for c in demo_spec(ds).columns}
    files = list(unit.rglob("*.parquet"))
    assert files
    for path in files:
        names = set(pq.read_schema(path).names)
        assert not names & attributes, f"{path.name} carries attribute columns"
        assert names <= {"serial", "dataset", "person_id"} | {
            n for n in names if n.startswith(("token_", "bf_")) or n in ("clk", "match_weight")
        }
    secrets = _secrets(demo_run)
    blob = b"".join(p.read_bytes() for p in unit.rglob("*") if p.is_file())
    for rrn in itertools.islice(secrets["rrns"], 500):
        assert rrn.encode() not in blob
    for name in itertools.islice(secrets["names"], 500):
        assert name.encode() not in blob


def test_hub_inbox_holds_no_identifier(demo_run: DemoRun) -> None:
    received = list((demo_run.out / "hub" / "received").glob("*.parquet"))
    assert len(received) == len(DATASETS) + 1  # content parts and the link map, opened
    for path in received:
        names = set(pq.read_schema(path).names)
        assert not any(n.startswith(("token_", "bf_")) or n == "clk" for n in names)
        for spec in map(demo_spec, DATASETS):
            assert not names & {c.name for c in spec.direct_identifiers}


def test_custodian_secret_never_reaches_other_parties(demo_run: DemoRun) -> None:
    key = next((demo_run.out / "custodians").rglob("linkage.key")).read_text().strip()
    for party in ("linkage_unit", "hub", "release", "evaluation"):
        for path in (demo_run.out / party).rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert key.encode() not in data
                assert bytes.fromhex(key) not in data


def test_standardised_forms_are_in_the_secret_set(demo_run: DemoRun) -> None:
    # guard against a vacuous separation test: the identifier sets are really populated
    secrets = _secrets(demo_run)
    assert len(secrets["names"]) > 1000 and len(secrets["rrns"]) > 1000
    sample = next(iter(secrets["phones"]))
    assert standardise_phone(sample) in secrets["phones"]
    assert standardise_rrn(next(r for r in secrets["rrns"] if "-" in r)) in secrets["rrns"]


def test_custodians_hold_only_their_own_data(demo_run: DemoRun) -> None:
    truth = pacsv.read_csv(demo_run.world.truth)
    ids = {
        d: set(truth.filter(pc.equal(truth["dataset"], d))["record_id"].to_pylist())
        for d in DATASETS
    }
    for dataset in DATASETS:
        home = demo_run.out / "custodians" / demo_spec(dataset).custodian
        others = set().union(*(ids[d] for d in DATASETS if d != dataset))
        for path in home.rglob("*.parquet"):
            table = pq.read_table(path)
            assert not any(d in path.name for d in DATASETS if d != dataset)
            if "record_id" in table.column_names:
                assert not set(table["record_id"].to_pylist()) & others


def test_parts_travel_sealed_for_their_recipient_only(demo_run: DemoRun) -> None:
    unit = PartyKeyStore.open(demo_run.out / "linkage_unit" / "keys")
    hub = PartyKeyStore.open(demo_run.out / "hub" / "keys")
    for inbox, wrong in ((demo_run.out / "linkage_unit" / "inbox", hub),
                         (demo_run.out / "hub" / "inbox", unit)):  # fmt: skip
        packages = list(inbox.iterdir())
        assert packages and all(p.suffix == ".ansim" for p in packages)
        for package in packages:
            assert not package.read_bytes().startswith(b"PAR1")  # not plain Parquet
            with pytest.raises(AccessDenied, match="addressed to"):
                open_package(package, wrong, project=PROJECT, kind="identity")
