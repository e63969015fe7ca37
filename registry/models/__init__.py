"""The registry's tables (SQLModel entities), one module per area."""

from registry.models.identity import ApiToken, Participant, User

__all__ = ["ApiToken", "Participant", "User"]
