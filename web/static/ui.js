/* Draws each page's charts with uPlot from the JSON beside them; without script the tables
   beside the charts carry the same figures. */
(function () {
  "use strict";
  var palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"];
  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-chart"));
    if (!source || typeof uPlot === "undefined") { return; }
    var chart = JSON.parse(source.textContent);
    var xs = chart.x.map(function (_, i) { return i; });
    var data = [xs];
    var series = [{ label: chart.x_label, value: function (u, v) { return v == null ? "" : chart.x[v]; } }];
    /* the legend names each series; its value only while the cursor is on a point (never "--") */
    function shown(u, v) { return v == null ? "" : Number(v).toLocaleString("en", { maximumFractionDigits: 3 }); }
    var isBar = chart.kind === "bar" && uPlot.paths && uPlot.paths.bars;
    var n = Math.max(1, chart.series.length), w = 0.8 / n;
    function grouped(i) {  /* bars side by side: series i starts at x - 0.4 + i * w */
      return uPlot.paths.bars({ disp: {
        x0: { unit: 1, values: function (u) { return u.data[0].map(function (x) { return x - 0.4 + i * w; }); } },
        size: { unit: 1, values: function () { return [w]; } } } });
    }
    function short(label) { return label.length > 14 ? label.slice(0, 12) + "\u2026" : label; }
    chart.series.forEach(function (s, i) {
      data.push(s.values.map(function (v) { return v === null ? null : Number(v); }));
      var colour = palette[i % palette.length];
      series.push({ label: s.label, value: shown, stroke: colour, width: isBar ? 0 : 2, fill: isBar ? colour : undefined,
                    paths: isBar ? grouped(i) : undefined, points: { show: !isBar && chart.x.length < 40 } });
    });
    var width = Math.max(320, el.clientWidth || 600);
    new uPlot({
      title: chart.title, width: width, height: 300, series: series,
      scales: { x: { time: false, range: function (u, min, max) { return [min - 0.5, max + 0.5]; } },
                y: { range: function (u, min, max) {  /* from zero, so bars and levels compare */
                  var lo = Math.min(0, min), hi = Math.max(0, max);
                  return [lo, hi === lo ? lo + 1 : hi + (hi - lo) * 0.05]; } } },
      axes: [{ space: 90, rotate: isBar && chart.x.length > 6 ? -30 : 0, size: isBar && chart.x.length > 6 ? 80 : 50,
               values: function (u, ticks) { return ticks.map(function (t) { return Number.isInteger(t) && chart.x[t] !== undefined ? short(chart.x[t]) : ""; }); } },
             { size: 90 }]
    }, data, el);
    el.setAttribute("data-drawn", "true");
  }
  document.querySelectorAll("[data-chart]").forEach(draw);
})();
