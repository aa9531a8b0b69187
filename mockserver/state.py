"""Everything a request may need, built once per app: the contract, the records and the collections over them."""

from __future__ import annotations

from dataclasses import dataclass, field

from collect_contract import Contract
from mockserver.auth import Auth
from mockserver.database import Database
from mockserver.faults import Faults
from mockserver.journal import Journal
from mockserver.paging import KeyCodec
from mockserver.records import Clock
from mockserver.resources import Collection
from mockserver.settings import Settings


@dataclass
class MockState:
    settings: Settings
    contract: Contract
    db: Database
    auth: Auth
    journal: Journal = field(default_factory=Journal)
    faults: Faults = field(default_factory=Faults)
    codec: KeyCodec = field(default_factory=KeyCodec)
    clock: Clock = field(default_factory=Clock)
    collections: dict[str, Collection] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, resource in self.contract.resources.items():
            self.collections[name] = Collection(
                resource, self.contract, self.db, self.codec, self.clock, self.settings.page_size
            )
