// Session page alarms: the same Server-Sent Events as the live board bring this session's alarm list up to date
// without a reload (raised, "resolved, not acknowledged", acknowledged, closed); the sound follows the worst
// alarm waiting for acknowledgement (alarm_sound.js). What a person is typing in an acknowledgement is kept.
(function () {
  "use strict";
  var section = document.getElementById("alerts");
  if (!section || !window.KetacareAlarmSound) return;
  var sessionId = section.getAttribute("data-session");
  var url = section.getAttribute("data-alarms-url");
  function list() { return document.getElementById("alarm-list"); }
  window.KetacareAlarmSound.attach({
    toggle: document.getElementById("sound-toggle"),
    pause: document.getElementById("sound-pause"),
    level: function () { var l = list(); return l ? window.KetacareAlarmSound.worst(l) : "none"; }
  });

  var pending = false;
  function refresh() {
    if (pending) return;
    pending = true;
    fetch(url, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        pending = false;
        if (!html) return;
        var tmp = document.createElement("div");
        tmp.innerHTML = html;
        var newList = tmp.querySelector("#alarm-list"), newSummary = tmp.querySelector("#alarm-summary");
        var oldList = list(), oldSummary = document.getElementById("alarm-summary");
        if (!newList || !oldList) return;
        var typed = {}, focused = document.activeElement && document.activeElement.id;
        oldList.querySelectorAll("input[id]").forEach(function (i) { if (i.value) typed[i.id] = i.value; });
        oldList.replaceWith(newList);
        Object.keys(typed).forEach(function (id) {
          var i = document.getElementById(id);
          if (i && !i.value) i.value = typed[id];
        });
        if (focused) { var f = document.getElementById(focused); if (f) f.focus(); }
        if (newSummary && oldSummary && newSummary.textContent !== oldSummary.textContent) {
          oldSummary.textContent = newSummary.textContent;  // announced once (role="alert")
          oldSummary.className = newSummary.className;
        }
      })
      .catch(function () { pending = false; });
  }

  if (!window.EventSource) return;
  var es = new EventSource("/board/events");
  es.addEventListener("chair", function (ev) {
    var c = JSON.parse(ev.data);
    if (String(c.session_id) === String(sessionId)) refresh();
  });
  es.addEventListener("snapshot", function () { refresh(); });
})();
