"""The playground without a browser: its session (training, graph, code, files) and its
server's rules (own files only, Host and Origin checks, one network per tab)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
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
