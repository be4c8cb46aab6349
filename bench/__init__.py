"""The performance bench of the engine (see bench/README.md). Never imported by the product."""
