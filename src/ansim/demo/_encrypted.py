"""``ansim demo --encrypted``: the small-business scenario linked by PSI and aggregated encrypted.

KOSTAT (business register extract) and Gyeonggi (small-business COVID-19 support payments)
each standardise their business registration numbers (a wrong check digit goes to
quarantine), then link by private set intersection without a linkage unit: each learns which
of its own firms are in the overlap and gives them the joined serial both derive from their
shared linkage secret. KOSTAT sends the hub its linked firms' si/gun, sector and
representative's sex (plaintext classifications) and their turnover encrypted (CKKS) under
the project's public key; Gyeonggi sends only the support paid, encrypted. The hub computes
the cell totals on ciphertexts; two of the three named key holders reconstruct the key in an
audited ceremony per table; the decrypted totals go through the disclosure checks, an
analyst submits each table and an output checker approves and releases it. The same tables
computed from the plaintext (the reference the demo is checked against) are printed beside
them with the exact CKKS error.

Layout under ``out``: ``world/`` (both custodians' raw files), ``custodians/<name>/``
(quarantine counts, outbox with the sealed packages), ``hub/inbox/`` (what the hub received:
packages only), ``governance/`` (project store, audit log, ``encryption/`` with the public
keys, the escrow and the sealed shares), ``release/encrypted/`` (the published tables) and
``evaluation/`` (the plaintext path's tables and the comparison).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ansim._atomic import write_bytes_atomic, write_text_atomic
from ansim.demo._business import SECTORS, BusinessWorld, generate_business_world
from ansim.demo._run import demo_keys
from ansim.encrypted import (
    AggregateTable,
    DecryptionCeremony,
    EncryptedAttribute,
    KeyHolder,
    KeyShare,
    ProjectEncryption,
    PsiTranscript,
    PublishedTable,
    aggregate_encrypted,
    compare_tables,
    encrypt_attributes,
    joined_serials,
    open_share,
    plaintext_aggregates,
    protect_aggregates,
    standardise_brn,
)
from ansim.errors import InvalidIdentifierError
from ansim.governance import (
    DatasetRequest,
    Governance,
    Operation,
    ProjectApplication,
    Purpose,
    Role,
)
from ansim.identity import LinkageSecret
from ansim.packages import PartyKeyStore, introduce, label_part, open_package, seal_table
from ansim.regions import GYEONGGI_SIGUNGU

__all__ = ["ENCRYPTED_PROJECT", "EncryptedDemoRun", "EncryptedTable", "run_encrypted_demo"]

ENCRYPTED_PROJECT = "gyeonggi-smallbiz-encrypted"
REGISTER, SUPPORT = "kostat_business_register", "gyeonggi_smallbiz_support"
ADMIN, HUB_OPERATOR, ANALYST, CHECKER = (
    "admin.kostat",
    "operator.hub",
    "analyst.snu",
    "checker.kostat",
)
OFFICERS = {REGISTER: ("officer.kostat", "kostat"), SUPPORT: ("officer.gyeonggi", "gyeonggi")}
_HOLDERS = (
    KeyHolder("officer.kostat", "kostat", REGISTER),
    KeyHolder("officer.gyeonggi", "gyeonggi", SUPPORT),
    KeyHolder(CHECKER, "review"),
)
_THRESHOLD = 2
_CATEGORIES = {
    "sigungu_code": sorted(GYEONGGI_SIGUNGU),
    "sector": sorted(SECTORS),
    "representative_sex": ["F", "M"],
}
# (output id, dataset encrypted, attribute, dimensions, Korean and English title)
_TABLES: tuple[tuple[str, str, str, tuple[str, ...], str], ...] = (
    ("turnover-by-sigungu-sector", REGISTER, "turnover_krw", ("sigungu_code", "sector"),
     "시군 × 업종별 매출액 / Turnover by si/gun and sector (천원, thousand KRW)"),
    ("support-by-sigungu-sector", SUPPORT, "support_krw", ("sigungu_code", "sector"),
     "시군 × 업종별 소상공인 지원금 / Small-business support by si/gun and sector (천원)"),
    ("support-by-sigungu-sex", SUPPORT, "support_krw", ("sigungu_code", "representative_sex"),
     "시군 × 대표자 성별 지원금 / Support by si/gun and representative's sex (천원)"),
)  # fmt: skip
_UNITS = {"turnover_krw": 1000.0, "support_krw": 1000.0}  # encrypted in thousands of KRW


@dataclass(frozen=True, eq=False)
class EncryptedTable:
    """One table of the encrypted run and its plaintext reference.

    Attributes:
        output: The output id (as submitted and released).
        title: Korean and English title.
        encrypted: The published table from the decrypted aggregates.
        plaintext: The same table computed from plaintext values (the reference).
        comparison: :func:`ansim.encrypted.compare_tables` of the two.
        released: The released CSV.
    """

    output: str
    title: str
    encrypted: PublishedTable
    plaintext: PublishedTable
    comparison: dict[str, object]
    released: Path


@dataclass(frozen=True)
class EncryptedDemoRun:
    """What the encrypted run did.

    Attributes:
        out: The demo directory.
        firms: Firms in the register extract.
        payments: Payment records in the support file.
        quarantined: Per dataset, records with an invalid registration number.
        overlap: Firms in both files (the PSI result).
        psi_bytes: Size of the PSI messages exchanged.
        tables: The published tables.
        audit: The audit verification summary.
        seconds: Wall time per step.
    """

    out: Path
    firms: int
    payments: int
    quarantined: dict[str, int]
    overlap: int
    psi_bytes: int
    tables: tuple[EncryptedTable, ...]
    audit: str
    seconds: dict[str, float] = field(default_factory=dict)


def _open_project(home: Path) -> Governance:
    """A fresh governance home with the encrypted project, its members and approvals."""
    shutil.rmtree(home, ignore_errors=True)
    gov = Governance(home, keys=demo_keys(home))  # the same key file as ``ansim demo``'s
    gov.bootstrap(ADMIN, "Administrator", "KOSTAT")
    team: dict[str, tuple[Role, str | None]] = {
        HUB_OPERATOR: (Role.HUB_OPERATOR, None),
        ANALYST: (Role.ANALYST, None),
        CHECKER: (Role.OUTPUT_CHECKER, None),
    }
    team |= {user: (Role.CUSTODIAN_OFFICER, custodian) for user, custodian in OFFICERS.values()}
    for user in team:
        gov.register_user(ADMIN, user, user, user.split(".")[1].upper())
    today = gov.today()
    gov.create_project(ADMIN, ProjectApplication(
        ENCRYPTED_PROJECT, "COVID-19 small-business support and turnover in Gyeonggi (encrypted)",
        Purpose.STATISTICS, "Support paid and turnover by si/gun, sector and sex, on ciphertexts",
        tuple(DatasetRequest(d, c) for d, (_, c) in OFFICERS.items()),
        today, today + dt.timedelta(days=364),
    ))  # fmt: skip
    for user, (role, custodian) in team.items():
        gov.add_member(ADMIN, ENCRYPTED_PROJECT, user, role, custodian=custodian)
    for dataset, (officer, _) in OFFICERS.items():
        gov.approve(officer, ENCRYPTED_PROJECT, dataset)
    return gov


def _parties(out: Path) -> dict[str, PartyKeyStore]:
    homes = {"administration": out / "governance" / "party", "review": out / "review"}
    homes |= {c: out / "custodians" / c for _, c in OFFICERS.values()} | {"hub": out / "hub"}
    stores = {}
    for party, home in homes.items():
        shutil.rmtree(home, ignore_errors=True)
        stores[party] = PartyKeyStore.create(home / "keys", party)
    introduce(list(stores.values()))
    return stores


def _standardised(numbers: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Valid numbers (ten digits) and the indices of the records that have one."""
    kept, rows = [], []
    for i, text in enumerate(numbers):
        try:
            kept.append(standardise_brn(text))
        except InvalidIdentifierError:
            continue  # quarantined: the check digit (or the length) is wrong
        rows.append(i)
    return kept, np.array(rows, dtype=np.int64)


