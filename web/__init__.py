"""The HTTP layer: Flask blueprints that validate, call the engine and shape responses."""
