"""The SQL RegistryStore (imported as modelyard.registry.model_registry)."""
