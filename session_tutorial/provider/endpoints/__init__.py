"""The tenant's HTTP endpoints, one module each; :mod:`..app` puts them together."""
