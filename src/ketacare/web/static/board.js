// Live board: Server-Sent Events replace a chair's card within a second of a reading arriving.
// Sound is off until a user turns it on (browsers need a gesture); it follows the alarm priority and can be
// paused for 2 minutes, never silenced for good from here.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var status = document.getElementById("board-status");
  var soundBtn = document.getElementById("sound-toggle");
  var pauseBtn = document.getElementById("sound-pause");
  var soundOn = false, pausedUntil = 0, audio = null, lastBeep = 0;

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
    if (old) { old.replaceWith(card); } else {
      var empty = document.getElementById("board-empty");
      if (empty) empty.remove();
      board.appendChild(card);
    }
  }

  function worstAlarm() {
    var worst = "none";
    board.querySelectorAll(".chair").forEach(function (c) {
      var a = c.getAttribute("data-alarm");
      if (a === "high") worst = "high";
      else if (a === "medium" && worst !== "high") worst = "medium";
    });
    return worst;
  }

  function tone(ctx, t, freq, dur) {
    var o = ctx.createOscillator(), g = ctx.createGain();
    o.frequency.value = freq; o.type = "sine";
    g.gain.setValueAtTime(0.0001, t); g.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, t + dur);
    o.connect(g); g.connect(ctx.destination); o.start(t); o.stop(t + dur + 0.05);
  }

  // IEC 60601-1-8-like bursts: high = 10 pulses (3+2, 3+2), medium = 3 pulses; low = no sound.
  function beep(level) {
    if (!soundOn || Date.now() < pausedUntil || level === "none") return;
    var every = level === "high" ? 5000 : 15000;
    if (Date.now() - lastBeep < every) return;
    lastBeep = Date.now();
    var ctx = audio, t = ctx.currentTime;
    var pattern = level === "high" ? [0, .25, .5, 1.0, 1.25, 2.0, 2.25, 2.5, 3.0, 3.25] : [0, .3, .6];
    pattern.forEach(function (dt) { tone(ctx, t + dt, level === "high" ? 880 : 660, 0.15); });
  }

  setInterval(function () { beep(worstAlarm()); }, 1000);

  if (soundBtn) soundBtn.addEventListener("click", function () {
    soundOn = !soundOn;
    if (soundOn && !audio) { var AC = window.AudioContext || window.webkitAudioContext; if (AC) audio = new AC(); }
    if (!audio) soundOn = false;
    soundBtn.textContent = soundOn ? "Sound on" : "Sound off";
    soundBtn.setAttribute("aria-pressed", soundOn ? "true" : "false");
    pauseBtn.hidden = !soundOn;
  });
  if (pauseBtn) pauseBtn.addEventListener("click", function () {
    pausedUntil = Date.now() + 120000;
    pauseBtn.textContent = "Sound paused until " + hhmmss(new Date(pausedUntil));
  });

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
