"""Submissions to a project's release path over HTTP, and the files of what was released.

What ``ansim release table``, ``ansim privacy release --project`` and ``ansim disclose table
--project`` ask for is made here, inside the hub, by :class:`~ansim.services.Release` as the
caller: the rate table from the project's hub store, the DP tables paid from its privacy
budget, a protected table from a records file uploaded to the server (size-limited, read by
the one reader, :func:`ansim.disclosure.read_records`; rows it cannot read are quarantined and
counted, never echoed). Each route resolves the caller, hides projects the caller is not part
of (404), checks the API token's scope and the caller's role (403) and calls one service
method; governance checks again and audits. Review and release are in ``_releases_api``.

A submission's files (and their checksums) are readable by the project's output checkers (and
a protected table's by its author, who uploaded the records); once released, by every analyst
and output checker of the project (``ansim release publish``
fetches them into the checker's ``--out``).
"""

from __future__ import annotations

import codecs
import hashlib
import secrets
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ansim.errors import (
    AccessDenied,
    AnsimError,
    IngestError,
    InvalidSpecError,
    NotFoundError,
    OversizedInputError,
)
from ansim.governance import Operation, Role
from ansim.governance import allowed_roles as allowed
from ansim.release import Submission
from ansim.server._auth import Caller, CallerDep, DeploymentDep
from ansim.server._deployment import Deployment
from ansim.server._errors import JsonResponse
from ansim.services import Release, TableRequest

__all__ = ["router"]

router = APIRouter(prefix="/api", default_response_class=JsonResponse)

ReleaseId = Annotated[str, Path(pattern=r"^rel-[0-9]{4,9}$")]
FileName = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
Name = Annotated[str, Field(min_length=1, max_length=63)]
_READERS = (Role.ANALYST, Role.OUTPUT_CHECKER)
_CHUNK = 1 << 20
_RECORD_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".xlsx", ".parquet"})
_MAX_SPEC = 200_000
_SHOWN_PROBLEMS = 100
_MAX_BY, _MAX_BY_TEXT = 20, 1000


class RateTableRequest(BaseModel):
    """The rate table of ``ansim release table``: events per 100,000 by si/gun × age × sex."""

    events: Name = "gyeonggi_cases"
    population: Name = "kostat_register"
    threshold: Annotated[int, Field(ge=1, le=1_000_000)] = 10


class DPRequest(BaseModel):
    """A DP release from a release spec (YAML text, as ``ansim privacy release --spec``)."""

    spec: Annotated[str, Field(min_length=1, max_length=_MAX_SPEC, description="YAML text.")]
    table: Annotated[str, Field(min_length=1, max_length=127, description="The hub table.")]
    rho: Annotated[float | None, Field(gt=0, le=100, description="Overrides the spec's.")] = None


class SubmissionState(BaseModel):
    """A submission as its readers see it: no member ids, only file checksums."""

    id: str
    kind: str
    title: str
    author: str
    threshold: int
    unit: str
    files: dict[str, str] = Field(
        description="File name → SHA-256 of what it publishes (empty until released, except "
        "for the output checkers)."
    )
    status: str
    approvals: list[str]
    comments: list[str]
    audit: dict[str, Any] = Field(description="The ledger audit's counts at release.")
    created: str
    needed: int
    source: str
    entry: str
    governed: bool
    exception: str
    portal: str = Field(description="The portal table it carries, if any.")
    withheld: str = Field("", description="What this reader is not shown yet, and why.")


class RateTableSubmitted(BaseModel):
    """A rate table submitted for review."""

    submission: SubmissionState
    cells: int
    cells_suppressed: int


class DPSubmitted(BaseModel):
    """DP tables paid for once and submitted for review."""

    submissions: list[SubmissionState]
    rho: float
    epsilon: float
    delta: float
    privacy_unit: str
    rho_remaining: float


class QuarantineCounts(BaseModel):
    """The rows of the upload the reader could not take: counts, row numbers, reasons."""

    rows_read: int
    rows_used: int
    rows_quarantined: int
    data_lines: int
    blank_lines: int
    multiline_continuation_lines: int
    quarantine_reasons: dict[str, int] = Field(description="Quarantined rows per kind of reason.")
    problems: list[dict[str, Any]] = Field(
        description="The first quarantined rows: row_number, lines, reason (no values)."
    )


