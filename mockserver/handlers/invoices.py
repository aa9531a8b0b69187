"""`PUT /invoices/{tenantId}/adjustment/sync/{id}`: an adjustment is a replacement answered with a token.

As for a create, the workflow is complete when the answer comes: the adjusted invoice's `workflow_execution_id`
is the adjustment's `executionArn`, and `X-Record-Id` names the invoice.
"""

from __future__ import annotations

from typing import Any

from mockserver import records
from mockserver.handlers import Caller, Response, Services, handles


@handles("adjustInvoice")
def adjust(services: Services, caller: Caller, id: str, body: dict[str, Any], **_: Any) -> Response:
    invoices = services.collections["invoices"]
    token = records.execution_token(caller.tenant, "invoices", "adjust", id, services.clock.tick())
    stamp = (
        {"workflow_execution_id": token["executionArn"]} if "workflow_execution_id" in invoices.resource.fields else {}
    )
    invoices.update(caller, id, body, stamp)
    return token, 200, {"X-Record-Id": id}