def _write_csv(table: pa.Table, path: Path, *, bom: bool = False) -> Path:
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    return write_bytes_atomic(
        (b"\xef\xbb\xbf" if bom else b"") + sink.getvalue().to_pybytes(), path
    )


@dataclass(frozen=True, eq=False)
class _Linked:
    """Each custodian's linked records, by joined serial (the custodian's own view)."""

    register: pa.Table  # serial, sigungu_code, sector, representative_sex, turnover_krw
    support: pa.Table  # serial, support_krw (one row per payment)
    quarantined: dict[str, int]
    overlap: int
    psi_bytes: int


def _link(world: BusinessWorld, gov: Governance, out: Path) -> _Linked:
    """Both custodians standardise their numbers and link them by PSI (audited per custodian)."""
    secret = LinkageSecret.generate()  # the custodians' shared linkage secret
    keys, rows, quarantined = {}, {}, {}
    for dataset, table in ((REGISTER, world.register), (SUPPORT, world.support)):
        keys[dataset], rows[dataset] = _standardised(table.column("brn").to_pylist())
        quarantined[dataset] = table.num_rows - len(rows[dataset])
        home = out / "custodians" / OFFICERS[dataset][1]
        secret.save(home / "secrets" / "linkage.key")
        note = json.dumps({"quarantined_invalid_brn": quarantined[dataset]})
        write_text_atomic(note, home / "quarantine" / f"{dataset}.json")
    transcript = PsiTranscript([])
    serial_r, serial_s = joined_serials(
        keys[REGISTER], keys[SUPPORT], secret, ENCRYPTED_PROJECT, transcript=transcript
    )
    overlap = int((serial_r >= 0).sum())
    for dataset, (officer, _) in OFFICERS.items():
        gov.authorize(officer, ENCRYPTED_PROJECT, Operation.SUBMIT_PARTS, dataset=dataset,
                      objects={"psi": "openmined-psi ECDH P-256", "overlap": overlap,
                               "psi_bytes": transcript.bytes_sent})  # fmt: skip
    reg = world.register.take(rows[REGISTER]).append_column("serial", _serials(serial_r))
    sup = world.support.take(rows[SUPPORT]).append_column("serial", _serials(serial_s))
    reg, sup = (t.filter(pc.is_valid(t.column("serial"))) for t in (reg, sup))
    return _Linked(
        reg.select(["serial", "sigungu_code", "sector", "representative_sex", "turnover_krw"]),
        sup.select(["serial", "support_krw"]),
        quarantined, overlap, transcript.bytes_sent,
    )  # fmt: skip


