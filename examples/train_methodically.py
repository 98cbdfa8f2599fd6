"""Seed 003 (Train methodically with MLflow Tracking): a parent sweep run with nested child runs,
params from a dict and a dataclass, per-epoch metrics and a final metrics dict."""

from dataclasses import asdict, dataclass

import modelyard as mlflow


def mean_squared_error(actual, pred):
    """(Not in the seed, which imports it from scikit-learn.)"""
    return sum((a - p) ** 2 for a, p in zip(actual, pred)) / len(actual)


def eval_and_log_metrics(prefix, actual, pred, epoch):
    rmse = mean_squared_error(actual, pred) ** 0.5
    mlflow.log_metric("{}_rmse".format(prefix), rmse, step=epoch)
    return rmse


@dataclass
class MyParams:
    learning_rate: float
    batch_size: int
    epochs: int
    dataset: str


mlflow.set_experiment("train-methodically")

with mlflow.start_run(run_name="sweep") as parent:
    params = MyParams(learning_rate=1e-3, batch_size=32, epochs=30, dataset="CIFAR10")
    mlflow.log_params(asdict(params))

    actual = [1.0, 2.0, 3.0, 4.0]
    for lr, momentum in [(0.1, 0.9), (0.01, 0.95)]:
        with mlflow.start_run(nested=True) as child_run:
            mlflow.log_params({"lr": lr, "momentum": momentum})
            for epoch in range(3):
                pred = [a + lr * (3 - epoch) for a in actual]
                eval_and_log_metrics("train", actual, pred, epoch)
                eval_and_log_metrics("val", actual, [p * 1.01 for p in pred], epoch)

    for loss in range(2, 10):
        mlflow.log_metric("loss", 1.0 / loss)

    metrics = {"loss": 0.5, "accuracy": 0.75}
    mlflow.log_metrics(metrics)

    run_id = parent.info.run_id  # For instance
    print(f"run_id: {run_id}")
