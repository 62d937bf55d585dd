"""The pure policy engine: rules, analysis, evaluation. No I/O, no clock."""