def _serials(numbers: np.ndarray) -> pa.Array:
    return pa.array([f"J{n:08d}" if n >= 0 else None for n in numbers.tolist()], pa.string())


def _send(
    linked: _Linked, encryption: ProjectEncryption, parties: dict[str, PartyKeyStore], inbox: Path
) -> dict[str, Path]:
    """KOSTAT: classifications in plaintext, turnover encrypted; Gyeonggi: support encrypted.

    Returns:
        The sealed packages: ``classes`` and one per dataset (its ciphertexts).
    """
    classes = label_part(
        linked.register.select(["serial", *_CATEGORIES]), project=ENCRYPTED_PROJECT,
        dataset=REGISTER, kind="content",
    )  # fmt: skip
    sent = {"classes": seal_table(classes, sender=parties["kostat"], recipient="hub",
                                  project=ENCRYPTED_PROJECT, kind="content", dataset=REGISTER,
                                  out_dir=inbox)}  # fmt: skip
    for dataset, table, column in ((REGISTER, linked.register, "turnover_krw"),
                                   (SUPPORT, linked.support, "support_krw")):  # fmt: skip
        attribute = EncryptedAttribute(column, unit=_UNITS[column], packed=True)
        cts = encrypt_attributes(table.select(["serial", column]), [attribute], encryption.public,
                                 encryption.parameters, project=ENCRYPTED_PROJECT,
                                 dataset=dataset)  # fmt: skip
        sent[dataset] = seal_table(cts, sender=parties[OFFICERS[dataset][1]], recipient="hub",
                                   project=ENCRYPTED_PROJECT, kind="ciphertexts",
                                   dataset=dataset, out_dir=inbox)  # fmt: skip
    return sent


def _shares(
    encryption: ProjectEncryption, parties: dict[str, PartyKeyStore]
) -> dict[str, KeyShare]:
    """The two custodians' officers open their sealed shares (the checker keeps theirs sealed)."""
    return {
        h.user: open_share(encryption.shares[h.user], parties[h.party], ENCRYPTED_PROJECT)
        for h in _HOLDERS
        if h.dataset is not None
    }


