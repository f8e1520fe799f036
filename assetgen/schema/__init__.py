"""The schema room: reading YAML with positions and checking it against ``schemas/``.

``yamlpos`` (YAML 1.2 core scalars via ``yamlcore``, hints via ``yamlhints``) gives
values with their line and column; ``validator`` is a small JSON Schema checker;
``shipped`` loads the shipped schemas and turns violations into Diagnostics;
``limits`` bounds what assetgen reads. Used by the manifest and lock rooms.
"""

__all__ = ["limits", "shipped", "yamlhints", "yamlpos"]
