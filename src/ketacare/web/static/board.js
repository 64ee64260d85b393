// Live board: Server-Sent Events replace a chair's card within a second of a reading arriving.
// Sound (alarm_sound.js) is off until a user turns it on; it follows the worst alarm waiting for
// acknowledgement and can be paused for 2 minutes, never silenced for good from here. What a person is typing
// in a card's acknowledgement is kept when the card is replaced.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var status = document.getElementById("board-status");
  if (window.KetacareAlarmSound) {
    window.KetacareAlarmSound.attach({
      toggle: document.getElementById("sound-toggle"),
      pause: document.getElementById("sound-pause"),
      level: function () { return window.KetacareAlarmSound.worst(board); }
    });
  }

  function setStatus(text) { if (status) status.textContent = text; }
  // Clock times in the clinic's zone, labelled, like the cards the server renders ("17:54:07 CET").
  var tz = board.getAttribute("data-tz") || "UTC";
  function hhmmss(d) {
    try {
      return d.toLocaleTimeString("en-GB", { timeZone: tz, hour12: false, timeZoneName: "short" });
    } catch (e) { return d.toISOString().substr(11, 8) + " UTC"; }
  }

  function place(sessionId, html, active) {
    var old = document.getElementById("chair-" + sessionId);
    if (!active || !html) { if (old) old.remove(); return; }
    var tmp = document.createElement("div");
    tmp.innerHTML = html.trim();
    var card = tmp.firstElementChild;
    if (old) {
      var focused = document.activeElement && document.activeElement.id;
      old.querySelectorAll("input[id]").forEach(function (i) {
        var n = card.querySelector("#" + i.id);
        if (n && i.value && !n.value) n.value = i.value;
      });
      old.replaceWith(card);
      if (focused) { var f = document.getElementById(focused); if (f) f.focus(); }
    } else {
      var empty = document.getElementById("board-empty");
      if (empty) empty.remove();
      board.appendChild(card);
    }
  }

  if (!window.EventSource) { setStatus("Live updates unavailable in this browser: reload to refresh."); return; }
  var es = new EventSource(board.getAttribute("data-events"));
  es.addEventListener("open", function () { setStatus("Live · connected " + hhmmss(new Date())); });
  es.addEventListener("error", function () { setStatus("Live updates interrupted — reconnecting…"); });
  es.addEventListener("snapshot", function (ev) {
    var data = JSON.parse(ev.data), seen = {};
    data.chairs.forEach(function (c) { seen[c.session_id] = true; place(c.session_id, c.html, true); });
    board.querySelectorAll(".chair").forEach(function (c) {
      if (!seen[c.getAttribute("data-session")]) c.remove();
    });
  });
  es.addEventListener("chair", function (ev) {
    var c = JSON.parse(ev.data);
    place(c.session_id, c.html, c.active);
    setStatus("Live · last update " + hhmmss(new Date()));
  });
})();
