/* Draws every chart on the page from the JSON the server embedded next to it. */
(function () {
  "use strict";
  function draw(holder) {
    var source = document.getElementById(holder.id + "-data");
    if (!source || !window.Plotly) { return; }
    var figure = JSON.parse(source.textContent);
    var config = { responsive: true, displaylogo: false,
      modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"] };
    window.Plotly.newPlot(holder, figure.data, figure.layout, config).then(function () {
      if (holder.dataset.clickable !== undefined) {
        holder.on("plotly_click", function (event) {
          var point = event.points && event.points[0];
          var link = point && point.customdata && (Array.isArray(point.customdata) ? point.customdata[0] : point.customdata);
          if (link) { window.location.href = link; }
        });
      }
      holder.setAttribute("data-drawn", "true");
    });
  }
  function drawAll() {
    document.querySelectorAll(".chart[id]").forEach(draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
  // Printing: redraw at the paper's width so charts are not cut off.
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll(".chart[data-drawn]").forEach(function (holder) {
      window.Plotly.Plots.resize(holder);
    });
  });
})();
