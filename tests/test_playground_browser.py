"""The playground in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

CI installs the browser (``apt-get install chromium``); without it these tests skip and
say why. Screenshots go to test-output/playground/ (gitignored): look at them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from chaingrad.lessons.playground import serve

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium); the browser "
                "tests of the playground need it", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed (pip install -e '.[dev]')")

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[1] / "test-output" / "playground"
TIMEOUT_MS = 120_000  # bounded, generous for two shared cores; never asserted as speed


@pytest.fixture(scope="module")
def playground():
    running = serve(port=0)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, playground):
    # bypass_csp: the page forbids eval, and Playwright's wait_for_function uses it
    context = browser.new_context(viewport={"width": 1300, "height": 1000}, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)  # a loaded machine
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(playground.url)
    tab.wait_for_function("window.chaingradPlayground && window.chaingradPlayground.state()")
    yield tab
    context.close()
    assert errors == [], f"the page raised JavaScript errors: {errors}"


def shoot(page, name: str, selector: str | None = None) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = page.locator(selector) if selector else page
    kwargs = {} if selector else {"full_page": True}
    target.screenshot(path=str(SHOTS / f"{name}.png"), **kwargs)


def state(page) -> dict:
    return page.evaluate("window.chaingradPlayground.state()")


def wait_for_state(page, condition: str) -> dict:
    # state() is null until the page has its first snapshot: wait through that too.
    page.wait_for_function(f"(s => s !== null && ({condition}))"
                           "(window.chaingradPlayground.state())",
                           timeout=TIMEOUT_MS)
    return state(page)


def set_up_xor_with_four_relu_neurons(page) -> None:
    page.get_by_label("xor").check()
    wait_for_state(page, "s.setup.dataset === 'xor'")
    page.get_by_role("button", name="Remove a hidden layer").click()
    wait_for_state(page, "s.setup.hidden.length === 1 && s.setup.hidden[0] === 4")
    page.get_by_label("Activation").select_option(label="relu")
    wait_for_state(page, "s.setup.activation === 'relu'")


def pause(page) -> dict:
    page.get_by_role("button", name="Pause", exact=True).click()
    return wait_for_state(page, "!s.playing")


def test_the_buttons_and_readouts_have_their_names(page):
    for name in ("Play", "Pause", "Step", "Reset"):
        assert page.get_by_role("button", name=name, exact=True).count() == 1
    for label in ("epoch", "training loss", "test loss"):
        assert page.get_by_label(label, exact=True).count() == 1
    for control in ("Learning rate", "Activation", "Regularization", "Regularization rate",
                    "Problem type", "Noise: 0", "Batch size: 10"):
        assert page.get_by_label(control).count() >= 1, control
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function("document.querySelector('[aria-label=epoch]').textContent"
                           ".endsWith('001')")
    shoot(page, "01_start_after_one_step")


def test_play_brings_xor_below_0_1_and_show_code_reproduces_it(page, tmp_path):
    set_up_xor_with_four_relu_neurons(page)
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function(
        "parseFloat(document.querySelector('[aria-label=\"test loss\"]').textContent) < 0.1",
        timeout=TIMEOUT_MS)
    final = pause(page)
    shoot(page, "02_xor_trained")
    assert final["test_loss"] < 0.1
    assert float(page.get_by_label("test loss", exact=True).text_content()) < 0.1
    epoch = int(page.get_by_label("epoch", exact=True).text_content().replace(",", ""))
    assert epoch == final["epoch"] > 0

    page.get_by_role("button", name="Show code").click()
    code = page.locator("#code")
    code.wait_for()
    shoot(page, "03_show_code", "#code-panel")
    script = tmp_path / "playground_network.py"
    script.write_text(code.text_content(), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    match = re.search(r"epoch\s+(\d+)\s+training loss ([\d.]+)\s+test loss ([\d.]+)", last)
    assert match, last
    assert int(match.group(1)) == final["epoch"]
    assert float(match.group(3)) < 0.1
    assert abs(float(match.group(3)) - final["test_loss"]) < 0.01


def test_adding_a_neuron_and_changing_the_activation_take_effect(page):
    layer_one = page.locator("canvas[data-key^='L1.']")
    assert layer_one.count() == 4
    before = page.evaluate("document.querySelector(\"canvas[data-key='L1.N0']\").toDataURL()")
    page.get_by_role("button", name="Add a neuron to layer 1").click()
    after = wait_for_state(page, "s.setup.hidden[0] === 5")
    assert layer_one.count() == 5
    assert len(after["weights"][0][0]) == 5  # the network in Python has five neurons too
    assert page.locator("#links path").count() == 2 * 5 + 5 * 2 + 2 * 1
    page.get_by_label("Activation").select_option(label="sigmoid")
    changed = wait_for_state(page, "s.setup.activation === 'sigmoid'")
    assert changed["neurons"][0][0] != after["neurons"][0][0]  # sigmoid maps differ
    page.wait_for_timeout(200)
    drawn = page.evaluate("document.querySelector(\"canvas[data-key='L1.N0']\").toDataURL()")
    assert drawn != before
    shoot(page, "04_five_neurons_sigmoid", "#network-panel")


def click_training_point(page, index: int) -> None:
    s = state(page)
    x1, x2, _ = s["train"][index]
    box = page.locator("#surface").bounding_box()
    page.mouse.click(box["x"] + (x1 + 6) / 12 * box["width"],
                     box["y"] + (6 - x2) / 12 * box["height"])


def test_clicking_a_point_shows_its_graph_and_steps_backward(page):
    page.get_by_role("button", name="Remove a hidden layer").click()
    wait_for_state(page, "s.setup.hidden.length === 1")
    for _ in range(5):
        page.get_by_role("button", name="Step", exact=True).click()
    wait_for_state(page, "s.epoch === 5")
    click_training_point(page, 7)
    chosen = wait_for_state(page, "s.selected !== null")
    assert chosen["selected"] == ["train", 7]
    graph = page.locator("#graph svg")
    graph.wait_for()
    text = graph.text_content()
    for expected in ("x1", "x2", "L1.N0.w0", "ŷ", "loss", "grad", "∂"):
        assert expected in text, expected
    assert "epoch 5" in page.locator("#graph-info").text_content()
    shoot(page, "05_point_graph")
    page.locator("#graph svg").click(position={"x": 30, "y": 60})  # zoom to the inputs
    assert page.get_by_role("button", name="Fit to width").get_attribute("aria-pressed") \
        == "false"
    shoot(page, "05b_point_graph_zoomed", "#graph-panel")

    page.get_by_role("button", name="Step backward").click()
    page.wait_for_function("document.getElementById('step-text').textContent.length > 0")
    assert "step 1 of" in page.locator("#step-text").text_content()
    assert "(the seed)" in page.locator("#step-text").text_content()
    for _ in range(2):
        page.get_by_role("button", name="next node ▶").click()
    assert "step 3 of" in page.locator("#step-text").text_content()
    assert page.locator("#graph .node.active").count() == 1
    assert page.locator("#graph .node.no-grad").count() > 0  # not reached yet: hidden
    shoot(page, "06_step_backward", "#graph-panel")


def test_a_click_on_empty_ground_adds_a_point(page):
    before = len(state(page)["train"])
    box = page.locator("#surface").bounding_box()
    page.mouse.click(box["x"] + 3, box["y"] + 3)  # the corner (-6, 6): no point there
    after = wait_for_state(page, f"s.train.length === {before + 1}")
    x1, x2, label = after["train"][-1]
    assert x1 < -5.5 and x2 > 5.5 and label == 1.0
    assert after["selected"] == ["train", before]


def test_several_tabs_train_their_own_networks(browser, playground, page):
    other = browser.new_page(bypass_csp=True)
    other.set_default_timeout(TIMEOUT_MS)  # a loaded machine
    other.goto(playground.url)
    other.wait_for_function("window.chaingradPlayground && window.chaingradPlayground.state()")
    other.get_by_label("spiral").check()
    other.wait_for_function("window.chaingradPlayground.state().setup.dataset === 'spiral'")
    assert state(page)["setup"]["dataset"] == "circle"
    other.close()


def test_a_page_from_another_origin_cannot_drive_it(browser, playground):
    stranger = browser.new_page()
    stranger.set_content("<p>a page elsewhere</p>")
    sessions = len(playground.sessions)
    outcome = stranger.evaluate(
        """url => fetch(url + 'api/session', {method: 'POST', body: '{}'})
                  .then(r => 'status ' + r.status).catch(e => 'blocked')""",
        playground.url)
    stranger.close()
    assert outcome in ("blocked", "status 403")
    assert len(playground.sessions) == sessions  # the server refused it: no new network


def test_save_and_load_a_network(page, tmp_path):
    page.get_by_label("gauss").check()
    wait_for_state(page, "s.setup.dataset === 'gauss'")
    page.get_by_role("button", name="Step", exact=True).click()
    saved = wait_for_state(page, "s.epoch === 1")
    with page.expect_download() as download:
        page.get_by_role("button", name="Save network").click()
    path = tmp_path / "network.npz"
    download.value.save_as(path)
    page.get_by_role("button", name="Reset", exact=True).click()
    page.get_by_label("circle").check()
    wait_for_state(page, "s.setup.dataset === 'circle' && s.epoch === 0")
    page.locator("#load").set_input_files(str(path))
    loaded = wait_for_state(page, "s.setup.dataset === 'gauss' && s.epoch === 1")
    assert loaded["weights"] == saved["weights"]


def test_the_address_carries_the_set_up(browser, playground):
    context = browser.new_context(bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)  # a loaded machine
    tab = context.new_page()
    tab.goto(playground.url + "#dataset=spiral&hidden=3,3&activation=relu&features=x1,x2,sin%20x1")
    shared = wait_for_state(tab, "s.setup.dataset === 'spiral'")
    assert shared["setup"]["hidden"] == [3, 3] and shared["setup"]["activation"] == "relu"
    assert shared["setup"]["features"] == ["x1", "x2", "sin x1"]
    tab.get_by_label("moons").check()
    wait_for_state(tab, "s.setup.dataset === 'moons'")
    tab.wait_for_function("window.location.hash.indexOf('dataset=moons') >= 0")
    assert "networkShape=3,3" in tab.url and "sinX=true" in tab.url
    tab.goto(playground.url + "#networkShape=99")
    tab.wait_for_function("document.getElementById('message').textContent.length > 0")
    assert "hidden layers" in tab.locator("#message").text_content()
    context.close()


def open_tab(browser, url: str):
    """A new tab on ``url``, its JavaScript errors collected in tab.errors."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000}, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)  # a loaded machine
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.goto(url)
    return tab


