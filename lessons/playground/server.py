"""The playground's web server: the standard library's ThreadingHTTPServer.

Why the standard library: the page needs a handful of JSON routes and its own three
static files, on loopback, for one student; ``http.server`` does that, ships with every
Python chaingrad supports, and will still be there in ten years. Updates reach the page by
long polling (``/api/state?since=N`` answers as soon as the network changed): each tab
asks for the next picture only when it has drawn the last one, so a slow tab never makes
training wait and never piles up a backlog, which Server-Sent Events would.

Safety: the server listens on 127.0.0.1 by default, serves only the files listed in
STATIC, and answers only requests whose Host is its own address (against DNS rebinding)
and whose Origin, when the browser sends one, is its own page; a page elsewhere cannot
drive it. Each tab gets a session with an unguessable id, and its own network.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import threading
import time
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .session import (
    ACTIVATIONS,
    LEARNING_RATES,
    MAX_LAYERS,
    MAX_NEURONS,
    PROBLEMS,
    REGULARIZATION_RATES,
    REGULARIZATIONS,
    Session,
    Setup,
    SetupError,
)

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/playground.js": ("playground.js", "text/javascript; charset=utf-8"),
    "/playground.css": ("playground.css", "text/css; charset=utf-8"),
}
MAX_SESSIONS = 16  # tabs at once; the one quiet for longest makes room for a new one
SESSION_IDLE_SECONDS = 600  # a session not heard from for ten minutes is dropped
MAX_BODY = 1_000_000  # bytes: a saved network is a few kilobytes
LONG_POLL_SECONDS = 1.0


class Playground:
    """A running playground: ``.url`` to open, ``.stop()`` to shut it down."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sessions: dict[str, Session] = {}
        self.sessions_lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.playground = self  # type: ignore[attr-defined]
        self.host, self.port = host, self.httpd.server_address[1]
        shown = "localhost" if host in ("127.0.0.1", "::1", "localhost") else host
        self.url = f"http://{shown if ':' not in shown else f'[{shown}]'}:{self.port}/"
        names = {"localhost", "127.0.0.1", "[::1]", host if ":" not in host else f"[{host}]"}
        if host in ("0.0.0.0", "::", ""):  # every interface: the names others reach us by
            names |= this_machine_names()
        self.allowed_hosts = {f"{name}:{self.port}" for name in names}
        self.allowed_origins = {f"http://{name}" for name in self.allowed_hosts}
        self.thread: threading.Thread | None = None

    def start(self) -> Playground:
        """Serve in a background thread; returns self."""
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="playground",
                                       daemon=True)
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C (KeyboardInterrupt) or stop()."""
        self.httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving, pause every network and close the socket."""
        if self.thread is not None:
            self.httpd.shutdown()
            self.thread.join(timeout=5)
            self.thread = None
        with self.sessions_lock:
            sessions = list(self.sessions.values())
            self.sessions.clear()
        for session in sessions:
            session.stop()
        self.httpd.server_close()

    def __enter__(self) -> Playground:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ sessions

    def new_session(self) -> tuple[str, Session]:
        with self.sessions_lock:
            now = time.monotonic()
            for key, old in list(self.sessions.items()):
                if now - old.last_seen > SESSION_IDLE_SECONDS:
                    old.pause()
                    del self.sessions[key]
            if len(self.sessions) >= MAX_SESSIONS:
                oldest = min(self.sessions, key=lambda k: self.sessions[k].last_seen)
                self.sessions.pop(oldest).pause()
            key = secrets.token_urlsafe(16)
            session = Session(Setup())
            self.sessions[key] = session
            return key, session

    def session(self, key: str | None) -> Session | None:
        with self.sessions_lock:
            return self.sessions.get(key or "")


def this_machine_names() -> set[str]:
    """This computer's host name and addresses, as a browser elsewhere would write them."""
    name = socket.gethostname()
    names = {name, socket.getfqdn()}
    with contextlib.suppress(OSError):
        for address in socket.gethostbyname_ex(name)[2]:
            names.add(address)
    return names


def serve(port: int = 0, open_browser: bool = False, host: str = "127.0.0.1") -> Playground:
    """Start the playground in a background thread and return it (``.url``, ``.stop()``).

    ``port=0`` picks a free port. For tests and notebooks; the command line is
    ``chaingrad playground``.
    """
    playground = Playground(host, port).start()
    if open_browser:
        webbrowser.open(playground.url)
    return playground


OPTIONS = {
    "activations": list(ACTIVATIONS), "learning_rates": list(LEARNING_RATES),
    "regularizations": list(REGULARIZATIONS),
    "regularization_rates": list(REGULARIZATION_RATES), "problems": list(PROBLEMS),
    "max_layers": MAX_LAYERS, "max_neurons": MAX_NEURONS,
}


