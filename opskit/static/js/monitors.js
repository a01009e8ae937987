// Monitoring screens: the topology graph (ECharts force layout; tap a node to open its asset)
// and the trend charts on an asset page (each .opskit-trend loads its own series JSON).
(function () {
  "use strict";
  var STATE_COLORS = {
    up: "#198754", alert: "#fd7e14", down: "#b02a37", unknown: "#6c757d", none: "#6c757d",
    unregistered: "#adb5bd"
  };

  function topology(el) {
    fetch(el.dataset.src, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (!data.nodes.length) {
          var empty = document.getElementById("topology-empty");
          if (empty) empty.classList.remove("d-none");
        }
        var chart = echarts.init(el);
        chart.setOption({
          tooltip: { formatter: function (p) {
            if (p.dataType === "edge") return p.data.ports;
            return p.data.name + (p.data.label ? " · " + p.data.label : "") +
              (p.data.outside ? " (" + (el.dataset.outsideLabel || "outside") + ")" : "");
          } },
          series: [{
            type: "graph", layout: "force", roam: true, draggable: true,
            force: { repulsion: 220, edgeLength: [60, 140] },
            label: { show: true, position: "bottom", fontSize: 12 },
            symbolSize: 28,
            data: data.nodes.map(function (n) {
              // a device outside the chosen site/room (the far end of an uplink): faded, dashed rim
              var style = { color: STATE_COLORS[n.state] || "#6c757d" };
              if (n.outside) {
                style.opacity = 0.45; style.borderColor = "#212529"; style.borderWidth = 2;
                style.borderType = "dashed";
              }
              return { id: n.id, name: n.name, label: n.label, url: n.url, state: n.state,
                       outside: !!n.outside,
                       symbol: n.kind === "switch" || n.kind === "router" ? "roundRect" : "circle",
                       itemStyle: style };
            }),
            links: data.edges.map(function (e) {
              return { source: e.source, target: e.target, ports: e.ports,
                       lineStyle: { type: e.source_kind === "lldp" ? "dashed" : "solid", width: 2 } };
            }),
          }],
        });
        chart.on("click", function (p) {
          if (p.dataType === "node" && p.data.url) window.location.href = p.data.url;
        });
        el.dataset.nodes = String(data.nodes.length);
        el.dataset.edges = String(data.edges.length);
        el.dataset.outside = String(data.nodes.filter(function (n) { return n.outside; }).length);
        window.addEventListener("resize", function () { chart.resize(); });
      });
  }

  // The site/room filter: a new site starts with all its rooms; either choice reloads the page
  // with ?site=&room= (so the URL can be shared).
  function filter(select) {
    var form = document.getElementById("topology-filter");
    var room = document.getElementById("topology-room");
    if (select.id === "topology-site" && room) room.value = "";
    var params = new URLSearchParams();
    var site = document.getElementById("topology-site").value;
    if (site) params.set("site", site);
    if (room && room.value) params.set("room", room.value);
    var query = params.toString();
    window.location.href = form.getAttribute("action") + (query ? "?" + query : "");
  }
  document.addEventListener("change", function (evt) {
    var select = evt.target;
    if (!select || (select.id !== "topology-site" && select.id !== "topology-room")) return;
    filter(select);
  });
  // A choice made before this script ran (a quick finger on a slow tablet) fired its change
  // event before anyone listened: act on it now.
  ["topology-site", "topology-room"].forEach(function (id) {
    var select = document.getElementById(id);
    if (select && !filter.done && select.selectedIndex !== loadedIndex(select)) {
      filter.done = true;
      filter(select);
    }
  });
  // back from another filter (the page kept in the back/forward cache): show this page's choice
  window.addEventListener("pageshow", function (evt) {
    if (!evt.persisted) return;
    ["topology-site", "topology-room"].forEach(function (id) {
      var select = document.getElementById(id);
      if (select) select.selectedIndex = loadedIndex(select);
    });
  });
  function loadedIndex(select) {
    // the option the page came with: the last one marked selected, else the first
    var index = 0;
    for (var i = 0; i < select.options.length; i++) if (select.options[i].defaultSelected) index = i;
    return index;
  }

  function trend(el, force) {
    if (el.dataset.loaded && !force) return;
    el.dataset.loaded = "1";
    var url = el.dataset.src + (el.dataset.src.indexOf("?") === -1 ? "?" : "&") + "range=" + (el.dataset.range || "24h");
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var chart = echarts.getInstanceByDom(el) || echarts.init(el);
        var unit = el.dataset.unit || "";
        chart.setOption({
          animation: false,
          grid: { left: 44, right: 12, top: 12, bottom: 28 },
          tooltip: { trigger: "axis", confine: true, valueFormatter: function (v) {
            return v === null || v === undefined ? "—" : (Math.round(v * 100) / 100) + (unit ? " " + unit : "");
          } },
          xAxis: { type: "time" },
          yAxis: { type: "value", scale: true },
          dataZoom: [{ type: "inside" }],
          series: [{ type: "line", data: data.points, showSymbol: data.points.length < 60, symbolSize: 5 }],
        });
        el.dataset.points = String(data.points.length);
        el.dataset.resolution = String(data.resolution);
      });
  }

  // 24 hours of raw readings, 7 days of 5-minute and 90 days of hourly rollups
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("#trend-ranges [data-range]");
    if (!button) return;
    document.querySelectorAll("#trend-ranges [data-range]").forEach(function (b) {
      b.classList.toggle("btn-secondary", b === button);
      b.classList.toggle("btn-outline-secondary", b !== button);
    });
    document.querySelectorAll(".opskit-trend").forEach(function (el) {
      el.dataset.range = button.dataset.range;
      trend(el, true);
    });
  });

  function init(root) {
    if (typeof echarts === "undefined") return;
    var scope = root || document;
    var topo = scope.querySelector ? scope.querySelector("#topology") : null;
    if (topo && !topo.dataset.started) { topo.dataset.started = "1"; topology(topo); }
    scope.querySelectorAll(".opskit-trend").forEach(trend);
  }

  document.addEventListener("htmx:load", function (evt) { init(evt.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