def message(tab) -> str:
    tab.wait_for_function("document.getElementById('message').textContent.length > 0",
                          timeout=TIMEOUT_MS)
    return tab.locator("#message").text_content()


def test_a_truncated_link_names_its_bad_key_and_draws_the_rest(browser, playground):
    tab = open_tab(browser, playground.url + "#dataset=%E0%A4%A&activation=relu&colour=red")
    shown = wait_for_state(tab, "s.setup.activation === 'relu'")
    said = message(tab)
    assert "dataset" in said and "colour" in said and "URI" not in said, said
    assert shown["setup"]["dataset"] == "circle"  # the garbled key skipped, the rest applied
    assert "error" not in tab.locator("#message").get_attribute("class")  # a warning
    tab.reload()  # and the page comes back after a reload
    wait_for_state(tab, "s.setup.activation === 'relu'")
    assert tab.errors == []
    tab.context.close()


def test_a_tensorflow_playground_link_opens_here(browser, playground):
    # a link as TF Playground writes it (its own key names, its seed, its data set names)
    link = ("#activation=relu&batchSize=20&dataset=xor&regDataset=reg-plane&learningRate=0.1"
            "&regularizationRate=0.001&noise=10&networkShape=5,3&seed=0.84722"
            "&showTestData=true&discretize=true&percTrainData=70&x=true&y=true"
            "&xTimesY=true&xSquared=false&ySquared=false&cosX=false&sinX=false&cosY=false"
            "&sinY=false&collectStats=false&problem=classification&initZero=false"
            "&hideText=false&regularization=L2")
    tab = open_tab(browser, playground.url + link)
    s = wait_for_state(tab, "s.setup.dataset === 'xor' && s.setup.hidden.length === 2")["setup"]
    assert (s["activation"], s["batch_size"], s["learning_rate"]) == ("relu", 20, 0.1)
    assert (s["regularization"], s["regularization_rate"]) == ("L2", 0.001)
    assert s["noise"] == pytest.approx(0.1) and s["train_share"] == pytest.approx(0.7)
    assert s["hidden"] == [5, 3] and s["features"] == ["x1", "x2", "x1·x2"]
    assert s["seed"] == 84722
    tab.wait_for_function("document.getElementById('show_test').checked"
                          " && document.getElementById('discretize').checked",
                          timeout=TIMEOUT_MS)
    assert tab.locator("#message").text_content() == ""  # nothing skipped
    tab.wait_for_function("location.hash.indexOf('showTestData=true') >= 0"
                          " && location.hash.indexOf('discretize=true') >= 0",
                          timeout=TIMEOUT_MS)
    assert tab.errors == []
    tab.context.close()