class TableSubmitted(BaseModel):
    """A protected table submitted for review."""

    submission: SubmissionState
    summary: dict[str, Any] = Field(description="Cells, primary and secondary suppressions.")
    quarantine: QuarantineCounts


class ReleaseFiles(BaseModel):
    """What a submission publishes."""

    release: str
    status: str
    files: dict[str, str] = Field(description="File name → SHA-256.")


def _release(found: Deployment, caller: Caller, project: str, operation: Operation) -> Release:
    """404 unless the caller may know the project; 403 unless they may perform ``operation``."""
    found.visible(caller.user, project)
    roles = allowed(operation)
    caller.within(project, sorted(roles))
    if not found.project_roles(caller.user, project) & roles:
        wanted = " or ".join(sorted(r.value for r in roles))
        raise AccessDenied(
            f"{caller.user!r} may not do this in project {project!r}: needs {wanted}"
        )
    return Release(found.governance, project, found.hub_store(project), portal_home=found.home)


def shown_submission(
    found: Deployment, caller: Caller, project: str, item: Submission
) -> dict[str, Any]:
    """The submission as the caller may see it (:meth:`ansim.release.Submission.shown_to`)."""
    checker = Role.OUTPUT_CHECKER in found.project_roles(caller.user, project)
    return item.shown_to(caller.user, checker=checker)


def _submission(
    found: Deployment, caller: Caller, project: str, item: Submission
) -> SubmissionState:
    return SubmissionState.model_validate(shown_submission(found, caller, project, item))


@router.post(
    "/projects/{project}/releases/rate-table", status_code=201,
    summary="Make the rate table in the hub and submit it for review",
)  # fmt: skip
async def submit_rate_table(
    project: str, body: RateTableRequest, caller: CallerDep, found: DeploymentDep
) -> RateTableSubmitted:
    """An analyst's rate table: small cells and cells the ledger would refuse are withheld."""
    from ansim.release import RateTableSpec  # noqa: PLC0415

    service = _release(found, caller, project, Operation.SUBMIT_OUTPUT)
    spec = RateTableSpec(events=body.events, population=body.population, threshold=body.threshold)
    released, submitted = service.submit_rate_table(caller.user, spec)
    s = released.summary
    return RateTableSubmitted(
        submission=_submission(found, caller, project, submitted),
        cells=s["cells"],
        cells_suppressed=s["cells_suppressed"],
    )


@router.post(
    "/projects/{project}/releases/dp", status_code=201,
    summary="Charge the privacy budget once and submit DP tables for review",
)  # fmt: skip
async def submit_dp_release(
    project: str, body: DPRequest, caller: CallerDep, found: DeploymentDep
) -> DPSubmitted:
    """An analyst's DP tables with 95% intervals; nothing is charged if a check fails first."""
    from ansim._specfile import parse_yaml  # noqa: PLC0415
    from ansim.privacy import parse_release_spec  # noqa: PLC0415

    service = _release(found, caller, project, Operation.SUBMIT_OUTPUT)
    spec = parse_release_spec(parse_yaml(body.spec, "the release spec"), rho=body.rho)
    done = service.submit_dp_tables(caller.user, spec, body.table)
    plan = done.release.plan
    shown = [_submission(found, caller, project, s) for s in done.submissions]
    return DPSubmitted(
        submissions=shown, rho=plan.rho,
        epsilon=plan.epsilon, delta=spec.conversion_delta,
        privacy_unit=plan.spec.privacy_unit, rho_remaining=done.rho_remaining,
    )  # fmt: skip


def _dominance(text: str | None) -> tuple[int, float] | None:
    if not text:
        return None
    try:
        n_text, k_text = text.split(",")
        return int(n_text), float(k_text)
    except ValueError:
        raise InvalidSpecError("dominance must look like '1,80'") from None


