"""The Python client: `Client` (alias `MlflowClient`), the fluent API state and async logging.

`from modelyard.client import MlflowClient` works as `from mlflow.client import MlflowClient`.
"""

from modelyard.client.client import Client, MlflowClient

__all__ = ["Client", "MlflowClient"]
