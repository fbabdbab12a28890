"""Service layer: plain functions over a Session that enforce the domain's invariants.

Route handlers parse, call one of these, and map the result; the CLI and the site loader call
the same functions, so a rule is written once.
"""
