"""How live the playground is: pictures per second for 2-4-4-1 and 7-8x6-1 tanh networks.

    python bench/bench_playground.py            # about a minute
    python bench/bench_playground.py --seconds 20
    python bench/bench_playground.py --steps    # only: training steps/s, eager vs captured

Training steps per second, eager against captured (``chaingrad.capture``, what the page
runs): ``Session.train_epoch`` timed in CPU seconds (time.process_time, one BLAS thread),
each network trained in separate processes that alternate eager and captured, several
rounds; the median of each is printed. An epoch is what the Train button runs: 25 steps
of batch 10 on 250 points, then the losses on every point.

An update is one new picture: the 50x50 output surface, every neuron's heat map, the
weights and the new points of the loss curve. Two clients, one after the other:

- python: a loop that asks for each new state as the page does (long polling) and decodes
  the JSON, so it counts what the server delivers;
- chromium: the real page in headless Chromium (if Debian's chromium and playwright are
  installed), counting the pictures it has drawn on its canvases.

Training runs in its own thread and never waits for a client; it is capped at
MAX_EPOCHS_PER_SECOND epochs a second, as TensorFlow Playground trains about one epoch per
frame. Also printed: what one epoch and one snapshot cost on the server, measured alone.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaingrad.lessons.playground import Session, Setup, serve  # noqa: E402
from chaingrad.lessons.playground.session import MAX_EPOCHS_PER_SECOND  # noqa: E402

SETUP = {"dataset": "circle", "hidden": [4, 4], "activation": "tanh", "n_points": 500}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def server_costs(repeats: int = 200) -> tuple[float, float]:
    """Milliseconds for one epoch and for one snapshot, on a session alone."""
    session = Session(Setup(**SETUP))
    started = time.perf_counter()
    for _ in range(repeats):
        session.train_epoch()
    epoch = (time.perf_counter() - started) / repeats * 1000
    started = time.perf_counter()
    for _ in range(repeats):
        session.snapshot()
    snapshot = (time.perf_counter() - started) / repeats * 1000
    return epoch, snapshot


def python_client(seconds: float) -> tuple[float, float, float]:
    """(updates per second, epochs per second, kilobytes per update) seen by a polling loop."""
    playground = serve(port=0)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", playground.port, timeout=30)
        host = {"Host": f"127.0.0.1:{playground.port}"}

        def call(method: str, path: str, body: dict | None = None, key: str = "") -> dict:
            data = json.dumps(body).encode() if body is not None else None
            connection.request(method, path, body=data, headers={**host, "X-Session": key})
            return json.loads(connection.getresponse().read())

        key = call("POST", "/api/session", {})["session"]
        call("POST", "/api/setup", SETUP, key)
        call("POST", "/api/control", {"action": "play"}, key)
        version, run, curve, updates, size = -1, -1, 0, 0, 0
        first_epoch = None
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            connection.request("GET", f"/api/state?since={version}&run={run}&curve_from={curve}",
                               headers={**host, "X-Session": key})
            body = connection.getresponse().read()
            state = json.loads(body)
            if first_epoch is None:
                first_epoch = state["epoch"]
            version, run = state["version"], state["run"]
            curve = state["curve_from"] + len(state["curve"])
            updates += 1
            size += len(body)
        elapsed = time.perf_counter() - started
        epochs = state["epoch"] - first_epoch
        call("POST", "/api/control", {"action": "pause"}, key)
        connection.close()
        return updates / elapsed, epochs / elapsed, size / updates / 1000
    finally:
        playground.stop()


NETWORKS = {  # name -> the page's link for it (TF Playground's keys)
    "2-4-4-1": "#networkShape=4,4&points=500",
    "7-8x6-1": "#networkShape=8,8,8,8,8,8&xSquared=true&ySquared=true&xTimesY=true"
               "&sinX=true&sinY=true&points=500",
}


def chromium_client(seconds: float, link: str) -> tuple[float, float, float] | str:
    """(pictures drawn per second, epochs per second, idle CPU % once the tab closed) in
    the real page, or why not."""
    chromium = shutil.which("chromium")
    if chromium is None:
        return "skipped: Debian's chromium is not installed"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "skipped: playwright is not installed"
    playground = serve(port=0)
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=chromium, args=ARGS)
            context = browser.new_context(bypass_csp=True)
            page = context.new_page()
            page.goto(playground.url + link)
            shape = link.split("networkShape=")[1].split("&")[0]
            page.wait_for_function("window.chaingradPlayground && window.chaingradPlayground"
                                   f".state() && window.chaingradPlayground.state().setup"
                                   f".hidden.join(',') === '{shape}'", timeout=120_000)
            page.get_by_role("button", name="Play", exact=True).click()
            page.wait_for_function("window.chaingradPlayground.state().playing")
            read = "[window.chaingradPlayground.draws(), window.chaingradPlayground.state().epoch]"
            draws, epoch = page.evaluate(read)
            started = time.perf_counter()
            page.wait_for_timeout(seconds * 1000)
            draws_after, epoch_after = page.evaluate(read)
            elapsed = time.perf_counter() - started
            context.close()  # the tab says goodbye: its training must end
            deadline = time.monotonic() + 60
            while playground.sessions and time.monotonic() < deadline:
                time.sleep(0.1)
            idle = idle_cpu_percent(3.0)
            browser.close()
        return (draws_after - draws) / elapsed, (epoch_after - epoch) / elapsed, idle
    finally:
        playground.stop()


def idle_cpu_percent(seconds: float) -> float:
    """This process's CPU use (the server's threads) over ``seconds``, in % of one core."""
    cpu, wall = time.process_time(), time.perf_counter()
    time.sleep(seconds)
    return (time.process_time() - cpu) / (time.perf_counter() - wall) * 100


STEP_NETWORKS = {  # name -> the set-up trained for steps/s
    "2-4-4-1 tanh": {"dataset": "circle", "hidden": [4, 4], "activation": "tanh"},
    "7-8x6-1 tanh": {"dataset": "spiral", "hidden": [8] * 6, "activation": "tanh",
                     "features": ["x1", "x2", "x1²", "x2²", "x1·x2", "sin x1", "sin x2"]},
    "2-8-8-1 relu L2": {"dataset": "xor", "hidden": [8, 8], "activation": "relu",
                        "regularization": "L2", "regularization_rate": 0.001},
}


def steps_per_cpu_second(name: str, capture: bool, epochs: int = 40) -> float:
    """Training steps per CPU second of one network, in this process (after one epoch)."""
    session = Session(Setup(**STEP_NETWORKS[name], n_points=500), capture_steps=capture)
    session.train_epoch()  # the capture (and numpy's first calls) left out
    steps = -(-len(session.X_train) // session.setup.batch_size) * epochs
    started = time.process_time()
    for _ in range(epochs):
        session.train_epoch()
    return steps / (time.process_time() - started)


def step_rates(rounds: int) -> None:
    """The steps/s table: eager and captured alternated in fresh processes, medians."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    print("| network | eager steps/s | captured steps/s | captured / eager | "
          "page says |")
    print("|---|---:|---:|---:|---|")
    for name in STEP_NETWORKS:
        rates: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(rounds):
            for capture in (False, True):
                done = subprocess.run(
                    [sys.executable, __file__, "--one", name, str(int(capture))],
                    capture_output=True, text=True, check=True, env=environment)
                rates[capture].append(float(done.stdout))
        eager, captured = (statistics.median(rates[c]) for c in (False, True))
        mode = Session(Setup(**STEP_NETWORKS[name])).step_status()["mode"]
        print(f"| {name} | {eager:,.0f} | {captured:,.0f} | {captured / eager:.2f}x | "
              f"{mode} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per client (default 10)")
    parser.add_argument("--steps", action="store_true",
                        help="only the training steps/s, eager against captured")
    parser.add_argument("--rounds", type=int, default=5,
                        help="processes of each kind per network for --steps (default 5)")
    parser.add_argument("--one", nargs=2, metavar=("NETWORK", "CAPTURE"),
                        help=argparse.SUPPRESS)  # a child of --steps: prints one rate
    arguments = parser.parse_args()
    if arguments.one:
        print(steps_per_cpu_second(arguments.one[0], arguments.one[1] == "1"))
        return
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    if arguments.steps:
        print(f"# Playground training steps per CPU second (batch 10, 250 training points), "
              f"{arguments.rounds} rounds; load average {load:.2f}, {os.cpu_count()} cores\n")
        step_rates(arguments.rounds)
        print(f"\nload average after: {os.getloadavg()[0]:.2f}")
        return
    print(f"# Playground: tanh, 500 points (250 for training, batch 10), "
          f"50x50 surface, 25x25 neuron maps; load average {load:.2f}, "
          f"{os.cpu_count()} cores; training capped at {MAX_EPOCHS_PER_SECOND} epochs/s\n")
    step_rates(3)
    print()
    epoch, snapshot = server_costs()
    print(f"server, alone (2-4-4-1): one epoch {epoch:.2f} ms, one snapshot {snapshot:.2f} ms\n")
    print("| network | client | pictures/s | epochs/s | note |")
    print("|---|---|---:|---:|---|")
    updates, epochs, kilobytes = python_client(arguments.seconds)
    print(f"| 2-4-4-1 | python long-poll | {updates:.1f} | {epochs:.1f} | "
          f"{kilobytes:.1f} kB a state |")
    for name, link in NETWORKS.items():
        result = chromium_client(arguments.seconds, link)
        if isinstance(result, str):
            print(f"| {name} | chromium page | – | – | {result} |")
        else:
            print(f"| {name} | chromium page | {result[0]:.1f} | {result[1]:.1f} | pictures "
                  f"drawn on canvases; idle CPU after the tab closed {result[2]:.1f}% |")


if __name__ == "__main__":
    main()
