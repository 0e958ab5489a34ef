"""A PEP 503 simple index of a directory of wheels, served on 127.0.0.1 for a test."""

from __future__ import annotations

import hashlib
import html
import http.server
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _project(filename: str) -> str:
    return re.sub(r"[-_.]+", "-", filename.split("-")[0]).lower()


@contextmanager
def serve(house: Path) -> Iterator[str]:
    """Serve ``house`` as ``http://127.0.0.1:PORT/simple/`` while the block runs."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = [p for p in self.path.split("?")[0].split("/") if p]
            wheels = sorted(p for p in house.iterdir() if p.suffix == ".whl")
            if parts == ["simple"]:
                names = sorted({_project(p.name) for p in wheels})
                body = "".join(f'<a href="/simple/{n}/">{n}</a>\n' for n in names)
            elif len(parts) == 2 and parts[0] == "simple":
                mine = [p for p in wheels if _project(p.name) == parts[1]]
                if not mine:
                    self.send_error(404)
                    return
                body = "".join(
                    f'<a href="/files/{html.escape(p.name)}#sha256='
                    f'{hashlib.sha256(p.read_bytes()).hexdigest()}">{html.escape(p.name)}</a>\n'
                    for p in mine
                )
            elif len(parts) == 2 and parts[0] == "files" and (house / parts[1]).is_file():
                self._send((house / parts[1]).read_bytes(), "application/octet-stream")
                return
            else:
                self.send_error(404)
                return
            page = f"<!DOCTYPE html><html><body>\n{body}</body></html>\n"
            self._send(page.encode(), "text/html")

        def _send(self, data: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