def newest_session(playground):
    return list(playground.sessions.values())[-1]


def test_a_diverged_network_says_so_and_can_be_reset(browser, playground):
    tab = open_tab(browser, playground.url + "#problem=regression&regDataset=reg-plane"
                   "&activation=linear&learningRate=10")
    wait_for_state(tab, "s.setup.learning_rate === 10 && s.setup.problem === 'regression'")
    tab.get_by_role("button", name="Play", exact=True).click()
    broken = wait_for_state(tab, "s.trouble !== null")
    trouble = tab.locator("#trouble")
    assert trouble.is_visible()
    assert re.search(r"The loss became infinite at epoch \d+: lower the learning rate",
                     trouble.text_content())
    assert not broken["playing"]
    assert tab.get_by_role("button", name="Play", exact=True).is_disabled()
    assert tab.get_by_label("test loss", exact=True).text_content() == "∞"
    shoot(tab, "07_diverged")
    tab.get_by_label("Learning rate").select_option(label="0.03")
    wait_for_state(tab, "s.setup.learning_rate === 0.03")
    tab.get_by_role("button", name="Reset", exact=True).click()
    wait_for_state(tab, "s.trouble === null && s.epoch === 0")
    assert not trouble.is_visible()
    tab.get_by_role("button", name="Step", exact=True).click()
    after = wait_for_state(tab, "s.epoch === 1")
    assert after["test_loss"] is not None and after["test_loss"] < 1
    assert tab.errors == []
    tab.context.close()


