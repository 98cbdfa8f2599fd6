"""Seed 002 (MLflow Tracking, "Manual Logging"): params once, two metric series over epochs."""

import modelyard as mlflow

with mlflow.start_run():
    mlflow.log_params({"learning_rate": 0.01, "epochs": 50})

    for epoch in range(0, 3):
        # Your model training code here...
        train_loss = 1.0 / (epoch + 1)  # (not in the seed: the training code it stands for)

        mlflow.log_metric(key="train_loss", value=train_loss, step=epoch)
        mlflow.log_metric(key="val_loss", value=2 * epoch, step=epoch)

    print(f"run_id: {mlflow.active_run().info.run_id}")
