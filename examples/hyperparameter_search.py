"""Seed 003 (Train methodically with MLflow Tracking), "Example parameters" and "Example
artifacts": a hyperparameter sweep as a parent run with one nested child run per candidate.

Each child trains a scikit-learn ElasticNet on the diabetes data set, logs its
hyperparameters with log_params and its train/validation RMSE per epoch with log_metric(...,
step=epoch). The best child (lowest validation RMSE) then gets its model logged the way the
seed recommends: predict on the test data, infer_signature(test_x, predictions), and
log_model(model, "model", signature=..., input_example=...), here also registered under a
name. The tracking URI comes from the environment (MODELYARD_TRACKING_URI; unset means the
embedded SQLite default in the working directory).

    python examples/hyperparameter_search.py [--epochs 20] [--seed 97531] [--model-name NAME]
"""

import argparse
import itertools
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

import modelyard as mlflow
import modelyard.sklearn  # makes mlflow.sklearn available, as `import mlflow.sklearn` does
from modelyard.models import infer_signature

ALPHAS = [0.0005, 0.005, 0.05]
L1_RATIOS = [0.2, 0.8]


def eval_and_log_metrics(prefix, actual, pred, epoch):
    rmse = np.sqrt(mean_squared_error(actual, pred))
    mlflow.log_metric("{}_rmse".format(prefix), rmse, step=epoch)
    return rmse


def train(params, epochs, train_x, train_y, valid_x, valid_y):
    """One child run: `epochs` passes of coordinate descent, metrics logged after each."""
    with mlflow.start_run(nested=True) as child_run:
        mlflow.log_params({**params, "epochs": epochs})
        model = ElasticNet(**params, max_iter=1, warm_start=True, random_state=0)
        val_rmse = float("inf")
        for epoch in range(epochs):
            with warnings.catch_warnings():
                # one pass per fit() call never "converges"; that is the point of the loop
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(train_x, train_y)
            eval_and_log_metrics("train", train_y, model.predict(train_x), epoch)
            val_rmse = eval_and_log_metrics("val", valid_y, model.predict(valid_x), epoch)
        return child_run.info.run_id, model, val_rmse


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=97531)
    parser.add_argument("--model-name", default="diabetes-elasticnet")
    args = parser.parse_args()

    data = load_diabetes(as_frame=True)
    train_x, test_x, train_y, test_y = train_test_split(
        data.data, data.target, test_size=0.2, random_state=args.seed
    )
    train_x, valid_x, train_y, valid_y = train_test_split(
        train_x, train_y, test_size=0.25, random_state=args.seed
    )

    mlflow.set_experiment("hyperparameter-search")
    with mlflow.start_run(run_name="elasticnet-sweep") as parent:
        mlflow.log_params({"seed": args.seed, "epochs": args.epochs, "candidates": 6})
        results = []
        for alpha, l1_ratio in itertools.product(ALPHAS, L1_RATIOS):
            params = {"alpha": alpha, "l1_ratio": l1_ratio}
            results.append(train(params, args.epochs, train_x, train_y, valid_x, valid_y))

        best_run_id, best_model, best_val_rmse = min(results, key=lambda r: r[2])
        mlflow.log_metric("best_val_rmse", best_val_rmse)
        mlflow.set_tag("best_run_id", best_run_id)

        # The seed's recommended pattern for the best model, in the best child's own run.
        with mlflow.start_run(run_id=best_run_id, nested=True):
            predictions = best_model.predict(test_x)
            mlflow.log_metrics(
                {
                    "test_rmse": np.sqrt(mean_squared_error(test_y, predictions)),
                    "test_mae": mean_absolute_error(test_y, predictions),
                    "test_r2": r2_score(test_y, predictions),
                }
            )
            signature = infer_signature(test_x, predictions)
            model_info = mlflow.sklearn.log_model(
                best_model,
                "model",
                signature=signature,
                input_example=test_x.iloc[:5],
                registered_model_name=args.model_name,
            )

        print(f"run_id: {parent.info.run_id}")
        print(f"best_run_id: {best_run_id}")
        print(f"best_val_rmse: {best_val_rmse:.4f}")
        print(f"model_uri: {model_info.model_uri}")
        print(f"registered: {args.model_name} version {model_info.registered_model_version}")


if __name__ == "__main__":
    main()
