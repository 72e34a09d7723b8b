"""Firmware behaviours pinned for `make mutate GROUP=firmware`."""
