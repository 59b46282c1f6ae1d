"""Distribution: the reader portal (HTML pages and Atom feeds) and email delivery.

Plain functions of the published layout (briefkit.manifest); flows/publish.py runs them
as a Prefect flow. Nothing here imports prefect.
"""
