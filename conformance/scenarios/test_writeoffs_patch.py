"""How to change a write off safely: a JSON Patch guarded by `test` on the version you read."""

from conformance.context import Context


def test_patch_a_memo_only_if_nobody_changed_the_write_off(collect: Context) -> None:
    write_off = collect.create("writeOffs")
    guarded = [
        {"op": "test", "path": "/sys_version", "value": write_off["sys_version"]},
        {"op": "replace", "path": "/memo", "value": "Customer agreed to the write off"},
    ]

    first = collect.call("writeOffs", "patch", id=write_off["id"], json=guarded)
    assert first.status == 200 and first.json()["sys_version"] == write_off["sys_version"] + 1

    # The same patch again: its `test` now fails, and nothing changes.
    second = collect.call("writeOffs", "patch", id=write_off["id"], json=guarded)
    assert second.status in (400, 409)
    assert collect.read("writeOffs", write_off["id"])["sys_version"] == write_off["sys_version"] + 1
