"""The manifest room: YAML bytes in, validated and frozen AssetSpecs out.

``resolve`` turns a parsed manifest into specs (vars, matrix, defaults), with the
per-field checks and their located diagnostics in ``rules``; ``memo`` lets a null plan skip the YAML and schema work. Other rooms use
``parse_manifest`` and ``load_manifest_memo`` through ``assetgen.project``.
"""

__all__ = ["memo", "resolve"]
