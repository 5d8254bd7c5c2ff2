"""Merges of the standard into files the repository may already have."""
