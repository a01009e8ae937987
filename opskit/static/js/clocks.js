// Count SLA clocks down every second; htmx refreshes the list (and these values) every 15 s.
// data-remaining is the time left in seconds on the level's own calendar (working time for
// 5x8), computed by the server at render time; between refreshes it runs down in wall time,
// which is exact for 24x7 clocks and is corrected by the next refresh for 5x8 ones.
(function () {
  "use strict";
  function fmt(seconds) {
    var sign = seconds < 0 ? "-" : "";
    var s = Math.abs(Math.round(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return sign + h + ":" + String(m).padStart(2, "0") + ":" + String(r).padStart(2, "0");
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".opskit-clock[data-running] .opskit-clock-left").forEach(function (el) {
      var out = el.querySelector(".opskit-countdown");
      if (!out) return;
      if (!el.dataset.since) el.dataset.since = String(now);
      var left = parseFloat(el.dataset.remaining) - (now - parseFloat(el.dataset.since)) / 1000;
      out.textContent = fmt(left);
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);
  tick();
})();
