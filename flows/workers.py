"""What a worker process of the build needs, imported once and shared by fork.

The build's default task runner forks its workers from a multiprocessing fork server that
imports this module first (see flows.build.BuildTaskRunner). Started from scratch, each
worker spent more than a second of CPU on the same imports before its first task: Prefect's
task engine, every exporter (python-docx, reportlab, ebooklib), and the Prefect collections
(prefect-dask imports Dask) that Prefect loads when a task's context is rebuilt. Forked
from a process that has them, a worker starts in milliseconds.
"""

from __future__ import annotations

import gc

import prefect.task_engine  # noqa: F401 - imported for the workers
from prefect.plugins import load_prefect_collections

from exporters.registry import registry


def preload() -> None:
    """Import everything a task in a worker uses; idempotent."""
    registry()
    load_prefect_collections()


preload()
# Every worker inherits these objects; frozen, the workers' collections never walk them.
gc.freeze()
