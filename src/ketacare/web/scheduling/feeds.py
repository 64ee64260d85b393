"""Private calendar feeds: the page where a clinician makes or revokes their feed address, and the feed itself
(`/calendar/<token>.ics`, no sign-in: the token is the key)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ketacare.http.access import PUBLIC, Access
from ketacare.services.access import Actor
from ketacare.services.scheduling import feeds
from ketacare.web.rendering import clinic_settings, render

router = APIRouter(include_in_schema=False)
Own = Access("calendar_feed", "manage_own")


@router.get("/schedule/feeds", response_class=HTMLResponse)
def feeds_page(request: Request, actor: Actor = Depends(Own)) -> Response:
    rows = feeds.list_feeds(db=request.app.state.db, actor=actor)
    return render(request, "schedule_feeds.html", {"feeds": rows, "created": None})


@router.post("/schedule/feeds", response_class=HTMLResponse)
def create(request: Request, actor: Actor = Depends(Own)) -> Response:
    made = feeds.create_feed(db=request.app.state.db, actor=actor)
    rows = feeds.list_feeds(db=request.app.state.db, actor=actor)
    url = str(request.base_url).rstrip("/") + made.url_path
    return render(request, "schedule_feeds.html", {"feeds": rows, "created": url}, 201)


@router.post("/schedule/feeds/{feed_id}/revoke", response_class=HTMLResponse)
def revoke(request: Request, feed_id: int, actor: Actor = Depends(Own)) -> Response:
    feeds.revoke_feed(db=request.app.state.db, actor=actor, feed_id=feed_id)
    rows = feeds.list_feeds(db=request.app.state.db, actor=actor)
    return render(request, "schedule_feeds.html", {"feeds": rows, "created": None})


@router.get("/calendar/{token}.ics")
def feed(request: Request, token: str, actor: Actor = Depends(PUBLIC)) -> Response:
    """The feed's iCalendar text (404 once revoked)."""
    body = feeds.feed_ics(db=request.app.state.db, token=token, clinic_name=clinic_settings(request).name)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"},
    )