class Refused(Exception):
    """A request the server will not answer; ``status`` and a one-line reason."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    server_version = "chaingrad-playground"
    protocol_version = "HTTP/1.1"
    # headers and body leave in separate writes; with Nagle's algorithm on, the body's last
    # packet waits for the browser's delayed ACK (about 40 ms), capping updates near 20/s
    disable_nagle_algorithm = True

    @property
    def playground(self) -> Playground:
        return self.server.playground  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: the terminal shows the URL and nothing else

    # ------------------------------------------------------------ entry points

    def do_GET(self) -> None:  # noqa: N802
        self._answer("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._answer("POST")

    def _answer(self, method: str) -> None:
        try:
            self._check_origin()
            url = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(url.query).items()}
            if url.path == "/favicon.ico":
                self._send(HTTPStatus.NO_CONTENT, b"", "text/plain")
            elif url.path in STATIC and method == "GET":
                self._static(url.path)
            elif url.path.startswith("/api/"):
                self._api(method, url.path[len("/api/"):], query)
            else:
                raise Refused(HTTPStatus.NOT_FOUND, f"there is no {url.path}")
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Refused as refusal:
            self._fail(refusal.status, str(refusal))
        except SetupError as error:
            self._fail(HTTPStatus.BAD_REQUEST, str(error))
        except Exception as error:  # a bug: say so on the page, keep serving
            self._fail(HTTPStatus.INTERNAL_SERVER_ERROR, f"the playground failed: {error!r}")

    def _fail(self, status: HTTPStatus, reason: str) -> None:
        # the request's body may be unread: close the connection rather than misread it
        self.close_connection = True
        self._send(status, reason.encode(), "text/plain; charset=utf-8",
                   {"Connection": "close"})

    def _check_origin(self) -> None:
        """Refuse requests for another host name (DNS rebinding) or from another page."""
        allowed = self.playground
        if self.headers.get("Host", "") not in allowed.allowed_hosts:
            raise Refused(HTTPStatus.FORBIDDEN, "refused: wrong Host for the playground")
        origin = self.headers.get("Origin")
        if origin is not None and origin not in allowed.allowed_origins:
            raise Refused(HTTPStatus.FORBIDDEN, "refused: request from another site")
        site = self.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            raise Refused(HTTPStatus.FORBIDDEN, "refused: request from another site")

    # ------------------------------------------------------------ answers

    def _send(self, status: HTTPStatus, body: bytes, content_type: str,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                         "frame-ancestors 'none'")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any) -> None:
        body = json.dumps(data, separators=(",", ":")).encode()
        self._send(HTTPStatus.OK, body, "application/json")

    def _static(self, path: str) -> None:
        name, content_type = STATIC[path]
        body = resources.files(__package__).joinpath("static", name).read_bytes()
        self._send(HTTPStatus.OK, body, content_type)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "that request is too large")
        return self.rfile.read(length) if length > 0 else b""

    def _json_body(self) -> dict:
        try:
            data = json.loads(self._body() or b"{}")
        except ValueError:
            raise Refused(HTTPStatus.BAD_REQUEST, "the request is not JSON") from None
        if not isinstance(data, dict):
            raise Refused(HTTPStatus.BAD_REQUEST, "the request is not a JSON object")
        return data

    def _api(self, method: str, route: str, query: dict[str, str]) -> None:
        if route == "session" and method == "POST":
            self._body()
            key, session = self.playground.new_session()
            state = session.snapshot()
            self._json({"session": key, "options": OPTIONS, "state": state})
            return
        session = self.playground.session(self.headers.get("X-Session") or query.get("session"))
        if session is None:
            raise Refused(HTTPStatus.GONE, "this tab's network is gone; reload the page")
        handler = getattr(self, f"_{method.lower()}_{route}", None)
        if handler is None:
            raise Refused(HTTPStatus.NOT_FOUND, f"there is no {method} /api/{route}")
        handler(session, query)

    def _get_state(self, session: Session, query: dict[str, str]) -> None:
        since = _integer(query.get("since"), -1)
        session.wait(since, LONG_POLL_SECONDS)
        self._json(session.snapshot(curve_from=_integer(query.get("curve_from"), 0),
                                    run=_integer(query.get("run"), -1),
                                    with_points=query.get("points") != "0"))

    def _post_control(self, session: Session, query: dict[str, str]) -> None:
        action = self._json_body().get("action")
        actions = {"play": session.play, "pause": session.pause, "step": session.step,
                   "reset": session.reset, "regenerate": session.regenerate}
        if action not in actions:
            raise Refused(HTTPStatus.BAD_REQUEST, f"unknown action {action!r}")
        actions[action]()
        self._json({"version": session.version})

    def _post_setup(self, session: Session, query: dict[str, str]) -> None:
        session.configure(self._json_body())
        self._json({"version": session.version})

    def _post_point(self, session: Session, query: dict[str, str]) -> None:
        data = self._json_body()
        try:
            if "index" in data:
                session.select(str(data.get("which")), int(data["index"]))
            else:
                session.add_point(float(data["x1"]), float(data["x2"]),
                                  float(data.get("label", 1.0)))
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, SetupError):
                raise
            raise Refused(HTTPStatus.BAD_REQUEST, "a point needs x1, x2 (and a label)") from None
        self._json({"version": session.version})

    def _get_graph(self, session: Session, query: dict[str, str]) -> None:
        self._json(session.graph_picture(steps=query.get("steps") == "1"))

    def _get_code(self, session: Session, query: dict[str, str]) -> None:
        self._send(HTTPStatus.OK, session.code().encode(), "text/plain; charset=utf-8")

    def _get_save(self, session: Session, query: dict[str, str]) -> None:
        self._send(HTTPStatus.OK, session.save_bytes(), "application/octet-stream",
                   {"Content-Disposition": 'attachment; filename="playground_network.npz"'})

    def _post_load(self, session: Session, query: dict[str, str]) -> None:
        session.load_bytes(self._body())
        self._json({"version": session.version})


def _integer(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default