def test_a_training_thread_that_fails_tells_the_page(browser, playground):
    tab = open_tab(browser, playground.url)
    wait_for_state(tab, "true")
    session = newest_session(playground)

    def broken_epoch():
        raise RuntimeError("a bug in an epoch")

    session.train_epoch = broken_epoch  # only this tab's network
    tab.get_by_role("button", name="Play", exact=True).click()
    wait_for_state(tab, "s.trouble !== null && !s.playing")
    said = tab.locator("#trouble").text_content()
    assert "Training stopped" in said and "a bug in an epoch" in said
    assert tab.errors == []
    tab.context.close()


def test_a_refused_load_leaves_the_network_and_says_why_in_plain_words(page, tmp_path):
    page.get_by_role("button", name="Step", exact=True).click()
    trained = wait_for_state(page, "s.epoch === 1")
    with page.expect_download() as download:
        page.get_by_role("button", name="Save network").click()
    good = tmp_path / "good.npz"
    download.value.save_as(good)
    with np.load(good) as saved:
        arrays = dict(saved)
    text = arrays["playground.setup"].astype(np.uint8).tobytes().decode()
    arrays["playground.setup"] = np.frombuffer(
        text.replace('"hidden": [4, 2]', '"hidden": [3]').encode(), np.uint8).astype(float)
    bad = tmp_path / "other_layers.npz"
    np.savez(bad, **arrays)
    page.locator("#load").set_input_files(str(bad))
    said = message(page)
    assert "do not fit" in said and "L1" not in said and "Linear" not in said, said
    assert "error" in page.locator("#message").get_attribute("class")
    now = state(page)
    assert now["epoch"] == 1 and now["weights"] == trained["weights"]  # nothing changed
    page.locator("#load").set_input_files(str(good))
    page.wait_for_function("document.getElementById('message').textContent.startsWith('Loaded')")
    assert page.locator("#message").get_attribute("class") == "ok"
    colour = page.evaluate("getComputedStyle(document.getElementById('message')).color")
    assert colour != "rgb(185, 28, 28)"  # not the error red


