"""Who is acting, and the role and ownership checks every write makes (R-P4, R-X4)."""

from __future__ import annotations

from dataclasses import dataclass

from registry.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    role: str  # admin | certifier | member | system
    body_code: str | None = None
    participant_id: int | None = None
    # The API token the request came with (R-X7: the parent of tokens it creates).
    token_id: int | None = None

    @property
    def label(self) -> str:
        """How the chain log names the actor (R-L1)."""
        return "system" if self.user_id is None else f"user:{self.user_id}"

    @property
    def is_admin(self) -> bool:
        return self.role in ("admin", "system")

    def acts_for(self, participant_id: int) -> bool:
        """May read and move the participant's objects: its members, and admins."""
        return self.is_admin or (self.role == "member" and self.participant_id == participant_id)


SYSTEM = Actor(user_id=None, role="system")


def require_role(actor: Actor, *roles: str) -> None:
    if actor.role == "system" or actor.role in roles:
        return
    raise Forbidden(f"this action needs the role {' or '.join(roles)}", code="forbidden_role",
                    rule="R-P4")


def require_acts_for(actor: Actor, participant_id: int) -> None:
    if not actor.acts_for(participant_id):
        raise Forbidden("you may act only for your own participant", code="not_owner", rule="R-P4")
