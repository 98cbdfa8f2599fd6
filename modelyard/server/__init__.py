"""Server assembly: one module per mode (`full`, `artifacts_only`), chosen by `serve`.

Importing this package loads neither grpc stores nor SQLAlchemy; `modelyard.server.serve`
imports only the mode module the settings select.
"""
