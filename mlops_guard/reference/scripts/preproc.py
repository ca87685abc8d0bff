"""PreProc: time-series features for the daily applications series.

Reads ``history.csv`` (``date,applications``, every day up to the day before the run date),
adds lags (1, 7, 14, 28 days), rolling means of the previous 7 and 28 days and calendar
features, and writes three splits: ``train/train.csv`` (all but the last 28 observed days),
``holdout/holdout.csv`` (those 28 days) and ``inference/inference.csv`` (the run date, whose
features only use days before it).
"""

from __future__ import annotations

import argparse
import datetime
import os

from step_common import (
    StepInputError,
    parse_execution_date,
    record_trial_component,
    require_file,
    run,
)

STEP = "PreProc"
HOLDOUT_DAYS = 28
LAGS = (1, 7, 14, 28)
WINDOWS = (7, 28)


def build_features(history, execution_date: datetime.date):
    """Features for every day of ``history`` plus the run date (target unknown)."""
    import pandas as pd

    frame = history[["date", "applications"]].sort_values("date").reset_index(drop=True)
    last = execution_date - datetime.timedelta(days=1)
    expected = [(last - datetime.timedelta(days=n)).isoformat() for n in range(len(frame))][::-1]
    if frame["date"].tolist() != expected:
        raise StepInputError(
            "bad input: history must have one row per day ending "
            f"{execution_date - datetime.timedelta(days=1)}"
        )
    target = pd.DataFrame({"date": [pd.Timestamp(execution_date)], "applications": [float("nan")]})
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    frame = pd.concat([frame, target], ignore_index=True)
    frame["applications"] = frame["applications"].astype("float64")
    series = frame["applications"]
    for lag in LAGS:
        frame[f"lag_{lag}"] = series.shift(lag)
    for window in WINDOWS:
        frame[f"rolling_mean_{window}"] = series.shift(1).rolling(window).mean()
    frame["day_of_week"] = frame["date"].dt.day_of_week
    frame["is_weekend"] = (frame["day_of_week"] >= 5).astype("int64")
    frame["month"] = frame["date"].dt.month
    frame["day_of_year"] = frame["date"].dt.day_of_year
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    return frame.iloc[max(LAGS + WINDOWS) :].reset_index(drop=True)


def write(frame, directory: str, name: str) -> None:
    os.makedirs(directory, exist_ok=True)
    frame.to_csv(os.path.join(directory, name), index=False)


def main() -> None:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execution-date", required=True)
    parser.add_argument("--input-dir", required=True)
    parser.add_argument("--output-dir", required=True)
    args = parser.parse_args()
    execution_date = parse_execution_date(args.execution_date)
    history = pd.read_csv(require_file(args.input_dir, "history.csv"), dtype={"date": str})
    features = build_features(history, execution_date)
    observed, inference = features.iloc[:-1], features.iloc[-1:]
    if len(observed) <= HOLDOUT_DAYS * 2:
        raise StepInputError(f"bad input: {len(observed)} usable days, need {HOLDOUT_DAYS * 2}")
    write(observed.iloc[:-HOLDOUT_DAYS], os.path.join(args.output_dir, "train"), "train.csv")
    write(observed.iloc[-HOLDOUT_DAYS:], os.path.join(args.output_dir, "holdout"), "holdout.csv")
    write(inference, os.path.join(args.output_dir, "inference"), "inference.csv")
    print(f"{STEP}: {len(observed) - HOLDOUT_DAYS} train, {HOLDOUT_DAYS} holdout rows")
    record_trial_component(
        {"ExecutionDate": execution_date.isoformat(), "note": "PreProc: features and splits"}
    )


if __name__ == "__main__":
    run(main, STEP)
