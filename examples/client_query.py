"""Seed 004 (Experiment tracking): a run with tags and params, then MlflowClient queries it.

The seed trains a scikit-learn Lasso; a closed-form least-squares fit stands in for it here so
the example needs nothing beyond modelyard.
"""

import os

import modelyard as mlflow
from modelyard.client import MlflowClient

MLFLOW_TRACKING_URI = os.environ.get("MODELYARD_TRACKING_URI", "sqlite:///modelyard.db")

mlflow.set_tracking_uri(MLFLOW_TRACKING_URI)
mlflow.set_experiment("nyc-taxi-experiment")

X_train, y_train = [1.0, 2.0, 3.0, 4.0], [2.1, 3.9, 6.2, 8.1]
X_val, y_val = [5.0, 6.0], [9.8, 12.3]

with mlflow.start_run():
    mlflow.set_tag("developer", "arnaud")  # Log tags

    alpha = 0.1
    mlflow.log_param("alpha", alpha)  # Log all kind of parameter
    mlflow.log_param("train-data-path", "./data/green_tripdata_2021-01.parquet")
    mlflow.log_param("valid-data-path", "./data/green_tripdata_2021-02.parquet")

    slope = sum(x * y for x, y in zip(X_train, y_train)) / (sum(x * x for x in X_train) + alpha)
    y_pred = [slope * x for x in X_val]
    rmse = (sum((p - y) ** 2 for p, y in zip(y_pred, y_val)) / len(y_val)) ** 0.5

    mlflow.log_metric("rmse", rmse)  # Log metrics

client = MlflowClient(tracking_uri=MLFLOW_TRACKING_URI)
experiment = client.get_experiment_by_name("nyc-taxi-experiment")
runs = client.search_runs(
    experiment_ids=[experiment.experiment_id],
    filter_string="metrics.rmse < 10 and tags.developer = 'arnaud'",
    order_by=["metrics.rmse ASC"],
    max_results=5,
)
for run in runs:
    print(f"run id: {run.info.run_id}, rmse: {run.data.metrics['rmse']:.4f}")
