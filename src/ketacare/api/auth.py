"""Login and logout for API clients (Bearer tokens)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from ketacare.api.deps import DbDep, SettingsDep
from ketacare.http.access import PUBLIC, Access, client_address, device_cookie, set_device_cookie
from ketacare.http.errors import error_responses
from ketacare.services.access import (
    Actor,
    LoginNoticeRead,
    LoginRequest,
    TotpEnrolment,
    TotpSecret,
    auth,
    users,
)

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime
    username: str
    role: str
    failed_attempts: LoginNoticeRead | None = Field(
        None, description="Failed sign-in attempts on this account since its last sign-in (shown once)"
    )
    must_enrol_totp: bool = Field(
        False, description="The clinic requires a one-time code of this role: enrol one before anything else"
    )


class MeRead(BaseModel):
    username: str
    role: str
    patient_id: int | None


@router.post("/login", response_model=TokenRead, responses=error_responses(401, 403, 422, 429))
def login(
    data: LoginRequest,
    request: Request,
    response: Response,
    db: DbDep,
    settings: SettingsDep,
    _: Actor = Depends(PUBLIC),
) -> TokenRead:
    """Exchange a username and password (and a TOTP code if enrolled) for a session token.

    Every refusal answers 401 with the same message, whichever factor was wrong. Repeated failures for one account
    from one address are delayed (429 with Retry-After), never the account for everyone: a client that sends the
    `kc_device` cookie set at an earlier sign-in to this account is judged by its own failures only."""
    result = auth.login(
        db=db, settings=settings, data=data, address=client_address(request), device=device_cookie(request)
    )
    set_device_cookie(response, result, settings)
    return TokenRead(
        access_token=result.token,
        expires_at=result.expires_at,
        username=result.actor.username,
        role=result.actor.role,
        failed_attempts=result.notice,
        must_enrol_totp=result.must_enrol_totp,
    )


@router.post("/logout", status_code=204, responses=error_responses(401, 403))
def logout(
    db: DbDep, actor: Actor = Depends(Access("account", "logout", before_password_change=True))
) -> None:
    """Revoke the token used for this request."""
    auth.logout(db=db, actor=actor)


@router.get("/me", response_model=MeRead, responses=error_responses(401, 403))
def me(actor: Actor = Depends(Access("account", "read", before_password_change=True))) -> MeRead:
    """Return who the token belongs to."""
    return MeRead(username=actor.username, role=actor.role, patient_id=actor.patient_id)


@router.post("/totp/secret", response_model=TotpSecret, responses=error_responses(401, 403))
def totp_secret(actor: Actor = Depends(Access("account", "enrol_totp"))) -> TotpSecret:
    """Return a new secret for your authenticator app (nothing is stored until you confirm it)."""
    return users.new_totp_secret(actor=actor)


@router.post("/totp", status_code=204, responses=error_responses(401, 403, 422))
def totp_enrol(data: TotpEnrolment, db: DbDep, actor: Actor = Depends(Access("account", "enrol_totp"))) -> None:
    """Enrol your authenticator: the secret, a current code from the app, and your password."""
    users.enrol_own_totp(db=db, actor=actor, data=data)
