"""Serving a built site over HTTP on this machine, for `briefkit open` and browser tests.

Only what the portal publishes is served: regular files reached through real directories
below the site root. Links, dot-names (the portal's listing, .git), directories without
an index.html and malformed paths get 404 or 400; nothing is listed, nothing is followed
out of the root, and a bad request never prints a traceback.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
import threading
from collections.abc import Iterator
from email.utils import formatdate
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote_to_bytes, urlsplit

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class BadRequest(Exception):
    """The request path is not one a browser sends for a page of the site."""


def site_path(root: Path, request_path: str) -> Path | None:
    """What the site serves for ``request_path``: a regular file, a directory (to be redirected
    to with a trailing slash), or None (not found).

    Raises BadRequest for NUL, invalid percent-encoding or UTF-8, and '.' or '..' segments.
    ``/dir/`` is served as its index.html; no link, dot-name or other kind of file is served.
    """
    raw = urlsplit(request_path).path
    if _BAD_ESCAPE.search(raw):
        raise BadRequest("invalid percent-encoding")
    try:
        decoded = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the path is not UTF-8") from None
    parts = decoded.split("/")[1:]
    if "\0" in decoded or not decoded.startswith("/") or any(p in (".", "..") for p in parts):
        raise BadRequest("a NUL, a relative path or a dot segment")
    if parts[-1] == "":
        parts[-1] = "index.html"
    here, mode = root, stat.S_IFDIR
    for part in parts:
        if not stat.S_ISDIR(mode) or not part or part.startswith(".") or "\\" in part:
            return None
        here = here / part
        try:
            mode = os.lstat(here).st_mode
        except OSError:
            return None
    if stat.S_ISDIR(mode):
        return here if _is_regular(here / "index.html") else None
    return here if stat.S_ISREG(mode) else None


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


class _SiteHandler(SimpleHTTPRequestHandler):
    root: Path

    def log_message(self, format: str, *args: object) -> None:
        pass  # a preview needs no access log on the terminal

    def send_head(self) -> BinaryIO | None:
        try:
            path = site_path(self.root, self.path)
        except BadRequest as exc:
            self.send_error(HTTPStatus.BAD_REQUEST, str(exc))
            return None
        if path is not None and path.is_dir():  # relative links on its page need the slash
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", urlsplit(self.path).path + "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC) if path else -1
        except OSError:  # replaced by a link since it was checked
            fd = -1
        if fd >= 0 and not stat.S_ISREG((st := os.fstat(fd)).st_mode):  # replaced by another kind of file
            os.close(fd)
            fd = -1
        if fd < 0:
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        f = open(fd, "rb")  # noqa: SIM115 - the base class sends it and closes it
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(st.st_size))
        self.send_header("Last-Modified", formatdate(st.st_mtime, usegmt=True))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        return f


class _SiteServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        # a reader closing the tab mid-download is no reason for a traceback on the terminal
        print(f"briefkit open: request from {client_address[0]} failed: {sys.exc_info()[1]}", file=sys.stderr)


def site_server(root: Path, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server for ``root`` bound to ``host``:``port`` (0 picks a free port); call serve_forever."""
    handler = type("SiteHandler", (_SiteHandler,), {"root": root.resolve()})
    return _SiteServer((host, port), handler)


def url_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"


@contextlib.contextmanager
def serving(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 in a background thread; yields the base URL."""
    server = site_server(root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url_of(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
