"""Attacks on the submission routes by ordinary accounts, and what stops each one.

An analyst of p1, a checker of p2, a hub operator and an anonymous caller try: oversized bodies
before they have logged in, an Excel "zip bomb" that is small on the wire and huge when read,
another user's session cookie without its CSRF token, tokens scoped to another project or role,
IDOR on project and release ids, path traversal in file names, a DP release that names a table
outside the project's hub store, and error messages that would echo submitted values.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ansim.server import create_app

from .conftest import P1, P2, POLICY, TODAY, Site
from .test_submissions_api import DP, RATE, RELEASES, SPEC, TABLE, _records, _upload, with_rate_data


@pytest.fixture
def rates(fresh: Callable[[], Site]) -> Site:
    return with_rate_data(fresh())


def _small(site: Site, limit: int) -> Site:
    app = create_app(site.home, secure_cookies=False, today=TODAY, policy=POLICY,
                     max_upload_bytes=limit)  # fmt: skip
    return Site(site.home, app, {})


def test_an_oversized_body_is_refused_before_it_is_read_even_without_a_login(
    fresh: Callable[[], Site],
) -> None:
    small = _small(fresh(), 10_000)
    big = b"x" * 2_000_000
    anonymous = small.anonymous()
    upload = anonymous.post(TABLE, files={"records": ("r.csv", big, "text/csv")},
                            data={"by": ["sex"], "contributor": "person"})  # fmt: skip
    assert upload.status_code == 413, upload.text
    assert "upload limit" in upload.json()["error"]
    # a JSON body is held in memory whole: one far past any request's needs is refused too
    huge = b'{"spec": "' + b"a" * (17 * 1024 * 1024) + b'", "table": "t"}'
    answer = anonymous.post(DP, content=huge, headers={"content-type": "application/json"})
    assert answer.status_code == 413, answer.text
    # an honest small request still reaches the route (and its 401)
    assert anonymous.post(DP, json={"spec": SPEC, "table": "t"}).status_code == 401


def test_a_chunked_body_without_a_length_is_cut_at_the_limit(fresh: Callable[[], Site]) -> None:
    small = _small(fresh(), 10_000)

    def chunks() -> object:
        yield b"--b\r\nContent-Disposition: form-data; name=records; filename=r.csv\r\n\r\n"
        for _ in range(300):
            yield b"y" * 10_000

    kind = {"content-type": "multipart/form-data; boundary=b"}
    answer = small.anonymous().post(TABLE, content=chunks(), headers=kind)  # type: ignore[arg-type]
    assert answer.status_code == 413, answer.text


def _bomb_xlsx(rows: int) -> bytes:
    """A valid one-sheet workbook of ``rows`` identical rows: tiny zipped, large unzipped."""
    sheet = io.StringIO()
    sheet.write('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
                'openxmlformats.org/spreadsheetml/2006/main"><sheetData>')  # fmt: skip
    sheet.write('<row><c t="inlineStr"><is><t>person</t></is></c>'
                '<c t="inlineStr"><is><t>sex</t></is></c></row>')  # fmt: skip
    for _ in range(rows):
        sheet.write('<row><c t="inlineStr"><is><t>p</t></is></c>'
                    '<c t="inlineStr"><is><t>M</t></is></c></row>')  # fmt: skip
    sheet.write("</sheetData></worksheet>")
    ns = "http://schemas.openxmlformats.org"
    parts = {
        "[Content_Types].xml": (
            f'<?xml version="1.0"?><Types xmlns="{ns}/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            f'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            f'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
            f'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            f'spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/'
            f'officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0"?><workbook xmlns="{ns}/spreadsheetml/2006/main" '
            f'xmlns:r="{ns}/officeDocument/2006/relationships"><sheets><sheet name="S" '
            f'sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/worksheet" '
            f'Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": sheet.getvalue(),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return out.getvalue()


def test_an_excel_zip_bomb_is_refused_before_it_is_unpacked(fresh: Callable[[], Site]) -> None:
    site = fresh()
    bomb = _bomb_xlsx(40_000)  # about 4 MB of XML in well under 100 kB
    assert len(bomb) < 100_000
    small = _small(site, 200_000)
    answer = _upload(small.login("analyst"), bomb, name="records.xlsx", by=["sex"])
    assert answer.status_code == 413, answer.text  # type: ignore[attr-defined]
    assert "unpacked" in answer.json()["error"]  # type: ignore[attr-defined]
    assert not list((site.home / "hub" / P1 / "uploads").iterdir())
    assert small.login("checker").get(RELEASES).json() == []
    # a small workbook within the limit is read as before
    fine = _upload(small.login("analyst"), _bomb_xlsx(50), name="records.xlsx", by=["sex"])
    assert fine.status_code == 201, fine.text  # type: ignore[attr-defined]


def test_a_parquet_bomb_is_refused_before_it_is_expanded(fresh: Callable[[], Site]) -> None:
    """One long text value in a dictionary, repeated on every row: kilobytes on the wire."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    site = fresh()
    rows = 50_000
    sex = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["F" * 200]))
    sink = io.BytesIO()
    pq.write_table(pa.table({"sex": sex}), sink, compression="zstd")
    bomb = sink.getvalue()
    assert len(bomb) < 20_000  # ~10 MB of text once written out
    small = _small(site, 200_000)
    answer = _upload(small.login("analyst"), bomb, name="records.parquet", by=["sex"])
    assert answer.status_code == 413, answer.text  # type: ignore[attr-defined]
    error = answer.json()["error"]  # type: ignore[attr-defined]
    assert "the records file" in error and ".records-" not in error and "--max-bytes" not in error
    assert not list((site.home / "hub" / P1 / "uploads").iterdir())
    assert small.login("checker").get(RELEASES).json() == []


