"""`GET /batches/{tenantId}/dependents`: the batches that depend on others, followed recursively."""

from __future__ import annotations

from collections import deque
from typing import Any

from mockserver.handlers import Caller, Response, Services, handles


@handles("getBatchDependents")
def dependents(services: Services, caller: Caller, ids: str, **_: Any) -> Response:
    """Breadth-first over `dependents`; each batch once, cycles end the walk, unknown ids are skipped."""
    batches = services.collections["batches"]
    start = list(dict.fromkeys(i for i in ids.split(",") if i))
    seen = set(start)
    queue = deque(start)
    children: list[str] = []
    while queue:
        batch = batches.find(caller, queue.popleft())
        for child in (batch or {}).get("dependents") or []:
            if isinstance(child, str) and child not in seen:
                seen.add(child)
                if batches.find(caller, child) is not None:
                    children.append(child)
                    queue.append(child)
    return {"children": children}, 200, {}
