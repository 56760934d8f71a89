"""Conformance suites run inside twaron and natively (`twaron test ...`)."""
