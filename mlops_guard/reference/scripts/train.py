"""Train: fit the scikit-learn regressor on the training split (SageMaker training contract).

This is the training code of the pinned reference image (``image/Dockerfile`` copies it to
``/opt/ml/code/train.py``). It reads the ``train`` channel, the hyperparameters SageMaker
writes to ``hyperparameters.json`` (all values are strings) and saves ``model.pkl`` to the
model dir, which SageMaker packs into ``model.tar.gz``. Training metrics are printed as
``train-metric <name>=<value>`` lines: the step's MetricDefinitions capture them.

Paths follow the SageMaker conventions and can be moved by the usual variables:
``SM_CHANNEL_TRAIN``, ``SM_MODEL_DIR``, ``SM_INPUT_CONFIG_DIR``.
"""

from __future__ import annotations

import json
import os
import pickle

from step_common import StepInputError, require_file, run

STEP = "Train"
TARGET = "applications"
HYPERPARAMETER_TYPES = {
    "n_estimators": int,
    "max_depth": int,
    "learning_rate": float,
    "subsample": float,
    "random_state": int,
}


def read_hyperparameters(config_dir: str) -> dict:
    path = require_file(config_dir, "hyperparameters.json")
    with open(path, encoding="utf-8") as handle:
        raw = json.load(handle)
    unknown = sorted(set(raw) - set(HYPERPARAMETER_TYPES))
    if unknown:
        raise StepInputError(f"unknown hyperparameters {unknown} in {path}")
    try:
        return {
            key: HYPERPARAMETER_TYPES[key](json.loads(str(value))) for key, value in raw.items()
        }
    except (TypeError, ValueError) as error:
        raise StepInputError(f"bad hyperparameter in {path}: {error}") from None


def feature_columns(frame) -> list[str]:
    return [column for column in frame.columns if column not in ("date", TARGET)]


def main() -> None:
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import GradientBoostingRegressor

    channel = os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")
    model_dir = os.environ.get("SM_MODEL_DIR", "/opt/ml/model")
    config_dir = os.environ.get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config")
    hyperparameters = read_hyperparameters(config_dir)
    frame = pd.read_csv(require_file(channel, "train.csv"), dtype={"date": str})
    features = feature_columns(frame)
    model = GradientBoostingRegressor(**hyperparameters)
    model.fit(frame[features].to_numpy(), frame[TARGET].to_numpy())
    fitted = model.predict(frame[features].to_numpy())
    actual = frame[TARGET].to_numpy()
    print(f"train-metric mape={float(np.mean(np.abs(fitted - actual) / actual)):.6f}")
    print(f"train-metric rmse={float(np.sqrt(np.mean((fitted - actual) ** 2))):.6f}")
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "model.pkl"), "wb") as handle:
        pickle.dump({"model": model, "features": features, "target": TARGET}, handle, protocol=5)
    print(f"{STEP}: fitted on {len(frame)} rows, {len(features)} features")


if __name__ == "__main__":
    run(main, STEP)
