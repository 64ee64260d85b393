// Live session page: the session's Server-Sent Events (GET /sessions/{id}/events, the same change notices as
// the live board) carry the server-rendered parts of the page that changed: state, times, alarms, readings and
// chart, pump and dose, discharge checks. Each is swapped in by its element id, keeping what a person is typing,
// the focus and which <details> are open. Alarms go through session_alarms.js (its summary is role="alert").
// Timers tick here every second in the format of domain/formatting.py ("24 min 47 s", "1 h 05 min").
(function () {
  "use strict";
  var root = document.getElementById("session-live");
  if (!root) return;
  var status = document.getElementById("live-status");
  var pageState = status ? status.getAttribute("data-page-state") : null;

  // duration(minutes) of domain/formatting.py: under an hour to the second, from an hour on to the minute.
  function duration(seconds, up) {
    var s = up ? Math.ceil(seconds) : Math.round(seconds);
    if (s < 0) s = 0;
    if (s < 60) return s + " s";
    if (s < 3600) {
      var m = Math.floor(s / 60), sec = s % 60;
      return sec === 0 ? m + " min" : m + " min " + (sec < 10 ? "0" : "") + sec + " s";
    }
    var mins = up ? Math.ceil(seconds / 60) : Math.round(seconds / 60);
    var h = Math.floor(mins / 60), mm = mins % 60;
    return mm === 0 ? h + " h" : h + " h " + (mm < 10 ? "0" : "") + mm + " min";
  }

  // The server's clock may differ from this computer's: each event carries the server's time.
  var skew = 0;
  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("data-since"));
      if (!isNaN(t)) el.textContent = duration((now - t) / 1000, false);
    });
    document.querySelectorAll("[data-until]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("data-until"));
      if (!isNaN(t)) el.textContent = duration(Math.max(0, (t - now) / 1000), true);
    });
  }

  function keepTyping(oldEl, newEl) {
    oldEl.querySelectorAll("input[id], textarea[id], select[id]").forEach(function (i) {
      var n = newEl.querySelector("#" + i.id);
      if (n && i.type !== "hidden" && i.value && !n.value) n.value = i.value;
    });
    oldEl.querySelectorAll("details[id]").forEach(function (d) {
      var n = newEl.querySelector("#" + d.id);
      if (n) n.open = d.open;
    });
  }

  function place(id, html) {
    if (id === "alerts") {
      if (window.KetacareSessionAlarms) window.KetacareSessionAlarms.swap(html);
      return;
    }
    var old = document.getElementById(id);
    if (!old) return;
    var tmp = document.createElement("div");
    tmp.innerHTML = html.trim();
    var el = tmp.firstElementChild;
    if (!el || el.id !== id) return;
    var focused = document.activeElement && document.activeElement.id;
    keepTyping(old, el);
    old.replaceWith(el);
    if (focused) { var f = document.getElementById(focused); if (f && f !== document.activeElement) f.focus(); }
  }

  // Clock times in the clinic's zone, labelled, like the times the server renders ("17:54:07 CET").
  var tz = root.getAttribute("data-tz") || "UTC";
  function hhmmss(d) {
    try {
      return d.toLocaleTimeString("en-GB", { timeZone: tz, hour12: false, timeZoneName: "short" });
    } catch (e) { return d.toISOString().substr(11, 8) + " UTC"; }
  }
  function say(text, announce) {
    if (!status) return;
    status.hidden = false;
    if (announce) status.setAttribute("role", "status");  // a change of step is announced; routine updates not
    status.textContent = text;
  }

  if (!window.EventSource) { say("Live updates unavailable in this browser: reload to see new readings."); return; }
  var es = new EventSource(root.getAttribute("data-events"));
  es.addEventListener("error", function () { say("Live updates interrupted: reconnecting…"); });
  es.addEventListener("session", function (ev) {
    var data = JSON.parse(ev.data);
    Object.keys(data.fragments).forEach(function (id) { place(id, data.fragments[id]); });
    var server = Date.parse(data.now);
    if (!isNaN(server)) skew = server - Date.now();
    tick();
    var text = "Live · updated " + hhmmss(new Date(Date.now() + skew));
    var moved = pageState && data.state !== pageState;
    if (moved) {
      text = "The session is now " + data.state.replace(/_/g, " ") + ": reload the page for the actions of that step. " + text;
    }
    say(text, moved);
  });
  setInterval(tick, 1000);
})();
