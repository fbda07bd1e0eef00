"""The network as networkx graphs and the analyses on them (no SQL here)."""
