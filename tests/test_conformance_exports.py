"""The public surface: `conformance.__all__` names every public member, and only existing ones."""

from __future__ import annotations

import conformance


def test_all_lists_every_public_member_and_nothing_else():
    public = {name for name in dir(conformance) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(conformance, name)).__name__ == "module"}
    assert sorted(conformance.__all__) == sorted(public - modules)
    assert len(set(conformance.__all__)) == len(conformance.__all__)
