"""A local STS (and S3) emulator: moto in server mode on 127.0.0.1, over real HTTP.

It counts the API actions it receives, so caching claims can be proven:
``GET /_rolecall/counts`` returns ``{"AssumeRole": 3, ...}``; ``POST /_rolecall/reset`` zeroes them.

    python examples/sts_emulator.py --port 0 --port-file PORTFILE   # runs until killed
"""

from __future__ import annotations

import argparse
import io
import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
App = Callable[[Environ, StartResponse], Iterable[bytes]]


class CountingApp:
    """WSGI middleware: counts AWS API actions, then hands the request to moto."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/_rolecall/counts":
            with self.lock:
                body = json.dumps(dict(self.counts)).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if path == "/_rolecall/reset":
            with self.lock:
                self.counts.clear()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b"{}"]
        action = self._action(environ)
        if action:
            with self.lock:
                self.counts[action] += 1
        return self.app(environ, start_response)

    @staticmethod
    def _action(environ: Environ) -> str | None:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return str(target).rsplit(".", 1)[-1]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if "Action" in query:
            return query["Action"][0]
        if environ.get("REQUEST_METHOD") == "POST" and "x-www-form-urlencoded" in \
                environ.get("CONTENT_TYPE", ""):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            form = parse_qs(body.decode("utf-8", "replace"))
            if "Action" in form:
                return form["Action"][0]
        return None


def make_app() -> CountingApp:
    from moto.server import DomainDispatcherApplication, create_backend_app

    return CountingApp(DomainDispatcherApplication(create_backend_app))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the chosen port here once listening")
    args = parser.parse_args()
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", args.port, make_app(), threaded=True)
    port = server.socket.getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as handle:
            handle.write(str(port))
        os.replace(tmp, args.port_file)
    print(f"STS emulator listening on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
