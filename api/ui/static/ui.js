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
    var bars = chart.kind === "bar" && uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.8 / Math.max(1, chart.series.length)] }) : null;
    chart.series.forEach(function (s, i) {
      data.push(s.values.map(function (v) { return v === null ? null : Number(v); }));
      var colour = palette[i % palette.length];
      series.push({ label: s.label, stroke: colour, width: 2, fill: bars ? colour : undefined, paths: bars || undefined,
                    points: { show: chart.x.length < 40 } });
    });
    var width = Math.max(320, el.clientWidth || 600);
    new uPlot({
      title: chart.title, width: width, height: 300, series: series,
      scales: { x: { time: false, range: function (u, min, max) { return [min - 0.5, max + 0.5]; } } },
      axes: [{ values: function (u, ticks) { return ticks.map(function (t) { return Number.isInteger(t) && chart.x[t] !== undefined ? chart.x[t] : ""; }); } },
             { size: 70 }]
    }, data, el);
    el.setAttribute("data-drawn", "true");
  }
  document.querySelectorAll("[data-chart]").forEach(draw);
})();
