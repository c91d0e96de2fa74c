"""The fast scan back-end: cipher suites and groups by elimination, the rest by sslyze."""

from probe.scan.fast.scanner import FastScanner

__all__ = ["FastScanner"]
