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
            // settle the layout before the first paint (a few dozen devices: instant), then hide
            // a label that would overlap another; tapping a device shows its name and links
            force: { repulsion: 300, edgeLength: [45, 100], gravity: 0.22, layoutAnimation: false },
            label: { show: true, position: "bottom", fontSize: 12, width: 110, overflow: "truncate" },
            labelLayout: { hideOverlap: true },
            emphasis: { focus: "adjacency", label: { show: true } },
            symbolSize: 30,
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
        fit(chart);
        chart.on("click", function (p) {
          if (p.dataType === "node" && p.data.url) window.location.href = p.data.url;
        });
        el.dataset.nodes = String(data.nodes.length);
        el.dataset.edges = String(data.edges.length);
        el.dataset.outside = String(data.nodes.filter(function (n) { return n.outside; }).length);
        window.addEventListener("resize", function () { chart.resize(); });
      });
  }

  // Zoom the settled layout so every device and its label fits the box (a large site on a tablet
  // held upright would otherwise spill over the edges); never zoom in past 1.
  function fit(chart) {
    var series = chart.getModel().getSeriesByIndex(0);
    var data = series && series.getData();
    if (!data || !data.count()) return;
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (var i = 0; i < data.count(); i++) {
      var p = data.getItemLayout(i);
      if (!p) continue;
      x0 = Math.min(x0, p[0]); x1 = Math.max(x1, p[0]); y0 = Math.min(y0, p[1]); y1 = Math.max(y1, p[1]);
    }
    if (!isFinite(x0)) return;
    var zoom = Math.min(1, (chart.getWidth() - 120) / Math.max(1, x1 - x0),
      (chart.getHeight() - 70) / Math.max(1, y1 - y0));
    chart.setOption({ series: [{ center: [(x0 + x1) / 2, (y0 + y1) / 2 + 8], zoom: zoom }] });
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

  // How a chart shows its values. data-unit is the unit as people read it (translated);
  // data-per divides the stored values first (the page sets 86400 for durations stored in seconds,
  // shown in days). Percentages get a 0-100 axis (higher only when a value is above 100: an
  // overloaded UPS stays visible); bytes and bits per second are scaled to one unit per chart
  // (GB, Mbit/s) so the axis reads 16 GB, not 16,000,000,000.
  var SCALES = {
    "B": [1024, ["B", "KB", "MB", "GB", "TB", "PB"]],
    "bit/s": [1000, ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"]]
  };

  function round(v) { return Math.round(v * 100) / 100; }

  function display(el, points) {
    var per = Number(el.dataset.per) || 1;
    var unit = el.dataset.unit || "";
    var values = [];
    points.forEach(function (p) { if (p[1] !== null && p[1] !== undefined) values.push(p[1] / per); });
    var top = values.length ? Math.max.apply(null, values.map(Math.abs)) : 0;
    var scale = SCALES[unit];
    if (scale) {
      var i = 0;
      while (top >= scale[0] && i < scale[1].length - 1) { top /= scale[0]; per *= scale[0]; i++; }
      unit = scale[1][i];
    }
    var data = points.map(function (p) {
      return [p[0], p[1] === null || p[1] === undefined ? null : p[1] / per];
    });
    var yAxis = { type: "value", scale: true };
    if (unit === "%") {
      var highest = values.length ? Math.max.apply(null, values) : 0;
      yAxis = { type: "value", min: 0, max: highest > 100 ? Math.ceil(highest) : 100 };
    }
    var suffix = unit === "%" ? "%" : (unit ? " " + unit : "");
    // the ticks are ECharts' own round numbers: print them whole (only float noise trimmed)
    yAxis.axisLabel = { formatter: function (v) { return Number(v.toPrecision(10)) + suffix; } };
    return { data: data, yAxis: yAxis, suffix: suffix, unit: unit };
  }

  function trend(el, force) {
    if (el.dataset.loaded && !force) return;
    el.dataset.loaded = "1";
    var url = el.dataset.src + (el.dataset.src.indexOf("?") === -1 ? "?" : "&") + "range=" + (el.dataset.range || "24h");
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var chart = echarts.getInstanceByDom(el) || echarts.init(el);
        var shown = display(el, data.points);
        chart.setOption({
          animation: false,
          grid: { left: 44, right: 12, top: 12, bottom: 28 },
          tooltip: { trigger: "axis", confine: true, valueFormatter: function (v) {
            return v === null || v === undefined ? "—" : round(v) + shown.suffix;
          } },
          xAxis: { type: "time" },
          yAxis: shown.yAxis,
          dataZoom: [{ type: "inside" }],
          series: [{ type: "line", data: shown.data, showSymbol: data.points.length < 60, symbolSize: 5 }],
        }, { replaceMerge: ["yAxis"] });
        el.dataset.points = String(data.points.length);
        el.dataset.resolution = String(data.resolution);
        el.dataset.shownUnit = shown.unit; // for the browser tests
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
