"""``mlops-guard audit``: check recorded experiments and deployed pipelines.

The audit reads a metadata store (SageMaker, MLflow or an export file), runs the
metadata rules on it and the definition rules on each deployed pipeline's definition,
and writes the findings as text/JSON and optionally an HTML, CSV or Parquet report.
Importing this package is cheap: boto3, pandas and mlflow are imported only by the code
that needs them. Rules never import it (a test holds them to that): what they ask of a
store lives beside the metadata model, in :mod:`mlops_guard.metadata`.
"""
