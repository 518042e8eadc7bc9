"""Test support: real PostgreSQL, the real service in a subprocess, real tokens, the contract."""
