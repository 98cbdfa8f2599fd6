"""Seed 002 (MLflow Tracking, "Manual Logging"): params, two metric series over epochs, and the
trained model file logged with log_artifact(local_path="model/model.pkl")."""

import os
import pickle

import modelyard as mlflow

# (Not in the seed: the model file its training code would have written.)
os.makedirs("model", exist_ok=True)
with open("model/model.pkl", "wb") as f:
    pickle.dump({"weights": [0.5, -1.25, 3.0], "bias": 0.1}, f, protocol=4)

with mlflow.start_run():
    mlflow.log_params({"learning_rate": 0.01, "epochs": 50})

    for epoch in range(0, 3):
        # Your model training code here...
        train_loss = 1.0 / (epoch + 1)  # (not in the seed: the training code it stands for)

        mlflow.log_metric(key="train_loss", value=train_loss, step=epoch)
        mlflow.log_metric(key="val_loss", value=2 * epoch, step=epoch)

    mlflow.log_artifact(local_path="model/model.pkl")

    print(f"run_id: {mlflow.active_run().info.run_id}")
