"""The server's endpoints as typed calls, grouped by who makes them (see docs/api-contract)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from ansim._closing import Closing
from ansim.client._credentials import Credentials
from ansim.client._http import Transport
from ansim.errors import ServerError

if TYPE_CHECKING:  # governance is heavy to import; the client only reads its fields
    from ansim.governance import ProjectApplication

__all__ = [
    "Administration",
    "Audit",
    "Client",
    "Custodian",
    "HubClient",
    "Identity",
    "LinkageClient",
    "ReleaseClient",
    "WorkspaceClient",
]

JSON = dict[str, Any]


def _p(value: str) -> str:
    """One path segment (project, output and token ids are quoted, never spliced raw)."""
    return quote(value, safe="")


def _object(answer: Any, what: str) -> JSON:
    if not isinstance(answer, dict):
        raise ServerError(f"the server's answer to {what} is not a JSON object")
    return answer


def _list(answer: Any, what: str) -> list[JSON]:
    if isinstance(answer, dict):  # a list wrapped in an object: {"projects": [...]}
        lists = [v for v in answer.values() if isinstance(v, list)]
        answer = lists[0] if len(lists) == 1 else answer
    if not isinstance(answer, list) or not all(isinstance(a, dict) for a in answer):
        raise ServerError(f"the server's answer to {what} is not a list of objects")
    return answer


@dataclass(frozen=True)
class Identity:
    """Who the server says the caller is.

    Attributes:
        user: The authenticated user id.
        name: Display name.
        organisation: The user's organisation.
        roles: ``(role, project or None, dataset or None)`` for every role held.
    """

    user: str
    name: str
    organisation: str
    roles: tuple[tuple[str, str | None, str | None], ...]

    @classmethod
    def from_json(cls, body: JSON) -> Identity:
        """From ``GET /api/me``."""
        roles = tuple(
            (str(r["role"]), r.get("project"), r.get("dataset") or r.get("custodian"))
            for r in body.get("roles", ())
        )
        return cls(str(body["user"]), str(body.get("name", "")),
                   str(body.get("organisation", "")), roles)  # fmt: skip


class _Part:
    def __init__(self, transport: Transport) -> None:
        self._t = transport


class Administration(_Part):
    """Users, projects, members, keys, destruction and records (administrators)."""

    def create_user(
        self, user: str, name: str, organisation: str, password: str | None = None
    ) -> JSON:
        """Register a user; the answer holds a one-time password when none was given."""
        body = {"user": user, "name": name, "organisation": organisation}
        if password is not None:
            body["password"] = password
        return _object(self._t.request("POST", "/api/users", body=body), "POST /api/users")

    def create_project(self, application: ProjectApplication) -> JSON:
        """Apply for a project (checked here first, then by the server)."""
        body = {
            "project": application.project,
            "title": application.title,
            "purpose": application.purpose.value,
            "description": application.description,
            "datasets": [
                {"dataset": d.dataset, "custodian": d.custodian} for d in application.datasets
            ],
            "start": application.period_start.isoformat(),
            "end": application.period_end.isoformat(),
        }
        answer = self._t.request("POST", "/api/projects", body=body)
        return answer if isinstance(answer, dict) else {}

    def projects(self) -> list[JSON]:
        """The projects the caller belongs to (an administrator: all)."""
        return _list(self._t.request("GET", "/api/projects"), "GET /api/projects")

    def project(self, project: str) -> JSON:
        """One project's record."""
        return _object(self._t.request("GET", f"/api/projects/{_p(project)}"), "GET project")

    def add_member(self, project: str, user: str, role: str, custodian: str | None) -> JSON:
        """Give a user a role in a project."""
        body: JSON = {"user": user, "role": role}
        if custodian is not None:
            body["custodian"] = custodian
        answer = self._t.request("POST", f"/api/projects/{_p(project)}/members", body=body)
        return answer if isinstance(answer, dict) else {}

    def issue_key(self, project: str) -> JSON:
        """Issue the project's data key (the answer names its id, never the key)."""
        answer = self._t.request("POST", f"/api/projects/{_p(project)}/key")
        return _object(answer, "POST key")

    def destroy(self, project: str, reason: str) -> JSON:
        """Crypto-shred a project; the answer is its destruction certificate."""
        answer = self._t.request(
            "POST", f"/api/projects/{_p(project)}/destroy", body={"reason": reason}
        )
        return _object(answer, "POST destroy")

    def row_access(self, project: str) -> JSON:
        """The project's row-access policy."""
        answer = self._t.request("GET", f"/api/projects/{_p(project)}/row-access")
        return _object(answer, "GET row-access")

    def set_row_access(self, project: str, mode: str, workstation: str | None) -> JSON:
        """Set the project's row-access policy (administrators)."""
        body: JSON = {"mode": mode, "workstation": workstation}
        answer = self._t.request("PUT", f"/api/projects/{_p(project)}/row-access", body=body)
        return _object(answer, "PUT row-access")

    def twin(self, project: str) -> JSON:
        """The project's dummy-twin kind (and, for ``dp_synthetic``, its ρ and ε per view)."""
        answer = self._t.request("GET", f"/api/projects/{_p(project)}/twin")
        return _object(answer, "GET twin")

    def set_twin(
        self, project: str, kind: str, *, rho: float | None = None, epsilon: float | None = None
    ) -> JSON:
        """Set the project's dummy-twin kind (administrators)."""
        body: JSON = {"kind": kind, "rho": rho, "epsilon": epsilon}
        answer = self._t.request("PUT", f"/api/projects/{_p(project)}/twin", body=body)
        return _object(answer, "PUT twin")

    def records(self, project: str) -> dict[str, str]:
        """The PIPA processing record and Five Safes summary (file name → content)."""
        answer = _object(self._t.request("GET", f"/api/projects/{_p(project)}/records"), "records")
        files = answer.get("files")
        if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
            raise ServerError("the server's records answer holds no files")
        return {str(k): v for k, v in files.items()}


