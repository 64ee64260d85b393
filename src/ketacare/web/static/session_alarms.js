// Session page alarms: the sound follows the worst alarm waiting for acknowledgement (alarm_sound.js), and
// `KetacareSessionAlarms.swap(html)` brings the alarm list up to date from a server-rendered alarms fragment
// (session_live.js receives it over the session's Server-Sent Events): raised, "resolved, not acknowledged",
// acknowledged, closed. What a person is typing in an acknowledgement, and the focus, are kept; the summary
// (role="alert") changes, and so is announced, only when its words change.
(function () {
  "use strict";
  var section = document.getElementById("alerts");
  if (!section) return;
  function list() { return document.getElementById("alarm-list"); }
  if (window.KetacareAlarmSound) {
    window.KetacareAlarmSound.attach({
      toggle: document.getElementById("sound-toggle"),
      pause: document.getElementById("sound-pause"),
      level: function () { var l = list(); return l ? window.KetacareAlarmSound.worst(l) : "none"; }
    });
  }

  function swap(html) {
    var tmp = document.createElement("div");
    tmp.innerHTML = html;
    var newList = tmp.querySelector("#alarm-list"), newSummary = tmp.querySelector("#alarm-summary");
    var oldList = list(), oldSummary = document.getElementById("alarm-summary");
    if (!newList || !oldList) return;
    var typed = {}, focused = document.activeElement && document.activeElement.id;
    oldList.querySelectorAll("input[id]").forEach(function (i) { if (i.value) typed[i.id] = i.value; });
    var open = {};
    oldList.querySelectorAll("li[id] details[open]").forEach(function (d) { open[d.parentNode.id] = true; });
    oldList.replaceWith(newList);
    Object.keys(typed).forEach(function (id) {
      var i = document.getElementById(id);
      if (i && !i.value) i.value = typed[id];
    });
    Object.keys(open).forEach(function (id) {
      var d = document.querySelector("#" + id + " details");
      if (d) d.open = true;
    });
    if (focused) { var f = document.getElementById(focused); if (f) f.focus(); }
    if (newSummary && oldSummary && newSummary.textContent !== oldSummary.textContent) {
      oldSummary.textContent = newSummary.textContent;  // announced once (role="alert")
      oldSummary.className = newSummary.className;
    }
  }

  window.KetacareSessionAlarms = { swap: swap };
})();
