"""c2p-bot: check-ins and escalation for human rights defenders at risk."""

__version__ = "0.1.0"
