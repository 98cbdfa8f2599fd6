"""Generated wire API of modelyard, version 1. Do not edit: run proto/generate.py."""
