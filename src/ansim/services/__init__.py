"""One governed service per party: the only path data takes between parties.

:class:`Custodian` (ingest, prepare, seal, send), :class:`LinkageUnit` (receive, link, seal the
link map) and :class:`Hub` (receive, combine, views), with the thin :class:`Administration`
steps the flow needs. Each service is constructed with its dependencies (governance, project,
working directory, the party's key store); each method takes the *authenticated* acting user
from its caller (the server's session, the CLI's login; never an environment variable or free
text), authorises through :class:`~ansim.governance.Governance`, opens and seals through
:mod:`ansim.packages` and records its audit event. A part reaches the linkage unit or the hub
only as a sealed package. ``ansim demo``, ``ansim link`` and the CLI's custodian, linkage and
hub commands call these methods; :class:`Release` makes a project's submissions to its
release path (rate table, DP tables, protected tables) inside the hub, for the server.
:class:`TrialProject` makes a throwaway governed project (``ansim link``, tests, examples).
"""

from __future__ import annotations

from ansim.services._administration import AUDIT_HEAD_FILE, Administration, Member
from ansim.services._common import Received, file_hashes, require_packages
from ansim.services._custodian import Custodian, SealedParts
from ansim.services._hub import Hub
from ansim.services._linkage import LinkageUnit
from ansim.services._release import DPSubmission, Release, TableRequest
from ansim.services._trial import TrialKeys, TrialProject

__all__ = [
    "AUDIT_HEAD_FILE",
    "Administration",
    "Custodian",
    "DPSubmission",
    "Hub",
    "LinkageUnit",
    "Member",
    "Received",
    "Release",
    "SealedParts",
    "TableRequest",
    "TrialKeys",
    "TrialProject",
    "file_hashes",
    "require_packages",
]
