"""Models: the MLmodel descriptor, signatures and schema enforcement (`modelyard.models`)."""
