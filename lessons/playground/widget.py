"""The playground inside a notebook: the same page, talking to the kernel instead of a port.

    from chaingrad.lessons.playground import widget
    widget()                 # the last line of a cell shows it

Why anywidget: a Jupyter widget is the one way a page in a notebook's output can talk to
its kernel in JupyterLab, Notebook 7, VS Code and Colab alike, with no port to open; anywidget
is a small, well-kept library made for exactly this (one ES module, synced traits, custom
messages), and its front-end ships inside its own wheel, so nothing is fetched at run time.

How: the page (static/index.html, its CSS and script, inlined) runs in a frame inside the
widget's output, so its layout and names are its own. The page's requests go through its
transport (playground.js: ``portTransport``) as messages to the kernel, where ``answer``,
the function the HTTP server calls, answers them in a small pool of threads (a long poll
never blocks the kernel); training runs in each network's own kernel thread. Messages are
bounded (MAX_BODY); a view removed from the notebook ends its network; ``close()`` ends all.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .server import MAX_BODY, Answer, Refused, Sessions, answer
from .session import SetupError

WORKERS = 4  # requests answered at once per widget (a long poll holds one for <= 1 s)

# The widget's front-end: a frame holding the page, and a MessagePort between them; the
# page's requests go to the kernel tagged with this view's id, answers come back by it.
ESM = """
function render({ model, el }) {
  const view = Math.random().toString(36).slice(2) + Date.now().toString(36);
  const frame = document.createElement('iframe');
  frame.title = 'chaingrad playground';
  frame.style.cssText = 'width: 100%; border: 0; display: block;';
  frame.style.height = model.get('height') + 'px';
  frame.srcdoc = model.get('_page');
  const channel = new MessageChannel();
  channel.port1.onmessage = (event) => model.send(Object.assign({ view: view }, event.data));
  const onAnswer = (message) => {
    if (message && message.view === view) { channel.port1.postMessage(message); }
  };
  model.on('msg:custom', onAnswer);
  let resize = null;
  frame.addEventListener('load', () => {
    frame.contentWindow.postMessage('chaingrad-port', '*', [channel.port2]);
    try {  // the frame grows with its page (a graph, the code), so only the notebook scrolls
      const page = frame.contentDocument.documentElement;
      resize = new ResizeObserver(() => { frame.style.height = page.scrollHeight + 'px'; });
      resize.observe(frame.contentDocument.body);
    } catch (error) { /* a host that isolates the frame: it keeps its height and scrolls */ }
  }, { once: true });
  el.appendChild(frame);
  return () => {  // the view is gone (cell cleared or re-run): free its network
    model.off('msg:custom', onAnswer);
    if (resize) { resize.disconnect(); }
    model.send({ view: view, id: -1, method: 'POST', path: '/api/views-gone', session: '' });
    channel.port1.close();
  };
}
export default { render };
"""


def page() -> str:
    """static/index.html with its stylesheet and script inlined (a frame's srcdoc)."""
    static = resources.files(__package__).joinpath("static")
    html = static.joinpath("index.html").read_text(encoding="utf-8")
    css = static.joinpath("playground.css").read_text(encoding="utf-8")
    script = static.joinpath("playground.js").read_text(encoding="utf-8")
    html = html.replace('<link rel="stylesheet" href="/playground.css">',
                        f"<style>\n{css}\n</style>")
    return html.replace('<script src="/playground.js"></script>',
                        "<script>window.CHAINGRAD_WIDGET = true;</script>\n"
                        f"<script>\n{script}\n</script>")


class Requests:
    """The kernel's side of the widget's messages: each answered by the server's ``answer``."""

    def __init__(self, send: Callable[[dict], None]) -> None:
        self.send = send
        self.sessions = Sessions()
        self.views: dict[str, set[str]] = {}  # view id -> the session keys it opened
        self.pool = ThreadPoolExecutor(max_workers=WORKERS,
                                       thread_name_prefix="playground-widget")
        self.sessions._watch()  # a view that vanished without a word is freed in minutes

    def receive(self, content: Any) -> None:
        """A message from a view: answer it in the pool (never in the kernel's own thread)."""
        if not isinstance(content, dict) or self.sessions.stopped.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the pool is shut down: closing
            self.pool.submit(self._answer, content)

    def _answer(self, content: dict) -> None:
        view, number = content.get("view"), content.get("id")
        if not isinstance(view, str) or not isinstance(number, int) or len(view) > 64:
            return
        try:
            reply = self._route(view, content)
        except Refused as refusal:
            reply = Answer(str(refusal).encode(), "text/plain", refusal.status)
        except SetupError as error:
            reply = Answer(str(error).encode(), "text/plain", HTTPStatus.BAD_REQUEST)
        except Exception as error:  # a bug: say so on the page, keep answering
            reply = Answer(f"the playground failed: {error!r}".encode(), "text/plain",
                           HTTPStatus.INTERNAL_SERVER_ERROR)
        if number < 0:  # a goodbye: nobody waits for its answer
            return
        message: dict[str, Any] = {"view": view, "id": number, "status": int(reply.status)}
        if reply.content_type == "application/octet-stream":
            message["bytes"] = base64.b64encode(reply.body).decode("ascii")
        else:
            message["text"] = reply.body.decode("utf-8")
        self.send(message)

    def _route(self, view: str, content: dict) -> Answer:
        method, path, key = (content.get(name) for name in ("method", "path", "session"))
        if not (isinstance(method, str) and isinstance(path, str) and isinstance(key, str)):
            raise Refused(HTTPStatus.BAD_REQUEST, "a request needs a method, a path, a session")
        if path == "/api/views-gone":
            for gone in self.views.pop(view, set()):
                self.sessions.end_session(gone)
            return Answer(b"", "text/plain", HTTPStatus.NO_CONTENT)
        url = urlsplit(path)
        if not url.path.startswith("/api/"):
            raise Refused(HTTPStatus.NOT_FOUND, f"there is no {url.path}")
        query = {name: values[-1] for name, values in parse_qs(url.query).items()}
        reply = answer(self.sessions, method, url.path[len("/api/"):], query, key,
                       lambda: self._body(content))
        if url.path == "/api/session":
            self.views.setdefault(view, set()).add(json.loads(reply.body)["session"])
        return reply

    @staticmethod
    def _body(content: dict) -> bytes:
        text, coded = content.get("text"), content.get("bytes")
        if isinstance(coded, str):
            if len(coded) > MAX_BODY * 4 // 3 + 4:
                raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "that request is too large")
            try:
                return base64.b64decode(coded, validate=True)
            except (binascii.Error, ValueError):
                raise Refused(HTTPStatus.BAD_REQUEST, "the file did not arrive whole") from None
        if isinstance(text, str):
            if len(text) > MAX_BODY:
                raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "that request is too large")
            return text.encode("utf-8")
        return b""

    def close(self) -> None:
        """End every view's network and the pool."""
        self.sessions.stop_sessions()
        self.pool.shutdown(wait=False, cancel_futures=True)


