// Ansim portal: draws a table page's figures (built on the server from released numbers only).
"use strict";
(function () {
  const source = document.getElementById("figures");
  if (!source || typeof Plotly === "undefined") return;
  const figures = JSON.parse(source.textContent);
  // topojsonURL: Plotly's geo layer would fetch a world map from its CDN; the portal serves none
  const config = {displaylogo: false, responsive: true, topojsonURL: "/public/static/topojson/"};
  const margin = {l: 50, r: 20, t: 20, b: 90};
  let geojson = null;

  function withGeo(traces) {
    return traces.map((trace) => Object.assign({}, trace, {geojson: geojson}));
  }
  // the grey 31 si/gun once per page, each view's released values on top
  const base = figures.map_base;
  function drawView(index) {
    const view = figures.views[index];
    if (!view) return;
    Plotly.react("chart", view.bar, {margin: margin, yaxis: {rangemode: "tozero"}}, config);
    if (view.map && document.getElementById("map") && geojson) {
      Plotly.react("map", withGeo([base, view.map]), {
        margin: {l: 0, r: 0, t: 0, b: 0},
        geo: {fitbounds: "locations", visible: false, projection: {type: "mercator"}},
      }, config);
    }
  }
  function drawSeries(index) {
    const series = figures.series[index];
    if (!series) return;
    Plotly.react("series", series.traces, {margin: margin}, config);
  }
  const slice = document.getElementById("slice");
  if (slice) slice.addEventListener("change", () => drawView(Number(slice.value)));
  const seriesSlice = document.getElementById("series-slice");
  if (seriesSlice) seriesSlice.addEventListener("change", () => drawSeries(Number(seriesSlice.value)));
  drawSeries(0);
  const needsMap = figures.views.some((view) => view.map) && document.getElementById("map");
  const first = slice ? Number(slice.value) : (figures.first || 0);
  if (!needsMap) { drawView(first); return; }
  fetch("/public/geo/gyeonggi-sigungu.geojson")
    .then((response) => response.json())
    .then((data) => { geojson = data; drawView(first); })
    .catch(() => drawView(first));
})();