def _read_options(delimiter: str, encoding: str | None) -> None:
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise InvalidSpecError("the delimiter must be one character, such as ',' ';' or a tab")
    if encoding is not None:
        try:
            text = getattr(codecs.lookup(encoding), "_is_text_encoding", True)
        except LookupError:
            text = False
        if not text:  # unknown, or bytes to bytes (zlib, base64)
            raise InvalidSpecError("unknown encoding: name one such as utf-8 or cp949")


async def _staged(request: Request, upload: UploadFile, folder: FilePath) -> FilePath:
    """The upload written to a private file under ``folder`` (413 past the upload limit)."""
    suffix = FilePath(upload.filename or "records.csv").suffix.lower() or ".csv"
    if suffix not in _RECORD_SUFFIXES:
        raise InvalidSpecError(f"records must be CSV, Excel (.xlsx) or Parquet, not {suffix!r}")
    limit: int = request.app.state.max_upload_bytes
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / f".records-{secrets.token_hex(8)}{suffix}"
    size = 0
    try:
        with staged.open("wb") as sink:
            while chunk := await upload.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise OversizedInputError(
                        f"the records file is larger than the upload limit of {limit} bytes"
                    )
                sink.write(chunk)
        _check_unpacked(staged, limit)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def _check_unpacked(staged: FilePath, limit: int) -> None:
    """Refuse a workbook that would unpack past the upload limit (a zip "bomb").

    An .xlsx file is a zip archive: a small upload could otherwise expand to gigabytes in the
    reader. The members' declared unpacked sizes are checked before anything is decompressed;
    a file that is not a zip archive is left to the reader, which refuses it.
    """
    import zipfile  # noqa: PLC0415

    if staged.suffix != ".xlsx" or not zipfile.is_zipfile(staged):
        return
    with zipfile.ZipFile(staged) as archive:
        unpacked = sum(member.file_size for member in archive.infolist())
    if unpacked > limit:
        raise OversizedInputError(
            f"the records file would be {unpacked} bytes unpacked, larger than the upload "
            f"limit of {limit} bytes"
        )


@router.post(
    "/projects/{project}/releases/protected-table", status_code=201,
    summary="Protect a table of uploaded records and submit it for review",
)  # fmt: skip
async def submit_protected_table(  # noqa: PLR0917  # FastAPI passes form fields by name
    project: str,
    request: Request,
    caller: CallerDep,
    found: DeploymentDep,
    records: Annotated[UploadFile, File(description="Records: CSV, .xlsx or Parquet.")],
    by: Annotated[list[str], Form(description="Classifying columns, comma-separated; repeat.")],
    contributor: Annotated[str, Form(min_length=1, max_length=127)],
    value: Annotated[str | None, Form(max_length=127)] = None,
    threshold: Annotated[int | None, Form(ge=1, le=1_000_000)] = 10,
    dominance: Annotated[str | None, Form(max_length=40, description="'n,k', e.g. '1,80'")] = None,
    p: Annotated[float | None, Form(gt=0, le=100)] = None,
    method: Annotated[str, Form(max_length=20)] = "heuristic",
    delimiter: Annotated[str, Form(max_length=5)] = ",",
    encoding: Annotated[str | None, Form(max_length=40)] = None,
    title: Annotated[str, Form(max_length=200)] = "",
) -> TableSubmitted:
    """An analyst's protected table: the file is read on the server and deleted after use.

    Rows the reader cannot take are quarantined (counted, with row numbers and reasons, never
    values); the table is made from the others. A file with no readable row is refused.
    """
    from ansim.disclosure import read_records  # noqa: PLC0415

    service = _release(found, caller, project, Operation.SUBMIT_OUTPUT)
    if len(by) > _MAX_BY or any(len(spec) > _MAX_BY_TEXT for spec in by):  # never echoed back
        raise InvalidSpecError(
            f"by: at most {_MAX_BY} lists of classifying columns, each at most {_MAX_BY_TEXT} "
            "characters"
        )
    tables = tuple(tuple(d.strip() for d in spec.split(",") if d.strip()) for spec in by)
    ask = TableRequest(
        tables, contributor, value=value, threshold=threshold, dominance=_dominance(dominance),
        p_percent=p, method=method.lower(), title=title,
    )  # fmt: skip
    _read_options(delimiter, encoding)
    staged = await _staged(request, records, service.store.parent / "uploads")
    try:
        rows = read_records(
            staged, delimiter=delimiter, encoding=encoding,
            max_bytes=request.app.state.max_upload_bytes,
        )  # fmt: skip
    except AnsimError as e:  # the reader names its file: never the server's path
        message = str(e).replace(str(staged), "the records file")
        message = message.replace(staged.name, "the records file")
        if isinstance(e, OversizedInputError):
            raise OversizedInputError(
                message.replace(" or raise the limit (--max-bytes)", "")
            ) from None
        raise IngestError(message) from None
    finally:
        staged.unlink(missing_ok=True)
    extra = rows.counts()
    rejected = sorted(rows.quarantined, key=lambda r: r.row_number)[:_SHOWN_PROBLEMS]
    problems = [{"row_number": r.row_number, "lines": r.line_range, "reason": r.reason}
                for r in rejected]  # fmt: skip
    protected, submitted = service.submit_protected_table(caller.user, rows.table, ask, extra=extra)
    return TableSubmitted(
        submission=_submission(found, caller, project, submitted), summary=protected.summary(),
        quarantine=QuarantineCounts(**extra, problems=problems),
    )  # fmt: skip