@functools.lru_cache(maxsize=1)
def widget_class() -> type:
    """The widget's class, made on first use: importing anywidget (and ipywidgets) takes
    a moment that the terminal's playground should not pay."""
    try:
        import anywidget
        import traitlets
    except ImportError:  # the optional extra is missing
        raise ImportError("widget: the playground in a notebook needs anywidget; install "
                          "it with  pip install 'chaingrad[notebook]'  (or use serve())."
                          ) from None

    class PlaygroundWidget(anywidget.AnyWidget):
        """The playground as a Jupyter widget; ``close()`` ends its networks."""

        _esm = ESM
        _page = traitlets.Unicode("").tag(sync=True)
        height = traitlets.Int(760).tag(sync=True)

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(_page=page(), **kwargs)
            self._requests = Requests(self.send)
            self.on_msg(lambda _widget, content, _buffers: self._requests.receive(content))

        @property
        def html(self) -> str:
            """The page the widget shows (static/index.html, its CSS and script inlined)."""
            return self._page

        def close(self) -> None:
            """End every view's network and close the widget (its views go blank)."""
            self._requests.close()
            super().close()

        def stop(self) -> None:
            """The same as close(), named as Playground.stop()."""
            self.close()

    return PlaygroundWidget


def in_notebook() -> bool:
    """True inside a Jupyter kernel (a notebook's cells), False in a terminal or a script."""
    shell = sys.modules.get("IPython")
    get_ipython = getattr(shell, "get_ipython", None)
    return get_ipython is not None and getattr(get_ipython(), "kernel", None) is not None


def widget(height: int = 760) -> Any:
    """The playground in a notebook cell: each view trains its own network in the kernel."""
    return widget_class()(height=height)
