"""Renderers: pure functions from analysis results to text, tables, JSON, CSV and Markdown."""
