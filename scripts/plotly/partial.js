// The dashboard's partial Plotly bundle: the core (scatter) plus only the trace types
// src/fuelpipe/dashboard/static/app.js draws. Built by scripts/plotly/build.mjs (`make plotly`).
"use strict";
var Plotly = require("plotly.js/lib/core");

Plotly.register([
  require("plotly.js/lib/bar"),
  require("plotly.js/lib/heatmap"),
  require("plotly.js/lib/choropleth"),
  // Plotly's own words for pt-BR pages: the strings the dashboard's charts show, picked from
  // plotly.js's pt-br locale by build.mjs.
  require("fuelpipe:plotly-locale-pt-br"),
]);

module.exports = Plotly;
