"""Exporters: one module (or package) per output format, each a plain function of the model.

A format module defines ``EXPORTER = Exporter(...)`` and is listed in
``exporters.registry.BUILTINS``. Nothing here imports prefect.
"""
