"""The playground without a browser: its session (training, graph, code, files) and its
server's rules (own files only, Host and Origin checks, one network per tab)."""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from chaingrad.cli import main
from chaingrad.lessons.playground import Session, Setup, SetupError, serve
from chaingrad.lessons.playground.data import FEATURES, GENERATORS, dataset, features
from chaingrad.lessons.playground.session import ACTIVATIONS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def playground():
    running = serve(port=0)
    yield running
    running.stop()


def ask(playground, method: str, path: str, body: bytes | None = None,
        headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", playground.port, timeout=30)
    sent = {"Host": f"127.0.0.1:{playground.port}", **(headers or {})}
    connection.request(method, path, body=body, headers=sent)
    response = connection.getresponse()
    answer = response.status, response.read()
    connection.close()
    return answer


def new_session(playground) -> str:
    status, body = ask(playground, "POST", "/api/session", b"{}",
                       {"Origin": f"http://127.0.0.1:{playground.port}"})
    assert status == 200
    return json.loads(body)["session"]


# ------------------------------------------------------------------ the server's rules


def test_the_page_and_its_files_are_served(playground):
    status, page = ask(playground, "GET", "/")
    assert status == 200 and b'<script src="/playground.js">' in page
    assert b"http" not in page.replace(b"http-equiv", b"")  # nothing from the internet
    for name in ("/playground.js", "/playground.css"):
        assert ask(playground, "GET", name)[0] == 200


@pytest.mark.parametrize("path", ["/../pyproject.toml", "/session.py", "/static/index.html",
                                  "/%2e%2e/server.py", "/etc/passwd"])
def test_only_its_own_files(playground, path):
    assert ask(playground, "GET", path)[0] == 404


def test_a_foreign_origin_is_refused(playground):
    before = len(playground.sessions)
    status, body = ask(playground, "POST", "/api/session", b"{}",
                       {"Origin": "http://evil.example"})
    assert status == 403 and b"another site" in body
    status, _ = ask(playground, "POST", "/api/session", b"{}", {"Sec-Fetch-Site": "cross-site"})
    assert status == 403
    assert len(playground.sessions) == before


def test_a_foreign_host_is_refused(playground):
    # DNS rebinding: evil.example resolving to 127.0.0.1 still says Host: evil.example
    status, _ = ask(playground, "GET", "/", headers={"Host": f"evil.example:{playground.port}"})
    assert status == 403


def test_a_tab_without_its_session_is_told_to_reload(playground):
    status, body = ask(playground, "GET", "/api/state?session=made-up")
    assert status == 410 and b"reload" in body


def test_bad_settings_get_a_sentence(playground):
    key = new_session(playground)
    status, body = ask(playground, "POST", "/api/setup", json.dumps({"hidden": [9]}).encode(),
                       {"X-Session": key})
    assert status == 400 and b"at most 6, each of 1 to 8 neurons" in body
    status, body = ask(playground, "POST", "/api/setup", b"not json", {"X-Session": key})
    assert status == 400 and b"not JSON" in body


def test_too_large_a_request_is_refused(playground):
    key = new_session(playground)
    status, _ = ask(playground, "POST", "/api/load", b"x",
                    {"X-Session": key, "Content-Length": "2000000"})  # refused unread
    assert status == 413


def test_each_tab_has_its_own_network(playground):
    first, second = new_session(playground), new_session(playground)
    ask(playground, "POST", "/api/setup", json.dumps({"dataset": "spiral"}).encode(),
        {"X-Session": first})
    assert playground.session(first).setup.dataset == "spiral"
    assert playground.session(second).setup.dataset == "circle"
    assert playground.session(first).model is not playground.session(second).model


def test_state_waits_for_a_change_then_answers(playground):
    key = new_session(playground)
    session = playground.session(key)
    version = session.version
    ask(playground, "POST", "/api/control", b'{"action": "step"}', {"X-Session": key})
    status, body = ask(playground, "GET", f"/api/state?since={version}&session={key}")
    state = json.loads(body)
    assert status == 200 and state["epoch"] == 1 and state["version"] > version
    assert len(state["neurons"]) == 2 and len(state["neurons"][0]) == 4
    assert len(base64.b64decode(state["surface"])) == 50 * 50
    assert len(base64.b64decode(state["neurons"][0][0])) == 25 * 25


# ------------------------------------------------------------------ the session


def test_training_lowers_the_loss():
    session = Session(Setup(dataset="gauss"))
    first = session.test_loss
    for _ in range(20):
        session.train_epoch()
    assert session.epoch == 20 and session.test_loss < first / 2


def test_live_settings_keep_training_and_others_start_again():
    session = Session()
    session.train_epoch()
    session.configure({"learning_rate": 0.1})
    assert session.epoch == 1 and session.setup.learning_rate == 0.1
    session.train_epoch()  # the new rate is taken at the start of an epoch
    assert session.optimizer.lr == 0.1 and session.schedule == [(2, {"learning_rate": 0.1})]
    session.configure({"hidden": [3]})
    assert session.epoch == 0 and [len(w) for w in session.snapshot()["weights"]] == [2, 3]


@pytest.mark.parametrize("changes, words", [
    ({"dataset": "plane"}, "data set for classification"),
    ({"activation": "swish"}, "activation must be one of"),
    ({"features": []}, "features must be one or more"),
    ({"learning_rate": 0.5}, "learning rate must be one of"),
    ({"colour": "red"}, "unknown setting 'colour'"),
])
def test_settings_are_checked(changes, words):
    with pytest.raises(SetupError, match=words):
        Session().configure(changes)


def test_the_point_graph_is_the_network_on_one_point():
    session = Session(Setup(dataset="xor", hidden=[3], features=["x1", "x2", "x1·x2"]))
    session.select("test", 5)
    loss, info = session.point_graph()
    point, label = session.test_points[5], session.test_labels[5]
    with_tensors = session.model(features(point[None], ["x1", "x2", "x1·x2"])).data.item()
    assert info["prediction"] == pytest.approx(with_tensors, abs=1e-12)
    assert loss.data == pytest.approx(0.5 * (with_tensors - label) ** 2, abs=1e-12)
    picture = session.graph_picture(steps=True)
    assert "L1.N2.w2" in picture["svg"] and "x1·x2" in picture["svg"]
    assert picture["steps"][0]["node"] and "(the seed)" in picture["steps"][0]["text"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_the_point_graph_agrees_with_the_network_for_every_activation(activation):
    session = Session(Setup(dataset="moons", hidden=[3, 2], activation=activation))
    for _ in range(2):
        session.train_epoch()
    session.select("train", 11)
    _, info = session.point_graph()
    session.model.eval()
    expected = session.model(features(session.train_points[11:12], ["x1", "x2"])).data.item()
    assert info["prediction"] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("activation", ["prelu", "rrelu"])
def test_show_code_repeats_learned_and_random_slopes(activation, tmp_path):
    session = Session(Setup(dataset="xor", hidden=[4], activation=activation))
    for _ in range(2):
        session.train_epoch()
    script = tmp_path / "network.py"
    script.write_text(session.code(), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.split()[-1]) == pytest.approx(session.test_loss, abs=5e-4)


def test_a_large_network_graph_is_collapsed():
    session = Session(Setup(hidden=[8] * 6, features=list(FEATURES)))
    session.select("train", 0)
    picture = session.graph_picture(steps=True)
    assert picture["collapsed"] and "steps" not in picture


def test_added_points_train_and_appear_in_the_code(tmp_path):
    session = Session(Setup(dataset="xor", hidden=[4], activation="relu"))
    session.add_point(5.5, 5.5, -1.0)
    assert session.selected == ("train", 250) and session.train_labels[-1] == -1.0
    for _ in range(3):
        session.train_epoch()
    script = tmp_path / "network.py"
    script.write_text(session.code(), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1].split()
    assert last[:2] == ["epoch", "3"]
    assert float(last[-1]) == pytest.approx(session.test_loss, abs=5e-4)


def test_save_and_load_give_back_the_network():
    session = Session(Setup(dataset="moons", hidden=[5], regularization="L2",
                            regularization_rate=0.003))
    session.add_point(1.0, 2.0, 1.0)
    session.train_epoch()
    content = session.save_bytes()
    other = Session()
    other.load_bytes(content)
    assert other.setup == session.setup and other.epoch == 1
    assert other.extra_points == session.extra_points
    for a, b in zip(other.model.parameters(), session.model.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    with pytest.raises(SetupError, match="not a network saved by the playground"):
        other.load_bytes(b"PK\x03\x04 rubbish")


def test_the_data_sets_fill_the_square_with_both_labels():
    for name in GENERATORS:
        train, train_y, test, test_y = dataset(name, 400, 0.2, 0.5, seed=3)
        assert train.shape == (200, 2) and test.shape == (200, 2)
        assert np.abs(np.vstack([train, test])).max() < 7.5
        if name in ("plane", "gaussians"):
            assert -1 <= train_y.min() < 0 < train_y.max() <= 1
        else:
            assert set(np.unique(train_y)) == {-1.0, 1.0}


# ------------------------------------------------------------------ the command


def test_the_command_refuses_a_bad_port(capsys):
    assert main(["playground", "--port", "70000", "--no-browser"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "--port must be 0 to 65535" in error


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT, as Ctrl-C does")
def test_the_command_prints_the_address_and_stops_on_ctrl_c():
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "chaingrad", "playground", "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=environment)
    try:
        line = process.stdout.readline()
        assert line.startswith("The playground is at http://localhost:")
        port = int(line.split("localhost:")[1].split("/")[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/", headers={"Host": f"localhost:{port}"})
        assert connection.getresponse().status == 200
        connection.close()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Stopped." in out and "Traceback" not in err


# ------------------------------------------------------------------ hostile and broken cases


def strict_json(body: bytes):
    """JSON as a browser reads it: NaN and Infinity are errors."""
    def refuse(name):
        raise ValueError(f"{name} in the JSON")
    return json.loads(body, parse_constant=refuse)


def wait_until(condition, seconds: float = 60.0) -> None:
    """Wait for ``condition`` (bounded, so that a bug fails instead of hanging)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.02)


def test_a_diverged_network_sends_strict_json_and_a_sentence(playground):
    key = new_session(playground)
    setup = {"problem": "regression", "dataset": "plane", "activation": "linear",
             "learning_rate": 10.0}
    assert ask(playground, "POST", "/api/setup", json.dumps(setup).encode(),
               {"X-Session": key})[0] == 200
    for _ in range(3):
        ask(playground, "POST", "/api/control", b'{"action": "step"}', {"X-Session": key})
    status, body = ask(playground, "GET", f"/api/state?session={key}")
    state = strict_json(body)
    assert status == 200 and state["trouble"].startswith("The loss became infinite at epoch 1")
    assert state["test_loss"] is None and all(
        np.isfinite(w).all() for w in map(np.array, state["weights"]))
    status, body = ask(playground, "POST", "/api/control", b'{"action": "play"}',
                       {"X-Session": key})
    assert status == 400 and b"lower the learning rate" in body
    ask(playground, "POST", "/api/control", b'{"action": "reset"}', {"X-Session": key})
    assert strict_json(ask(playground, "GET", f"/api/state?session={key}")[1])["trouble"] is None


def test_an_overflow_stops_the_training_thread_with_a_sentence():
    session = Session(Setup(problem="regression", dataset="gaussians", activation="elu",
                            learning_rate=10.0))
    session.play()
    wait_until(lambda: not session.playing)
    session.thread.join(timeout=60)
    assert not session.thread.is_alive() and "became infinite" in session.trouble
    json.dumps(session.snapshot(), allow_nan=False)  # the picture is still drawable


def test_a_training_thread_that_raises_says_so(capsys):
    session = Session()

    def broken_epoch():
        raise RuntimeError("a bug in an epoch")

    session.train_epoch = broken_epoch
    session.play()
    session.thread.join(timeout=60)
    assert not session.playing and "a bug in an epoch" in session.snapshot()["trouble"]
    assert "RuntimeError" in capsys.readouterr().err  # the terminal has the traceback


def test_json_with_nan_is_made_strict():
    from chaingrad.lessons.playground.server import finite
    assert finite({"a": [1.0, float("nan"), float("-inf")], "b": "x"}) == \
        {"a": [1.0, None, None], "b": "x"}


@pytest.mark.parametrize("body, words", [
    (b"[" * 100_000, b"nested too deeply"),
    (b'{"action": ["play"]}', b"the action must be one of"),
    (b'{"action": NaN}', b"NaN"),
])
def test_odd_json_gets_a_400_sentence(playground, body, words):
    key = new_session(playground)
    status, answer = ask(playground, "POST", "/api/control", body, {"X-Session": key})
    assert status == 400 and words in answer, answer


@pytest.mark.parametrize("point", [b'{"x1": NaN, "x2": 0}', b'{"x1": "nan", "x2": 0}',
                                   b'{"x1": 1, "x2": "-inf"}'])
def test_a_point_must_be_finite(playground, point):
    key = new_session(playground)
    status, _ = ask(playground, "POST", "/api/point", point, {"X-Session": key})
    assert status == 400 and playground.session(key).extra_points == []


def test_200_connections_at_once_are_all_answered():
    import concurrent.futures
    import socket
    import threading

    with serve(port=0) as running:
        start = threading.Barrier(200)

        def one() -> bytes:
            start.wait()
            with socket.create_connection(("127.0.0.1", running.port), timeout=20) as sock:
                sock.sendall(f"GET /playground.css HTTP/1.1\r\nHost: 127.0.0.1:{running.port}"
                             "\r\nConnection: close\r\n\r\n".encode())
                return sock.recv(12)

        with concurrent.futures.ThreadPoolExecutor(200) as pool:
            answers = list(pool.map(lambda _: _safe(one), range(200)))
    assert answers.count(b"HTTP/1.1 200") == 200, set(answers)


def _safe(function):
    try:
        return function()
    except OSError as error:
        return repr(error).encode()


def test_a_body_announced_but_never_sent_is_dropped(monkeypatch):
    import socket

    from chaingrad.lessons.playground.server import Handler

    monkeypatch.setattr(Handler, "timeout", 0.5)
    with serve(port=0) as running:
        key = new_session(running)
        with socket.create_connection(("127.0.0.1", running.port), timeout=30) as sock:
            sock.sendall(f"POST /api/setup HTTP/1.1\r\nHost: 127.0.0.1:{running.port}\r\n"
                         f"X-Session: {key}\r\nContent-Length: 100\r\n\r\n".encode())
            answer = sock.recv(4096)  # the server gives up on the body and says so
    assert answer.startswith(b"HTTP/1.1 408"), answer


def test_after_stop_no_connection_is_answered():
    running = serve(port=0)
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=30)
    connection.request("GET", "/", headers={"Host": f"127.0.0.1:{running.port}"})
    response = connection.getresponse()
    assert response.status == 200
    response.read()  # the connection stays open (keep-alive)
    running.stop()
    with pytest.raises((http.client.HTTPException, OSError)):
        connection.request("GET", "/", headers={"Host": f"127.0.0.1:{running.port}"})
        connection.getresponse()
    connection.close()


def _ipv6_loopback() -> bool:
    import socket
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_it_listens_on_ipv6_loopback():
    with serve(port=0, host="::1") as running:
        assert running.url.startswith("http://[::1]:")
        connection = http.client.HTTPConnection("::1", running.port, timeout=30)
        connection.request("GET", "/", headers={"Host": f"[::1]:{running.port}"})
        assert connection.getresponse().status == 200
        connection.close()


def test_every_loopback_address_is_local():
    from chaingrad.lessons.playground.server import is_loopback
    assert all(map(is_loopback, ["127.0.0.1", "127.0.0.2", "::1", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.5", "example.com"]))


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT, as Ctrl-C does")
def test_the_command_on_127_0_0_2_does_not_warn():
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "chaingrad", "playground", "--no-browser",
                                "--host", "127.0.0.2"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment)
    try:
        line = process.stdout.readline()
        assert line.startswith("The playground is at http://127.0.0.2:")
        port = int(line.split("127.0.0.2:")[1].split("/")[0])
        connection = http.client.HTTPConnection("127.0.0.2", port, timeout=30)
        connection.request("GET", "/", headers={"Host": f"127.0.0.2:{port}"})
        assert connection.getresponse().status == 200  # serving: everything is printed
        connection.close()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        # read through the same buffered pipes as readline (communicate would skip its buffer)
        out, err = process.stdout.read(), process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Stopped." in out and "Traceback" not in err
    assert "other computers" not in out


# ------------------------------------------------------------------ tabs


def test_a_tab_too_many_is_refused_and_no_live_tab_loses_its_network():
    from chaingrad.lessons.playground.server import MAX_SESSIONS

    with serve(port=0) as running:
        keys = [new_session(running) for _ in range(MAX_SESSIONS)]
        status, body = ask(running, "POST", "/api/session", b"{}")
        assert status == 503 and b"close one, then reload" in body
        assert all(running.session(key) is not None for key in keys)


def test_a_closed_tab_says_goodbye_and_its_training_ends():
    with serve(port=0) as running:
        key = new_session(running)
        session = running.session(key)
        ask(running, "POST", "/api/control", b'{"action": "play"}', {"X-Session": key})
        wait_until(lambda: session.epoch > 0)
        assert ask(running, "POST", f"/api/bye?session={key}", b"")[0] == 204
        assert running.session(key) is None and not session.playing
        assert not session.thread.is_alive()


def test_a_silent_tab_is_paused_then_freed(monkeypatch):
    import threading

    from chaingrad.lessons.playground import server
    from chaingrad.lessons.playground import session as session_module

    monkeypatch.setattr(session_module, "IDLE_SECONDS", 0.3)
    monkeypatch.setattr(server, "SESSION_GONE_SECONDS", 0.6)
    monkeypatch.setattr(server, "WATCH_SECONDS", 0.05)
    with serve(port=0) as running:
        key = new_session(running)
        session = running.session(key)
        ask(running, "POST", "/api/control", b'{"action": "play"}', {"X-Session": key})
        wait_until(lambda: running.session(key) is None)  # nothing more heard from the tab
        session.thread.join(timeout=60)
        assert not session.thread.is_alive() and not session.playing
        assert not [t for t in threading.enumerate() if t.name == "playground-training"
                    and t.is_alive()]


# ------------------------------------------------------------------ loading hostile files


def saved_arrays(session: Session) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(session.save_bytes())) as saved:
        return dict(saved)


def npz(arrays: dict[str, np.ndarray], compressed: bool = False) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def trained_session() -> Session:
    session = Session(Setup(dataset="xor"))
    session.train_epoch()
    return session


@pytest.mark.parametrize("change, words", [
    (lambda a: a.update({"playground.epoch": np.array(1e300)}), "saved epoch must be a whole"),
    (lambda a: a.update({"playground.epoch": np.array(-3.0)}), "saved epoch must be a whole"),
    (lambda a: a.update({"playground.epoch": np.array(2.5)}), "saved epoch must be a whole"),
    (lambda a: a.update({"playground.extra_points": np.array([[600.0, 1.0, 1.0]])}),
     "outside the square"),
    (lambda a: a.update({"layers.0.weight": a["layers.0.weight"] * 1e6}), "larger than 1000"),
    (lambda a: a.update({"layers.2.bias": a["layers.2.bias"] * np.inf}), "not a number or larger"),
    (lambda a: a.pop("layers.4.bias"), "do not fit the network"),
])
def test_a_refused_load_names_the_problem_and_leaves_the_network(change, words):
    session = trained_session()
    arrays = saved_arrays(session)
    assert {"layers.0.weight", "layers.2.bias", "layers.4.bias"} <= set(arrays)
    change(arrays)
    before = [p.data.copy() for p in session.model.parameters()]
    setup, epoch = session.setup, session.epoch
    with pytest.raises(SetupError, match=words):
        session.load_bytes(npz(arrays))
    assert session.setup == setup and session.epoch == epoch
    for p, old in zip(session.model.parameters(), before):
        np.testing.assert_array_equal(p.data, old)


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    import tracemalloc
    import zipfile

    arrays = saved_arrays(trained_session())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, value in arrays.items():
            archive.writestr(key + ".npy", npz_member(value))
        archive.writestr("padding.npy", npz_member(np.zeros(8_000_000)))  # 64 MB of zeros
    content = buffer.getvalue()
    assert len(content) < 200_000  # small when packed
    tracemalloc.start()
    try:
        with pytest.raises(SetupError, match="too large to be a network"):
            Session().load_bytes(content)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # never unpacked: nothing near its 64 MB was allocated


def npz_member(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_a_corrupt_compressed_file_gets_a_sentence_not_a_500(playground):
    content = bytearray(npz(saved_arrays(trained_session()), compressed=True))
    middle = len(content) // 2
    content[middle:middle + 40] = bytes(40)
    key = new_session(playground)
    status, body = ask(playground, "POST", "/api/load", bytes(content), {"X-Session": key})
    assert status == 400 and b"is not a network saved by the playground" in body, body
    with pytest.raises(SetupError, match="not a network saved"):
        Session().load_bytes(bytes(content))


# ------------------------------------------------------------------ as TensorFlow Playground


def test_the_loss_is_half_the_mean_squared_error_as_in_tf():
    session = Session(Setup(dataset="gauss"))
    session.train_epoch()
    session.model.eval()
    prediction = session.model(session.X_test).data
    assert session.test_loss == pytest.approx(0.5 * np.mean((prediction - session.y_test) ** 2))


def test_the_weights_start_as_in_tf():
    session = Session(Setup(hidden=[8, 8]))
    for weights, biases in zip(session.snapshot()["weights"], session.snapshot()["biases"]):
        assert np.abs(weights).max() <= 0.5 and np.allclose(biases, 0.1)


def test_relu_learns_xor_at_the_default_seed_and_regression_starts_sanely():
    session = Session(Setup(dataset="xor", activation="relu"))
    for _ in range(150):
        session.train_epoch()
    assert session.test_loss < 0.05
    for dataset_name in ("plane", "gaussians"):
        assert Session(Setup(problem="regression", dataset=dataset_name)).test_loss < 0.5


def test_the_spiral_is_shaken_as_much_as_in_tf():
    calm = dataset("spiral", 400, 0.0, 0.5, seed=1)[0]
    shaken = dataset("spiral", 400, 0.5, 0.5, seed=1)[0]
    assert 0.4 < np.abs(shaken - calm).max() <= 0.5  # TF: uniform(-1, 1) * noise


@pytest.mark.parametrize("body, status", [
    ({"layer": 0, "from": 1, "to": 2, "value": 1.5}, 200),
    ({"layer": 2, "from": None, "to": 0, "value": -0.25}, 200),
    ({"layer": 9, "from": 0, "to": 0, "value": 1.0}, 400),
    ({"layer": 0, "from": 5, "to": 0, "value": 1.0}, 400),
    ({"layer": 0, "from": 0, "to": 0, "value": 1e9}, 400),
    ({"layer": 0, "from": 0, "to": 0, "value": "1"}, 400),
    ({"layer": [0], "from": 0, "to": 0, "value": 1.0}, 400),
])
def test_a_weight_typed_in_is_checked_then_set(playground, body, status):
    key = new_session(playground)
    session = playground.session(key)
    answer, text = ask(playground, "POST", "/api/weight", json.dumps(body).encode(),
                       {"X-Session": key})
    assert answer == status, text
    if status == 200:
        layer = [m for m in session.model if hasattr(m, "n_out")][body["layer"]]
        got = (layer.bias.data[body["to"]] if body["from"] is None
               else layer.weight.data[body["from"], body["to"]])
        assert got == body["value"] and "changed by hand" in session.code()


def test_a_layers_maps_encoded_together_match_each_encoded_alone():
    from chaingrad.lessons.playground.session import encode, encode_columns

    values = np.random.default_rng(0).uniform(-2, 2, (625, 5))
    values[3, 1], values[7, 2] = np.nan, np.inf
    assert encode_columns(values) == [encode(values[:, j]) for j in range(5)]


# ------------------------------------------------------------------ captured steps


def _trained(capture: bool, setup: dict, epochs: int, changes: dict | None = None,
             ) -> Session:
    """A session trained ``epochs`` epochs, with ``changes[epoch]`` applied before that one
    (a dict of settings, or a weight to set by hand as ("weight", layer, source, to, v))."""
    session = Session(Setup(**setup), capture_steps=capture)
    for epoch in range(epochs):
        change = (changes or {}).get(epoch)
        if isinstance(change, tuple):
            session.set_weight(*change[1:])
        elif change:
            session.configure(change)
        session.train_epoch()
    return session


def _weights(session: Session) -> list[np.ndarray]:
    return [p.data for p in session.model.parameters()]


@pytest.mark.parametrize("setup, changes", [
    ({}, None),
    ({"dataset": "xor", "hidden": [5, 3], "activation": "relu", "batch_size": 1,
      "regularization": "L2", "regularization_rate": 0.01}, None),
    ({"problem": "regression", "dataset": "plane", "activation": "sigmoid",
      "regularization": "L1", "regularization_rate": 0.003, "batch_size": 7}, None),
    ({"dataset": "spiral", "features": ["x1", "x2", "sin x1", "x1·x2"], "hidden": [6, 6, 4],
      "n_points": 100}, None),
    # changes mid-training: every live setting and a weight typed in (a rebuild, which
    # would forget them, comes in the next case)
    ({"dataset": "gauss", "activation": "softsign"},
     {2: {"batch_size": 13}, 3: {"learning_rate": 0.3}, 4: {"regularization": "L2",
      "regularization_rate": 0.03}, 6: {"regularization": "L1"}, 7: ("weight", 0, 1, 2, 0.7),
      8: {"regularization_rate": 0.001}, 9: {"batch_size": 30}, 10: {"regularization": "none"}}),
    # a new network (architecture, activation, loss) mid-training, then live changes on it
    ({"dataset": "circle"},
     {3: {"activation": "sigmoid", "hidden": [3, 3]}, 5: {"regularization": "L2",
      "regularization_rate": 0.01}, 6: {"problem": "regression", "dataset": "plane"},
      8: {"batch_size": 4}, 9: {"regularization": "L1", "regularization_rate": 0.003}}),
])
def test_captured_steps_give_the_eager_weights_bit_for_bit(setup, changes):
    eager = _trained(False, setup, 12, changes)
    captured = _trained(True, setup, 12, changes)
    assert captured.step_status()["mode"] == "captured"
    assert all(step.replays > 0 for step in captured.steps.values())
    assert eager.step_status()["mode"] == "eager"
    assert all(np.array_equal(a, b) for a, b in zip(_weights(eager), _weights(captured)))
    assert eager.curve == captured.curve  # every epoch's losses, exactly


def test_a_change_of_regularisation_replays_its_own_program():
    session = _trained(True, {"dataset": "xor"}, 2, {1: {"regularization": "L2",
                                                         "regularization_rate": 0.1}})
    plain, penalised = session.steps.values()
    assert len(penalised.program.ops) > len(plain.program.ops)  # the penalty's ops
    assert plain.replays == 25 and penalised.replays == 25  # one epoch each, 250 points / 10
    session.configure({"hidden": [2]})  # a new network: nothing captured for it yet
    assert session.steps == {}


def test_a_loaded_network_is_captured_again():
    source = _trained(True, {"dataset": "xor", "hidden": [3]}, 2)
    saved = source.save_bytes()
    sessions = []
    for capture in (False, True):
        session = Session(capture_steps=capture)
        session.train_epoch()  # a step captured for the network about to be replaced
        session.load_bytes(saved)
        session.train_epoch()
        sessions.append(session)
    eager, captured = sessions
    assert captured.step_status()["mode"] == "captured"
    assert all(np.array_equal(a, b) for a, b in zip(_weights(eager), _weights(captured)))


@pytest.mark.parametrize("activation", ["rrelu", "leaky_relu", "elu"])
def test_a_network_capture_cannot_follow_trains_eagerly_and_says_why(activation):
    setup = {"dataset": "xor", "activation": activation}
    eager = _trained(False, setup, 3)
    fallen_back = _trained(True, setup, 3)
    status = fallen_back.step_status()
    assert status["mode"] == "eager"
    assert ("random slopes" if activation == "rrelu" else "capture refused") in status["text"]
    # rrelu: no capture was tried, so no trace drew slopes the eager run did not draw
    assert all(np.array_equal(a, b) for a, b in zip(_weights(eager), _weights(fallen_back)))


def test_the_page_is_told_how_steps_run(playground):
    key = new_session(playground)
    origin = {"X-Session": key}
    status, body = ask(playground, "GET", f"/api/state?since=-1&session={key}")
    assert status == 200
    step = json.loads(body)["step"]
    assert step["mode"] == "captured" and "chaingrad.capture" in step["text"]
    status, _ = ask(playground, "POST", "/api/setup", json.dumps(
        {"activation": "rrelu"}).encode(), origin)
    assert status == 200
    status, body = ask(playground, "GET", f"/api/state?since=-1&session={key}")
    assert json.loads(body)["step"]["mode"] == "eager"


def test_a_stale_check_that_fails_falls_back_to_eager(monkeypatch):
    """A captured step whose periodic check finds it stale (CaptureError) is dropped: the
    batch runs eagerly, the page says so, and the weights are eager's."""
    from chaingrad.autograd import CaptureError

    eager = _trained(False, {"dataset": "xor"}, 2)
    session = _trained(True, {"dataset": "xor"}, 1)
    (step,) = session.steps.values()

    def stale(*inputs):
        raise CaptureError("capture: the function no longer gives the program; more")

    monkeypatch.setattr(type(step), "__call__", stale)
    session.train_epoch()
    assert session.step_status()["mode"] == "eager"
    assert "capture stopped" in session.step_status()["text"]
    assert all(np.array_equal(a, b) for a, b in zip(_weights(eager), _weights(session)))
