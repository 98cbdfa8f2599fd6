"""The server's HTTP side: the JSON gateway over the gRPC services, file routes, the web UI,
health and Prometheus metrics, served by waitress beside the gRPC server in one process."""
