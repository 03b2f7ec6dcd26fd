"""Oversell-risk reports: figures, race timelines and the HTML/PDF report."""
