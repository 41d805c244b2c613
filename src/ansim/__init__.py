"""Ansim."""
