"""TrainEvaluation: score the trained model on the holdout days.

Writes ``evaluation.json`` as ``{"metrics": {"mape": {"value": ...}, "rmse": {"value": ...}}}``
(the pipeline reads it through the ``EvaluationReport`` property file).
"""

from __future__ import annotations

import argparse
import json
import os

from step_common import load_model, parse_execution_date, record_trial_component, require_file, run

STEP = "TrainEvaluation"


def main() -> None:
    import numpy as np
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execution-date", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--holdout-dir", required=True)
    parser.add_argument("--output-dir", required=True)
    args = parser.parse_args()
    execution_date = parse_execution_date(args.execution_date)
    bundle = load_model(args.model_dir)
    holdout = pd.read_csv(require_file(args.holdout_dir, "holdout.csv"), dtype={"date": str})
    predicted = bundle["model"].predict(holdout[bundle["features"]].to_numpy())
    actual = holdout[bundle["target"]].to_numpy()
    mape = float(np.mean(np.abs(predicted - actual) / actual))
    rmse = float(np.sqrt(np.mean((predicted - actual) ** 2)))
    report = {"metrics": {"mape": {"value": round(mape, 6)}, "rmse": {"value": round(rmse, 6)}}}
    os.makedirs(args.output_dir, exist_ok=True)
    with open(os.path.join(args.output_dir, "evaluation.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, sort_keys=True)
        handle.write("\n")
    print(f"{STEP}: holdout {holdout['date'].iloc[0]}..{holdout['date'].iloc[-1]}")
    print(f"{STEP}: mape={mape:.6f} rmse={rmse:.6f}")
    record_trial_component(
        {"ExecutionDate": execution_date.isoformat(), "note": "TrainEvaluation: holdout metrics"},
        {"mape": mape, "rmse": rmse},
    )


if __name__ == "__main__":
    run(main, STEP)
