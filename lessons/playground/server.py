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

Robustness: the listen backlog holds 128 waiting connections; a request must arrive within
REQUEST_SECONDS (a body announced and never sent is dropped); the JSON sent is strict (no
NaN or Infinity either way); a tab that closes says goodbye (its network is freed at once),
and a tab not heard from is paused within seconds and freed within minutes, by a small
watch thread; a tab beyond MAX_SESSIONS is refused with a sentence, never at the expense
of another live tab; after stop() no connection is answered.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import secrets
import socket
import sys
import threading
import time
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .link import read_link, write_link
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
MAX_SESSIONS = 16  # tabs at once; one more is refused with a sentence
SESSION_GONE_SECONDS = 120  # a tab not heard from for this long is freed (a hidden tab
# still asks about once a minute, so it keeps its network)
WATCH_SECONDS = 1.0  # how often the watch thread looks for silent tabs
MAX_BODY = 1_000_000  # bytes: a saved network is a few kilobytes
LONG_POLL_SECONDS = 1.0
REQUEST_SECONDS = 10.0  # a request (or a body) that takes longer is dropped


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this computer only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Server(ThreadingHTTPServer):
    """The standard threading server with a listen backlog of 128 and IPv6 addresses."""

    request_queue_size = 128  # the standard 5 leaves a burst of connections waiting
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that hung up (or a connection cut by stop()) is no error to print."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class Playground:
    """A running playground: ``.url`` to open, ``.stop()`` to shut it down."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sessions: dict[str, Session] = {}
        self.sessions_lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self.stopped = threading.Event()
        self.httpd = Server((host, port), Handler)
        self.httpd.playground = self  # type: ignore[attr-defined]
        self.host, self.port = host, self.httpd.server_address[1]
        shown = "localhost" if host in ("127.0.0.1", "localhost") else host
        self.url = f"http://{shown if ':' not in shown else f'[{shown}]'}:{self.port}/"
        names = {"localhost", "127.0.0.1", "[::1]", host if ":" not in host else f"[{host}]"}
        if host in ("0.0.0.0", "::", ""):  # every interface: the names others reach us by
            names |= this_machine_names()
        self.allowed_hosts = {f"{name}:{self.port}" for name in names}
        self.allowed_origins = {f"http://{name}" for name in self.allowed_hosts}
        self.thread: threading.Thread | None = None
        self.watcher: threading.Thread | None = None

    def start(self) -> Playground:
        """Serve in a background thread; returns self."""
        self._watch()
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="playground",
                                       daemon=True)
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C (KeyboardInterrupt) or stop()."""
        self._watch()
        self.httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving, end every network's training, close every connection and the socket."""
        self.stopped.set()
        if self.thread is not None:
            self.httpd.shutdown()
            self.thread.join(timeout=5)
            self.thread = None
        with self.sessions_lock:
            sessions = list(self.sessions.values())
            self.sessions.clear()
            connections = list(self.connections)
        for connection in connections:  # keep-alive ones too: nothing is answered after stop
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for session in sessions:
            session.stop()
        self.httpd.server_close()
        if self.watcher is not None and self.watcher is not threading.current_thread():
            self.watcher.join(timeout=5)

    def _watch(self) -> None:
        if self.watcher is None:
            self.watcher = threading.Thread(target=self._watch_tabs, name="playground-tabs",
                                            daemon=True)
            self.watcher.start()

    def _watch_tabs(self) -> None:
        """Free the networks of tabs not heard from (closed without a goodbye)."""
        while not self.stopped.wait(WATCH_SECONDS):
            now = time.monotonic()
            with self.sessions_lock:
                gone = [key for key, session in self.sessions.items()
                        if now - session.last_seen > SESSION_GONE_SECONDS]
            for key in gone:
                self.end_session(key)

    def __enter__(self) -> Playground:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ sessions

    def new_session(self) -> tuple[str, Session]:
        """A network for a new tab; refused (never evicting a live tab) when full."""
        with self.sessions_lock:
            if len(self.sessions) >= MAX_SESSIONS:
                raise Refused(HTTPStatus.SERVICE_UNAVAILABLE,
                              f"There are already {MAX_SESSIONS} tabs open on this "
                              "playground: close one, then reload this page.")
            key = secrets.token_urlsafe(16)
            session = Session(Setup())
            self.sessions[key] = session
            return key, session

    def session(self, key: str | None) -> Session | None:
        with self.sessions_lock:
            return self.sessions.get(key or "")

    def end_session(self, key: str) -> None:
        """A tab has gone: stop its training and free its network."""
        with self.sessions_lock:
            session = self.sessions.pop(key, None)
        if session is not None:
            session.stop()


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
    timeout = REQUEST_SECONDS  # the socket's: a request or body that stalls is dropped
    # headers and body leave in separate writes; with Nagle's algorithm on, the body's last
    # packet waits for the browser's delayed ACK (about 40 ms), capping updates near 20/s
    disable_nagle_algorithm = True

    @property
    def playground(self) -> Playground:
        return self.server.playground  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: the terminal shows the URL and nothing else

    def setup(self) -> None:
        super().setup()
        with self.playground.sessions_lock:
            self.playground.connections.add(self.connection)

    def finish(self) -> None:
        with self.playground.sessions_lock:
            self.playground.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def handle_one_request(self) -> None:
        if self.playground.stopped.is_set():  # stopped: answer nothing, not even keep-alive
            self.close_connection = True
            return
        super().handle_one_request()

    # ------------------------------------------------------------ entry points

    def do_GET(self) -> None:  # noqa: N802
        self._answer("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._answer("POST")

    def _answer(self, method: str) -> None:
        if self.playground.stopped.is_set():
            self.close_connection = True
            return
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
            self.close_connection = True
        except TimeoutError:  # the body announced never came: drop the request
            self._fail(HTTPStatus.REQUEST_TIMEOUT, "the request took too long to arrive")
        except Refused as refusal:
            self._fail(refusal.status, str(refusal))
        except SetupError as error:
            self._fail(HTTPStatus.BAD_REQUEST, str(error))
        except Exception as error:  # a bug: say so on the page, keep serving
            self._fail(HTTPStatus.INTERNAL_SERVER_ERROR, f"the playground failed: {error!r}")

    def _fail(self, status: HTTPStatus, reason: str) -> None:
        # the request's body may be unread: close the connection rather than misread it
        self.close_connection = True
        with contextlib.suppress(OSError):
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
        try:  # strict JSON: a browser cannot read NaN or Infinity
            text = json.dumps(data, separators=(",", ":"), allow_nan=False)
        except ValueError:
            text = json.dumps(finite(data), separators=(",", ":"), allow_nan=False)
        self._send(HTTPStatus.OK, text.encode(), "application/json")

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
            data = json.loads(self._body() or b"{}", parse_constant=_no_constant)
        except RecursionError:
            raise Refused(HTTPStatus.BAD_REQUEST, "the request is nested too deeply") from None
        except ValueError as error:
            reason = str(error) if isinstance(error, NotANumber) else "the request is not JSON"
            raise Refused(HTTPStatus.BAD_REQUEST, reason) from None
        if not isinstance(data, dict):
            raise Refused(HTTPStatus.BAD_REQUEST, "the request is not a JSON object")
        return data

    def _api(self, method: str, route: str, query: dict[str, str]) -> None:
        if route == "session" and method == "POST":
            self._body()
            key, session = self.playground.new_session()
            state = session.snapshot()
            state["link"] = write_link(session.setup)
            self._json({"session": key, "options": OPTIONS, "state": state})
            return
        key = self.headers.get("X-Session") or query.get("session")
        if route == "bye" and method == "POST":  # the tab is closing (navigator.sendBeacon)
            self._body()
            self.playground.end_session(key or "")
            self._send(HTTPStatus.NO_CONTENT, b"", "text/plain")
            return
        session = self.playground.session(key)
        if session is None:
            raise Refused(HTTPStatus.GONE, "this tab's network is gone; reload the page")
        handler = getattr(self, f"_{method.lower()}_{route}", None)
        if handler is None:
            raise Refused(HTTPStatus.NOT_FOUND, f"there is no {method} /api/{route}")
        handler(session, query)

    def _get_state(self, session: Session, query: dict[str, str]) -> None:
        since = _integer(query.get("since"), -1)
        session.wait(since, LONG_POLL_SECONDS)
        state = session.snapshot(curve_from=_integer(query.get("curve_from"), 0),
                                 run=_integer(query.get("run"), -1),
                                 with_points=query.get("points") != "0")
        state["link"] = write_link(session.setup)
        self._json(state)

    def _post_control(self, session: Session, query: dict[str, str]) -> None:
        action = self._json_body().get("action")
        actions = {"play": session.play, "pause": session.halt, "step": session.step,
                   "reset": session.reset, "regenerate": session.regenerate}
        if not isinstance(action, str) or action not in actions:
            raise Refused(HTTPStatus.BAD_REQUEST,
                          f"the action must be one of {', '.join(actions)}")
        actions[action]()
        self._json({"version": session.version})

    def _post_setup(self, session: Session, query: dict[str, str]) -> None:
        session.configure(self._json_body())
        self._json({"version": session.version})

    def _post_weight(self, session: Session, query: dict[str, str]) -> None:
        """A weight or a bias typed in on the page (TF Playground's weight editing)."""
        data = self._json_body()
        layer, to, source, value = (data.get(key) for key in ("layer", "to", "from", "value"))
        if not (_whole(layer) and _whole(to) and (source is None or _whole(source))
                and isinstance(value, (int, float)) and not isinstance(value, bool)):
            raise Refused(HTTPStatus.BAD_REQUEST,
                          "a weight needs whole numbers layer, to (and from) and a value")
        session.set_weight(layer, source, to, float(value))
        self._json({"version": session.version})

    def _post_link(self, session: Session, query: dict[str, str]) -> None:
        """A set-up from the page's address, read key by key (see link.py)."""
        pairs = self._json_body().get("pairs")
        if not isinstance(pairs, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in pairs.items()):
            raise Refused(HTTPStatus.BAD_REQUEST, "the link's settings must be text")
        with session.lock:
            setup, page, skipped = read_link(pairs, session.setup)
            changes = {key: value for key, value in dataclasses.asdict(setup).items()
                       if getattr(session.setup, key) != value}
            if changes:
                session.configure(changes)
        self._json({"version": session.version, "page": page, "skipped": skipped})

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


class NotANumber(ValueError):
    """NaN or Infinity in a request."""


def _no_constant(name: str) -> float:
    raise NotANumber(f"the request holds {name}, which is not a number the playground accepts")


def finite(data: Any) -> Any:
    """``data`` with every NaN or infinite float replaced by None (null in JSON)."""
    if isinstance(data, float):
        return data if data == data and abs(data) != float("inf") else None
    if isinstance(data, dict):
        return {key: finite(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(value) for value in data]
    return data


def _whole(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _integer(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default
