"""Exporters: one module (or package) per output format, each a plain function of the model.

A format is described in ``exporters.registry.BUILTINS`` (label, media type, file name,
version) and its module defines ``export``, ``read_back`` and, optionally, ``check``.
Nothing here imports prefect.
"""
