"""The validating recorder: `collect-mock proxy --upstream URL [--record DIR]`.

A client developer points their app at it instead of the real deployment. It forwards every request unchanged
and streams every answer back unchanged (`app`), and, off the request's path (`checker`), journals each
exchange through the mock's journal API, checks it against the contract with the mock's own validators
(`inspect`) and against the state rules the mock models (`observed`), reports the drift (`collect_drift`) at
`/_mock/drift` and at exit, and records what it saw as fixtures (`recorder`, with `redact`). See docs/drift.md.
"""
