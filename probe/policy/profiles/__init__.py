"""Bundled policy profiles (YAML data files)."""
