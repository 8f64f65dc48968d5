"""Command-line entry points; each tools/X.py is a thin main(argv=None) over library code."""