class Custodian(_Part):
    """A custodian's approvals and sealed packages."""

    def decide(self, project: str, dataset: str, decision: str) -> JSON:
        """Approve or revoke a project's use of a dataset (``decision``: approve | revoke)."""
        answer = self._t.request(
            "POST",
            f"/api/projects/{_p(project)}/approvals",
            body={"dataset": dataset, "decision": decision},
        )
        return answer if isinstance(answer, dict) else {}

    def party_keys(self, project: str) -> list[JSON]:
        """The project's receiving parties' public keys.

        Each has ``role``, ``party``, ``fingerprint`` and ``keys`` (the ``party.json`` text).
        """
        path = f"/api/projects/{_p(project)}/parties/keys"
        return _list(self._t.request("GET", path), "GET parties/keys")

    def send_package(self, project: str, package: Path) -> JSON:
        """Upload one sealed package (the server checks its header, size and the sender's role)."""
        files = {"package": (package.name, package.read_bytes(), "application/octet-stream")}
        answer = self._t.request("POST", f"/api/projects/{_p(project)}/packages", files=files)
        return _object(answer, "POST packages")


class LinkageClient(_Part):
    """The linkage unit's runs on the server (as its logged-in operator)."""

    def run(self, project: str, method: str = "probabilistic") -> JSON:
        """Link the identity packages waiting on the server and seal the link map for the hub.

        Returns:
            The linkage report's counts (``records`` per dataset, ``persons``,
            ``linked_pairs``), the opened ``packages`` and the ``link_map_package``.
        """
        path = f"/api/projects/{_p(project)}/linkage/runs"
        return _object(self._t.request("POST", path, body={"method": method}), "POST runs")

    def runs(self, project: str) -> JSON:
        """The project's linkage runs (``at``, ``by``, ``method``) and the packages ``waiting``."""
        path = f"/api/projects/{_p(project)}/linkage/runs"
        return _object(self._t.request("GET", path), "GET runs")


