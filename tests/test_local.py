"""flows.local: which Prefect API a command's runs report to, and whether it answers."""

from __future__ import annotations

import socket

from flows.local import api_problem


def test_an_api_that_does_not_answer_is_named_in_one_line() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    problem = api_problem(f"http://127.0.0.1:{port}/api")
    assert problem is not None and f"127.0.0.1:{port}" in problem and "\n" not in problem
