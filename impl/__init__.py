"""Hand-written implementation of the interfaces generated from openapi.yaml."""