class HubClient(_Part):
    """The hub's combination on the server (its operator) and its linked views."""

    def combine(self, project: str) -> JSON:
        """Combine the content packages waiting on the server through the sealed link map.

        Returns:
            ``tables`` (linked table → rows), ``persons`` and the opened ``packages``.
        """
        path = f"/api/projects/{_p(project)}/hub/combine"
        return _object(self._t.request("POST", path), "POST combine")

    def views(self, project: str) -> list[JSON]:
        """The linked views' ``name`` and ``rows`` (analysts and hub operators)."""
        path = f"/api/projects/{_p(project)}/hub/views"
        return _list(self._t.request("GET", path), "GET hub views")


class WorkspaceClient(_Part):
    """An analyst's queries and analyses; the checkers' review and release."""

    def views(self, project: str) -> JSON:
        """View name → its columns."""
        return _object(self._t.request("GET", f"/api/projects/{_p(project)}/views"), "views")

    def query(self, project: str, sql: str, limit: int) -> JSON:
        """Run one read-only query: its ``columns`` and ``rows`` as the row-access policy allows.

        ``dummy``, ``label``, ``row_count`` and ``more`` say what the rows are.
        """
        body = {"sql": sql, "limit": limit}
        answer = self._t.request("POST", f"/api/projects/{_p(project)}/query", body=body)
        return _object(answer, "POST query")

    def twin_report(self, project: str) -> JSON:
        """What each view's dummy twin is: kind, ρ and ε, its spend, its utility (TVD)."""
        answer = self._t.request("GET", f"/api/projects/{_p(project)}/twin/report")
        return _object(answer, "GET twin report")

    def analyse(self, project: str, kind: str, params: JSON) -> JSON:
        """A checked analysis (crosstab, pivot, histogram, model, survival) → the output held."""
        body = {"kind": kind, **params}
        answer = self._t.request("POST", f"/api/projects/{_p(project)}/analyses", body=body)
        return _object(answer, "POST analyses")

    def outputs(self, project: str, *, queue: bool = False) -> list[JSON]:
        """The project's outputs, or those awaiting review."""
        params = {"queue": 1} if queue else None
        answer = self._t.request("GET", f"/api/projects/{_p(project)}/outputs", params=params)
        return _list(answer, "GET outputs")

    def output(self, project: str, output: str) -> JSON:
        """One output with its check results."""
        path = f"/api/projects/{_p(project)}/outputs/{_p(output)}"
        return _object(self._t.request("GET", path), "GET output")

    def submit(self, project: str, output: str) -> JSON:
        """Submit an output for review (it is held if its checks fail)."""
        path = f"/api/projects/{_p(project)}/outputs/{_p(output)}/submit"
        return _object(self._t.request("POST", path), "POST submit")

    def request_exception(self, project: str, output: str, justification: str) -> JSON:
        """Ask the checkers to release a held output anyway, saying why."""
        path = f"/api/projects/{_p(project)}/outputs/{_p(output)}/exception"
        body = {"justification": justification}
        return _object(self._t.request("POST", path, body=body), "POST exception")

    def review(self, project: str, output: str, decision: str, comment: str) -> JSON:
        """Approve or reject a submitted output (``decision``: approve | reject)."""
        path = f"/api/projects/{_p(project)}/outputs/{_p(output)}/reviews"
        body = {"decision": decision, "comment": comment}
        return _object(self._t.request("POST", path, body=body), "POST reviews")

    def release(self, project: str, output: str) -> JSON:
        """Release an approved output; its record (outputs, released_by, bundle, checksums)."""
        path = f"/api/projects/{_p(project)}/outputs/{_p(output)}/release"
        return _object(self._t.request("POST", path), "POST release")


