"""Predict: forecast the applications of the run date with the trained model.

Writes ``predictions.csv`` (``date,applications_forecast``) for the run date.
"""

from __future__ import annotations

import argparse
import os

from step_common import (
    StepInputError,
    load_model,
    parse_execution_date,
    record_trial_component,
    require_file,
    run,
)

STEP = "Predict"


def main() -> None:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execution-date", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--inference-dir", required=True)
    parser.add_argument("--output-dir", required=True)
    args = parser.parse_args()
    execution_date = parse_execution_date(args.execution_date)
    bundle = load_model(args.model_dir)
    rows = pd.read_csv(require_file(args.inference_dir, "inference.csv"), dtype={"date": str})
    if rows["date"].tolist() != [execution_date.isoformat()]:
        raise StepInputError(
            f"bad input: inference rows {rows['date'].tolist()} are not for {execution_date}"
        )
    forecast = bundle["model"].predict(rows[bundle["features"]].to_numpy())
    predictions = pd.DataFrame({"date": rows["date"], "applications_forecast": forecast.round(3)})
    os.makedirs(args.output_dir, exist_ok=True)
    predictions.to_csv(os.path.join(args.output_dir, "predictions.csv"), index=False)
    print(f"{STEP}: {execution_date} forecast {float(forecast[0]):.1f} applications")
    record_trial_component(
        {"ExecutionDate": execution_date.isoformat(), "note": "Predict: run-date forecast"}
    )


if __name__ == "__main__":
    run(main, STEP)