def _tables(
    gov: Governance,
    encryption: ProjectEncryption,
    parties: dict[str, PartyKeyStore],
    sent: dict[str, Path],
    *,
    linked: _Linked,
    out: Path,
) -> tuple[EncryptedTable, ...]:
    """Hub aggregates on ciphertexts; ceremony, disclosure checks, review and release per table."""
    hub = parties["hub"]
    groups = open_package(sent["classes"], hub, project=ENCRYPTED_PROJECT, kind="content").table
    ciphertexts = {
        d: open_package(sent[d], hub, project=ENCRYPTED_PROJECT, kind="ciphertexts").table
        for d in (REGISTER, SUPPORT)
    }
    shares = _shares(encryption, parties)
    plain = {REGISTER: linked.register, SUPPORT: linked.support}
    tables = []
    for output, dataset, column, dimensions, title in _TABLES:
        categories = {d: _CATEGORIES[d] for d in dimensions}
        gov.authorize(HUB_OPERATOR, ENCRYPTED_PROJECT, Operation.COMBINE,
                      objects={"encrypted_aggregation": output, "dataset": dataset})  # fmt: skip
        aggregates = aggregate_encrypted(ciphertexts[dataset], groups, dimensions,
                                         encryption.public, categories=categories)  # fmt: skip
        ceremony = DecryptionCeremony(gov, ENCRYPTED_PROJECT, encryption.escrow, aggregates)
        for user, share in shares.items():
            ceremony.contribute(user, share)
        (decrypted,) = ceremony.decrypt()
        encrypted = protect_aggregates(_in_thousands(decrypted))
        reference = protect_aggregates(_in_thousands(plaintext_aggregates(
            plain[dataset], groups, dimensions, column, categories=categories)))  # fmt: skip
        content = encrypted.csv()
        gov.submit_output(ANALYST, ENCRYPTED_PROJECT, output, content)
        gov.review_output(CHECKER, ENCRYPTED_PROJECT, output, approve=True)
        gov.release_output(CHECKER, ENCRYPTED_PROJECT, output)
        released = write_bytes_atomic(content, out / "release" / "encrypted" / f"{output}.csv")
        write_bytes_atomic(reference.csv(), out / "evaluation" / "plaintext" / f"{output}.csv")
        comparison = compare_tables(encrypted, reference)
        tables.append(EncryptedTable(output, title, encrypted, reference, comparison, released))
    return tuple(tables)


def _in_thousands(table: AggregateTable) -> AggregateTable:
    """Amounts in thousands of KRW (천원), as KOSIS publishes them."""
    squares = None if table.sum_squares is None else table.sum_squares / 1e6
    return dataclasses.replace(table, sum=table.sum / 1e3, sum_squares=squares)


def _write_world(world: BusinessWorld, directory: Path) -> None:
    _write_csv(world.register, directory / f"{REGISTER}.csv", bom=True)
    _write_csv(world.support, directory / f"{SUPPORT}.csv", bom=True)


def run_encrypted_demo(
    firms: int = 20_000,
    seed: int = 20211101,
    out: Path = Path("ansim-demo-encrypted"),
    *,
    on_step: Callable[[str], None] | None = None,
) -> EncryptedDemoRun:
    """Run the small-business scenario through PSI, encrypted aggregation and release.

    Args:
        firms: Firms in KOSTAT's register extract.
        seed: Random seed of the synthetic files.
        out: Output directory (see the module docstring for its layout).
        on_step: Called with a short description before each step.

    Returns:
        What was published, the plaintext path's tables beside them and the CKKS error.
    """
    say = on_step or (lambda _: None)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 2)
        clock = now

    say(f"generating {firms:,} firms (KOSTAT) and their support payments (Gyeonggi)")
    world = generate_business_world(firms, seed)
    _write_world(world, out / "world")
    lap("generate")
    say("governance: project, approvals; encryption keys issued, key split 2-of-3")
    gov = _open_project(out / "governance")
    parties = _parties(out)
    encryption = ProjectEncryption.issue(
        gov, ADMIN, ENCRYPTED_PROJECT, holders=_HOLDERS, threshold=_THRESHOLD,
        issuer=parties["administration"], out=out / "governance" / "encryption",
    )  # fmt: skip
    lap("keys")
    say("custodians: standardise registration numbers, link by private set intersection")
    linked = _link(world, gov, out)
    lap("psi")
    say("custodians: encrypt turnover and support under the project's public key, send to hub")
    inbox = out / "hub" / "inbox"
    shutil.rmtree(inbox, ignore_errors=True)
    sent = _send(linked, encryption, parties, inbox)
    lap("encrypt")
    say("hub: totals on ciphertexts; key holders' ceremony; disclosure checks; release")
    tables = _tables(gov, encryption, parties, sent, linked=linked, out=out)
    lap("aggregate_decrypt_release")
    summary = {t.output: t.comparison for t in tables}
    write_text_atomic(
        json.dumps(summary, indent=2), out / "evaluation" / "encrypted_vs_plaintext.json"
    )
    audit = gov.verify_audit()
    gov.close()
    audit.raise_for_problem()
    return EncryptedDemoRun(
        out, firms, world.support.num_rows, linked.quarantined, linked.overlap,
        linked.psi_bytes, tables, f"audit: {audit.events} events verified", seconds,
    )  # fmt: skip
