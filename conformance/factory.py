"""Valid request bodies, built from the contract's own create examples.

The contract carries a complete create example per resource (`components/examples/<Schema>Create`). A body is
that example with the run's business unit and fiscal year (so that the run's records can be found, and only
they), and with every reference field (`x-references`) pointing at a record of this run, or left out.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from collect_contract import Contract, Resource

Record = dict[str, Any]


def dependency_order(contract: Contract) -> list[Resource]:
    """Resources ordered so that the targets of a resource's references come before it."""
    done: dict[str, Resource] = {}

    def visit(resource: Resource, path: tuple[str, ...]) -> None:
        if resource.collection in done or resource.collection in path:
            return
        for reference in resource.references.values():
            other = contract.resources[reference.target]
            if other is not resource:
                visit(other, (*path, resource.collection))
        done[resource.collection] = resource

    for resource in contract.resources.values():
        visit(resource, ())
    return list(done.values())


class Bodies:
    """Create bodies for each resource; `target(collection)` gives the id a reference should name."""

    def __init__(self, contract: Contract, business_unit: str, fiscal_year: str):
        self.contract = contract
        self.business_unit, self.fiscal_year = business_unit, fiscal_year

    def create(self, resource: Resource, target: Callable[[str], str | None], **overrides: Any) -> Record:
        body = copy.deepcopy(resource.create_example)
        body.pop("id", None)
        for name in list(body):
            if name in resource.read_only:
                del body[name]
        if "business_unit_id" in resource.fields:
            body["business_unit_id"] = self.business_unit
        if "fiscal_year_id" in resource.fields:
            body["fiscal_year_id"] = self.fiscal_year
        for name, reference in resource.references.items():
            value = None if reference.target == resource.collection else target(reference.target)
            if reference.many:
                body[name] = []
            elif value is None:
                body.pop(name, None)
            else:
                body[name] = value
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not _DROP}


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


_DROP: Any = _Drop()
DROP = _DROP  # pass as an override value to leave a field out of the body
