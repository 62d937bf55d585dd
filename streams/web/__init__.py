"""The worker's web server: health, readiness, metrics (and the dashboard)."""
