// Dashboard: 24-hour sparklines of room temperature/humidity, coloured by the room limits.
// Each .opskit-sparkline carries its points (data-series: [[iso time, value], ...]) and its
// limits (data-limits: {normal: [lo, hi], critical: [lo, hi]}). Tiles are swapped by htmx, so
// charts are (re)drawn on every htmx:load as well as on the first page load.
(function () {
  "use strict";
  var COLORS = { ok: "#198754", warning: "#fd7e14", critical: "#b02a37" };

  function pieces(limits) {
    // visualMap pieces from the limits: inside normal green, between normal and critical
    // orange, beyond critical red.
    var n = limits.normal || [null, null], c = limits.critical || [null, null];
    var out = [];
    var nlo = n[0], nhi = n[1], clo = c[0], chi = c[1];
    if (clo !== null) out.push({ lt: clo, color: COLORS.critical });
    if (nlo !== null) out.push({ gte: clo !== null ? clo : -1e9, lt: nlo, color: COLORS.warning });
    out.push({ gte: nlo !== null ? nlo : -1e9, lte: nhi !== null ? nhi : 1e9, color: COLORS.ok });
    if (nhi !== null) out.push({ gt: nhi, lte: chi !== null ? chi : 1e9, color: COLORS.warning });
    if (chi !== null) out.push({ gt: chi, color: COLORS.critical });
    return out;
  }

  function draw(el) {
    if (typeof echarts === "undefined") return;
    var data = JSON.parse(el.dataset.series || "[]");
    var limits = JSON.parse(el.dataset.limits || "{}");
    var old = echarts.getInstanceByDom(el);
    if (old) old.dispose();
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      grid: { left: 2, right: 2, top: 4, bottom: 4 },
      xAxis: { type: "time", show: false },
      yAxis: { type: "value", show: false, scale: true },
      tooltip: { trigger: "axis", confine: true },
      visualMap: { show: false, dimension: 1, pieces: pieces(limits), outOfRange: { color: "#6c757d" } },
      series: [{ type: "line", data: data, showSymbol: false, lineStyle: { width: 2 } }],
    });
    el.dataset.drawn = String(data.length);
  }

  function drawAll(root) {
    (root || document).querySelectorAll(".opskit-sparkline").forEach(draw);
  }

  document.addEventListener("htmx:load", function (evt) { drawAll(evt.target); });

  // The site selector: choosing a site shows the dashboard of that site at once (a plain GET
  // of /?site=<id>, which the server remembers for the session; without script, a button).
  var siteSelect = document.getElementById("site-select");
  if (siteSelect) {
    siteSelect.addEventListener("change", function () { siteSelect.form.submit(); });
    // A choice made while the page was still loading this script (a quick finger on a slow
    // tablet) fired its change event before anyone listened: act on it now.
    // (The option the page came with: the last one marked selected, else the first.)
    var loaded = 0;
    for (var i = 0; i < siteSelect.options.length; i++) if (siteSelect.options[i].defaultSelected) loaded = i;
    var early = siteSelect.selectedIndex !== loaded;
    siteSelect.dataset.state = early ? "sent" : "ready"; // for the browser tests
    if (early) siteSelect.form.submit();
    // back from the chosen site (the page kept in the back/forward cache): show this page's site
    window.addEventListener("pageshow", function (evt) {
      if (evt.persisted) siteSelect.selectedIndex = loaded;
    });
  }

  // A refresh answered by the login page (the session ended): go to the login page instead of
  // drawing it inside a tile. A refresh that fails keeps the tile and greys it out until the
  // next one succeeds, so a wall screen never shows stale values as current.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var url = (evt.detail.xhr && evt.detail.xhr.responseURL) || "";
    if (url.indexOf("/login") !== -1) {
      evt.detail.shouldSwap = false;
      window.location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    }
  });
  function stale(evt) {
    var tile = evt.detail.elt && evt.detail.elt.closest && evt.detail.elt.closest(".opskit-dash-tile");
    if (tile) tile.classList.add("opskit-stale");
  }
  document.addEventListener("htmx:sendError", stale);
  document.addEventListener("htmx:responseError", stale);
  window.addEventListener("resize", function () {
    document.querySelectorAll(".opskit-sparkline").forEach(function (el) {
      var c = typeof echarts !== "undefined" && echarts.getInstanceByDom(el);
      if (c) c.resize();
    });
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  } else {
    drawAll(document);
  }
})();
