"""Test helpers for code built on assetgen: ``provider_kit``, the contract every provider
keeps, for the providers that ship here and for plugin packages alike.

They live inside the package (not in ``tests/``) so a plugin's own test suite can
import them from an installed assetgen. Nothing at run time imports this room.
"""