def test_show_code_replays_a_learning_rate_changed_during_training(page, tmp_path):
    set_up_xor_with_four_relu_neurons(page)
    page.get_by_role("button", name="Play", exact=True).click()
    wait_for_state(page, "s.epoch >= 3")
    page.get_by_label("Learning rate").select_option(label="0.3")
    wait_for_state(page, "s.setup.learning_rate === 0.3")
    changed_at = state(page)["epoch"]
    wait_for_state(page, f"s.epoch >= {changed_at + 3}")
    final = pause(page)
    page.get_by_role("button", name="Show code").click()
    page.locator("#code").wait_for()
    code = page.locator("#code").text_content()
    assert "CHANGES = {" in code and "'learning_rate': 0.3" in code
    script = tmp_path / "playground_network.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1].split()
    assert int(last[1]) == final["epoch"]
    assert float(last[-1]) == pytest.approx(final["test_loss"], abs=1e-4)


def test_a_new_data_set_clears_the_old_points_graph(page):
    click_training_point(page, 3)
    wait_for_state(page, "s.selected !== null")
    page.locator("#graph svg").wait_for()
    page.get_by_label("spiral").check()
    wait_for_state(page, "s.setup.dataset === 'spiral' && s.selected === null")
    page.wait_for_function("document.querySelector('#graph svg') === null", timeout=TIMEOUT_MS)
    assert "Click a point" in page.locator("#graph-info").text_content()


def test_closing_a_tab_stops_its_training_and_frees_its_network(browser, playground):
    tab = open_tab(browser, playground.url)
    wait_for_state(tab, "true")
    session = newest_session(playground)
    tab.get_by_role("button", name="Play", exact=True).click()
    wait_for_state(tab, "s.playing && s.epoch > 0")
    tab.context.close()
    wait_until(lambda: session not in playground.sessions.values() and not session.playing)
    session.thread.join(timeout=60)
    assert not session.thread.is_alive()


