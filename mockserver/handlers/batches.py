"""`GET /batches/{tenantId}/dependents`: the batches that depend on others, followed recursively."""

from __future__ import annotations

from collections import deque
from typing import Any

from mockserver.handlers import handles


@handles("getBatchDependents")
def dependents(state: Any, caller: Any, ids: str, **_: Any) -> tuple[Any, int, dict[str, str]]:
    """Breadth-first over `dependents`; each batch once, cycles end the walk, unknown ids are skipped."""
    start = list(dict.fromkeys(i for i in ids.split(",") if i))
    seen = set(start)
    queue = deque(start)
    children: list[str] = []
    while queue:
        batch = state.db.get(caller.tenant, "batches", queue.popleft())
        for child in (batch or {}).get("dependents") or []:
            if isinstance(child, str) and child not in seen:
                seen.add(child)
                if state.db.get(caller.tenant, "batches", child) is not None:
                    children.append(child)
                    queue.append(child)
    return {"children": children}, 200, {}
