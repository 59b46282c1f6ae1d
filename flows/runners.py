"""Where a build's tasks run: threads of the flow process (Prefect's ThreadPoolTaskRunner), or a
Dask cluster through prefect-dask, checked before a run."""

from __future__ import annotations

import socket

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from briefkit.settings import get_settings


def task_runner(dask_address: str = "") -> TaskRunner:
    """Threads of the flow process, or the Dask cluster at ``dask_address`` or BRIEFKIT_DASK_ADDRESS."""
    if address := dask_address or get_settings().dask_address:
        from prefect_dask import DaskTaskRunner  # imports Dask: only when asked for

        return DaskTaskRunner(address=address)
    return ThreadPoolTaskRunner()


def dask_problem(address: str) -> str | None:
    """Why no Dask scheduler at ``address`` can take the tasks, or None when one answers: asked
    before a run, so a typo or a stopped cluster is a clear message, not a failed run later."""
    from distributed.comm.addressing import get_address_host_port, parse_address

    scheme, _ = parse_address(address, strict=False)
    if scheme not in ("tcp", "tls"):
        return None  # another transport: the run will say
    try:
        host, port = get_address_host_port(address if "://" in address else f"tcp://{address}")
    except ValueError as exc:  # e.g. "missing port number in address ..."
        return str(exc)
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as exc:
        return f"no Dask scheduler answers at {host}:{port} ({exc.strerror or exc})"
    return None
