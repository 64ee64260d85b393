"""Login and logout for API clients (Bearer tokens)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from ketacare.api.deps import DbDep, SettingsDep
from ketacare.http.access import PUBLIC, Access, client_address
from ketacare.http.errors import error_responses
from ketacare.services.access import Actor, LoginRequest, auth

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime
    username: str
    role: str


class MeRead(BaseModel):
    username: str
    role: str
    patient_id: int | None


@router.post("/login", response_model=TokenRead, responses=error_responses(401, 403, 422, 429))
def login(
    data: LoginRequest, request: Request, db: DbDep, settings: SettingsDep, _: Actor = Depends(PUBLIC)
) -> TokenRead:
    """Exchange a username and password (and a TOTP code if enrolled) for a session token."""
    result = auth.login(db=db, settings=settings, data=data, address=client_address(request))
    return TokenRead(
        access_token=result.token,
        expires_at=result.expires_at,
        username=result.actor.username,
        role=result.actor.role,
    )


@router.post("/logout", status_code=204, responses=error_responses(401, 403))
def logout(db: DbDep, actor: Actor = Depends(Access("account", "logout"))) -> None:
    """Revoke the token used for this request."""
    auth.logout(db=db, actor=actor)


@router.get("/me", response_model=MeRead, responses=error_responses(401, 403))
def me(actor: Actor = Depends(Access("account", "read"))) -> MeRead:
    """Return who the token belongs to."""
    return MeRead(username=actor.username, role=actor.role, patient_id=actor.patient_id)
