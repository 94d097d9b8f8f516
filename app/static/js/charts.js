/* Draws every chart of a page: an element with data-chart holds its ECharts option (JSON, built
   on the server). A bar whose data item carries a url opens the list behind it. The numbers are
   also in a table beside each chart, so the page reads without this script. */
(function () {
  "use strict";
  if (typeof window.echarts === "undefined") { return; }
  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var option;
    try { option = JSON.parse(el.getAttribute("data-chart")); } catch (e) { return; }
    el.classList.add("chart-drawn");
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    chart.on("click", function (params) {
      if (params.data && typeof params.data.url === "string" && params.data.url.charAt(0) === "/") {
        window.location.assign(params.data.url);
      }
    });
    charts.push(chart);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
