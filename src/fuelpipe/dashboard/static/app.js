/* fuelpipe dashboard: reads the read-only API and draws every view with Plotly. No inline script. */
(function () {
  "use strict";

  const I18N = window.FUELPIPE_I18N;
  const COLORS = ["#0b6e99", "#e07b00", "#2e8540", "#b83b5e", "#6f42c1", "#5b6b79", "#c9a227"];
  const USD = "CURRENCY#USD";
  const BRENT = "COMMODITY#BRENT";
  const BRENT_BRL = "BRENT_BRL";
  const PETR4 = "STOCK#PETR4";
  // One colour per series, the same in every chart: a fuel by its product (whatever its area),
  // each driver by its key. By position it changed with the lines a chart had (the orange of
  // ethanol in the overview was the dollar's under Price movement).
  const SERIES_COLORS = {
    "FUEL#GASOLINE": "#0b6e99",
    "FUEL#GASOLINE_PREMIUM": "#4fa3c7",
    "FUEL#ETHANOL": "#2e8540",
    "FUEL#DIESEL": "#4b2c82",
    "FUEL#DIESEL_S10": "#6f42c1",
    "FUEL#LPG": "#c9a227",
    "FUEL#CNG": "#8c564b",
    [USD]: "#e07b00",
    [BRENT]: "#16324f",
    [BRENT_BRL]: "#b83b5e",
    "COMMODITY#BRENT_FUTURES": "#d9829f",
    [PETR4]: "#5b6b79",
    "STOCK#PETR3": "#93a3b1",
  };
  const MAIN_FUELS = ["GASOLINE", "ETHANOL", "DIESEL"];
  const SAO_PAULO = "America/Sao_Paulo"; // every time the page shows is São Paulo's, labelled
  const VIEWS = {
    overview: { controls: ["window", "date"], date: "ctl.date" },
    movement: { controls: ["fuel", "area", "window", "date"], date: "ctl.date" },
    map: { controls: ["fuel", "date"], date: "ctl.week" },
    parity: { controls: ["date"], date: "ctl.week" },
    correlations: { controls: ["fuel", "area", "window", "date"], date: "ctl.date" },
    lags: { controls: ["fuel", "area", "driver", "window", "date"], date: "ctl.date" },
    // Drawn by outlook.js and health.js, each loaded on its own when its tab opens (lazyView).
    outlook: { controls: ["fuel", "area"], date: "ctl.date" },
    health: { controls: [], date: "ctl.date" },
  };
  const DEFAULTS = {
    view: "overview",
    fuel: "GASOLINE",
    area: "BR",
    driver: BRENT_BRL,
    window: "52",
    date: "",
    today: USD,
    health: "", // "all": every series in the completeness chart, not only those below 100%
    lang: (navigator.language || "en").toLowerCase().startsWith("pt") ? "pt-BR" : "en",
  };
  const state = Object.assign({}, DEFAULTS);
  // Plotly (a partial bundle) loads async so the data requests overlap with its parsing.
  const plotlyReady = new Promise((resolve, reject) => {
    if (window.Plotly) {
      resolve();
      return;
    }
    const script = document.getElementById("plotly-js");
    script.addEventListener("load", () => resolve());
    script.addEventListener("error", () => reject(new Error("plotly-partial.min.js did not load")));
  });
  let meta = null;
  let geojson = null;
  let renderToken = 0;
  let loads = 0; // load()'s tries
  let answers = 0; // /api/meta answers load() read, a stale one too (body[data-answers])
  let clockDay = "";
  let keyed = false; // the End date is being typed with the keys (bind() wires it)
  let asked = {}; // the values the address named, by key
  let refused = []; // [key, value] the page fell back from (sanitizeChoices)
  let todayRefused = ""; // the link's Today series without intraday values (viewToday)

  // --- text and numbers -------------------------------------------------------------------

  function t(key, vars) {
    const dict = I18N[state.lang] || I18N.en;
    let text = key in dict ? dict[key] : key in I18N.en ? I18N.en[key] : key;
    if (vars) {
      text = text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
    }
    return text;
  }

  /** "1 week", "3 weeks": the noun's singular for exactly one, its plural otherwise. */
  function count(n, noun) {
    return t(`n.${noun}.${n === 1 ? "one" : "other"}`, { n: fmt.num(n, 0) });
  }

  /** A bar's lag in its hover, "lag of 1 week" ("week(s)" it said), "defasagem de 2 semanas". */
  const lagHover = (lag) => t("hover.lag", { weeks: count(lag, "week") });

  /** A sentence with a singular and a plural form: `${key}.one` when n is 1, else `.other`. */
  function tn(key, n, vars) {
    return t(`${key}.${n === 1 ? "one" : "other"}`, Object.assign({ n: fmt.num(n, 0) }, vars));
  }

  function seriesName(key) {
    const fuel = /^FUEL(_MONTHLY)?#([A-Z0-9_]+)#([A-Z_]+)$/.exec(key);
    if (fuel) {
      const name = `${t("product." + fuel[2])} — ${areaName(fuel[3])}`;
      return fuel[1] ? t("series.monthly", { name }) : name;
    }
    const name = t("series." + key);
    return name === "series." + key ? key : name;
  }

  // Brazil and the regions in the page's language (the API names them in English); a state by
  // its own name, the API's.
  function areaName(code) {
    if (code === "BR") return t("level.BR");
    if (code.startsWith("REGION_")) return t("area." + code);
    const area = meta && meta.areas.find((a) => a.code === code);
    return area ? area.label : code;
  }

  function currencyOf(unit) {
    if (!unit) return null;
    if (unit.startsWith("BRL")) return "BRL";
    if (unit.startsWith("USD")) return "USD";
    return null;
  }

  /** "R$ per m³" for BRL/m3: the unit's words, or the unit itself when it has none. */
  function unitName(unit) {
    if (!unit) return "";
    const name = t("unit." + unit);
    return name === "unit." + unit ? unit : name;
  }

  // Intl formatters are costly to build (the profile showed them on the first-chart path), so
  // each one is built once per language and options, then reused.
  const formatters = new Map();
  function formatter(Kind, options) {
    const key = `${Kind.name}|${state.lang}|${JSON.stringify(options)}`;
    let found = formatters.get(key);
    if (!found) {
      found = new Kind(state.lang, options);
      formatters.set(key, found);
    }
    return found;
  }

  // Intl writes a hyphen for minus; Plotly's axes, and typography, U+2212 (CSVs keep "-")
  const minus = (text) => text.replace("-", "\u2212");
  const fmt = {
    money(value, unit, digits) {
      if (value === null || value === undefined) return "—";
      const currency = currencyOf(unit);
      const d = digits === undefined ? 2 : digits;
      const options = currency
        ? { style: "currency", currency, minimumFractionDigits: d, maximumFractionDigits: d }
        : { minimumFractionDigits: d, maximumFractionDigits: d };
      // English wrote "R$6.46" beside its axes' "R$ 6.50": a space after R$ in both languages,
      // as Brazil writes it (pt-BR's Intl puts a no-break space there)
      return minus(formatter(Intl.NumberFormat, options).format(value)).replace(/R\$(?=\d)/, "R$\u00a0");
    },
    num(value, digits) {
      if (value === null || value === undefined) return "—";
      const d = digits === undefined ? 2 : digits;
      return minus(formatter(Intl.NumberFormat, {
        minimumFractionDigits: d,
        maximumFractionDigits: d,
      }).format(value));
    },
    pct(value, digits, signed) {
      if (value === null || value === undefined) return "—";
      const d = digits === undefined ? 1 : digits;
      return minus(formatter(Intl.NumberFormat, {
        style: "percent",
        minimumFractionDigits: d,
        maximumFractionDigits: d,
        signDisplay: signed === false ? "auto" : "exceptZero",
      }).format(value / 100));
    },
    date(iso) {
      if (!iso) return "—";
      return formatter(Intl.DateTimeFormat, { dateStyle: "medium", timeZone: "UTC" }).format(
        new Date(iso.slice(0, 10) + "T00:00:00Z"),
      );
    },
    /** A survey week by its Sunday, as the week it is ("Mar 6 – 12, 2022"), not as one day. */
    week(iso) {
      if (!iso) return "—";
      const first = new Date(iso.slice(0, 10) + "T00:00:00Z");
      const last = new Date(addDays(iso.slice(0, 10), 6) + "T00:00:00Z");
      return formatter(Intl.DateTimeFormat, { dateStyle: "medium", timeZone: "UTC" }).formatRange(first, last);
    },
    /** Seconds as minutes, as hours past two hours, as days past two days ("18.7 days"). */
    duration(seconds) {
      if (seconds === null || seconds === undefined) return "—";
      const minutes = seconds / 60;
      const [value, unit] = minutes < 120 ? [minutes, "minute"]
        : minutes < 2880 ? [minutes / 60, "hour"] : [minutes / 1440, "day"];
      return formatter(Intl.NumberFormat, {
        style: "unit", unit, unitDisplay: "short", minimumFractionDigits: 1, maximumFractionDigits: 1,
      }).format(value);
    },
    /** An instant as São Paulo's wall clock, whatever the browser's zone, and labelled so
     *  ("5/7/22, 11:59 PM (São Paulo time)"): every source publishes on Brazil's clock. */
    instant(iso) {
      if (!iso) return "—";
      return t("time.sp", { time: fmt.clock(iso) });
    },
    /** The same wall clock without its label, for a column whose header names the zone. */
    clock(iso) {
      if (!iso) return "—";
      return formatter(Intl.DateTimeFormat, {
        dateStyle: "short", timeStyle: "short", timeZone: SAO_PAULO,
      }).format(new Date(iso));
    },
  };

  /** The São Paulo calendar day (YYYY-MM-DD) of an instant: 02:59 UTC on the 8th is the 7th. */
  function spDay(iso) {
    const parts = formatter(Intl.DateTimeFormat, {
      year: "numeric", month: "2-digit", day: "2-digit", timeZone: SAO_PAULO,
    }).formatToParts(new Date(iso));
    const part = (type) => parts.find((p) => p.type === type).value;
    return `${part("year")}-${part("month")}-${part("day")}`;
  }
  // live.js labels its own instants the same way.
  window.FUELPIPE_INSTANT = (iso) => fmt.instant(iso);

  function isoDay(d) {
    return d.toISOString().slice(0, 10);
  }

  function addDays(iso, days) {
    const d = new Date(iso + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + days);
    return isoDay(d);
  }

  function sundayOf(iso) {
    const d = new Date(iso + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() - d.getUTCDay());
    return isoDay(d);
  }

  // --- state in the URL --------------------------------------------------------------------

  /** The state the address names; what it leaves out is the default (Back to an address
   *  without a key must not keep the key's later value). */
  function readUrl() {
    Object.assign(state, DEFAULTS);
    asked = {};
    todayRefused = "";
    const params = new URLSearchParams(window.location.search);
    for (const key of Object.keys(DEFAULTS)) {
      const value = params.get(key);
      if (value !== null) state[key] = asked[key] = value;
    }
    // Own keys only: "constructor" is `in` every object, and a link naming it killed the page.
    if (!Object.hasOwn(VIEWS, state.view)) state.view = DEFAULTS.view;
    if (!Object.hasOwn(I18N, state.lang)) state.lang = DEFAULTS.lang;
    if (!["13", "26", "52", "104", "0"].includes(state.window)) state.window = DEFAULTS.window;
    if (state.date && !isDay(state.date)) state.date = ""; // writeUrl then drops it
    if (state.health !== "all") state.health = "";
    state.today = /^[A-Za-z0-9_#=.-]{1,40}$/.test(state.today) ? state.today.toUpperCase() : USD;
  }

  /** A real calendar day written YYYY-MM-DD (2022-13-45 is not one). */
  function isDay(text) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
    const d = new Date(text + "T00:00:00Z");
    return !Number.isNaN(d.getTime()) && isoDay(d) === text;
  }

  /** Put the state in the address: a new history entry for a user's change (`push`), so Back
   *  returns to the view before it; else the current entry rewritten (the first load's address
   *  normalised, a choice the API corrected). */
  function writeUrl(push) {
    const params = new URLSearchParams();
    for (const key of Object.keys(DEFAULTS)) {
      if (state[key]) params.set(key, state[key]);
    }
    const url = window.location.pathname + "?" + params.toString();
    if (url !== window.location.pathname + window.location.search) {
      if (push) window.history.pushState(null, "", url);
      else window.history.replaceState(null, "", url);
    }
    pageLinks();
    const box = document.getElementById("share-link"); // the link to copy by hand: this one
    if (!box.hidden) box.value = window.location.href;
  }

  /** A user's change of view, control or language: a history entry of its own, then drawn
   *  (the page never loaded: tried again, its failure said in the view and language picked);
   *  `keep` (a change of language) keeps the link's note, said again in the new language. */
  function navigate(keep) {
    if (!keep) { // the reader's own choice: the link's notes have done their work
      refused = [];
      todayRefused = "";
    }
    writeUrl(true);
    if (meta) return render();
    showView();
    return load();
  }

  function sanitizeChoices() {
    // a known code in any case, as the API takes it (fuel=lpg is LPG)
    const pick = (list, key) => {
      const up = state[key].toUpperCase();
      state[key] = (list.find((x) => x.code.toUpperCase() === up) || { code: DEFAULTS[key] }).code;
    };
    pick(meta.products, "fuel");
    pick(meta.areas, "area");
    pick(meta.drivers, "driver");
    // An old or mistyped link's choices are not dropped silently: the note names each value the
    // page fell back from and what it shows instead (the Today panel names its series itself).
    refused = Object.entries(asked).filter(([key, value]) =>
      value.toUpperCase() !== state[key].toUpperCase());
  }

  const REFUSED_WHAT = { health: "tab.health", today: "today.series" }; // else "ctl." + key
  /** What the page shows for a key instead of the link's value, in the page's language. */
  function shownFor(key) {
    const v = state[key];
    return {
      view: () => t("tab." + v),
      fuel: () => t("product." + v),
      area: () => areaName(v),
      driver: () => seriesName(v),
      today: () => seriesName(v),
      window: () => t("win." + v),
      date: () => t("link.newest"),
      health: () => t("link.short"),
      lang: () => new Intl.DisplayNames([v], { type: "language" }).of(v),
    }[key]();
  }

  /** The note under the controls naming the link's refused values; hidden when there is none. */
  function showRefused() {
    const note = document.getElementById("link-note");
    note.textContent = refused.length ? t("link.refused", {
      list: refused.map(([key, value]) => t("link.item", {
        what: t(REFUSED_WHAT[key] || "ctl." + key),
        value: value.length > 40 ? value.slice(0, 40) + "…" : value,
        shown: shownFor(key),
      })).join("; "),
    }) : "";
    note.hidden = !refused.length;
  }

  // --- API -----------------------------------------------------------------------------------

  function api(path, params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (value === undefined || value === null || value === "") continue;
      if (Array.isArray(value)) value.forEach((v) => query.append(key, v));
      else query.set(key, value);
    }
    const text = query.toString();
    return text ? `${path}?${text}` : path;
  }

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) {
      let message = `${response.status}`;
      try {
        message = (await response.json()).detail || message;
      } catch (e) {
        /* keep the status */
      }
      throw Object.assign(new Error(message), { status: response.status });
    }
    return response.json();
  }

  function fuelKey(product, area) {
    return `FUEL#${product}#${area}`;
  }

  function levelOf(area) {
    const found = meta.areas.find((a) => a.code === area);
    return found ? found.level : "BR";
  }

  function coverage(product, level) {
    return meta.coverage.find((c) => c.product === product && c.level === level) || {};
  }

  function coverageText(product, level) {
    const c = coverage(product, level);
    if (!c.first) return t("coverage.none");
    return t("coverage.range", { first: fmt.date(c.first), last: fmt.date(c.last) });
  }

  /** The weeks stored for a product at each level that has any ("Brazil: … to …; Regions: …"):
   *  a week with no price at all is explained by every level's weeks, not the states' alone. */
  function coverageAll(product) {
    const levels = ["BR", "REGION", "STATE"].filter((level) => coverage(product, level).first);
    if (!levels.length) return t("coverage.none");
    return levels.map((level) => `${t("level." + level)}: ${coverageText(product, level)}`).join("; ");
  }

  /** A view's last day: the End date picked, else the last day (Saturday) of `week`, the
   *  newest survey week of the view's fuel. */
  function viewEnd(week) {
    return state.date || (week ? addDays(week, 6) : undefined);
  }

  /** The window's query, the same for every series of a view: its last day `last` and a start
   *  the window's weeks before it (the 52 weeks up to its week for "1 year": from the Sunday
   *  of the week 51 weeks before `last`'s, so a mid-week End date, whose own week is drawn
   *  from its Sunday, still gives 52 weeks, not 53 with a partial first one). An End date
   *  picked is `end`: the API keeps what was published by the end of that day (an ANP week
   *  from its Friday evening). Without one it is `until`: every series stops there with what
   *  is stored up to it, so a daily driver stored for years after the fuel's newest week does
   *  not run the "1 year" chart on past the fuel's year (precomputed.py sends the same). */
  function windowRange(last) {
    if (!last) return {};
    const cut = state.date ? { end: last } : { until: last };
    if (state.window === "0") return cut;
    return Object.assign({ start: addDays(sundayOf(last), 7 - 7 * Number(state.window)) }, cut);
  }

  /** The End date's bounds: from the first stored fuel week to the last day the API takes,
   *  366 days after the later of the São Paulo day of the server's clock (live.js reads it
   *  from /api/live) and the newest stored fuel week (app.py not_too_far_ahead). An End date
   *  refused says them again: the clock's arrives after the first view is drawn. */
  function dateBounds() {
    const days = meta.coverage.flatMap((c) => [c.first, c.last]).filter(Boolean).sort();
    const input = document.getElementById("date");
    const last = [clockDay, days[days.length - 1] || ""].sort()[1];
    // Chromium lays a date field out again when a bound moves, dropping the parts typed so far
    // (an /api/live answer between the day and the year: the date was never taken). A bound
    // waits while the reader types; takeDate and leaving the field set it.
    if (!keyed) {
      input.min = days[0] || "";
      input.max = last && addDays(last, 366);
    }
    const refusal = document.querySelector(`#view-${state.view} > #date-error`);
    if (refusal) refusal.textContent = dateError(input);
  }

  /** An End date the API refused, said with the bounds the field holds. */
  function dateError(input) {
    return t("error.date", {
      what: t(VIEWS[state.view].date), date: fmt.date(state.date),
      min: fmt.date(input.min), max: fmt.date(input.max),
    });
  }

  /** Ticks to two decimals (centavos; the parity's ratio) over a span of 0.1 or more, else
   *  Plotly's own: its scale wrote "7" beside "7.2" on the map's, "0.9" beside "0.85". */
  function hundredths(values) {
    return Math.max(...values) - Math.min(...values) >= 0.1 ? ",.2f" : "";
  }

  function fuelEnd() {
    return viewEnd(coverage(state.fuel, levelOf(state.area)).last || meta.latest);
  }

  // --- drawing -------------------------------------------------------------------------------

  const FONT = "Inter, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
  const TITLE_SIZE = 15;
  let measurer = null;

  /** The title split into lines (Plotly's <br>) that fit the chart's width, and the top margin
   *  they need: Plotly never wraps a title, so on a phone a long one ran off the chart. */
  function wrapTitle(text, width, top) {
    if (!text || !width) return { text, top };
    measurer = measurer || document.createElement("canvas").getContext("2d");
    measurer.font = `${TITLE_SIZE}px ${FONT}`;
    const room = width * 0.99 - 16;
    const lines = [];
    let line = "";
    for (const word of text.split(" ")) {
      const next = line ? `${line} ${word}` : word;
      if (line && measurer.measureText(next).width > room) {
        lines.push(line);
        line = word;
      } else {
        line = next;
      }
    }
    lines.push(line);
    return { text: lines.join("<br>"), top: top + (lines.length - 1) * (TITLE_SIZE + 4) };
  }

  function baseLayout(title) {
    return {
      title: {
        text: title, x: 0.01, xanchor: "left", y: 1, yanchor: "top", yref: "container",
        pad: { t: 16 }, font: { size: TITLE_SIZE, color: "#16324f" },
      },
      margin: { t: 56, r: 24, b: 56, l: 72 },
      paper_bgcolor: "#ffffff",
      plot_bgcolor: "#ffffff",
      font: {
        family: FONT,
        size: 12,
        color: "#1d2b36",
      },
      separators: state.lang === "pt-BR" ? ",." : ".,",
      hoverlabel: { bgcolor: "#ffffff", bordercolor: "#c9d3dd", font: { color: "#1d2b36" } },
      legend: { orientation: "h", x: 0, y: -0.18 },
      xaxis: { gridcolor: "#edf1f5", linecolor: "#c9d3dd", zeroline: false },
      yaxis: { gridcolor: "#edf1f5", linecolor: "#c9d3dd", zeroline: false },
    };
  }

  /** A chart's PNG name, as its CSV's is named (tests/dashboard/test_csv_names.py): the chart,
   *  the series or fuel/area its data source names, its window or its week, not "newplot". */
  function imageName(id, source, asOf) {
    const q = new URL(source, location.href).searchParams;
    const parts = [id.replace(/^chart-/, "")];
    for (const [k, v] of q) if (k !== "start" && k !== "until") parts.push(v);
    if (q.has("start") || q.has("until")) parts.push(`${q.get("start") || ""}..${q.get("until") || ""}`);
    else if (asOf) parts.push(String(asOf).slice(0, 10));
    return parts.join("-").replace(/[^A-Za-z0-9.-]+/g, "_").slice(0, 150);
  }

  function plotConfig(filename) {
    return {
      toImageButtonOptions: { filename },
      responsive: true,
      displaylogo: false,
      // Plotly 3's "Share chart..." button uploads the chart's data to Plotly Cloud (an English
      // dialog, then a page off this host): nothing here leaves the dashboard's host.
      showSendToCloud: false,
      // Plotly's own words (modebar tooltips, tips) and its month names: plotly-partial.min.js
      // registers the pt-BR ones (scripts/plotly/build.mjs); "en" is Plotly's own.
      locale: state.lang,
      // Maps draw only the bundled states: Plotly's base-map topojson is an empty local file.
      topojsonURL: "/static/",
      modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"],
      displayModeBar: toolbarAlways() || "hover",
    };
  }

  // With no hover (a phone), Plotly shows its toolbar at all times at the chart's top right,
  // where the title's first line ran under its buttons: the title goes below it there. Plotly
  // reads the hover once, at load, and keeps showing it if there was none then; a device that
  // loses its hover later (a tablet's keyboard taken off) has it shown too, charts redrawn (bind).
  const NO_HOVER = window.matchMedia("(hover: none)");
  const HOVERLESS = NO_HOVER.matches;
  const toolbarAlways = () => HOVERLESS || NO_HOVER.matches;
  const TOOLBAR_ROOM = 26;

  /** plot()'s `weekly`: the chart's data are ANP survey weeks (each keyed by its Sunday). */
  const WEEKLY = true;

  function emptyBox(div) {
    let box = div.nextElementSibling;
    if (!box || !box.classList.contains("empty")) {
      box = document.createElement("div");
      box.className = "empty";
      box.setAttribute("role", "status");
      div.after(box);
    }
    return box;
  }

  /** Draw a chart. `asOf` is the date its data stands for when its x values are not dates
   *  (a map's or a bar chart's week, the last published week behind a forecast). `weekly`: the
   *  chart draws survey weeks, so its caption names the week holding that date, as the cards
   *  do ("as of the week of May 1 – 7, 2022"), not the week's Sunday. */
  async function plot(id, traces, layout, source, asOf, weekly) {
    const div = document.getElementById(id);
    div.hidden = false;
    div.dataset.source = source;
    div.dataset.empty = "";
    emptyBox(div).hidden = true;
    const title = layout.title && layout.title.text;
    if (title) {
      if (toolbarAlways()) {
        layout.title.pad = { t: ((layout.title.pad && layout.title.pad.t) || 0) + TOOLBAR_ROOM };
        layout.margin.t += TOOLBAR_ROOM;
      }
      div.dataset.title = title;
      div.dataset.top = String(layout.margin.t);
      const fit = wrapTitle(title, div.clientWidth, layout.margin.t);
      layout.title.text = fit.text;
      layout.margin.t = fit.top;
    }
    // The reader's zoom outlives a redraw for new data, not a choice of theirs (the address
    // changes) nor a chart of another date (the Today panel's next day).
    layout.uirevision = location.search + asOf;
    // One week drawn: Plotly's axis spans a millisecond around it ("23:59:59.9995"); a week
    // either side instead, still autoranged (a fixed range read as the reader's own zoom).
    const days = new Set(weekly ? traces.flatMap((tr) => tr.x || []) : []);
    if (days.size === 1 && !layout.xaxis.range) {
      const [day] = days;
      layout.xaxis.autorangeoptions = { include: [addDays(day, -7), addDays(day, 7)] };
    }
    // A price axis in reais ticks in centavos: Plotly's own format wrote "R$ 6.5" beside
    // "R$ 6.45" (and "R$ 7" beside "R$ 7.5"); an axis under 10 centavos keeps its finer ticks.
    const y = layout.yaxis || {};
    if (y.tickprefix === "R$ " && !y.tickformat) {
      y.tickformat = hundredths(y.range || traces.flatMap((tr) => tr.y || []).filter((v) => v !== null));
    }
    await plotlyReady;
    await Plotly.react(div, traces, layout, plotConfig(imageName(id, source, asOf)));
    asOfCaption(div, traces, asOf, weekly);
    // A screen reader's text for the drawing: its title and how recent it is. A figure, not
    // an img: an img hides all it holds, the toolbar's buttons too (axe: nested-interactive);
    // the drawings' tick labels and legend, read one by one, are hidden instead.
    div.setAttribute("role", "figure");
    div.setAttribute("aria-label", [title, caption(div).textContent].filter(Boolean).join(", "));
    for (const svg of div.querySelectorAll(".main-svg")) svg.setAttribute("aria-hidden", "true");
    div.dataset.rendered = performance.now().toFixed(1);
  }

  // Titles wrap to the chart's width: wrap them again when the width changes.
  let resizeTimer = 0;
  function rewrapTitles() {
    for (const div of document.querySelectorAll(".chart[data-title]")) {
      if (div.hidden || !div.data || !div.layout) continue;
      const fit = wrapTitle(div.dataset.title, div.clientWidth, Number(div.dataset.top));
      if (fit.text !== div.layout.title.text) {
        Plotly.relayout(div, { "title.text": fit.text, "margin.t": fit.top });
      }
    }
  }

  function caption(div) {
    return div.parentElement.querySelector(":scope > .as-of");
  }

  // Every chart says how recent its data is: the date given, else the newest date it draws,
  // else the view's end; a weekly chart, the survey week holding that date.
  function asOfCaption(div, traces, asOf, weekly) {
    let newest = asOf || "";
    for (const trace of asOf ? [] : traces) {
      for (const x of trace.x || []) {
        if (typeof x === "string" && /^\d{4}-\d{2}-\d{2}/.test(x) && x > newest) newest = x;
      }
    }
    newest = newest || state.date || (meta && meta.latest) || "";
    let found = caption(div);
    if (!found) {
      found = document.createElement("p");
      found.className = "as-of";
      div.parentElement.append(found);
    }
    found.hidden = false;
    found.dataset.date = newest.slice(0, 10);
    found.textContent = weekly && newest
      ? t("asOfWeek", { week: fmt.week(sundayOf(newest.slice(0, 10))) })
      : t("asOf", { date: fmt.date(newest) });
  }

  /** Under an index chart, name the series it draws no line for, with the API's reason: none
   *  in the window, none from the base week on, a base week's zero (without it a chart titled
   *  "against its drivers" could show the pump price alone); each line based after the base
   *  week (none in it), at its own; and each line that stops before the others, at its own
   *  last week (the window stays the view's). */
  function noteLeftOut(div, indices) {
    const series = indices.series;
    const why = { before_base: "index.beforeBase", zero_base: "index.zeroBase" };
    const missing = {};
    for (const s of series.filter((s) => !s.points.length)) {
      const key = why[s.reason] || "index.leftOut";
      (missing[key] = missing[key] || []).push(seriesName(s.key));
    }
    const lastOf = (s) => s.points[s.points.length - 1].date;
    const drawn = series.filter((s) => s.points.length);
    const newest = drawn.reduce((a, s) => (lastOf(s) > a ? lastOf(s) : a), "");
    const early = drawn.filter((s) => lastOf(s) < newest).map((s) => t("index.endsAt", {
      series: seriesName(s.key), week: fmt.week(lastOf(s)),
    }));
    const later = drawn.filter((s) => s.base_date > indices.base).map((s) => t("index.baseAt", {
      series: seriesName(s.key), week: fmt.week(s.base_date),
    }));
    const parts = Object.keys(missing).map((key) => t(key, { series: listText(missing[key]) }));
    if (later.length) parts.push(t("index.laterBase", { series: listText(later) }));
    if (early.length) parts.push(t("index.endsEarly", { series: listText(early) }));
    // a window of one week drew every marker on one another at 100: said, not left to puzzle
    if (drawn.length && drawn.every((s) => s.points.length === 1)) parts.push(t("index.oneWeek", { week: fmt.week(newest) }));
    setNote(div, parts.join(" "));
  }

  function listText(items) {
    return formatter(Intl.ListFormat, { style: "long", type: "conjunction" }).format(items);
  }

  /** The note under a chart naming what it leaves out (`textKey` says why), hidden when none. */
  function noteMissing(div, missing, textKey) {
    setNote(div, missing.length ? t(textKey, { series: listText(missing) }) : "");
  }

  /** The note under a chart: `text`, or hidden when there is none. */
  function setNote(div, text) {
    let note = div.parentElement.querySelector(":scope > .chart-note");
    if (!text) {
      if (note) note.hidden = true;
      return;
    }
    if (!note) {
      note = document.createElement("p");
      note.className = "chart-note";
      div.parentElement.append(note);
    }
    note.hidden = false;
    note.textContent = text;
  }

  /** Take a chart off the page: its drawing, data source, as-of caption and note. */
  function clearChart(div) {
    if (div.data && window.Plotly) Plotly.purge(div);
    div.hidden = true;
    div.dataset.source = "";
    div.dataset.empty = "";
    div.dataset.rendered = "";
    for (const found of div.parentElement.querySelectorAll(":scope > .as-of, :scope > .chart-note")) {
      found.hidden = true;
    }
  }

  function showEmpty(id, message) {
    const div = document.getElementById(id);
    clearChart(div);
    div.dataset.empty = "1";
    const box = emptyBox(div);
    box.textContent = message;
    box.hidden = false;
  }

  /** After a failed load nothing of the previous answer may stay under the error: clear every
   *  chart, empty box, caption, summary, card and table of the view. */
  function clearView(section) {
    for (const div of section.querySelectorAll(".chart")) {
      clearChart(div);
      const box = div.nextElementSibling;
      if (box && box.classList.contains("empty")) box.hidden = true;
    }
    for (const el of section.querySelectorAll(".summary[id]")) el.textContent = "";
    for (const el of section.querySelectorAll(".cards, table")) el.replaceChildren();
  }

  function setText(id, text) {
    document.getElementById(id).textContent = text;
  }

  /** The page's CSV button, or another (`id`: the outlook map's); no URL disables it. */
  function setCsv(url, id) {
    const link = document.getElementById(id || "csv");
    if (url) {
      link.href = url + (url.includes("?") ? "&" : "?") + "format=csv";
      link.classList.remove("disabled");
      link.removeAttribute("aria-disabled");
    } else {
      link.removeAttribute("href");
      link.classList.add("disabled");
      link.setAttribute("aria-disabled", "true");
    }
  }

  /** An index chart's own CSV button (overview, movement): the chart's API answer as CSV. */
  function setChartCsv(id, url) {
    document.getElementById(id).href = `${url}&format=csv`;
  }

  /** Weekly points as x and y with a null at every survey week missing between two stored
   *  ones (ABSENT at the source, or no row): the line breaks there instead of bridging the gap
   *  with a price nobody surveyed. Plotly shows no hover for a null. */
  function weeklyXY(points) {
    const x = [];
    const y = [];
    let prev = null;
    for (const p of points) {
      const day = p.date.slice(0, 10);
      if (prev) {
        const gap = Math.round((Date.parse(day) - Date.parse(prev)) / 86400000);
        if (gap > 7 && gap % 7 === 0) {
          for (let d = 7; d < gap; d += 7) {
            x.push(addDays(prev, d));
            y.push(null);
          }
        }
      }
      x.push(p.date);
      y.push(p.value);
      prev = day;
    }
    return { x, y };
  }

  /** The hover's date in the page's language: 30/01/2022 in Portuguese, Jan 30, 2022 in English. */
  function hoverDate() {
    return state.lang === "pt-BR" ? "%{x|%d/%m/%Y}" : "%{x|%b %-d, %Y}";
  }

  /** The series' own colour (SERIES_COLORS); a key without one gets a palette colour picked
   *  by its name, so it too keeps its colour from chart to chart. */
  function seriesColor(key) {
    const fuel = /^(FUEL#[A-Z0-9_]+)#[A-Z_]+$/.exec(key);
    const own = SERIES_COLORS[fuel ? fuel[1] : key];
    if (own) return own;
    let hash = 0;
    for (const ch of key) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
    return COLORS[hash % COLORS.length];
  }

  function lineTraces(series) {
    return series
      .filter((s) => s.points.length)
      .map((s) => Object.assign({
        type: "scatter",
        mode: s.points.length > 60 ? "lines" : "lines+markers",
        name: seriesName(s.key),
        connectgaps: false,
        line: { color: seriesColor(s.key), width: 2 },
        marker: { size: s.points.length > 1 ? 4 : 10 }, // a lone week has no line: its marker shows
        hovertemplate: `${hoverDate()}: %{y:.1f}<extra>%{fullData.name}</extra>`,
      }, weeklyXY(s.points)));
  }

  function card(container, title, value, detailText, detailClass, footText, key, unitText) {
    const el = document.createElement("article");
    el.className = "card";
    if (key) el.dataset.key = key; // live.js adds the value's freshness to keyed cards
    const h = document.createElement("h3");
    h.textContent = title;
    const v = document.createElement("p");
    v.className = "card-value";
    v.textContent = value;
    el.append(h, v);
    if (unitText) {
      const u = document.createElement("p");
      u.className = "card-unit";
      u.textContent = unitText;
      el.append(u);
    }
    if (detailText) {
      const d = document.createElement("p");
      d.className = "card-detail " + (detailClass || "");
      d.textContent = detailText;
      el.append(d);
    }
    if (footText) {
      const f = document.createElement("p");
      f.className = "card-foot";
      f.textContent = footText;
      el.append(f);
    }
    container.append(el);
  }

  /** up / down / flat for a change in %, flat when it shows as zero at `digits` decimals. */
  function changeClass(value, digits) {
    const d = digits === undefined ? 1 : digits;
    if (value === null || value === undefined || Math.abs(value) < 0.5 * 10 ** -d) return "flat";
    return value > 0 ? "up" : "down";
  }

  // --- views ---------------------------------------------------------------------------------

  async function viewOverview(token) {
    // The "Today" panel loads beside the cards and the index chart; its errors stay its own.
    await Promise.all([overviewMain(token), viewToday(token)]);
  }

  /** The kind of an intraday point in words: a PTAX bulletin's name or "15-minute bar". */
  function pointKind(kind) {
    const name = t("today.kind." + kind);
    return name === "today.kind." + kind ? kind : name;
  }

  /** Today's PTAX bulletins or 15-minute bars of the chosen series, against the last close;
   *  a link's series with no intraday values is said above the default's (todayRefused). */
  async function viewToday(token) {
    // An End date picked, the panel shows that day (its last session by then), as the cards.
    const url = api("/api/intraday", { series: state.today, end: state.date });
    const note = document.getElementById("today-note");
    // The heading names the day shown when it is not the server's today (an End date's, or
    // a weekend's last session), not "Today"; before the answer, the End date's.
    const title = (day, today) =>
      setText("today-title", day && day !== today ? t("today.on", { day: fmt.date(day) }) : t("today.title"));
    title(state.date);
    let data;
    try {
      data = await getJSON(url);
    } catch (err) {
      if (token !== renderToken) return;
      // An old or mistyped link's series: the default one, and the panel says so, rather than
      // the API's English error over a series list with nothing to pick.
      if (err.status === 422 && state.today !== USD) {
        todayRefused = state.today;
        state.today = USD;
        await viewToday(token);
        return;
      }
      note.hidden = true;
      setCsv(null, "today-csv");
      showEmpty("chart-today", t("error", { message: err.message }));
      return;
    }
    if (token !== renderToken) return;
    title(data.day, data.today);
    state.today = data.key;
    writeUrl();
    fillSelect(
      document.getElementById("today-series"),
      data.choices.map((key) => ({ value: key, label: seriesName(key) })),
      data.key,
    );
    setCsv(url, "today-csv");
    const name = seriesName(data.key);
    const empty = !data.points.length;
    const digits = data.unit === "BRL/USD" ? 4 : 2;
    const what = t(data.key === USD ? "today.ptax" : "today.bars");
    if (empty) {
      const close = data.close && fmt.money(data.close.value, data.unit, digits);
      const since = data.stale_since; // a series this store no longer receives: not "yet"
      const vars = { series: name, day: fmt.date(data.day), what, close, since: fmt.date(since), time: fmt.instant(data.answered_none) };
      // and one it holds no daily value of up to the day says so after (no previous close either)
      showEmpty("chart-today", t(data.collected ? (data.answered_none ? (close ? "today.closeNone" : "today.none") : close ? "today.close" : since ? "today.stale" : data.day === data.today ? "today.empty" : "today.past") : "today.notCollected", vars) + (data.no_daily_value ? " " + t("today.noDaily") : ""));
    }
    // after showEmpty, which hides the panel's notes with the chart's
    note.textContent = todayRefused && t("today.refused", { series: todayRefused, shown: name });
    note.hidden = !todayRefused;
    if (empty) return;
    const x = data.points.map((p) => `${data.day} ${p.time}`);
    const traces = [{
      type: "scatter",
      mode: "lines+markers",
      name,
      x,
      y: data.points.map((p) => p.value),
      text: data.points.map((p) => pointKind(p.kind)),
      customdata: data.points.map((p) => (p.change_pct === null ? "" : fmt.pct(p.change_pct, 2))),
      line: { color: seriesColor(data.key), width: 2 },
      marker: { size: 7 },
      hovertemplate: `%{x|%H:%M} · %{text}: %{y:.${digits}f} %{customdata}<extra></extra>`,
    }];
    const prev = data.previous_close;
    if (prev) {
      traces.push({
        type: "scatter",
        mode: "lines",
        name: t("today.previous", { date: fmt.date(prev.date) }),
        // A lone point (the opening bulletin) gets the day: a line from it to itself is none.
        x: x.length > 1 ? [x[0], x[x.length - 1]] : [data.day, `${data.day} 23:59`],
        y: [prev.value, prev.value],
        line: { color: "#9aa8b5", width: 1.5, dash: "dash" },
        hovertemplate: `%{y:.${digits}f}<extra>%{fullData.name}</extra>`,
      });
    }
    const layout = baseLayout(t("today.chart", { series: name, day: fmt.date(data.day) }));
    layout.xaxis.tickformat = "%H:%M";
    layout.xaxis.title = { text: t("today.axis") };
    layout.yaxis.tickformat = `.${digits}f`;
    const div = document.getElementById("chart-today");
    await plot("chart-today", traces, layout, url, data.day);
    div.dataset.points = String(data.points.length);
    const last = data.points[data.points.length - 1];
    caption(div).textContent = t("today.asOf", {
      time: last.time, kind: pointKind(last.kind), day: fmt.date(data.day),
    });
  }

  async function overviewMain(token) {
    // An End date picked, the cards and the index chart read it: each card's value is its
    // series' latest published by then, its line's last point that week. Without one the cards
    // are the latest stored values, and the chart the year up to the newest Brazil week (its
    // Saturday): a driver stored past it does not stretch the year.
    const overviewUrl = api("/api/overview", { end: state.date });
    setCsv(overviewUrl);
    const end = viewEnd(meta.latest);
    const keys = [
      fuelKey("GASOLINE", "BR"), fuelKey("ETHANOL", "BR"), fuelKey("DIESEL_S10", "BR"),
      USD, BRENT_BRL, PETR4,
    ];
    const indexUrl = api("/api/indices", Object.assign({ keys }, windowRange(end)));
    const [overview, indices] = await Promise.all([getJSON(overviewUrl), getJSON(indexUrl)]);
    if (token !== renderToken) return;
    const cards = document.getElementById("cards");
    cards.replaceChildren();
    let newest = "";
    for (const item of overview.items) {
      if (item.date && item.date > newest) newest = item.date;
      const fuel = /^FUEL#([A-Z0-9_]+)#BR$/.exec(item.key);
      const title = fuel ? t("product." + fuel[1]) : seriesName(item.key);
      const digits = item.unit === "BRL/USD" ? 4 : 2;
      if (item.value === null) {
        card(cards, title, "—", t("noData"), "flat", "", item.key); // no date to be "as of"
        continue;
      }
      // no change: a first value, or none a week before (the API says which)
      const change =
        item.change_pct === null
          ? t(item.no_change_reason === "no_week_before" ? (fuel ? "noSurvey" : "noWeekBefore") : "noChange")
          : t("weekChange", { change: fmt.pct(item.change_pct, 1) });
      // A fuel's value is a survey week's average: labelled as that week, not as its Sunday.
      const asOf = fuel
        ? t("asOfWeek", { week: fmt.week(item.date) })
        : t("asOf", { date: fmt.date(item.date) });
      card(
        cards, title, fmt.money(item.value, item.unit, digits), change,
        // a pump price's rise is red, its fall green (the consumer's side); a driver's
        // (the dollar, Brent, a share) is neither good nor bad: neutral, its sign says which way
        (fuel ? "" : "neutral ") + changeClass(item.change_pct, 1), asOf, item.key, unitName(item.unit),
      );
      cards.lastElementChild.dataset.date = item.date; // live.js: fresh only if the newest
    }
    setChartCsv("overview-chart-csv", indexUrl);
    const traces = lineTraces(indices.series);
    if (!traces.length) {
      showEmpty("chart-overview", emptySeries(t("axis.index").toLowerCase(), windowRange(end).start, end));
      return;
    }
    // Every line starts at 100 on the base week the API chose (the first week all series have).
    const layout = baseLayout(t("overview.chart", { base: fmt.date(indices.base) }));
    layout.yaxis.title = { text: t("axis.index") };
    // As of the newest card's date, or the window's last day when a card is newer: the chart's
    // last week holds it (a week's mean up to it).
    await plot("chart-overview", traces, layout, indexUrl, newest && newest < end ? newest : end, WEEKLY);
    noteLeftOut(document.getElementById("chart-overview"), indices);
  }

  /** "No stored … between start and end", or "… up to end" for the window "All" (no start). */
  function emptySeries(what, start, end) {
    const vars = { what, start: fmt.date(start), end: fmt.date(end) };
    return t(start ? "empty.series" : "empty.seriesUntil", vars);
  }

  async function viewMovement(token) {
    const key = fuelKey(state.fuel, state.area);
    const range = windowRange(fuelEnd());
    const seriesUrl = api("/api/series", Object.assign({ key }, range));
    const indexUrl = api("/api/indices", Object.assign({ keys: [key, USD, BRENT_BRL, PETR4] }, range));
    setCsv(seriesUrl); // the price chart's; the index chart has its own button
    setChartCsv("movement-chart-csv", indexUrl);
    const [series, indices] = await Promise.all([getJSON(seriesUrl), getJSON(indexUrl)]);
    if (token !== renderToken) return;
    const vars = { fuel: t("product." + state.fuel), area: areaName(state.area) };
    if (!series.points.length) {
      const message = emptySeries(`${vars.fuel} (${vars.area})`, range.start, fuelEnd()) + " " + t("coverage.level", {
        fuel: vars.fuel,
        level: levelOf(state.area) === "BR" ? t("level.BR") : t("level." + levelOf(state.area)).toLowerCase(),
        coverage: coverageText(state.fuel, levelOf(state.area)),
      });
      showEmpty("chart-price", message);
      showEmpty("chart-index", message);
      return;
    }
    const layout = baseLayout(t("movement.price", vars));
    layout.margin.l = 96;
    layout.yaxis.title = { text: t("unit." + series.unit), standoff: 14 };
    layout.yaxis.automargin = true; // else the title keeps in the margin, on wide tick labels
    layout.yaxis.tickprefix = currencyOf(series.unit) === "BRL" ? "R$ " : "";
    // The range in the first draw: a relayout after it moved the ticks ("R$ 0" became "R$ 6.35")
    // and left the axis title where the narrower ticks had put it, on the new ones.
    const min = Math.min(...series.points.map((p) => p.value));
    const max = Math.max(...series.points.map((p) => p.value));
    const pad = (max - min) * 0.15 || max * 0.05;
    layout.yaxis.range = [min - pad, max + pad];
    layout.showlegend = false;
    // The axis runs to the end of the last week: autoranged, it ended on the last point, and
    // the latest week's price (its step up or down) was a half marker on the border.
    layout.xaxis.autorangeoptions = {
      include: [addDays(series.points[series.points.length - 1].date, 7)],
    };
    await plot("chart-price", [Object.assign({
      type: "scatter",
      mode: "lines+markers",
      name: seriesName(key),
      connectgaps: false, // a week with no price is a break in the line, not the last price held
      line: { color: seriesColor(key), width: 2.5, shape: "hv" },
      // One week (a window of one, or the first stored) has no step to draw: a full-size marker.
      marker: { size: series.points.length > 1 ? 5 : 10 },
      // No fill under the line: Plotly's shaded one bridged the weeks the line breaks at (a
      // sloped price nobody surveyed), and down to an axis that does not start at zero.
      hovertemplate: `${hoverDate()}: R$ %{y:.3f}<extra></extra>`,
    }, weeklyXY(series.points))], layout, seriesUrl, null, WEEKLY);
    const indexVars = Object.assign({ base: fmt.date(indices.base) }, vars);
    const indexLayout = baseLayout(t("movement.index", indexVars));
    indexLayout.yaxis.title = { text: t("axis.index") };
    const traces = lineTraces(indices.series);
    await plot("chart-index", traces, indexLayout, indexUrl, null, WEEKLY);
    noteLeftOut(document.getElementById("chart-index"), indices);
  }

  async function loadGeojson() {
    if (!geojson) geojson = await getJSON("/static/brazil-states.geojson");
    return geojson;
  }

  function mapLayout(title) {
    const layout = baseLayout(title);
    layout.geo = {
      fitbounds: "locations",
      visible: false,
      projection: { type: "mercator" },
      bgcolor: "rgba(0,0,0,0)",
    };
    layout.margin = { t: 56, r: 8, b: 8, l: 8 };
    return layout;
  }

  const NO_DATA = "#d5dbe1";

  /** Brazil's states the rows leave out, as meta names them ("Amapá (AP)"), by code. */
  function statesMissing(rows) {
    const have = new Set(rows.map((a) => a.area));
    return meta.areas.filter((a) => a.level === "STATE" && !have.has(a.code));
  }

  /** The grey layer under a choropleth: the states it has no value for, drawn (a state missing
   *  from the map looked like no state at all) and hovering "no data"; null when none. */
  function noDataLayer(gj, missing) {
    if (!missing.length) return null;
    return {
      type: "choropleth",
      geojson: gj,
      featureidkey: "properties.sigla",
      name: t("map.noDataName"),
      locations: missing.map((a) => a.code),
      z: missing.map(() => 0),
      text: missing.map((a) => a.label),
      colorscale: [[0, NO_DATA], [1, NO_DATA]],
      showscale: false,
      marker: { line: { color: "#ffffff", width: 0.8 } },
      hovertemplate: `<b>%{text}</b><br>${t("map.noDataHover")}<extra></extra>`,
    };
  }

  /** "Amapá (AP) and Roraima (RR)". */
  function stateList(missing) {
    const list = formatter(Intl.ListFormat, { style: "long", type: "conjunction" });
    return list.format(missing.map((a) => `${a.label} (${a.code})`));
  }

  /** Which areas a week without states draws: "both" (Brazil and regions), "BR" or "REGION"
   *  alone (a week of diesel in 2026, of ethanol in 2023: Brazil's price alone). */
  function shownAreas(areas) {
    const levels = [...new Set(areas.map((a) => a.level))];
    return levels.length > 1 ? "both" : levels[0];
  }

  /** The layout of the map's and the parity's bars, one an area, named on the left. */
  function areaBarsLayout(title, n) {
    const layout = baseLayout(title);
    layout.margin = { t: 56, r: 24, b: 48, l: 24 };
    layout.yaxis.automargin = true; // the area names set the left margin
    layout.showlegend = false;
    // A lone bar (a week of Brazil's price alone) is a bar's height, not 80% of the plot's.
    if (n === 1) layout.yaxis.range = [-2, 2];
    return layout;
  }

  function weekParam() {
    return state.date ? sundayOf(state.date) : undefined;
  }

  async function viewMap(token) {
    const url = api("/api/regional", { fuel: state.fuel, week: weekParam() });
    setCsv(url);
    const [view, gj] = await Promise.all([getJSON(url), loadGeojson()]);
    if (token !== renderToken) return;
    const fuel = t("product." + state.fuel);
    const week = view.week ? fmt.date(view.week) : "—";
    const states = view.areas.filter((a) => a.level === "STATE");
    if (!view.areas.length) {
      const msg = t("map.noData", { fuel, coverage: coverageAll(state.fuel) });
      setText("map-summary", "");
      showEmpty("chart-map", msg);
      showEmpty("chart-areas", msg);
      return;
    }
    const missing = states.length ? statesMissing(states) : [];
    const summary = [];
    if (view.spread) {
      const s = view.spread;
      // every state tied at the minimum (maximum): "AC and RR", or "AP and 2 others"
      const tied = (c) => c.length > 2 ? t("map.others", { area: areaName(c[0]), n: c.length - 1 }) : listText(c.map(areaName));
      summary.push(t("map.spread", {
        week,
        min: fmt.money(s.min_price, view.unit, 2), minArea: tied(s.min_areas),
        max: fmt.money(s.max_price, view.unit, 2), maxArea: tied(s.max_areas),
        range: fmt.money(s.range, view.unit, 2), std: fmt.money(s.std, view.unit, 3),
        unit: unitName(view.unit),
      }));
    }
    if (missing.length) {
      summary.push(tn("map.missing", missing.length, { fuel, states: stateList(missing) }));
    }
    // the week shown, at or after the states' or regions' newest, is older than Brazil's newest
    // (the server says when: a week picked too)
    if (view.brazil_newer) summary.push(t("map.newer", { fuel, newest: fmt.date(view.brazil_newer) }));
    setText("map-summary", summary.join(" "));
    // A price's hover as its bar writes it, then its unit: "R$ 6,29 por litro" (the map's
    // said "R$ por litro: 6,290", the bars' own text "R$ 6,29").
    const priced = (a) => `${fmt.money(a.price, view.unit, 2)} ${unitName(view.unit).replace(/^R\$ /, "")}`;
    if (states.length) {
      const base = noDataLayer(gj, missing);
      await plot("chart-map", [...(base ? [base] : []), {
        type: "choropleth",
        geojson: gj,
        featureidkey: "properties.sigla",
        locations: states.map((a) => a.area),
        z: states.map((a) => a.price),
        text: states.map((a) => a.name),
        customdata: states.map((a) => [a.change_4w, a.change_52w, priced(a)]),
        colorscale: [[0, "#fff3d6"], [0.5, "#f2a541"], [1, "#9c2f11"]],
        marker: { line: { color: "#ffffff", width: 0.8 } },
        colorbar: { title: { text: unitName(view.unit) }, thickness: 12, len: 0.7, tickformat: hundredths(states.map((a) => a.price)) },
        hovertemplate: "<b>%{text}</b><br>%{customdata[2]}<extra></extra>",
      }], mapLayout(t("map.title", { fuel, week })), url, view.week, WEEKLY);
    } else {
      showEmpty("chart-map", t("map.noStates", {
        fuel, week, coverage: coverageText(state.fuel, "STATE"), shown: t("map.shown." + shownAreas(view.areas)),
      }));
    }
    const sorted = view.areas.slice().sort((a, b) => a.price - b.price);
    const colors = sorted.map((a) => (a.level === "BR" ? "#16324f" : a.level === "REGION" ? "#0b6e99" : "#f2a541"));
    const layout = areaBarsLayout(t("map.areas", { fuel, week }), sorted.length);
    layout.xaxis.title = { text: unitName(view.unit) };
    // Bars start at zero: a bar's length is the price, so Roraima's 22% over Minas Gerais is
    // 22% longer, not five times. Each bar carries its price, as a zero-based axis packs them.
    const hi = sorted[sorted.length - 1].price;
    layout.xaxis.range = [0, hi * 1.12];
    await plot("chart-areas", [{
      type: "bar",
      orientation: "h",
      x: sorted.map((a) => a.price),
      y: sorted.map((a) => (a.level === "STATE" ? `${a.name} (${a.area})` : areaName(a.area))),
      marker: { color: colors },
      text: sorted.map((a) => fmt.money(a.price, view.unit, 2)),
      textposition: "outside",
      cliponaxis: false,
      textfont: { size: 10, color: "#1d2b36" },
      customdata: sorted.map((a) => [priced(a), fmt.pct(a.change_4w)]),
      hovertemplate: `%{y}: %{customdata[0]}<br>${t("hover.change4w")}: %{customdata[1]}<extra></extra>`,
    }], layout, url, view.week, WEEKLY);
  }

  async function viewParity(token) {
    const url = api("/api/parity", { week: weekParam() });
    setCsv(url);
    const [view, gj] = await Promise.all([getJSON(url), loadGeojson()]);
    if (token !== renderToken) return;
    const states = view.areas.filter((a) => a.level === "STATE");
    const rows = states.length ? states : view.areas;
    if (!rows.length) {
      const msg = t(view.week ? "parity.noneWeek" : "parity.noneStored", {
        week: fmt.date(view.week),
        coverage: coverageAll("ETHANOL"),
      });
      setText("parity-summary", "");
      showEmpty("chart-parity", msg);
      showEmpty("chart-parity-bars", msg);
      return;
    }
    const week = fmt.date(view.week);
    // With no state prices that week the rows are the areas it has (Brazil, the regions): count
    // them as areas.
    const byState = states.length > 0;
    const missing = byState ? statesMissing(states) : [];
    const shown = shownAreas(rows);
    setText("parity-summary", t(byState ? "parity.summary" : "parity.summaryAreas", {
      week, n: fmt.num(rows.filter((a) => a.ethanol_pays).length, 0), shown: t("map.shown." + shown),
      total: count(rows.length, byState ? "state" : "area"),
    }) + (missing.length ? " " + tn("parity.missing", missing.length, { states: stateList(missing) }) : ""));
    if (states.length) {
      const base = noDataLayer(gj, missing);
      await plot("chart-parity", [...(base ? [base] : []), {
        type: "choropleth",
        geojson: gj,
        featureidkey: "properties.sigla",
        locations: states.map((a) => a.area),
        z: states.map((a) => a.ratio),
        zmid: view.threshold,
        text: states.map((a) => a.name),
        customdata: states.map((a) => [a.ethanol, a.gasoline]),
        colorscale: [[0, "#1a7f4b"], [0.5, "#f7f7f2"], [1, "#b8322a"]],
        marker: { line: { color: "#ffffff", width: 0.8 } },
        colorbar: { title: { text: t("parity.ratio") }, thickness: 12, len: 0.7, tickformat: hundredths(states.map((a) => a.ratio)) },
        hovertemplate:
          "<b>%{text}</b><br>%{z:.3f}<br>E R$ %{customdata[0]:.2f} / G R$ %{customdata[1]:.2f}<extra></extra>",
      }], mapLayout(t("parity.title", { week })), url, view.week, WEEKLY);
    } else {
      showEmpty("chart-parity", t("parity.none", { week, coverage: coverageText("ETHANOL", "STATE") }));
    }
    const sorted = rows.slice().sort((a, b) => a.ratio - b.ratio);
    const layout = areaBarsLayout(t(byState ? "parity.bars" : "parity.barsAreas." + shown), sorted.length);
    // From zero, as every bar: a ratio's bar length is the ratio (the 0.70 line still marks
    // where ethanol pays off).
    layout.xaxis.range = [0, Math.max(0.85, sorted[sorted.length - 1].ratio + 0.08)];
    // The 0.70 line in two pieces (row i is at y = i): over the rows short of it, under their
    // value labels, which it crossed (between the grid and the bars, none of which reaches
    // it); over the bars that reach past it, which hid it (their labels sit right of it). The
    // rows are sorted by ratio, so those bars are one block at the top.
    const past = sorted.findIndex((a) => a.ratio > view.threshold);
    const split = (past < 0 ? sorted.length : past) - 0.5;
    const line = (layer, y0, y1) => ({
      type: "line", x0: view.threshold, x1: view.threshold, y0, y1, layer,
      line: { color: "#16324f", width: 1.5, dash: "dash" },
    });
    layout.shapes = [line("between", -0.5, split), line("above", split, sorted.length - 0.5)]
      .filter((shape) => shape.y1 > shape.y0);
    await plot("chart-parity-bars", [{
      type: "bar",
      orientation: "h",
      x: sorted.map((a) => a.ratio),
      y: sorted.map((a) => (a.level === "STATE" ? `${a.name} (${a.area})` : areaName(a.area))),
      marker: { color: sorted.map((a) => (a.ethanol_pays ? "#1a7f4b" : "#b8322a")) },
      // Three decimals: 0.704 printed "0.70" sat on the 0.70 line coloured "does not pay".
      text: sorted.map((a) => fmt.num(a.ratio, 3)),
      // A bar short of the line has its label inside its end: outside, the label of a ratio
      // just under 0.70 sat on the line, which crossed its digits ("0.6|60").
      textposition: sorted.map((a) => (a.ratio <= view.threshold ? "inside" : "outside")),
      insidetextanchor: "end",
      constraintext: "none", // inside, the same size as outside, not shrunk to the bar's height
      cliponaxis: false,
      textfont: { size: 10 },
      insidetextfont: { color: "#ffffff" },
      outsidetextfont: { color: "#1d2b36" },
      hovertemplate: "%{y}: %{x:.3f}<extra></extra>",
    }], layout, url, view.week, WEEKLY);
  }

  // The matrix's phone layout up to a chart ~560 px wide (main's and the panel's padding
  // beside it); crossing it (a phone turned, a window resized) draws the matrix again, once.
  const NARROW = window.matchMedia("(max-width: 620px)");

  async function viewCorrelations(token) {
    const key = fuelKey(state.fuel, state.area);
    const others = MAIN_FUELS.filter((f) => f !== state.fuel).map((f) => fuelKey(f, state.area));
    const keys = [key, ...others, USD, BRENT, BRENT_BRL, PETR4];
    const range = windowRange(fuelEnd());
    const url = api("/api/correlations", Object.assign({ keys }, range));
    setCsv(url);
    const view = await getJSON(url);
    if (token !== renderToken) return;
    const hasAny = view.r.some((row, i) => row.some((r, j) => i !== j && r !== null));
    const why = view.reason || [];
    // A series whose changes never varied has no r with anything, however many weeks overlap.
    const flat = view.keys.filter((k, i) => why[i] && why[i][i] === "unchanged").map(seriesName);
    if (!hasAny) {
      showEmpty("chart-corr", flat.length
        ? t("corr.unchanged", { series: listText(flat) })
        : t("corr.empty", { min: count(view.min_weeks || 8, "overlapWeek") }));
      return;
    }
    // A series sharing no week of changes with any other would be a blank row and column:
    // left out of the matrix and named under it, as the index charts do.
    const kept = view.keys.map((k, i) => i).filter((i) => view.n[i].some((n, j) => j !== i && n > 0));
    const pick = (row) => kept.map((j) => row[j]);
    const r = kept.map((i) => pick(view.r[i]));
    const n = kept.map((i) => pick(view.n[i]));
    const names = kept.map((i) => seriesName(view.keys[i]));
    const text = r.map((row) => row.map((v) => (v === null ? "" : fmt.num(v, 2))));
    const reason = kept.map((i) => pick(why[i] || []));
    const hover = r.map((row, i) => row.map((v, j) => t(
      v === null && reason[i][j] === "unchanged" ? "corr.hoverUnchanged" : "corr.hover",
      { r: v === null ? "—" : fmt.num(v, 3), n: count(n[i][j], "overlapWeek") })));
    // The weeks the changes actually use (window "All" has no start of its own).
    const first = view.first || range.start || view.start;
    const last = view.last || fuelEnd();
    const layout = baseLayout(t("corr.title", { start: fmt.date(first), end: fmt.date(last) }));
    layout.margin = { t: 56, r: 24, b: 24, l: 24 };
    layout.xaxis.automargin = true;
    layout.yaxis.automargin = true;
    layout.yaxis.autorange = "reversed";
    layout.xaxis.tickangle = -30;
    // On a phone the names beside and under the matrix left it ~100 px of 340 and the slanted
    // ones ran into each other: there the columns are numbered as the rows, each name split
    // at its area or its bracket, and the colours' scale goes (each cell prints its r).
    const narrow = NARROW.matches;
    if (narrow) {
      Object.assign(layout.xaxis, { tickangle: 0, tickvals: names, ticktext: names.map((_, i) => String(i + 1)) });
      Object.assign(layout.yaxis, {
        tickvals: names, ticktext: names.map((name, i) => `${i + 1}. ${name.replace(/ — | (?=\()/, "<br>")}`),
      });
    }
    await plot("chart-corr", [{
      type: "heatmap",
      x: names,
      y: names,
      z: r,
      text,
      texttemplate: "%{text}",
      customdata: hover,
      hovertemplate: "%{y} × %{x}<br>%{customdata}<extra></extra>",
      zmin: -1,
      zmax: 1,
      colorscale: [[0, "#b8322a"], [0.5, "#f7f7f2"], [1, "#0b6e99"]],
      colorbar: { title: { text: "r" }, thickness: 12 },
      showscale: !narrow,
      xgap: 2,
      ygap: 2,
    }], layout, url, last, WEEKLY);
    const missing = view.keys.filter((k, i) => !kept.includes(i)).map(seriesName);
    noteMissing(document.getElementById("chart-corr"), missing, "corr.leftOut");
  }

  async function viewLags(token) {
    const range = windowRange(fuelEnd());
    const url = api("/api/lags", Object.assign({
      fuel: state.fuel, area: state.area, driver: state.driver,
    }, range));
    setCsv(url);
    const view = await getJSON(url);
    if (token !== renderToken) return;
    const vars = {
      fuel: t("product." + state.fuel), area: areaName(state.area), driver: seriesName(state.driver),
    };
    const unchanged = view.unchanged_price !== null && view.unchanged_price !== undefined;
    const reg = view.regression;
    const parts = [];
    let noRegression = "";
    if (unchanged) {
      // A price that never moved has no lag and no pass-through: say so, estimate nothing.
      const product = meta.products.find((p) => p.code === state.fuel);
      parts.push(t("lags.unchanged", Object.assign({}, vars, {
        price: fmt.money(view.unchanged_price, product && product.unit, 2),
      })));
    } else {
      if (view.best) {
        // which way the lag runs: the pump's change k weeks after the driver's
        parts.push(t("lags.best", {
          lag: count(view.best.lag, "week"), r: fmt.num(view.best.r, 2), n: count(view.best.n, "week"),
          dir: t(view.best.lag ? "lags.trail" : "lags.same", vars),
        }));
      } else {
        const tried = view.cross.filter((c) => c.r !== null).length;
        if (tried) parts.push(tn("lags.noBest", tried));
      }
      if (reg) {
        const share = reg.pump_pct_per_10pct * 10;
        parts.push(t("lags.sentence", Object.assign({}, vars, {
          pct: fmt.pct(reg.pump_pct_per_10pct, 1),
          // a negative or a (rounded) zero share is not a share "reaching the pump"
          share: t(share <= -0.5 ? "lags.against" : share < 0.5 ? "lags.none" : "lags.reach", {
            share: fmt.pct(share, 0, false),
          }),
          weeks: count(reg.lags, "week"),
          lo: fmt.pct(reg.pump_pct_ci_low, 1),
          hi: fmt.pct(reg.pump_pct_ci_high, 1),
          obs: count(reg.n, "week"),
          r2: fmt.num(reg.r2, 2),
        })));
      } else if (view.regression_weeks !== null && view.regression_weeks !== undefined) {
        noRegression = t(view.regression_weeks ? "lags.tooFew" : "lags.noOverlap", Object.assign({}, vars, {
          have: count(view.regression_weeks, "overlapWeek"),
          need: fmt.num(view.regression_min_weeks, 0),
        }));
      } else if (["driver_unchanged", "pump_unchanged", "singular", "exact_fit"].includes(view.regression_reason)) {
        // What the data cannot identify is said in the page's language, never shown as 0 ± 0.
        noRegression = t("lags.notEstimable." + view.regression_reason, vars);
      } else {
        noRegression = t("lags.noRegression", { message: view.regression_error || "—" });
      }
      if (noRegression) parts.push(noRegression);
    }
    setText("lag-summary", parts.join(" "));
    if (unchanged) {
      const why = t("lags.unchangedShort", vars);
      showEmpty("chart-lags", why);
      showEmpty("chart-coefs", why);
      return;
    }
    if (view.regression_reason === "driver_unchanged") {
      showEmpty("chart-lags", t("lags.driverUnchangedShort", vars));
    } else if (!view.cross.some((c) => c.r !== null)) {
      showEmpty("chart-lags", t("lags.empty", Object.assign({}, vars, {
        min: count(view.min_weeks || 8, "overlapWeek"),
      })));
    } else {
      const best = view.best ? view.best.lag : -1;
      const layout = baseLayout(t("lags.title", vars));
      layout.xaxis.title = { text: t("axis.lag") };
      layout.xaxis.dtick = 1;
      layout.yaxis.title = { text: t("axis.r") };
      layout.yaxis.range = [-1, 1];
      layout.showlegend = false;
      await plot("chart-lags", [{
        type: "bar",
        x: view.cross.map((c) => c.lag),
        y: view.cross.map((c) => c.r),
        customdata: view.cross.map((c) => c.n),
        hovertext: view.cross.map((c) => lagHover(c.lag)),
        marker: { color: view.cross.map((c) => (c.lag === best ? "#e07b00" : "#0b6e99")) },
        hovertemplate: "%{hovertext}: r = %{y:.3f} (n = %{customdata})<extra></extra>",
      }], layout, url, view.through || fuelEnd(), WEEKLY);
    }
    if (!reg) {
      showEmpty("chart-coefs", noRegression);
      return;
    }
    const layout = baseLayout(t("lags.coefs"));
    layout.xaxis.title = { text: t("axis.lag") };
    layout.xaxis.dtick = 1;
    layout.yaxis.title = { text: t("axis.coef") };
    layout.yaxis.zeroline = true;
    layout.yaxis.zerolinecolor = "#9aa8b5";
    layout.showlegend = false;
    await plot("chart-coefs", [{
      type: "bar",
      x: reg.coefficients.map((_, i) => i),
      y: reg.coefficients,
      error_y: {
        type: "data", array: reg.std_errors.map((s) => s * reg.t_crit), color: "#16324f", thickness: 1.2,
      },
      marker: { color: "#138086" },
      hovertext: reg.coefficients.map((_, i) => lagHover(i)),
      hovertemplate: "%{hovertext}: %{y:.3f}<extra></extra>",
    }], layout, url, view.through || fuelEnd(), WEEKLY);
  }

  // Views kept in their own files register on window.FUELPIPE_EXTRA_VIEWS as
  // { name: { render(kit, token), text: { lang: { key: text } } } } and draw with these shared
  // helpers; their texts join the page's when the file loads (loadLazy).
  const viewKit = {
    state, t, count, tn, fmt, api, getJSON, plot, setCsv, setText, showEmpty, baseLayout,
    mapLayout, loadGeojson, areaName, seriesName, spDay, card, changeClass, writeUrl,
    redraw: render, // the open view again, `quiet` as render's
    isCurrent: (token) => token === renderToken,
  };

  // outlook.js, health.js and live.js are not needed for the first chart, so they are not in
  // app.min.js: the page names their minified files (with their content hash) in a <meta>. The
  // Outlook and Health views load when their view opens first, or when the first view is drawn
  // (prefetchLazy), whichever comes first; the live panel when the first view is drawn (start).
  const lazyScripts = new Map();
  function loadLazy(name) {
    let loading = lazyScripts.get(name);
    if (!loading) {
      loading = new Promise((resolve, reject) => {
        const named = document.querySelector(`meta[name="fuelpipe-lazy-${name}"]`);
        const script = document.createElement("script");
        script.src = named ? named.content : `/static/${name}.min.js`;
        script.addEventListener("load", () => {
          const text = ((window.FUELPIPE_EXTRA_VIEWS || {})[name] || {}).text || {};
          for (const lang of Object.keys(text)) Object.assign(I18N[lang], text[lang]);
          resolve();
        });
        script.addEventListener("error", () => {
          lazyScripts.delete(name); // the next try loads it again
          reject(new Error(`${name}.min.js did not load`));
        });
        document.head.append(script);
      });
      lazyScripts.set(name, loading);
    }
    return loading;
  }

  function lazyView(name) {
    return async (token) => {
      await loadLazy(name);
      return window.FUELPIPE_EXTRA_VIEWS[name].render(viewKit, token);
    };
  }

  function prefetchLazy() {
    const later = window.requestIdleCallback || ((fn) => window.setTimeout(fn, 1));
    // each tab says so if its script fails again
    later(() => ["outlook", "health"].forEach((name) => loadLazy(name).catch(() => {})));
  }

  const RENDERERS = {
    overview: viewOverview,
    movement: viewMovement,
    map: viewMap,
    parity: viewParity,
    correlations: viewCorrelations,
    lags: viewLags,
    outlook: lazyView("outlook"),
    health: lazyView("health"),
  };

  // --- controls ------------------------------------------------------------------------------

  function fillSelect(select, options, value) {
    // The same list again (a redraw's) is left as it is: rebuilt, a list open in it closed.
    const list = JSON.stringify(options);
    if (select.filled !== list) fillOptions(select, options);
    select.filled = list;
    select.value = value;
  }

  function fillOptions(select, options) {
    select.replaceChildren();
    let group = null;
    for (const option of options) {
      if (option.group && (!group || group.label !== option.group)) {
        group = document.createElement("optgroup");
        group.label = option.group;
        select.append(group);
      }
      const el = document.createElement("option");
      el.value = option.value;
      el.textContent = option.label;
      (option.group ? group : select).append(el);
    }
  }

  function buildControls() {
    fillSelect(
      document.getElementById("fuel"),
      meta.products.map((p) => ({ value: p.code, label: t("product." + p.code) })),
      state.fuel,
    );
    fillSelect(
      document.getElementById("area"),
      meta.areas.map((a) => ({
        value: a.code,
        label: a.level === "STATE" ? `${a.label} (${a.code})` : areaName(a.code),
        group: t("level." + a.level),
      })),
      state.area,
    );
    fillSelect(
      document.getElementById("driver"),
      meta.drivers.map((d) => ({ value: d.code, label: seriesName(d.code) })),
      state.driver,
    );
    document.getElementById("window").value = state.window;
    document.getElementById("date").value = state.date;
  }

  function applyI18n() {
    document.documentElement.lang = state.lang;
    document.title = `fuelpipe — ${t("title")}`;
    for (const el of document.querySelectorAll("[data-i18n]")) {
      el.textContent = t(el.dataset.i18n);
    }
    for (const el of document.querySelectorAll("[data-i18n-label]")) {
      el.setAttribute("aria-label", t(el.dataset.i18nLabel));
    }
    for (const button of document.querySelectorAll(".lang-btn")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === state.lang));
    }
    pageLinks();
  }

  /** The stations page opens in the language chosen here, not in the browser's, and on the
   *  fuel picked here (the same codes; one it lacks opens its default); /docs in the language. */
  function pageLinks() {
    const q = new URLSearchParams({ lang: state.lang });
    document.querySelector('a[href^="/docs"]').href = "/docs?" + q;
    if (meta) q.set("fuel", state.fuel); // sanitizeChoices' fuel: one of meta.products
    const link = document.querySelector("a.tab-link");
    link.href = "/stations?" + q;
    link.title = t("nav.stations"); // the page's language, not the HTML's English
  }

  function showView() {
    const spec = VIEWS[state.view];
    for (const section of document.querySelectorAll("main .view")) {
      section.hidden = section.dataset.view !== state.view;
    }
    for (const tab of document.querySelectorAll(".tabs [role=tab]")) {
      const active = tab.dataset.view === state.view;
      tab.setAttribute("aria-selected", String(active));
      tab.tabIndex = active ? 0 : -1; // one tab stop: the arrow keys move between the tabs
      tab.classList.toggle("active", active);
      // On a phone the strip scrolls sideways: a link to a view on its right opened with the
      // view's tab out of sight. Centred in the strip (not scrollIntoView: the page stays put).
      const strip = tab.closest(".tabs");
      const s = strip.getBoundingClientRect();
      const r = tab.getBoundingClientRect();
      if (active && (r.left < s.left || r.right > s.right)) {
        strip.scrollLeft += r.left - s.left - (s.width - r.width) / 2;
      }
    }
    for (const label of document.querySelectorAll("[data-control]")) {
      label.hidden = !spec.controls.includes(label.dataset.control);
    }
    setText("date-label", t(spec.date));
    // What the End date keeps (a week is picked as itself on the map and parity).
    document.getElementById("date").title = spec.date === "ctl.date" ? t("ctl.dateHint") : "";
    // The overview shows cards and a chart, each with its own CSV: say which this one is.
    setText("csv", t(state.view === "overview" ? "ctl.csvCards" : "ctl.csv"));
  }

  /** Draw the open view; `quiet` (a refresh) keeps the view shown, without the loading veil;
   *  `stored` (new stored data) reads /api/meta again first (its coverage bounds the End date). */
  async function render(quiet, stored) {
    const token = ++renderToken;
    writeUrl();
    showView();
    showRefused();
    const section = document.getElementById("view-" + state.view);
    const error = section.querySelector(".view-error");
    if (error) error.remove();
    const input = document.getElementById("date");
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
    section.classList.remove("failed");
    if (!quiet) {
      section.dataset.loading = t("loading");
      section.classList.add("is-loading");
      section.setAttribute("aria-busy", "true");
    }
    document.body.dataset.ready = "";
    try {
      if (stored) {
        try {
          meta = await getJSON("/api/meta");
        } catch (err) {
          // keep the previous meta; the redraw below reports its own errors
        }
        if (token !== renderToken) return;
      }
      dateBounds();
      await RENDERERS[state.view](token);
    } catch (err) {
      if (token !== renderToken) return;
      clearView(section);
      section.classList.add("failed"); // the error alone: no empty panels under it
      const box = document.createElement("p");
      box.className = "view-error";
      box.setAttribute("role", "alert");
      // A date the API refuses is said in the page's language, its English reason in the title,
      // and the date field is marked wrong and described by it.
      const badDate = err.status === 422 && state.date && input.validity.rangeOverflow;
      if (badDate) {
        box.id = "date-error";
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", box.id);
      }
      box.textContent = badDate ? dateError(input) : t("error", { message: err.message });
      box.title = err.message;
      section.prepend(box);
    } finally {
      if (token === renderToken) {
        section.classList.remove("is-loading");
        section.removeAttribute("aria-busy");
        document.body.dataset.ready = state.view;
        document.dispatchEvent(new CustomEvent("fuelpipe:rendered", { detail: state.view }));
      }
    }
  }

  function bind() {
    // live.js polls /api/live and announces new data with the parts that moved: the stored
    // data (every view reads it), the runs logged (the health view's) or an intraday series,
    // which only the overview's Today panel reads, when it shows that series. Only an open
    // view they affect is redrawn.
    document.addEventListener("fuelpipe:data-changed", (event) => {
      if (!meta) return load(); // live.js runs after a failed load too: the server is back
      const moved = event.detail.parts;
      const stored = moved.includes("store");
      const mine = { overview: state.today, health: "runs" }[state.view];
      // in place: no loading veil over a view that is only refreshed
      if (stored || moved.includes(mine)) {
        render(true, stored);
      }
    });
    // The server's clock, its São Paulo day one bound of the End date (live.js, on every
    // /api/live answer).
    document.addEventListener("fuelpipe:clock", (event) => {
      clockDay = spDay(event.detail);
      if (meta) dateBounds();
    });
    const tabs = Array.from(document.querySelectorAll(".tabs [role=tab]"));
    for (const tab of tabs) {
      tab.addEventListener("click", () => {
        state.view = tab.dataset.view;
        navigate();
      });
    }
    // The WAI-ARIA tabs pattern: Left/Right move to the previous/next tab (wrapping), Home and
    // End to the first and last, and the tab focused opens (automatic activation).
    document.querySelector(".tabs [role=tablist]").addEventListener("keydown", (event) => {
      const at = tabs.indexOf(document.activeElement);
      if (at < 0) return;
      const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 };
      if (!(event.key in moves)) return;
      event.preventDefault();
      const next = tabs[(moves[event.key] + tabs.length) % tabs.length];
      next.focus();
      next.click();
    });
    for (const button of document.querySelectorAll(".lang-btn")) {
      button.addEventListener("click", () => {
        state.lang = button.dataset.lang;
        applyI18n();
        if (meta) buildControls();
        navigate(true);
      });
    }
    for (const id of ["fuel", "area", "driver", "window"]) {
      document.getElementById(id).addEventListener("change", (event) => {
        state[id] = event.target.value;
        navigate();
      });
    }
    // A year under 1000 is one still being typed ("2" of 2026 made "0002-01-10": its fetch was
    // refused and the field reset under the reader's keys). A date typed with the keys is taken
    // once the reader pauses, leaves the field or presses Enter: typing the day "30" over "24"
    // made "03" first, a day fetched and pushed as an entry of its own. A picker's, at once.
    // Emptied with the keys, it is a part cleared to be typed again, not "no End date": it
    // waits (Enter takes it), and a field left so shows the date shown again. A pause in a year
    // still typed ends nothing: bounds set then would drop its digits (dateBounds).
    const date = document.getElementById("date");
    let dateTimer = 0;
    const takeDate = () => {
      dateTimer = clearTimeout(dateTimer);
      keyed = false;
      if (!/^0/.test(date.value) && date.value !== state.date) {
        state.date = date.value;
        navigate();
      } else if (meta) dateBounds();
    };
    date.addEventListener("keydown", (event) => {
      keyed = event.key !== "Enter";
      if (!keyed && (dateTimer || !date.value)) takeDate();
    });
    date.addEventListener("pointerdown", () => { keyed = false; });
    date.addEventListener("change", () => {
      dateTimer = clearTimeout(dateTimer);
      if (!keyed) takeDate();
      else if (date.value && !/^0/.test(date.value)) dateTimer = setTimeout(takeDate, 700);
    });
    date.addEventListener("blur", () => {
      if (dateTimer) takeDate();
      else if (keyed && !date.value) date.value = state.date;
      keyed = false;
      if (meta) dateBounds();
    });
    document.getElementById("today-series").addEventListener("change", (event) => {
      state.today = event.target.value;
      navigate();
    });
    document.getElementById("controls").addEventListener("submit", (e) => e.preventDefault());
    // Back and Forward: the entry's address is the view to show, its controls and language.
    window.addEventListener("popstate", () => {
      readUrl();
      applyI18n();
      if (!meta) { // the page never loaded: tried again, its failure said in the entry's language
        showView();
        return load();
      }
      sanitizeChoices();
      buildControls();
      render();
    });
    NARROW.addEventListener("change", () => state.view === "correlations" && meta && render(true));
    NO_HOVER.addEventListener("change", () => meta && render(true));
    window.addEventListener("resize", () => {
      window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(rewrapTitles, 150);
    });
    const status = document.getElementById("share-status");
    // by its key, as every text applyI18n says again in the language picked ("" says nothing)
    const say = (key) => { status.textContent = t(status.dataset.i18n = key); };
    document.getElementById("share").addEventListener("click", async () => {
      const box = document.getElementById("share-link");
      try {
        // "copied" only once the write resolved: no clipboard (an http page), a refusal or a
        // failure leaves the link in a box, selected, to copy by hand
        await navigator.clipboard.writeText(window.location.href);
        box.hidden = true;
        say("ctl.copied");
        window.setTimeout(() => status.dataset.i18n === "ctl.copied" && say(""), 2500);
      } catch (e) {
        say("ctl.copyFailed");
        box.value = window.location.href;
        box.hidden = false;
        box.select();
      }
    });
  }

  async function start() {
    // /api/live answered before the first view's data is read: live.js, loaded after the first
    // chart, takes it as its first poll, so data landing meanwhile is a change it redraws.
    const live = (window.FUELPIPE_LIVE = fetch("/api/live", { cache: "no-store" }));
    readUrl();
    applyI18n();
    showView();
    bind();
    await live.catch(() => {});
    await load();
  }

  /** /api/meta, then the open view; a failure said where the view goes. Tried again (a
   *  language picked, Back) before an answer, the latest try alone says how it went. */
  async function load() {
    const token = ++loads;
    const section = document.getElementById("view-" + state.view);
    for (const old of section.querySelectorAll(".view-error")) old.remove();
    section.dataset.loading = t("loading");
    section.classList.add("is-loading");
    try {
      const got = await getJSON("/api/meta");
      if (token !== loads) return;
      meta = got;
    } catch (err) {
      if (token !== loads) return;
      const box = document.createElement("p");
      box.className = "view-error";
      box.setAttribute("role", "alert");
      box.textContent = t("error", { message: err.message });
      section.prepend(box);
      section.classList.remove("is-loading");
      loadLazy("live").catch(() => {}); // its status says whether the server answers again
      return;
    } finally {
      document.body.dataset.answers = ++answers;
    }
    sanitizeChoices();
    buildControls();
    await render();
    // The live panel after the first chart (the chart's JavaScript budget): it polls at once.
    loadLazy("live").catch(() => {});
    prefetchLazy();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
