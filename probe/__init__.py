"""tlsprobe: sweep TLS endpoints, judge them against an encryption policy, remember and alert."""

__version__ = "0.1.0"
