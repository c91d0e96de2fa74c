"""The application layer: one run of the whole job (targets, scan, judge, store, diff, alert, metrics).

It prints nothing and exits never: the CLI (`probe.cli`) and the public API (`probe.api`) call it.
"""
