"""Exporters: one module per output format, each a plain function of the model.

A format module defines ``EXPORTER = Exporter(...)``; ``exporters.registry`` finds it, so
adding a format is adding one module. Nothing here imports prefect.
"""