# -- reading a submission and its files --------------------------------------------------------
def _readable(
    found: Deployment, caller: Caller, project: str, release: str
) -> tuple[Release, Submission]:
    """The submission, if the caller may read its files (``Submission.files_readable_by``)."""
    found.visible(caller.user, project)
    caller.within(project, _READERS)
    roles = found.project_roles(caller.user, project)
    if not roles & set(_READERS):
        raise AccessDenied(
            f"{caller.user!r} may not read releases of project {project!r}: it needs the role "
            "analyst or output_checker"
        )
    service = Release(found.governance, project, found.hub_store(project), portal_home=found.home)
    try:
        item = service.path().get(release)
    except InvalidSpecError:
        raise NotFoundError(f"project {project!r} has no release {release!r}") from None
    if not item.files_readable_by(caller.user, checker=Role.OUTPUT_CHECKER in roles):
        raise AccessDenied(f"{release} is not released: only the output checkers read its files")
    return service, item


@router.get("/projects/{project}/releases/{release}", summary="One release submission")
async def get_release(
    project: str, release: ReleaseId, caller: CallerDep, found: DeploymentDep
) -> SubmissionState:
    """Its state, approvals and the SHA-256 of each file it publishes."""
    found.visible(caller.user, project)
    caller.within(project, _READERS)
    if not found.project_roles(caller.user, project) & set(_READERS):
        raise AccessDenied(f"{caller.user!r} may not read releases of project {project!r}")
    service = Release(found.governance, project, found.hub_store(project), portal_home=found.home)
    try:
        return _submission(found, caller, project, service.path().get(release))
    except InvalidSpecError:
        raise NotFoundError(f"project {project!r} has no release {release!r}") from None


@router.get("/projects/{project}/releases/{release}/files", summary="A submission's files")
async def release_files(
    project: str, release: ReleaseId, caller: CallerDep, found: DeploymentDep
) -> ReleaseFiles:
    """File name → SHA-256 of what it publishes (as released, once it is)."""
    service, item = _readable(found, caller, project, release)
    files = service.path().files(item.id)
    digests = {n: hashlib.sha256(d).hexdigest() for n, d in sorted(files.items())}
    return ReleaseFiles(release=item.id, status=item.status.value, files=digests)


@router.get(
    "/projects/{project}/releases/{release}/files/{name}",
    summary="One file of a submission",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def release_file(
    project: str, release: ReleaseId, name: FileName, caller: CallerDep, found: DeploymentDep
) -> Response:
    """The file's bytes, exactly as published."""
    service, item = _readable(found, caller, project, release)
    files = service.path().files(item.id)
    if name not in files:
        raise NotFoundError(f"{release} publishes no file {name!r}")
    return Response(files[name], media_type="application/octet-stream")
