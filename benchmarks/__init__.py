"""The benchmark of issue 6: the mock at 1k, 10k and 100k records against a bare Starlette ceiling and Prism.

`python -m benchmarks` (or `make bench`) runs it and writes docs/benchmarks.md; `benchmarks/method.md` says how
it measures. Modules: `data` (cached fixture sets), `cases` (what each operation sends), `wrk` (load and its
figures), `servers` (processes, always stopped), `ceiling` and `prism` (the comparison points), `walk` (full list
walks), `probes` (startup, durability, conformance), `runner` (the order of a run), `stats`, `targets`, `report`.
"""
