"""User administration pages (issues 13 and 14): accounts, roles, deactivation, unlocking, logins, password
links, and the security page where a second administrator approves changes and break-glass use is reviewed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain.errors import InvalidValue
from ketacare.http.access import Access
from ketacare.services.access import (
    AccountRequest,
    Actor,
    Profile,
    account_roles,
    accounts,
    approvals,
    emergency,
    is_patient_role,
    needs_second_approval,
    patient_role,
    roles,
)
from ketacare.services.errors import Forbidden
from ketacare.web.rendering import FORM_REFUSALS, form_data, refusal, render

router = APIRouter(include_in_schema=False)
BASE = "/admin/users"
LABELS = {
    "username": "Username",
    "display_name": "Full name",
    "credentials": "Credentials",
    "licence_number": "Licence number",
    "role": "Role",
    "patient_id": "Patient record id",
    "password": "Temporary password",
    "confirm": "Confirmation",
    "session_id": "Login",
    "change": "Change",
    "note": "Review",
}


def _db(request: Request) -> Any:
    return request.app.state.db


def _role_options() -> list[tuple[str, str]]:
    return [(r, r) for r in account_roles()]


def _role_descriptions() -> list[tuple[str, str]]:
    described = roles()
    return [(r, described[r]) for r in account_roles()]


@router.get(BASE, response_class=HTMLResponse)
def users_page(request: Request, actor: Actor = Depends(Access("user", "list"))) -> Response:
    listed = accounts.list_accounts(db=_db(request), actor=actor)
    return render(request, "users.html", {"accounts": listed})


def _new_form(
    request: Request, values: dict[str, str], errors: dict[str, str], status: int = 200, form: str = "create"
) -> Response:
    return render(
        request,
        "user_new.html",
        {
            "values": values,
            "errors": errors,
            "form": form,
            "labels": LABELS,
            "role_options": _role_options(),
            "role_descriptions": _role_descriptions(),
            "approval_roles": [
                r for r in account_roles() if needs_second_approval(r) and not is_patient_role(r)
            ],
            "patient_role": patient_role(),
            "smtp": bool(request.app.state.settings.smtp_host),
        },
        status,
    )


@router.get(BASE + "/new", response_class=HTMLResponse)
def new_user_page(request: Request, actor: Actor = Depends(Access("user", "create"))) -> Response:
    return _new_form(request, {}, {})


def _int_or_none(raw: str | None, field: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidValue(field, "enter the record id as a number (it is on the patient's page)")
    return int(raw)


@router.post(BASE + "/new", response_class=HTMLResponse)
async def new_user_submit(request: Request, actor: Actor = Depends(Access("user", "create"))) -> Response:
    values = await form_data(request)
    try:
        data = AccountRequest(
            username=values.get("username", ""),
            display_name=values.get("display_name", ""),
            credentials=values.get("credentials") or None,
            licence_number=values.get("licence_number") or None,
            role=values.get("role", ""),
            password=values.get("password", ""),
            patient_id=_int_or_none(values.get("patient_id"), "patient_id"),
        )
        outcome = accounts.request_account(db=_db(request), actor=actor, data=data)
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        values.pop("password", None)
        return _new_form(request, values, errors, status)
    if outcome.pending is not None:
        return RedirectResponse(f"/admin/security?requested={outcome.pending.id}", status_code=303)
    made = outcome.user.username if outcome.user is not None else values.get("username", "")
    return RedirectResponse(f"{BASE}/{made}?created=1", status_code=303)


@router.post(BASE + "/invite", response_class=HTMLResponse)
async def invite_submit(request: Request, actor: Actor = Depends(Access("user", "create"))) -> Response:
    values = await form_data(request)
    try:
        u = approvals.invite_patient(
            db=_db(request),
            actor=actor,
            settings=request.app.state.settings,
            patient_id=_int_or_none(values.get("patient_id"), "patient_id") or 0,
            username=values.get("username", ""),
            display_name=values.get("display_name", ""),
        )
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        return _new_form(request, values, errors, status, form="invite")
    return RedirectResponse(f"{BASE}/{u.username}?invited=1", status_code=303)


def _user_page(
    request: Request,
    actor: Actor,
    username: str,
    *,
    errors: dict[str, str] | None = None,
    form: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
    notice: str | None = None,
    link: str | None = None,
) -> Response:
    db = _db(request)
    u = accounts.get_user(db=db, actor=actor, username=username)
    ctx = {
        "u": u,
        "sessions": accounts.sessions(db=db, actor=actor, username=username),
        "locks": accounts.locks(db=db, actor=actor, username=username),
        "errors": errors or {},
        "form": form,
        "values": values or {},
        "labels": LABELS,
        "notice": notice,
        "link": link,
        "role_options": [(r, t) for r, t in _role_options() if not is_patient_role(r)],
        "role_descriptions": [(r, t) for r, t in _role_descriptions() if not is_patient_role(r)],
        "is_portal": is_patient_role(u.role),
        "approval_roles": [r for r in account_roles() if needs_second_approval(r) and not is_patient_role(r)],
    }
    return render(request, "user.html", ctx, status)


NOTICES = {
    "created": "Account created. Give the holder the temporary password in person: they choose their own at first "
    "login.",
    "invited": "Invitation sent to the email on the patient's record. The link works once, for 24 hours.",
    "deactivated": "Account deactivated: every login it had has ended.",
    "reactivated": "Account reactivated.",
    "unlocked": "Failed-login counters cleared.",
    "revoked": "Login ended.",
    "profile": "Profile saved.",
    "role": "Role changed; the holder's logins ended so the new role applies from their next login.",
    "totp": "Second factor removed: the holder enrols again from their account page.",
}


@router.get(BASE + "/{username}", response_class=HTMLResponse)
def user_page(request: Request, username: str, actor: Actor = Depends(Access("user", "read"))) -> Response:
    notice = next((text for key, text in NOTICES.items() if key in request.query_params), None)
    return _user_page(request, actor, username, notice=notice)


def _after(username: str, key: str) -> Response:
    return RedirectResponse(f"{BASE}/{username}?{key}=1", status_code=303)


def _refused(
    request: Request, actor: Actor, username: str, e: Exception, form: str, values: dict[str, str]
) -> Response:
    if isinstance(e, Forbidden):
        return _user_page(
            request, actor, username, errors={"change": str(e)}, form=form, values=values, status=403
        )
    errors, status = refusal(e)
    return _user_page(request, actor, username, errors=errors, form=form, values=values, status=status)


@router.post(BASE + "/{username}/profile", response_class=HTMLResponse)
async def profile_submit(
    request: Request, username: str, actor: Actor = Depends(Access("user", "update"))
) -> Response:
    values = await form_data(request)
    try:
        data = Profile(
            display_name=values.get("display_name", ""),
            credentials=values.get("credentials"),
            licence_number=values.get("licence_number"),
        )
        accounts.update_profile(db=_db(request), actor=actor, username=username, data=data)
    except FORM_REFUSALS as e:
        return _refused(request, actor, username, e, "profile", values)
    return _after(username, "profile")


@router.post(BASE + "/{username}/role", response_class=HTMLResponse)
async def role_submit(
    request: Request, username: str, actor: Actor = Depends(Access("user", "update"))
) -> Response:
    values = await form_data(request)
    try:
        outcome = accounts.change_role(
            db=_db(request), actor=actor, username=username, role=values.get("role", "")
        )
    except FORM_REFUSALS as e:
        return _refused(request, actor, username, e, "role", values)
    if outcome.pending is not None:
        return RedirectResponse(f"/admin/security?requested={outcome.pending.id}", status_code=303)
    return _after(username, "role")


def _confirmed(values: dict[str, str], username: str) -> None:
    if values.get("confirm", "").strip().lower() != username.lower():
        raise InvalidValue("confirm", "confirm with the button on the account's page")


@router.post(BASE + "/{username}/deactivate", response_class=HTMLResponse)
async def deactivate_submit(
    request: Request, username: str, actor: Actor = Depends(Access("user", "deactivate"))
) -> Response:
    values = await form_data(request)
    active = values.get("active") == "1"
    try:
        _confirmed(values, username)
        accounts.set_active(db=_db(request), actor=actor, username=username, active=active)
    except FORM_REFUSALS as e:
        return _refused(request, actor, username, e, "active", values)
    return _after(username, "reactivated" if active else "deactivated")


@router.post(BASE + "/{username}/unlock", response_class=HTMLResponse)
async def unlock_submit(
    request: Request, username: str, actor: Actor = Depends(Access("user", "unlock"))
) -> Response:
    values = await form_data(request)
    try:
        _confirmed(values, username)
        accounts.unlock(db=_db(request), actor=actor, username=username)
    except FORM_REFUSALS as e:
        return _refused(request, actor, username, e, "unlock", values)
    return _after(username, "unlocked")


@router.post(BASE + "/{username}/sessions/revoke", response_class=HTMLResponse)
async def revoke_submit(
    request: Request, username: str, actor: Actor = Depends(Access("user", "revoke_sessions"))
) -> Response:
    values = await form_data(request)
    try:
        _confirmed(values, username)
        raw = values.get("session_id", "all")
        sid = None if raw == "all" else _int_or_none(raw, "session_id")
        accounts.revoke_sessions(db=_db(request), actor=actor, username=username, session_id=sid)
    except FORM_REFUSALS as e:
        return _refused(request, actor, username, e, "sessions", values)
    return _after(username, "revoked")


@router.post(BASE + "/{username}/reset-link", response_class=HTMLResponse)
async def reset_link_submit(
    request: Request, username: str, actor: Actor = Depends(Access("user", "reset_password"))
) -> Response:
    values = await form_data(request)
    try:
        _confirmed(values, username)
        token = accounts.reset_link(db=_db(request), actor=actor, username=username)
    except FORM_REFUSALS as e:
        return _refused(request, actor, username, e, "reset", values)
    url = f"{request.app.state.settings.public_url.rstrip('/')}/password/{token}"
    return _user_page(
        request,
        actor,
        username,
        link=url,
        notice="One-time link made. It is shown only now: give it to the account holder.",
    )


@router.post(BASE + "/{username}/remove-totp", response_class=HTMLResponse)
async def remove_totp_submit(
    request: Request, username: str, actor: Actor = Depends(Access("user", "update"))
) -> Response:
    values = await form_data(request)
    try:
        _confirmed(values, username)
        accounts.remove_totp(db=_db(request), actor=actor, username=username)
    except FORM_REFUSALS as e:
        return _refused(request, actor, username, e, "totp", values)
    return _after(username, "totp")


# --- the security page ---


def _security(
    request: Request,
    actor: Actor,
    *,
    errors: dict[str, str] | None = None,
    form: str = "",
    status: int = 200,
    notice: str | None = None,
) -> Response:
    db = _db(request)
    changes = approvals.list_changes(db=db, actor=actor)
    windows = emergency.list_windows(db=db, actor=actor)
    return render(
        request,
        "security.html",
        {
            "pending": [c for c in changes if c.status == "pending"],
            "decided": [c for c in changes if c.status != "pending"],
            "windows": windows,
            "errors": errors or {},
            "form": form,
            "labels": LABELS,
            "notice": notice,
            "requested": request.query_params.get("requested"),
        },
        status,
    )


@router.get("/admin/security", response_class=HTMLResponse)
def security_page(request: Request, actor: Actor = Depends(Access("security", "read"))) -> Response:
    notice = None
    if "requested" in request.query_params:
        notice = "Request recorded. It takes effect when a second administrator approves it below."
    elif "approved" in request.query_params:
        notice = "Change approved and carried out."
    elif "rejected" in request.query_params:
        notice = "Change rejected."
    elif "reviewed" in request.query_params:
        notice = "Review recorded."
    return _security(request, actor, notice=notice)


def _change_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidValue("change", "no account change has that id")
    return int(raw)


@router.post("/admin/security/changes/{change_id}/approve", response_class=HTMLResponse)
async def approve_submit(
    request: Request, change_id: str, actor: Actor = Depends(Access("user", "approve"))
) -> Response:
    await form_data(request)
    try:
        approvals.approve(db=_db(request), actor=actor, change_id=_change_id(change_id))
    except Forbidden as e:
        return _security(request, actor, errors={"change": str(e)}, form=f"c{change_id}", status=403)
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        return _security(request, actor, errors=errors, form=f"c{change_id}", status=status)
    return RedirectResponse("/admin/security?approved=1", status_code=303)


@router.post("/admin/security/changes/{change_id}/reject", response_class=HTMLResponse)
async def reject_submit(
    request: Request, change_id: str, actor: Actor = Depends(Access("user", "approve"))
) -> Response:
    values = await form_data(request)
    try:
        approvals.reject(
            db=_db(request), actor=actor, change_id=_change_id(change_id), note=values.get("note", "")
        )
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        return _security(request, actor, errors=errors, form=f"c{change_id}", status=status)
    return RedirectResponse("/admin/security?rejected=1", status_code=303)


@router.post("/admin/security/break-glass/{window_id}/review", response_class=HTMLResponse)
async def review_submit(
    request: Request, window_id: str, actor: Actor = Depends(Access("security", "review"))
) -> Response:
    values = await form_data(request)
    try:
        if not window_id.isdigit() or len(window_id) > 9:
            raise InvalidValue("note", "no break-glass access has that id")
        emergency.review(db=_db(request), actor=actor, window_id=int(window_id), note=values.get("note", ""))
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        return _security(request, actor, errors=errors, form=f"w{window_id}", status=status)
    return RedirectResponse("/admin/security?reviewed=1", status_code=303)
