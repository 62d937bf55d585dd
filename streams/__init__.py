"""msggate: a Kafka stream gateway that decides whether a seller's buyer message may be sent."""

__version__ = "0.1.0"
# Bumped whenever a rule's behaviour changes; every decision carries it.
POLICY_VERSION = "2026.11.1"
