"""Readers and writers for the file formats of collider physics."""
