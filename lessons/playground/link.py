"""The set-up in the page's address, as TensorFlow Playground writes it.

A link such as ``#activation=relu&learningRate=0.03&networkShape=4,2&x=true&y=true`` opens
the same set-up here. It is read key by key: a key that is unknown, or whose value cannot
be used, is named in a sentence and skipped, and every other key still applies. TF
Playground's own key names are read (and written, so a link from here opens there too);
the playground's older names (``learning_rate``, ``hidden``...) are read as well.

``noise`` and ``percTrainData`` are percentages, as the page's sliders show them and as TF
writes them. ``showTestData`` and ``discretize`` are the page's own: handed back to it.
"""

from __future__ import annotations

from typing import Any

from .data import CLASSIFICATION, REGRESSION
from .session import Setup, SetupError

# TF's names of the data sets, and ours
DATASET_NAMES = {"reg-plane": "plane", "reg-gauss": "gaussians"}
TF_DATASETS = {ours: theirs for theirs, ours in DATASET_NAMES.items()}
# TF's boolean feature keys -> our feature names
FEATURE_KEYS = {"x": "x1", "y": "x2", "xSquared": "x1²", "ySquared": "x2²",
                "xTimesY": "x1·x2", "sinX": "sin x1", "sinY": "sin x2"}
NUMBERS = {"learningRate": "learning_rate", "learning_rate": "learning_rate",
           "regularizationRate": "regularization_rate",
           "regularization_rate": "regularization_rate"}
WHOLE = {"batchSize": "batch_size", "batch_size": "batch_size", "dataSeed": "data_seed",
         "data_seed": "data_seed", "points": "n_points", "n_points": "n_points"}
PAGE_FLAGS = ("showTestData", "discretize")
# TF keys for things this page does not show: read and left alone, without a sentence
QUIET = {"collectStats", "tutorial", "hideText"}
MAX_PAIRS = 64


def read_link(pairs: dict[str, str], current: Setup) -> tuple[Setup, dict[str, bool], list[str]]:
    """(the set-up the link asks for, the page's own flags, one sentence per skipped key).

    ``pairs`` are the link's decoded keys and values (strings), ``current`` the set-up the
    link starts from: a key left out keeps its current value.
    """
    skipped: list[str] = []
    if len(pairs) > MAX_PAIRS:
        return current, {}, [f"the link has more than {MAX_PAIRS} settings; it was not read"]
    setup, page = current, {}

    def attempt(key: str, change) -> None:
        nonlocal setup
        try:
            setup = setup.changed(change())
        except SetupError as error:
            skipped.append(f"{key}={pairs[key]!s:.40}: {error}")
        except (ValueError, TypeError, OverflowError):
            skipped.append(f"{key}={pairs[key]!s:.40}: not a number this setting can use")

    # the problem and its data set go together (a regression data set needs regression)
    problem = pairs.get("problem", setup.problem)
    if problem not in ("classification", "regression"):
        skipped.append(f"problem={problem:.40}: must be classification or regression")
        problem = setup.problem
    names = REGRESSION if problem == "regression" else CLASSIFICATION
    asked = [DATASET_NAMES.get(pairs[key], pairs[key]) for key in ("dataset", "regDataset")
             if key in pairs]
    chosen = next((name for name in asked if name in names), None)
    if asked and chosen is None:
        skipped.append(f"dataset={asked[0]:.40}: the data sets for {problem} are "
                       f"{', '.join(names)}")
    if chosen is None:
        chosen = setup.dataset if setup.dataset in names else names[0]
    if "problem" in pairs or chosen != setup.dataset:
        key = "problem" if "problem" in pairs else ("dataset" if "dataset" in pairs
                                                    else "regDataset")
        attempt(key, lambda: {"problem": problem, "dataset": chosen})

    features = list(setup.features)
    for key, value in pairs.items():
        if key in ("problem", "dataset", "regDataset") or key in QUIET or key.endswith("_hide"):
            continue
        if key in FEATURE_KEYS:
            flag = _flag(value)
            if flag is None:
                skipped.append(f"{key}={value:.40}: must be true or false")
            elif flag and FEATURE_KEYS[key] not in features:
                features.append(FEATURE_KEYS[key])
            elif not flag and FEATURE_KEYS[key] in features:
                features.remove(FEATURE_KEYS[key])
        elif key in ("cosX", "cosY", "initZero"):
            if _flag(value):
                what = "cos x1 and cos x2 are not features" if key != "initZero" else \
                    "starting from zero weights is not offered"
                skipped.append(f"{key}={value:.40}: {what} in this playground")
        elif key in PAGE_FLAGS:
            flag = _flag(value)
            if flag is None:
                skipped.append(f"{key}={value:.40}: must be true or false")
            else:
                page[key] = flag
        elif key == "features":
            attempt(key, lambda v=value: {"features": [f for f in v.split(",") if f]})
            features = list(setup.features)
        else:
            change = _setting(key, value)
            if change is None:
                skipped.append(f"{key}: not a setting of the playground")
            else:
                attempt(key, change)
    if any(key in pairs for key in FEATURE_KEYS):
        try:
            setup = setup.changed({"features": features})
        except SetupError as error:
            skipped.append(f"features: {error}")
    return setup, page, skipped


def _setting(key: str, value: str):
    """A function giving the Setup changes for one key, or None for an unknown key."""
    if key in NUMBERS:
        return lambda: {NUMBERS[key]: float(value)}
    if key in WHOLE:
        return lambda: {WHOLE[key]: _whole(value)}
    if key == "noise":  # a percentage, 0 to 50, as TF writes it
        return lambda: {"noise": float(value) / 100}
    if key == "percTrainData":
        return lambda: {"train_share": float(value) / 100}
    if key == "train_share":
        return lambda: {"train_share": float(value)}
    if key in ("networkShape", "hidden"):
        return lambda: {"hidden": [_whole(n) for n in value.split(",") if n.strip()]}
    if key in ("activation", "regularization"):
        return lambda: {key: value}
    if key == "seed":
        return lambda: {"seed": _seed(value)}
    return None


def _whole(text: str) -> int:
    number = float(text)
    if number != int(number):
        raise ValueError("must be a whole number")
    return int(number)


def _seed(text: str) -> int:
    """TF writes seeds such as 0.84722; ours are whole numbers: 0.84722 becomes 84722."""
    number = float(text)
    if 0 < number < 1:
        return int(round(number * 100_000))
    return _whole(text)


def _flag(text: str) -> bool | None:
    return {"true": True, "false": False, "1": True, "0": False}.get(text.strip().lower())


def write_link(setup: Setup) -> list[list[str]]:
    """The set-up as the link's (key, value) pairs, TF Playground's names first."""
    dataset_key = "dataset" if setup.problem == "classification" else "regDataset"
    pairs: list[tuple[str, Any]] = [
        ("activation", setup.activation), ("batchSize", setup.batch_size),
        (dataset_key, TF_DATASETS.get(setup.dataset, setup.dataset)),
        ("regularization", setup.regularization),
        ("learningRate", setup.learning_rate),
        ("regularizationRate", setup.regularization_rate),
        ("noise", round(setup.noise * 100, 6)),
        ("networkShape", ",".join(str(n) for n in setup.hidden)),
        ("seed", setup.seed), ("percTrainData", round(setup.train_share * 100, 6)),
        *((key, str(name in setup.features).lower()) for key, name in FEATURE_KEYS.items()),
        ("problem", setup.problem), ("dataSeed", setup.data_seed), ("points", setup.n_points),
    ]
    return [[key, _text(value)] for key, value in pairs]


def _text(value: Any) -> str:
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)

