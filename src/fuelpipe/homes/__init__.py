"""Composition roots: the only place that reads settings and builds clients, one per home."""
