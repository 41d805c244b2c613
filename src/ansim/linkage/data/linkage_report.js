// Ansim linkage report: draws the report's figures (built from its counts only) with Plotly.
"use strict";
(function () {
  const source = document.getElementById("linkage-figures");
  if (!source || typeof Plotly === "undefined") return;
  const figures = JSON.parse(source.textContent);
  const config = {displaylogo: false, responsive: true};
  for (const [id, figure] of Object.entries(figures)) {
    const node = document.getElementById(id);
    if (node) Plotly.newPlot(node, figure.data, figure.layout, config);
  }
})();
