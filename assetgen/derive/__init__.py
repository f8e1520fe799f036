"""Derived outputs: files made locally from a master (recipes, presets, rendering)."""
