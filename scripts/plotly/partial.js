// The dashboard's partial Plotly bundle: the core (scatter) plus only the trace types
// src/fuelpipe/dashboard/static/app.js draws. Built by scripts/plotly/build.mjs (`make plotly`).
"use strict";
var Plotly = require("plotly.js/lib/core");

Plotly.register([
  require("plotly.js/lib/bar"),
  require("plotly.js/lib/heatmap"),
  require("plotly.js/lib/choropleth"),
]);

module.exports = Plotly;
