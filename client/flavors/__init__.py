"""Model flavors: how each framework's models are saved, logged and loaded."""
