"""Drift between a service and its contract: the model, the grouped log, the proposed contract change and the
report, shared by the differential conformance run (`conformance.differential`) and the validating recorder
(`mockserver.proxy`).

It imports neither `conformance` nor `mockserver` (both import it), only the standard library, `jsonpatch` and
`jinja2`; see docs/drift.md.

    log = DriftLog()
    log.add(Drift(DriftKind.STATUS, "createBatch", "POST /batches/{tenantId}", Location.STATUS, "", "201", "200", ...))
    report = build(log, spec, title="...", headline="...")
    write(Path("drift.md"), report)        # .md, .html or .json
"""

from collect_drift.classify import SchemaFinding, findings
from collect_drift.log import DriftLog, Group
from collect_drift.model import Drift, DriftKind, Evidence, Finding, Location, Seen, generalize, json_type, pointer
from collect_drift.proposals import Proposal, propose
from collect_drift.report import DriftReport, as_dict, build, kinds_line, markdown, render_for, write, write_whole

__all__ = [
    "Drift",
    "DriftKind",
    "DriftLog",
    "DriftReport",
    "Evidence",
    "Finding",
    "Group",
    "Location",
    "Proposal",
    "SchemaFinding",
    "Seen",
    "as_dict",
    "build",
    "findings",
    "generalize",
    "json_type",
    "kinds_line",
    "markdown",
    "pointer",
    "propose",
    "render_for",
    "write",
    "write_whole",
]