class _KeysServer:
    """A hub server that answers a project's party keys with whatever it was given."""

    def __init__(self, keys: list[str]) -> None:
        self.custodian = self
        self.keys = keys

    def __enter__(self) -> _KeysServer:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def party_keys(self, _project: str) -> list[dict[str, str]]:
        return [{"keys": k} for k in self.keys]


def test_keys_from_the_server_are_trusted_only_by_their_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub's server could substitute the linkage unit's key and read identity parts."""
    from ansim.cli import _release  # noqa: PLC0415
    from ansim.errors import InvalidSpecError  # noqa: PLC0415
    from ansim.packages import PartyKeyStore  # noqa: PLC0415
    from tests.integration.serving import cli  # noqa: PLC0415

    monkeypatch.delenv("ANSIM_KEY_PASSPHRASE", raising=False)
    forged = PartyKeyStore.create(tmp_path / "forged", "linkage_unit").public
    hub = PartyKeyStore.create(tmp_path / "hub", "hub").public
    mine = tmp_path / "mine"
    PartyKeyStore.create(mine, "gyeonggi")
    served = [forged.to_json(), hub.to_json()]
    monkeypatch.setattr(_release, "hub_client", lambda server=None: _KeysServer(served))
    trust = ("keys", "trust", "--from-server", "--store", str(mine), "--project", P1)
    blind = cli(tmp_path, *trust)
    assert isinstance(blind.exception, InvalidSpecError), blind.output
    assert "--fingerprint" in str(blind.exception)
    assert forged.fingerprint in str(blind.exception)  # shown, to compare with the parties
    assert not (mine / "trusted").exists()
    named = cli(tmp_path, *trust, "--fingerprint", hub.fingerprint)
    assert named.exit_code == 0, named.output
    assert PartyKeyStore.open(mine).trusted("hub") == hub
    assert [p.name for p in (mine / "trusted").iterdir()] == ["hub.json"]


@pytest.mark.parametrize("encoding", ["zlib_codec", "base64", "hex", "no-such-codec"])
def test_an_encoding_that_is_not_a_text_encoding_is_refused_plainly(
    rates: Site, encoding: str
) -> None:
    answer = _upload(rates.login("analyst"), _records(), encoding=encoding)
    assert answer.status_code == 422, answer.text  # type: ignore[attr-defined]
    assert "encoding" in answer.json()["error"]  # type: ignore[attr-defined]
    assert rates.login("checker").get(RELEASES).json() == []


def test_an_undecodable_cp949_upload_is_read_with_its_bad_rows_quarantined(rates: Site) -> None:
    good = "".join(f"p{i:03d},{'남여'[i % 2]},가\n" for i in range(40)).encode("cp949")
    data = "person,sex,band\n".encode("cp949") + good + b"bad\x81\xff,\xfe,A\n"
    answer = _upload(rates.login("analyst"), data, by=["sex"], encoding="cp949")
    assert answer.status_code == 201, answer.text  # type: ignore[attr-defined]
    quarantine = answer.json()["quarantine"]  # type: ignore[attr-defined]
    assert (quarantine["rows_used"], quarantine["rows_quarantined"]) == (40, 1)
    assert "bad" not in answer.text  # type: ignore[attr-defined]  # counted, not echoed


def test_a_session_cookie_without_its_own_csrf_token_changes_nothing(rates: Site) -> None:
    rates.login("checker")  # another session, whose CSRF token the attacker holds
    theirs = rates.clients["checker"].headers["X-CSRF-Token"]
    stolen = rates.anonymous()
    stolen.cookies.update(rates.login("analyst").cookies)
    replayed = rates.anonymous()
    replayed.cookies.update(rates.login("analyst").cookies)
    replayed.headers["X-CSRF-Token"] = theirs
    for client in (stolen, replayed):
        assert client.post(RATE, json={}).status_code == 403
        assert client.post(DP, json={"spec": SPEC, "table": "linked_register"}).status_code == 403
        assert _upload(client, _records()).status_code == 403  # type: ignore[attr-defined]
    rel = rates.login("analyst").post(RATE, json={}).json()["submission"]["id"]
    forged = rates.anonymous()
    forged.cookies.update(rates.login("checker").cookies)
    review = forged.post(f"{RELEASES}/{rel}/reviews", json={"decision": "approve"})
    assert review.status_code == 403
    assert rates.login("checker").get(f"{RELEASES}/{rel}").json()["approvals"] == []
    assert rates.login("checker").get(RELEASES).json()[0]["id"] == rel  # only the honest one


def test_a_token_acts_only_within_its_project_and_role(rates: Site) -> None:
    rel = rates.login("analyst").post(RATE, json={}).json()["submission"]["id"]
    p2 = RELEASES.replace(P1, P2)
    hubop = rates.token("hubop", project=P2)  # a member of both projects, token for p2 only
    for path in (RELEASES, f"{RELEASES}/{rel}", f"{RELEASES}/{rel}/files"):
        answer = hubop.get(path)
        assert answer.status_code == 403 and "limited to project" in answer.json()["error"]
    assert hubop.get(p2).status_code == 403  # in p2 still no reader of releases
    reading = rates.token("checker", role="output_checker", project=P1)
    assert reading.get(f"{RELEASES}/{rel}/files").status_code == 200
    for path, body in ((RATE, {}), (DP, {"spec": SPEC, "table": "linked_register"})):
        assert reading.post(path, json=body).status_code == 403
    analyst = rates.token("analyst", role="analyst")
    review = analyst.post(f"{RELEASES}/{rel}/reviews", json={"decision": "approve"})
    assert review.status_code == 403
    assert rates.login("checker").get(f"{RELEASES}/{rel}").json()["approvals"] == []


@pytest.mark.parametrize(
    "name", ["..", "%2e%2e", "..%2Fledger.json", "%2E%2E%2F%2E%2E%2Fhub.duckdb", ".hidden", "a%2Fb"]
)
def test_a_file_name_cannot_leave_the_submission(site: Site, name: str) -> None:
    answer = site.login("checker").get(f"{RELEASES}/rel-0001/files/{name}")
    assert answer.status_code in {404, 422}, answer.text
    assert str(site.home) not in answer.text


def test_an_upload_name_with_a_path_is_never_used_as_one(rates: Site) -> None:
    before = {p for p in rates.home.rglob("*") if p.is_file()}
    answer = rates.login("analyst").post(
        TABLE, files={"records": ("../../../../evil.csv", _records(), "text/csv")},
        data={"by": ["sex"], "contributor": "person", "threshold": "5"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    added = {p for p in rates.home.rglob("*") if p.is_file()} - before
    assert not any("evil" in p.name for p in added)
    assert not list((rates.home / "hub" / P1 / "uploads").iterdir())


def test_a_huge_field_value_is_refused_without_being_echoed(rates: Site) -> None:
    answer = _upload(rates.login("analyst"), _records(), by=["x" * 100_000])
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert len(answer.text) < 2_000  # type: ignore[attr-defined]


def test_the_cli_sends_its_token_to_no_other_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ansim.cli._release import hub_client  # noqa: PLC0415
    from ansim.client import Credentials  # noqa: PLC0415
    from ansim.errors import AccessDenied, InvalidSpecError  # noqa: PLC0415
    from tests.integration.serving import cli  # noqa: PLC0415

    monkeypatch.setenv("ANSIM_CONFIG_DIR", str(tmp_path))
    Credentials("http://127.0.0.1:9", "ansim_" + "s" * 43, "tok-1", "analyst").save()
    for other in ("https://hub.example.org", "http://127.0.0.1:10", "http://localhost:9"):
        with pytest.raises(AccessDenied, match=r"logged in to http://127\.0\.0\.1:9"):
            hub_client(other)
        shown = cli(tmp_path, "release", "queue", "--project", P1, "--server", other)
        assert isinstance(shown.exception, AccessDenied)
        assert "s" * 43 not in shown.output
    with pytest.raises(InvalidSpecError, match="https://"):  # no bearer token over plain HTTP
        hub_client("http://hub.example.org")


def test_a_dp_release_spends_only_its_own_projects_budget(rates: Site) -> None:
    from ansim.governance import Governance, PrivacyLedger  # noqa: PLC0415

    def left(project: str) -> float | None:
        gov = Governance(rates.home, today=TODAY)
        try:
            return PrivacyLedger(gov).balance(project).rho_remaining
        except Exception:  # noqa: BLE001  # p2 may have no budget at all
            return None
        finally:
            gov.close()

    before = left(P2)
    body = {"spec": SPEC, "table": "linked_register"}
    assert rates.login("analyst_p2").post(DP, json=body).status_code == 404  # p1, not theirs
    assert rates.token("analyst", project=P1).post(DP.replace(P1, P2), json=body).status_code in {
        403,
        404,
    }
    assert left(P1) == pytest.approx(1.0) and left(P2) == before
    made = rates.login("analyst").post(DP, json=body)
    assert made.status_code == 201, made.text
    assert left(P1) == pytest.approx(1.0 - made.json()["rho"]) and left(P2) == before


def test_a_multipart_form_without_its_file_is_refused_plainly(rates: Site) -> None:
    answer = rates.login("analyst").post(TABLE, data={"by": ["sex"], "contributor": "person"})
    assert answer.status_code == 422 and "records" in answer.json()["error"]
    empty = _upload(rates.login("analyst"), b"")
    assert empty.status_code == 422  # type: ignore[attr-defined]
    assert rates.login("checker").get(RELEASES).json() == []