def wait_until(condition, seconds: float = 60.0) -> None:
    """Wait for ``condition`` (bounded, so that a bug fails instead of hanging)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.05)


def boxes_overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


@pytest.mark.parametrize("width, height", [(800, 600), (1280, 800), (1920, 1080)])
def test_six_wide_layers_fit_their_panel_at_every_window_size(browser, playground, width,
                                                             height):
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)  # a loaded machine
    tab = context.new_page()
    console: list[str] = []
    tab.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    tab.goto(playground.url + "#networkShape=8,8,8,8,8,8&xSquared=true&sinX=true")
    wait_for_state(tab, "s.setup.hidden.length === 6")
    tab.wait_for_function("document.querySelectorAll('#columns canvas.node').length === 56",
                          timeout=TIMEOUT_MS)
    network = tab.locator("#network-panel").bounding_box()
    output = tab.locator("#output-panel").bounding_box()
    assert not boxes_overlap(network, output)
    assert tab.evaluate("document.documentElement.scrollWidth") <= width  # nothing cut off
    out_node = tab.locator("canvas[data-key='output']").bounding_box()
    visible = tab.locator("#network").bounding_box()
    assert out_node["x"] + out_node["width"] <= visible["x"] + visible["width"] + 1
    shoot(tab, f"08_six_layers_{width}x{height}")
    assert console == []
    context.close()


def test_a_clicked_point_brings_its_graph_into_view(browser, playground):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)  # a loaded machine
    tab = context.new_page()
    console: list[str] = []
    tab.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    tab.goto(playground.url + "#networkShape=8,8,8,8,8,8&xSquared=true&sinX=true")
    wait_for_state(tab, "s.setup.hidden.length === 6")
    click_training_point(tab, 5)
    tab.locator("#graph svg").wait_for()
    tab.wait_for_function("document.getElementById('graph-panel').getBoundingClientRect().top"
                          " < window.innerHeight - 100", timeout=TIMEOUT_MS)
    scale = tab.evaluate("(s => s.getBoundingClientRect().width / s.dataset.width)"
                         "(document.querySelector('#graph svg'))")
    assert 0.59 <= scale <= 1  # fitted, but never too small to read (60%)
    assert console == []  # no <svg> attribute error on a graph refresh
    context.close()


def contrast(foreground: str, background: str = "rgb(255, 255, 255)") -> float:
    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    light, dark = sorted([luminance(foreground), luminance(background)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_grey_text_meets_wcag_aa(page):
    for selector in (".train-line", ".curve-legend", ".count", "h3", ".hint",
                     ".feature:not(.on)"):
        colour = page.evaluate(f"getComputedStyle(document.querySelector('{selector}')).color")
        assert contrast(colour) >= 4.5, (selector, colour)


def test_a_stopped_server_is_named_as_such(browser):
    running = serve(port=0)
    tab = open_tab(browser, running.url)
    wait_for_state(tab, "true")
    running.stop()
    said = message(tab)
    assert "server has stopped" in said and "Failed to fetch" not in said, said
    tab.context.close()


def test_weights_and_biases_can_be_typed_in_as_in_tf(page):
    answers = iter(["1.5", "-0.25"])
    page.on("dialog", lambda dialog: dialog.accept(next(answers)))
    line = page.locator("#links path[data-layer='0'][data-from='1'][data-to='2']")
    box = line.bounding_box()
    page.evaluate("p => p.dispatchEvent(new MouseEvent('click', {bubbles: true}))",
                  line.element_handle())
    wait_for_state(page, "s.weights[0][1][2] === 1.5")
    page.locator("button.bias[data-layer='1'][data-to='1']").click()
    after = wait_for_state(page, "s.biases[1][1] === -0.25")
    assert after["weights"][0][1][2] == 1.5 and box is not None


def test_hovering_a_neuron_shows_its_map_large_with_a_colour_scale(page):
    surface = "document.getElementById('surface').toDataURL()"
    before = page.evaluate(surface)
    page.locator("canvas[data-key='L1.N0']").hover()
    page.wait_for_function("document.getElementById('surface-caption').textContent"
                           ".indexOf('layer 1, neuron 0') >= 0")
    assert page.evaluate(surface) != before
    shoot(page, "09_hovered_neuron", "#output-panel")
    page.mouse.move(0, 0)
    page.wait_for_function("document.getElementById('surface-caption').textContent === ''")
    assert page.locator("#colour-legend .scale").is_visible()


def test_each_data_set_has_a_thumbnail_of_its_points_that_selects_it(page):
    thumbnails = page.locator("#datasets canvas.thumbnail")
    assert thumbnails.count() == 5  # circle, xor, gauss, spiral, moons
    # the spiral's picture holds both colours: orange and blue points were drawn
    colours = page.evaluate("""() => {
        const canvas = document.querySelectorAll('#datasets canvas.thumbnail')[3];
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let orange = 0, blue = 0;
        for (let i = 0; i < data.length; i += 4) {
            if (data[i] > 200 && data[i + 2] < 100) orange++;
            if (data[i] < 60 && data[i + 2] > 150) blue++;
        }
        return [orange, blue];
    }""")
    assert colours[0] > 20 and colours[1] > 20, colours
    thumbnails.nth(3).click()
    wait_for_state(page, "s.setup.dataset === 'spiral'")
    shoot(page, "thumbnails", "#data-panel")


def test_the_page_says_whether_steps_are_captured_or_eager(page):
    readout = page.get_by_label("how each training step runs: captured or eager")
    page.get_by_role("button", name="Step", exact=True).click()
    wait_for_state(page, "s.epoch === 1")
    assert readout.text_content() == "captured"
    assert "replayed 25 time(s)" in page.locator("#step-readout").get_attribute("title")
    shoot(page, "step_captured", "#topbar")
    page.get_by_label("Activation").select_option(label="rrelu")
    wait_for_state(page, "s.setup.activation === 'rrelu'")
    page.wait_for_function("document.getElementById('step-mode').textContent === 'eager'")
    page.locator("#help summary").click()
    assert "random slopes" in page.locator("#step-sentence").text_content()
    shoot(page, "step_eager_rrelu")
