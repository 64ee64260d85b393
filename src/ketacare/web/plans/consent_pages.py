"""Informed consent pages (issue 16 point 1): the patient reads the document in plain words and signs it in the
portal (typed name plus a drawn or a click signature); a nurse opens the same page on a clinic tablet for a
patient in the clinic (the nurse is recorded as witness); the prescriber countersigns from the patient's consent
page, re-entering their password. Errors show beside their fields."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain.plans.consent import ConsentTemplate
from ketacare.http.access import Access
from ketacare.services.access import Actor, decide, signing
from ketacare.services.plans import consent
from ketacare.services.plans.consent_schemas import ConsentCountersignIn, ConsentSignIn, ConsentWithdrawIn
from ketacare.web.rendering import FORM_REFUSALS, form_data, refusal, render, safe_next

router = APIRouter(include_in_schema=False)
Read = Access("consent", "read")
Portal = Access(
    "account", "read"
)  # the portal: the patient's own record from the account; services authorize
Witness = Access("consent", "witness")
Countersign = Access("consent", "countersign")
Withdraw = Access("consent", "withdraw")

STATUS_WORDS = {
    "in_force": "Signed and in force",
    "missing": "Not signed",
    "expired": "Expired: sign again",
    "superseded": "The clinic has updated this document: please read and sign it again",
    "not_countersigned": "Signed; waiting for the prescriber",
    "withdrawn": "Withdrawn",
}
STRENGTH_WORDS = {
    "some": "Some evidence",
    "thin": "Little evidence",
    "mixed": "Mixed evidence",
    "none": "No good evidence yet",
}
NOTICES = {
    "signed": "Thank you: your consent is signed. The prescriber countersigns it before your first session.",
    "witnessed": "Signed by the patient, witnessed by you. It waits for the prescriber's countersignature.",
    "countersigned": "Consent countersigned: it is now in force for these routes.",
    "withdrawn": "Withdrawal recorded. Sessions by these routes cannot pass their pre-checks now.",
}
SIGN_LABELS = {
    "read_confirmed": "I have read it",
    "typed_name": "Your full name",
    "signature": "Your signature",
    "version": "Document version",
    "template_id": "Document",
    "indication": "What you are treated for",
}


def _sign_page(
    request: Request,
    actor: Actor,
    patient_id: int,
    template: ConsentTemplate,
    *,
    tablet: bool,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    db = request.app.state.db
    on_file = consent.patient_consents(db=db, actor=actor, patient_id=patient_id)
    current = next((d.status for d in on_file.statuses if d.document.id == template.id), None)
    ctx = {
        "doc": template,
        "tablet": tablet,
        "on_file": on_file,
        "patient_id": patient_id,
        "action": f"/patients/{patient_id}/consent/{template.id}/sign"
        if tablet
        else f"/me/consent/{template.id}",
        "errors": errors or {},
        "values": values or {},
        "status_words": STATUS_WORDS,
        "strength_words": STRENGTH_WORDS,
        "labels": SIGN_LABELS,
        "current": current,
        "portal": not tablet,
    }
    return render(request, "consent_sign.html", ctx, status)


async def _sign(
    request: Request, actor: Actor, patient_id: int, template_id: str, *, tablet: bool
) -> Response:
    values = await form_data(request)
    template = consent.document(template_id)
    try:
        data = ConsentSignIn(
            template_id=template_id,
            version=values.get("version") or "",
            signed_via="clinic_tablet" if tablet else "portal",
            read_confirmed=bool(values.get("read_confirmed")),
            typed_name=values.get("typed_name") or "",
            signature_kind=values.get("signature_kind") or "click",
            signature_svg_path=values.get("signature_svg_path") or None,
            click_signed=bool(values.get("click_signed")),
            indication=values.get("indication") or None,
        )
        consent.sign_consent(db=request.app.state.db, actor=actor, patient_id=patient_id, data=data)
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        errors = {("signature" if k == "signature_svg_path" else k): v for k, v in errors.items()}
        return _sign_page(
            request, actor, patient_id, template, tablet=tablet, errors=errors, values=values, status=status
        )
    if tablet:
        return RedirectResponse(f"/patients/{patient_id}/consent?notice=witnessed", status_code=303)
    return RedirectResponse("/me/consent?notice=signed", status_code=303)


def _not_a_patient(actor: Actor) -> Response:
    """Staff opening a portal address go to their own start page (as /me does)."""
    return RedirectResponse(safe_next(None, actor), status_code=303)


@router.get("/me/consent", response_class=HTMLResponse)
def my_consent(request: Request, notice: str | None = None, actor: Actor = Depends(Portal)) -> Response:
    patient_id = actor.patient_id
    if patient_id is None:
        return _not_a_patient(actor)
    on_file = consent.patient_consents(db=request.app.state.db, actor=actor, patient_id=patient_id)
    ctx = {
        "on_file": on_file,
        "portal": True,
        "patient_id": patient_id,
        "status_words": STATUS_WORDS,
        "notice": NOTICES.get(notice or ""),
        "errors": {},
    }
    return render(request, "consent_list.html", ctx)


@router.get("/me/consent/{template_id}", response_class=HTMLResponse)
def my_consent_document(request: Request, template_id: str, actor: Actor = Depends(Portal)) -> Response:
    if actor.patient_id is None:
        return _not_a_patient(actor)
    return _sign_page(request, actor, actor.patient_id, consent.document(template_id), tablet=False)


@router.post("/me/consent/{template_id}", response_class=HTMLResponse)
async def my_consent_sign(request: Request, template_id: str, actor: Actor = Depends(Portal)) -> Response:
    if actor.patient_id is None:
        return _not_a_patient(actor)
    return await _sign(request, actor, actor.patient_id, template_id, tablet=False)


def _chart_page(
    request: Request,
    actor: Actor,
    patient_id: int,
    *,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    form: str | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    db = request.app.state.db
    ctx = {
        "on_file": consent.patient_consents(db=db, actor=actor, patient_id=patient_id),
        "portal": False,
        "patient_id": patient_id,
        "status_words": STATUS_WORDS,
        "notice": NOTICES.get(notice or ""),
        "errors": errors or {},
        "form": form,
        "values": values or {},
        "can_witness": decide(actor, "witness", "consent", patient_id=patient_id).allowed,
        "can_countersign": decide(actor, "countersign", "consent", patient_id=patient_id).allowed,
        "can_withdraw": decide(actor, "withdraw", "consent", patient_id=patient_id).allowed,
        "credential": signing.credential_field(db=db, actor=actor),
    }
    return render(request, "consent_list.html", ctx, status)


@router.get("/patients/{patient_id}/consent", response_class=HTMLResponse)
def patient_consent(
    request: Request, patient_id: int, notice: str | None = None, actor: Actor = Depends(Read)
) -> Response:
    return _chart_page(request, actor, patient_id, notice=notice)


@router.get("/patients/{patient_id}/consent/{template_id}/sign", response_class=HTMLResponse)
def tablet_document(
    request: Request, patient_id: int, template_id: str, actor: Actor = Depends(Witness)
) -> Response:
    return _sign_page(request, actor, patient_id, consent.document(template_id), tablet=True)


@router.post("/patients/{patient_id}/consent/{template_id}/sign", response_class=HTMLResponse)
async def tablet_sign(
    request: Request, patient_id: int, template_id: str, actor: Actor = Depends(Witness)
) -> Response:
    return await _sign(request, actor, patient_id, template_id, tablet=True)


@router.post("/patients/{patient_id}/consent/{signature_id}/countersign", response_class=HTMLResponse)
async def countersign(
    request: Request, patient_id: int, signature_id: int, actor: Actor = Depends(Countersign)
) -> Response:
    values = await form_data(request)
    form = f"countersign-{signature_id}"
    try:
        data = ConsentCountersignIn(
            version=values.get("version") or 0,
            password=values.get("password") or None,
            totp_code=(values.get("totp_code") or "").strip() or None,
        )
        consent.countersign_consent(
            db=request.app.state.db, actor=actor, patient_id=patient_id, signature_id=signature_id, data=data
        )
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        return _chart_page(request, actor, patient_id, errors=errors, form=form, status=status)
    return RedirectResponse(f"/patients/{patient_id}/consent?notice=countersigned", status_code=303)


@router.post("/patients/{patient_id}/consent/{signature_id}/withdraw", response_class=HTMLResponse)
async def withdraw(
    request: Request, patient_id: int, signature_id: int, actor: Actor = Depends(Withdraw)
) -> Response:
    values = await form_data(request)
    form = f"withdraw-{signature_id}"
    try:
        data = ConsentWithdrawIn(reason=values.get("reason") or "")
        consent.withdraw_consent(
            db=request.app.state.db, actor=actor, patient_id=patient_id, signature_id=signature_id, data=data
        )
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        return _chart_page(request, actor, patient_id, errors=errors, form=form, values=values, status=status)
    back = "/me/consent" if actor.patient_id == patient_id else f"/patients/{patient_id}/consent"
    return RedirectResponse(f"{back}?notice=withdrawn", status_code=303)
