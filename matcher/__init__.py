"""RISMEP referral matching engine: the network, the scorer, the bundle search and intake."""

__version__ = "0.1.0"
