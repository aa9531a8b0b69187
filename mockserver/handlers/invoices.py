"""`PUT /invoices/{tenantId}/adjustment/sync/{id}`: an adjustment is a replacement answered with a token."""

from __future__ import annotations

from typing import Any

from mockserver import records
from mockserver.handlers import handles


@handles("adjustInvoice")
def adjust(state: Any, caller: Any, id: str, body: dict[str, Any], **_: Any) -> tuple[Any, int, dict[str, str]]:
    invoice = state.collections["invoices"].update(caller, id, body)
    token = records.execution_token(caller.tenant, "invoices", "adjust", id, invoice["sys_last_modified_at"])
    return token, 200, {"X-Record-Id": id}
