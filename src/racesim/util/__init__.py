"""Plumbing every layer shares: units, statistics, output folders, manifests, progress bars.

Nothing here knows about stock, marketplaces or scenarios; every other package may import
from it, and it imports from none of them.
"""
