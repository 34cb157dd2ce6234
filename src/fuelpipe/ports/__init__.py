"""Ports: the store, queue, source and clock interfaces the stages depend on."""
