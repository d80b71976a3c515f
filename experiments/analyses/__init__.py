"""Offline analyses that need no dataset: RAdam's variance simulation, Reddi et al.'s example."""