class ReleaseClient(_Part):
    """A project's release path: submissions made in the hub, their review, their release."""

    def _path(self, project: str, rest: str = "") -> str:
        return f"/api/projects/{_p(project)}/releases{rest}"

    def submit_rate_table(
        self, project: str, *, events: str, population: str, threshold: int
    ) -> JSON:
        """Make the rate table in the hub and submit it (``submission``, ``cells``, …)."""
        body = {"events": events, "population": population, "threshold": threshold}
        answer = self._t.request("POST", self._path(project, "/rate-table"), body=body)
        return _object(answer, "POST rate-table")

    def submit_dp(self, project: str, spec: str, table: str, rho: float | None = None) -> JSON:
        """Charge the project's budget once and submit DP tables (the spec's YAML text)."""
        body: JSON = {"spec": spec, "table": table, "rho": rho}
        return _object(self._t.request("POST", self._path(project, "/dp"), body=body), "POST dp")

    def submit_table(self, project: str, records: Path, fields: dict[str, Any]) -> JSON:
        """Upload records and submit the protected table the server makes of them.

        Args:
            project: The project.
            records: The records file (read on the server, then deleted there).
            fields: ``by`` (a list), ``contributor`` and the optional rules and options.

        Returns:
            ``submission``, the table's ``summary`` and the ``quarantine`` counts.
        """
        files = {"records": (records.name, records.read_bytes(), "application/octet-stream")}
        data = {k: v for k, v in fields.items() if v is not None}
        answer = self._t.request(
            "POST", self._path(project, "/protected-table"), files=files, data=data
        )
        return _object(answer, "POST protected-table")

    def submissions(self, project: str, *, queue: bool = False) -> list[JSON]:
        """Every submission (or those awaiting review), oldest first."""
        params = {"queue": "true"} if queue else None
        return _list(self._t.request("GET", self._path(project), params=params), "GET releases")

    def submission(self, project: str, release: str) -> JSON:
        """One submission's state."""
        return _object(self._t.request("GET", self._path(project, f"/{_p(release)}")), "GET")

    def review(self, project: str, release: str, decision: str, comment: str) -> JSON:
        """Approve or reject a submission (``decision``: approve | reject)."""
        path = self._path(project, f"/{_p(release)}/reviews")
        body = {"decision": decision, "comment": comment}
        return _object(self._t.request("POST", path, body=body), "POST reviews")

    def release(self, project: str, release: str) -> JSON:
        """Release an approved submission on the server (the ledger's attacker LP first)."""
        path = self._path(project, f"/{_p(release)}/release")
        return _object(self._t.request("POST", path), "POST release")

    def files(self, project: str, release: str) -> dict[str, str]:
        """File name → SHA-256 of what a submission publishes."""
        answer = _object(self._t.request("GET", self._path(project, f"/{_p(release)}/files")),
                         "GET files")  # fmt: skip
        files = answer.get("files")
        if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
            raise ServerError("the server's files answer holds no checksums")
        return {str(k): v for k, v in files.items()}

    def file(self, project: str, release: str, name: str) -> bytes:
        """One file's bytes, checked against nothing yet (see :meth:`fetch`)."""
        return self._t.get_bytes(self._path(project, f"/{_p(release)}/files/{_p(name)}"))

    def fetch(self, project: str, release: str) -> dict[str, bytes]:
        """Every file of a submission, each checked against the checksum the server gave.

        Raises:
            ServerError: A file does not match its checksum.
        """
        found = {}
        for name, digest in self.files(project, release).items():
            data = self.file(project, release, name)
            if hashlib.sha256(data).hexdigest() != digest:
                raise ServerError(f"{name} of {release} does not match its checksum: fetch again")
            found[name] = data
        return found


class Audit(_Part):
    """The audit chain as the server holds it."""

    def verify(self) -> JSON:
        """The server's verification report (administrators)."""
        return _object(self._t.request("GET", "/api/audit/verify"), "GET /api/audit/verify")

    def head(self) -> JSON:
        """The current signed head."""
        return _object(self._t.request("GET", "/api/audit/head"), "GET /api/audit/head")

    def events(self, project: str | None = None) -> list[JSON]:
        """The events (of one project)."""
        params = {"project": project} if project else None
        answer = self._t.request("GET", "/api/audit/events", params=params)
        return _list(answer, "GET /api/audit/events")


