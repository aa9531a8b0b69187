"""The rule catalog, one module per area; importing this package registers every rule in catalog order."""

from conformance.rules import (  # noqa: F401
    batch,
    delete,
    dependents,
    fuzz,
    ids,
    paging,
    patch,
    projection,
    schemas,
    search,
    status,
    tenancy,
    versioning,
)
