// Draws the report charts from the options the server wrote into data-option (Apache ECharts, vendored).
// Without JavaScript the tables beside each chart carry the same figures.
(function () {
  "use strict";
  function tip(params) {
    var list = Array.isArray(params) ? params : [params];
    return list.map(function (p) {
      if (p.data && p.data.tip) return p.data.tip;
      return (p.seriesName ? p.seriesName + ": " : "") + p.value;
    }).join("<br>");
  }
  function draw(el) {
    if (el.dataset.drawn || !window.echarts) return;
    var option = JSON.parse(el.dataset.option);
    option.tooltip = Object.assign({ formatter: tip, confine: true }, option.tooltip || {});
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option);
    el.dataset.drawn = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function drawAll() { document.querySelectorAll(".echart[data-option]").forEach(draw); }
  document.addEventListener("DOMContentLoaded", drawAll);
  document.addEventListener("htmx:afterSettle", drawAll);
})();
