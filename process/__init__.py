"""Starting, waiting for and stopping servers in child processes (import name ``collect_process``).

A neutral package, like the contract and the fixtures: the mock, the suite, the scripts, the benchmark and the
tests all use it, and it imports nothing of theirs.
"""

from collect_process.server import LOOPBACK, ServerError, ServerProcess, answers, free_port, program, wait_until

__all__ = ["LOOPBACK", "ServerError", "ServerProcess", "answers", "free_port", "program", "wait_until"]
