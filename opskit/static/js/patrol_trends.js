/* opskit patrol trends: one reading over time, per room or asset, with its limits as lines.
 *
 * The page puts the data in <script type="application/json" id="trend-data"> (no inline code:
 * the CSP allows scripts from opskit only). Limits become markLines: normal dashed green,
 * warning orange, critical red.
 */
(function () {
  "use strict";

  var el = document.getElementById("trend-chart");
  var source = document.getElementById("trend-data");
  if (!el || !source || typeof echarts === "undefined") return;
  var spec = JSON.parse(source.textContent);
  var colours = { normal: "#198754", warning: "#fd7e14", critical: "#dc3545" };

  var lines = spec.limits.map(function (line) {
    return {
      yAxis: line.value,
      name: line.label,
      lineStyle: { color: colours[line.kind], type: line.kind === "normal" ? "dashed" : "solid" },
      label: { formatter: line.label + " " + line.value + spec.unit, position: "insideEndTop" }
    };
  });
  var values = [];
  spec.series.forEach(function (s) { s.data.forEach(function (p) { values.push(p[1]); }); });
  spec.limits.forEach(function (l) { values.push(l.value); });

  var series = spec.series.map(function (s, i) {
    return {
      name: s.name,
      type: "line",
      showSymbol: true,
      showAllSymbol: true,
      symbolSize: 8,
      data: s.data.map(function (p) {
        var abnormal = p[2] === "warning" || p[2] === "critical";
        return {
          value: [p[0], p[1]],
          itemStyle: abnormal ? { color: colours[p[2]] } : undefined
        };
      }),
      markLine: i === 0 ? { symbol: "none", silent: true, data: lines } : undefined
    };
  });
  if (!series.length) {
    series.push({ type: "line", data: [], markLine: { symbol: "none", silent: true, data: lines } });
  }

  // a percentage (%, %RH) never runs past 100 on the axis unless a reading does
  var percent = /^%/.test(spec.unit || "");
  var low = values.length ? Math.floor(Math.min.apply(null, values) - 2) : null;
  var high = values.length ? Math.ceil(Math.max.apply(null, values) + 2) : null;
  if (percent && high !== null) {
    var top = Math.max.apply(null, values);
    high = top > 100 ? Math.ceil(top) : Math.min(high, 100);
    low = Math.max(low, 0);
  }

  var chart = echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    animation: false,
    title: spec.series.length ? undefined : { text: spec.empty, left: "center", top: "middle",
      textStyle: { fontSize: 14, color: "#6c757d" } },
    tooltip: { trigger: "axis", valueFormatter: function (v) { return v + spec.unit; } },
    legend: { bottom: 0 },
    grid: { left: 50, right: 110, top: 20, bottom: 50 },
    xAxis: { type: "time", min: spec.start, max: spec.end },
    yAxis: {
      type: "value",
      name: spec.unit,
      min: low,
      max: high
    },
    series: series
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
