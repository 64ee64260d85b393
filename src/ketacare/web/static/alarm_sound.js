// Alarm sound for the live board and the session page, generated with Web Audio (no sound file is downloaded).
// One tone pattern per IEC 60601-1-8 priority, as bursts that repeat while an alarm waits for acknowledgement:
//   high   = 10 pulses (3 + 2, pause, 3 + 2) at 880 Hz, every 5 s;
//   medium = 3 pulses at 660 Hz, every 15 s;
//   low    = 1 pulse at 520 Hz, every 30 s.
// Sound is off until a person turns it on (browsers need a gesture). "Pause sound 2 min" appears only while the
// sound is on and pauses it for two minutes; nothing here silences alarms for good.
(function () {
  "use strict";
  var PATTERNS = {
    high: { freq: 880, every: 5000, at: [0, 0.25, 0.5, 1.0, 1.25, 2.0, 2.25, 2.5, 3.0, 3.25] },
    medium: { freq: 660, every: 15000, at: [0, 0.3, 0.6] },
    low: { freq: 520, every: 30000, at: [0] }
  };

  function attach(opts) {
    var toggle = opts.toggle, pause = opts.pause, level = opts.level;
    if (!toggle) return null;
    var on = false, pausedUntil = 0, ctx = null, last = { high: 0, medium: 0, low: 0 }, timer = null;

    function pulse(t, freq) {
      var o = ctx.createOscillator(), g = ctx.createGain();
      o.type = "sine"; o.frequency.value = freq;
      g.gain.setValueAtTime(0.0001, t);
      g.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t + 0.15);
      o.connect(g); g.connect(ctx.destination); o.start(t); o.stop(t + 0.2);
    }
    function play(priority) {
      var p = PATTERNS[priority];
      if (!p || !ctx) return;
      var t = ctx.currentTime;
      p.at.forEach(function (dt) { pulse(t + dt, p.freq); });
    }
    function tick() {
      if (!on || Date.now() < pausedUntil) return;
      var worst = level();
      if (!PATTERNS[worst]) return;
      if (Date.now() - last[worst] < PATTERNS[worst].every) return;
      last[worst] = Date.now();
      play(worst);
    }
    // In the clinic's zone, labelled ("14:07 CET"): <body data-tz> carries the clinic's IANA zone.
    function hhmm(d) {
      var tz = document.body.getAttribute("data-tz") || "UTC";
      try {
        return d.toLocaleTimeString("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", hour12: false,
                                               timeZoneName: "short" });
      } catch (e) { return d.toISOString().substr(11, 5) + " UTC"; }
    }
    function show() {
      toggle.textContent = on ? "Sound on" : "Sound off";
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
      if (pause) {
        pause.hidden = !on;
        if (!on) { pausedUntil = 0; pause.textContent = "Pause sound 2 min"; }
      }
    }
    toggle.addEventListener("click", function () {
      on = !on;
      if (on && !ctx) {
        var AC = window.AudioContext || window.webkitAudioContext;
        if (AC) ctx = new AC();
      }
      if (!ctx) on = false;
      show();
      if (on) { timer = timer || setInterval(tick, 1000); tick(); }
    });
    if (pause) pause.addEventListener("click", function () {
      if (!on) return;
      pausedUntil = Date.now() + 120000;
      pause.textContent = "Sound paused until " + hhmm(new Date(pausedUntil));
    });
    show();
    return { play: play, isOn: function () { return on; } };
  }

  // The worst priority among unacknowledged alarms inside `root` (elements with data-alarm="high|medium|low").
  function worst(root) {
    var rank = { none: 0, low: 1, medium: 2, high: 3 }, out = "none";
    root.querySelectorAll("[data-alarm]").forEach(function (el) {
      var a = el.getAttribute("data-alarm");
      if ((rank[a] || 0) > rank[out]) out = a;
    });
    return out;
  }

  window.KetacareAlarmSound = { attach: attach, worst: worst, patterns: PATTERNS };
})();
