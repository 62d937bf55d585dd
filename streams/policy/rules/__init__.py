"""Rule families, one module each. Every check is `check(ctx) -> Iterable[Finding]`.

Each check's docstring is its documentation (`msggate rules CODE`, docs/rules.md):
"What it does", "Why is this bad", "Example" (fires) and "Passes" (does not fire).
"""