class Client(Closing):
    """A client of the hub's server, acting as whoever the token belongs to.

    No call names the acting user: the server takes the identity from the token.

    Args:
        server: The server's base URL.
        token: An API token (``None`` for logging in).
        transport: An httpx transport (tests: one over the ASGI app).

    Example:
        >>> with Client("http://127.0.0.1:9") as client:
        ...     type(client.workspace).__name__
        'WorkspaceClient'
    """

    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.transport = Transport(server, token, transport=transport)
        self.admin = Administration(self.transport)
        self.custodian = Custodian(self.transport)
        self.workspace = WorkspaceClient(self.transport)
        self.linkage = LinkageClient(self.transport)
        self.hub = HubClient(self.transport)
        self.releases = ReleaseClient(self.transport)
        self.audit = Audit(self.transport)

    @classmethod
    def stored(
        cls, path: Path | None = None, *, transport: httpx.BaseTransport | None = None
    ) -> Client:
        """A client with the credentials ``ansim login`` stored.

        Raises:
            AccessDenied: Not logged in.
        """
        credentials = Credentials.load(path)
        return cls(credentials.server, credentials.token, transport=transport)

    @property
    def server(self) -> str:
        """The server's base URL."""
        return self.transport.server

    def close(self) -> None:
        """Close the connections."""
        self.transport.close()

    # -- identity ------------------------------------------------------------------------
    def open_session(self, user: str, password: str, totp: str | None = None) -> JSON:
        """Log in with a password (and TOTP code).

        Returns:
            The server's answer: ``user`` (as confirmed), ``must_change`` (a one-time password
            to replace first) and ``needs_second_factor`` (a TOTP factor to enrol first).
        """
        body = {"user": user, "password": password}
        if totp is not None:
            body["totp"] = totp
        answer = _object(self.transport.request("POST", "/api/session", body=body), "login")
        self.transport.set_csrf(answer.get("csrf_token"))
        return answer

    def change_password(self, old: str, new: str) -> None:
        """Replace the logged-in user's (one-time) password."""
        self.transport.request("POST", "/api/password", body={"old": old, "new": new})

    def enrol_second_factor(self) -> str:
        """Start TOTP enrolment; the ``otpauth://`` URI holding the secret (show it once)."""
        answer = _object(self.transport.request("POST", "/api/me/totp"), "POST /api/me/totp")
        return str(answer["otpauth_uri"])

    def confirm_second_factor(self, code: str) -> None:
        """Finish enrolment with a first code from the authenticator app."""
        self.transport.request("POST", "/api/me/totp/confirm", body={"code": code})

    def close_session(self) -> None:
        """End the cookie session (the API tokens it issued stay valid)."""
        self.transport.request("DELETE", "/api/session")
        self.transport.set_csrf(None)

    def issue_token(self, *, role: str = "*", name: str = "cli", expires_days: int = 30) -> JSON:
        """A new API token for the logged-in user (``{"id", "token"}``, shown once)."""
        body = {"role": role, "name": name, "expires_days": expires_days}
        return _object(self.transport.request("POST", "/api/tokens", body=body), "POST tokens")

    def tokens(self) -> list[JSON]:
        """The caller's own tokens, without their secrets."""
        return _list(self.transport.request("GET", "/api/tokens"), "GET /api/tokens")

    def revoke_token(self, token_id: str) -> None:
        """Revoke one of the caller's tokens."""
        self.transport.request("DELETE", f"/api/tokens/{_p(token_id)}")

    def me(self) -> Identity:
        """Who the server says the caller is."""
        return Identity.from_json(_object(self.transport.request("GET", "/api/me"), "me"))
