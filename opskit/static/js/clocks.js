// SLA clocks, live: every second each running clock's line under its deadline is rebuilt from
// what the server said when it rendered the page (data-live, see opskit/alerts/wording.py):
//   remaining  seconds left on the level's own calendar (negative: overdue)
//   periods    null for a 7x24 clock; for a 5x8 clock the coming working periods as
//              [start, end, "resumes Mon 08:00"] in seconds from the server's now
//   words      the page's language: "time left", "overdue by %(time)s", units, "Paused ..."
// Only the time elapsed since the page was drawn is measured here (performance.now()), never
// the browser's wall clock, so a tablet with a wrong clock or zone cannot pause, resume or
// shorten a clock. htmx refreshes the list (and these values) every 15 s.
(function () {
  "use strict";

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, key) { return String(values[key]); });
  }

  // the same wording as wording.human_duration: "24 min", "2 hours 5 min", "3 days 4 hours"
  function human(seconds, w) {
    var minutes = Math.floor(Math.abs(seconds) / 60);
    if (minutes < 1) return w.under_min;
    var days = Math.floor(minutes / 1440), rest = minutes % 1440;
    var hours = Math.floor(rest / 60), mins = rest % 60;
    function unit(n, one, many) { return n === 1 ? w[one] : fill(w[many], { num: n }); }
    var parts;
    if (days) parts = [unit(days, "day", "days")].concat(hours ? [unit(hours, "hour", "hours")] : []);
    else if (hours) parts = [unit(hours, "hour", "hours")].concat(mins ? [fill(w.min, { num: mins })] : []);
    else parts = [fill(w.min, { num: mins })];
    return parts.join(" ");
  }

  // H:MM:SS, the same format as the server's |duration filter
  function hms(seconds) {
    var s = Math.max(0, Math.round(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return h + ":" + String(m).padStart(2, "0") + ":" + String(r).padStart(2, "0");
  }

  // where the clock stands `t` seconds after the server rendered it
  function stand(live, t) {
    if (!live.periods) return { left: live.remaining - t, paused: false, resume: "" };
    var worked = 0, inside = false, next = null;
    live.periods.forEach(function (p) {
      var from = Math.max(p[0], 0), to = Math.min(p[1], t);
      if (to > from) worked += to - from;
      if (p[0] <= t && t < p[1]) inside = true;
      if (next === null && p[0] > t) next = p;
    });
    return { left: live.remaining - worked, paused: !inside, resume: !inside && next ? next[2] : "" };
  }

  function span(cls, text) {
    var el = document.createElement("span");
    el.className = cls;
    el.textContent = text;
    return el;
  }

  function draw(clock, now) {
    var box = clock.querySelector(".opskit-clock-left");
    if (!box) return;
    var live = clock._opskitLive;
    if (!live) {
      try { live = JSON.parse(clock.dataset.live || "null"); } catch (e) { live = null; }
      if (!live) return;
      clock._opskitLive = live;
      clock._opskitSince = now;
    }
    var s = stand(live, (now - clock._opskitSince) / 1000), w = live.words;
    var overdue = s.left < 0;
    var key = [overdue ? human(s.left, w) : "", s.paused, s.resume, overdue || s.paused ? "" : hms(s.left)].join("|");
    if (key === clock._opskitKey) return;
    clock._opskitKey = key;
    var parts = [];
    if (overdue) parts.push(span("opskit-overdue d-block text-danger fw-semibold", fill(w.overdue, { time: human(s.left, w) })));
    if (s.paused) {
      parts.push(span("opskit-paused d-block", w.paused));
      if (s.resume) parts.push(span("opskit-resume d-block small", s.resume));
    } else if (!overdue) {
      parts.push(document.createTextNode(w.left + ": "));
      parts.push(span("opskit-countdown", hms(s.left)));
    }
    box.replaceChildren.apply(box, parts);
    box.dataset.remaining = String(Math.round(s.left));
    clock.dataset.drawn = "1"; // for the browser tests: this script has drawn the clock
    if (s.paused) clock.dataset.paused = "1"; else delete clock.dataset.paused;
    if (overdue && clock.dataset.state !== "breached") {
      clock.classList.remove("opskit-clock-running", "opskit-clock-warning");
      clock.classList.add("opskit-clock-breached");
      clock.dataset.state = "breached";
    }
  }

  function tick() {
    var now = performance.now();
    document.querySelectorAll(".opskit-clock[data-running][data-live]").forEach(function (c) { draw(c, now); });
  }
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);
  tick();
})();
