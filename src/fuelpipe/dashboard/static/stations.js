/* The station views: municipality ranking and distribution, brand premium, dispersion over
   time, station search. Bilingual (EN / PT-BR), state in the URL, every table as CSV. */
"use strict";

(() => {
  const T = {
    en: {
      "title": "Every pump in Brazil",
      "subtitle": "ANP's station-level survey, by municipality and brand",
      "back": "Weekly averages",
      "tab.ranking": "Municipalities",
      "tab.brands": "Brand premium",
      "tab.dispersion": "Dispersion",
      "tab.search": "Station search",
      "ctl.fuel": "Fuel",
      "ctl.lang": "Language",
      "ctl.views": "Station views",
      "ctl.start": "From",
      "ctl.end": "To",
      "ctl.state": "State",
      "ctl.q": "Name, CNPJ or town",
      "ctl.csv": "Download CSV",
      "ctl.csvMuni": "Download its weeks (CSV)",
      "ctl.share": "Copy link",
      "ctl.copied": "Link copied",
      "ctl.copyFailed": "Could not copy the link: copy it from this box",
      "ctl.link": "Link to this view",
      "ctl.allStates": "All states",
      "rank.cheapest": "Cheapest municipalities",
      "rank.dearest": "Dearest municipalities",
      "rank.pick": "Pick a municipality to see its weekly distribution",
      "rank.muni": "{name}: weekly price distribution",
      "col.municipality": "Municipality",
      "col.state": "UF",
      "col.stations": "Stations",
      "col.median": "Median",
      "col.p10": "P10",
      "col.p90": "P90",
      "col.brand": "Flag",
      "col.premium": "Premium vs unbranded",
      "col.premium_pct": "Premium %",
      "col.mean_price": "Mean price",
      "col.observations": "Prices",
      "col.week": "Week of",
      "col.cv": "Coeff. of variation",
      "col.spread": "P90 − P10",
      "col.cnpj": "CNPJ",
      "col.station": "Station",
      "col.address": "Address",
      "col.product": "Fuel",
      "col.collected": "Collected",
      "col.price": "Price",
      "chart.median": "Median",
      "chart.band": "P10–P90",
      "chart.premium": "Premium over unbranded ({unit})",
      "chart.cv": "Coefficient of variation",
      "chart.stations": "{n} stations",
      "chart.stations.one": "1 station",
      "summary.ranking": "{n} municipalities with {fuel} prices, survey weeks {start} to {end}.",
      "summary.ranking.one": "1 municipality with {fuel} prices, survey weeks {start} to {end}.",
      "summary.brands": "{n} flags compared with unbranded (BRANCA) stations of the same town and week, survey weeks {start} to {end}.",
      "summary.brands.one": "1 flag compared with unbranded (BRANCA) stations of the same town and week, survey weeks {start} to {end}.",
      "summary.asked": " A survey week runs Sunday to Saturday: these are the whole weeks that hold the days asked for, {start} to {end}.",
      "summary.brandsFew": " {n} with fewer than {min} prices: pale in the chart and marked “few prices” in the table (their premium is uncertain).",
      "summary.brandsFew.one": " 1 with fewer than {min} prices: pale in the chart and marked “few prices” in the table (its premium is uncertain).",
      "brands.few": "few prices",
      "summary.dispersion": "National spread of {fuel} prices week by week, survey weeks {start} to {end}.",
      "summary.search": "{n} stations found for “{q}”.",
      "summary.search.one": "1 station found for “{q}”.",
      "summary.searchCut": "Showing the first {n} stations for “{q}”, best matches first: there are more. Refine the search (a longer name, the CNPJ or the town).",
      "summary.searchHint": "Type at least two letters of a station name, CNPJ or town.",
      "summary.empty": "No station data for this choice.",
      "error.load": "Could not load this view: {msg}",
      "error.failed": "the request failed ({detail})",
      "notice.oldLayout": "This station lake is in an old layout ({layout}, before the current {current}): a station whose CNPJ ANP once wrote with punctuation may be counted twice in these figures. Run `fuelpipe stations migrate` to bring it up to date.",
      "footer": "Source: ANP, Série Histórica de Preços de Combustíveis (station-level survey). Prices in R$ per litre, LPG per 13 kg bottle, CNG per m³.",
      "fuel.GASOLINE": "Gasoline",
      "fuel.GASOLINE_PREMIUM": "Premium gasoline",
      "fuel.ETHANOL": "Ethanol",
      "fuel.DIESEL": "Diesel",
      "fuel.DIESEL_S10": "Diesel S10",
      "fuel.CNG": "CNG",
      "fuel.LPG": "LPG (13 kg)",
      "per.BRL/l": "per litre",
      "per.BRL/13kg": "per 13 kg",
      "per.BRL/m3": "per m³",
    },
    "pt-BR": {
      "title": "Todos os postos do Brasil",
      "subtitle": "O levantamento da ANP posto a posto, por município e bandeira",
      "back": "Médias semanais",
      "tab.ranking": "Municípios",
      "tab.brands": "Prêmio de bandeira",
      "tab.dispersion": "Dispersão",
      "tab.search": "Busca de postos",
      "ctl.fuel": "Combustível",
      "ctl.lang": "Idioma",
      "ctl.views": "Visões dos postos",
      "ctl.start": "De",
      "ctl.end": "Até",
      "ctl.state": "Estado",
      "ctl.q": "Nome, CNPJ ou cidade",
      "ctl.csv": "Baixar CSV",
      "ctl.csvMuni": "Baixar as semanas (CSV)",
      "ctl.share": "Copiar link",
      "ctl.copied": "Link copiado",
      "ctl.copyFailed": "Não foi possível copiar o link: copie-o desta caixa",
      "ctl.link": "Link desta visão",
      "ctl.allStates": "Todos os estados",
      "rank.cheapest": "Municípios mais baratos",
      "rank.dearest": "Municípios mais caros",
      "rank.pick": "Escolha um município para ver a distribuição semanal",
      "rank.muni": "{name}: distribuição semanal dos preços",
      "col.municipality": "Município",
      "col.state": "UF",
      "col.stations": "Postos",
      "col.median": "Mediana",
      "col.p10": "P10",
      "col.p90": "P90",
      "col.brand": "Bandeira",
      "col.premium": "Prêmio sobre bandeira branca",
      "col.premium_pct": "Prêmio %",
      "col.mean_price": "Preço médio",
      "col.observations": "Preços",
      "col.week": "Semana de",
      "col.cv": "Coef. de variação",
      "col.spread": "P90 − P10",
      "col.cnpj": "CNPJ",
      "col.station": "Posto",
      "col.address": "Endereço",
      "col.product": "Combustível",
      "col.collected": "Coleta",
      "col.price": "Preço",
      "chart.median": "Mediana",
      "chart.band": "P10–P90",
      "chart.premium": "Prêmio sobre bandeira branca ({unit})",
      "chart.cv": "Coeficiente de variação",
      "chart.stations": "{n} postos",
      "chart.stations.one": "1 posto",
      "summary.ranking": "{n} municípios com preços de {fuel}, semanas de pesquisa de {start} a {end}.",
      "summary.ranking.one": "1 município com preços de {fuel}, semanas de pesquisa de {start} a {end}.",
      "summary.brands": "{n} bandeiras comparadas com postos de bandeira branca da mesma cidade e semana, semanas de pesquisa de {start} a {end}.",
      "summary.brands.one": "1 bandeira comparada com postos de bandeira branca da mesma cidade e semana, semanas de pesquisa de {start} a {end}.",
      "summary.asked": " Uma semana de pesquisa vai de domingo a sábado: estas são as semanas inteiras que contêm os dias pedidos, de {start} a {end}.",
      "summary.brandsFew": " {n} com menos de {min} preços: claras no gráfico e marcadas “poucos preços” na tabela (o prêmio delas é incerto).",
      "summary.brandsFew.one": " 1 com menos de {min} preços: clara no gráfico e marcada “poucos preços” na tabela (o prêmio dela é incerto).",
      "brands.few": "poucos preços",
      "summary.dispersion": "Dispersão nacional dos preços de {fuel} semana a semana, semanas de pesquisa de {start} a {end}.",
      "summary.search": "{n} postos encontrados para “{q}”.",
      "summary.search.one": "1 posto encontrado para “{q}”.",
      "summary.searchCut": "Mostrando os primeiros {n} postos para “{q}”, os mais parecidos primeiro: há mais. Refine a busca (um nome mais longo, o CNPJ ou a cidade).",
      "summary.searchHint": "Digite ao menos duas letras do nome, CNPJ ou cidade do posto.",
      "summary.empty": "Sem dados de postos para esta escolha.",
      "error.load": "Não foi possível carregar esta visão: {msg}",
      "error.failed": "a consulta falhou ({detail})",
      "notice.oldLayout": "Esta base de postos está num formato antigo ({layout}, anterior ao atual, {current}): um posto cujo CNPJ a ANP já escreveu com pontuação pode ser contado duas vezes nestes números. Rode `fuelpipe stations migrate` para atualizá-la.",
      "error.startAfterEnd": "a data inicial {start} é posterior à final {end}",
      "error.span": "a data inicial {start} está mais de {n} dias antes da final {end}",
      "error.ofFuel": " de {fuel}",
      "error.startAfterLake": "a data inicial {start} é posterior ao último dia de coleta{of} da base, {last}, onde termina uma consulta sem data final: a base tem dias de coleta{of} de {first} a {held}",
      "error.spanLake": "a data inicial {start} está mais de {n} dias antes do último dia de coleta{of} da base, {last}, onde termina uma consulta sem data final",
      "error.outside": "a data {day} está fora do intervalo {first} a {last}",
      "error.noLake": "não há base de postos aqui: instale o extra lake ({install}) e rode `fuelpipe stations ingest`",
      "error.noLakeIngest": "não há base de postos aqui: rode `fuelpipe stations ingest` (ou `fuelpipe demo`) antes, ou confira FUELPIPE_LAKE",
      "error.noLakeBucket": "não há base de postos aqui: defina FUELPIPE_LAKE_BUCKET com o bucket da base da stack (o infra/template.yaml o define na Lambda dashboard_api)",
      "error.emptyLake": "não há dados de postos aqui: a base está vazia: rode `fuelpipe stations ingest` antes",
      "error.http": "o servidor respondeu HTTP {status}",
      "footer": "Fonte: ANP, Série Histórica de Preços de Combustíveis (levantamento por posto). Preços em R$ por litro, GLP por botijão de 13 kg, GNV por m³.",
      "fuel.GASOLINE": "Gasolina comum",
      "fuel.GASOLINE_PREMIUM": "Gasolina aditivada",
      "fuel.ETHANOL": "Etanol hidratado",
      "fuel.DIESEL": "Óleo diesel",
      "fuel.DIESEL_S10": "Óleo diesel S10",
      "fuel.CNG": "GNV",
      "fuel.LPG": "GLP (13 kg)",
      "per.BRL/l": "por litro",
      "per.BRL/13kg": "por 13 kg",
      "per.BRL/m3": "por m³",
    },
  };
  const UFS = ["AC", "AL", "AM", "AP", "BA", "CE", "DF", "ES", "GO", "MA", "MG", "MS", "MT", "PA",
    "PB", "PE", "PI", "PR", "RJ", "RN", "RO", "RR", "RS", "SC", "SE", "SP", "TO"];
  const VIEWS = ["ranking", "brands", "dispersion", "search"];
  const TOP = 15;
  // A flag with fewer prices than this has an uncertain premium: it is shown (the CSV has every
  // flag, so the screen lists them all too) but pale in the chart and marked in the table.
  const MIN_BRAND_PRICES = 30;
  const BRAND_ROW_PX = 20; // the brand chart's height per flag: one readable label per bar
  const CV_PANEL = 0.28; // the dispersion chart's height given to its coefficient of variation
  // A date typed with the keys is taken after this pause in the typing (see bind).
  const KEY_PAUSE_MS = 700;
  const dateTimers = { start: null, end: null };

  const defaults = {
    view: "ranking",
    fuel: "GASOLINE",
    start: "",
    end: "",
    state: "",
    muni: "",
    q: "",
    lang: (navigator.language || "en").toLowerCase().startsWith("pt") ? "pt-BR" : "en",
  };
  const state = { ...defaults };
  let meta = null;
  let oldLayout = null; // the API's `old_layout`: the lake is not yet migrated to today's layout
  let seq = 0;
  // The fuel codes the lake holds (the meta's `fuels`), or null before it answers or when it
  // holds none (an empty lake: every fuel is offered, and each view says so).
  const held = () => (meta && meta.fuels.length ? meta.fuels.map((f) => f.fuel) : null);

  const $ = (id) => document.getElementById(id);
  const t = (key, vars = {}) => {
    const text = (T[state.lang] || T.en)[key] ?? T.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
  };
  // Intl writes a hyphen for minus; the page writes U+2212, as app.js does
  const num = (v, digits = 2) =>
    v === null || v === undefined
      ? "–"
      : new Intl.NumberFormat(state.lang, {
          minimumFractionDigits: digits,
          maximumFractionDigits: digits,
          signDisplay: "negative", // a figure shown as zero has no sign ("-0.0" said "below")
        }).format(v).replace("-", "\u2212");
  // The API's price units as the page writes them, in both languages.
  const UNITS = { "BRL/l": "R$/l", "BRL/13kg": "R$/13 kg", "BRL/m3": "R$/m³" };
  const unitLabel = (unit) => UNITS[unit] || unit || "R$";
  // Dates and money as the main page writes them (app.js's fmt.date and fmt.money, which this
  // page does not load): "Mar 16, 2025" / "16 de mar. de 2025", "R$ 6.34" / "R$ 6,34".
  const day = (iso) =>
    iso
      ? new Intl.DateTimeFormat(state.lang, { dateStyle: "medium", timeZone: "UTC" }).format(new Date(`${iso}T00:00:00Z`))
      : "";
  // Every price of the page, in its tables (whose header names the unit) and hovers, is money
  // so written; a premium keeps its third digit; one shown as zero has no sign, as num's.
  const money = (v, digits = 2) =>
    v === null || v === undefined
      ? "–"
      : new Intl.NumberFormat(state.lang, {
          style: "currency",
          currency: "BRL",
          minimumFractionDigits: digits,
          maximumFractionDigits: digits,
          signDisplay: "negative",
        }).format(v).replace("-", "\u2212").replace(/R\$(?=\d)/, "R$\u00a0");
  // A price's unit in words ("per litre", "por 13 kg"): a hover or a search's cell has no header
  const per = (unit) => (T.en[`per.${unit}`] ? t(`per.${unit}`) : unitLabel(unit));

  // Plotly's pt-BR words and dates come with the bundle (scripts/plotly/build.mjs).
  const plotly = () => window.Plotly;

  // The API answers in English. In Portuguese the messages it is known to send are translated;
  // any other is shown in parentheses after a Portuguese sentence.
  // Without an end the API counts to the lake's last day, and its refusal names that day so.
  // A view of a fuel the lake holds counts to that fuel's last day, and names the fuel.
  const LAKE_END = "the lake's last (?:([A-Z_0-9]+) )?collection day (\\d{4}-\\d{2}-\\d{2}), where an answer without end ends";
  const of = (code) => (code ? t("error.ofFuel", { fuel: t(`fuel.${code}`) }) : "");
  const API_ERRORS = [
    [/^start (\d{4}-\d{2}-\d{2}) is after end (\d{4}-\d{2}-\d{2})$/,
      (m) => ["error.startAfterEnd", { start: day(m[1]), end: day(m[2]) }]],
    [new RegExp(`^start (\\d{4}-\\d{2}-\\d{2}) is after ${LAKE_END}: the lake holds (?:[A-Z_0-9]+ )?collection days (\\d{4}-\\d{2}-\\d{2}) to (\\d{4}-\\d{2}-\\d{2})$`),
      (m) => ["error.startAfterLake", { start: day(m[1]), of: of(m[2]), last: day(m[3]), first: day(m[4]), held: day(m[5]) }]],
    [/^start (\d{4}-\d{2}-\d{2}) is more than (\d+) days before end (\d{4}-\d{2}-\d{2})$/,
      (m) => ["error.span", { start: day(m[1]), n: m[2], end: day(m[3]) }]],
    [new RegExp(`^start (\\d{4}-\\d{2}-\\d{2}) is more than (\\d+) days before ${LAKE_END}$`),
      (m) => ["error.spanLake", { start: day(m[1]), n: m[2], of: of(m[3]), last: day(m[4]) }]],
    [/^(?:start|end): (\d{4}-\d{2}-\d{2}) is outside (\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/,
      (m) => ["error.outside", { day: day(m[1]), first: day(m[2]), last: day(m[3]) }]],
    [/^no station lake here: install the lake extra \((.+)\) and run/, (m) => ["error.noLake", { install: m[1] }]],
    [/^no station lake here: set FUELPIPE_LAKE_BUCKET/, () => ["error.noLakeBucket", {}]],
    [/^no station lake here/, () => ["error.noLakeIngest", {}]],
    [/^no station data here: the lake is empty/, () => ["error.emptyLake", {}]],
    [/^HTTP (\d+)$/, (m) => ["error.http", { status: m[1] }]],
  ];

  function errorText(err) {
    const detail = String((err && err.message) || err);
    if (state.lang === "en") return t("error.load", { msg: detail });
    for (const [pattern, make] of API_ERRORS) {
      const match = detail.match(pattern);
      if (match) {
        const [key, vars] = make(match);
        return t("error.load", { msg: t(key, vars) });
      }
    }
    return t("error.load", { msg: t("error.failed", { detail }) });
  }

  /** The notice of a lake in an older layout, as the last answer gave it (or none). */
  function showLayout() {
    const el = $("st-layout");
    el.hidden = !oldLayout;
    el.textContent = oldLayout
      ? t("notice.oldLayout", { layout: oldLayout.layout, current: oldLayout.current })
      : "";
  }

  function showError(err) {
    $("st-error").textContent = errorText(err);
    $("st-error").hidden = false;
    // The date a refusal names ("start ...", "end: ...", "is after end ...") is marked wrong and
    // described by it, so a screen reader says why on the field. The lake's last day, which a
    // refusal without an end names, is no field's: the start alone is marked then.
    const detail = String((err && err.message) || err);
    const fields = [];
    if (/^start\b/.test(detail)) fields.push("st-start");
    if (/^end:|is after end/.test(detail)) fields.push("st-end");
    for (const id of fields) {
      $(id).setAttribute("aria-invalid", "true");
      $(id).setAttribute("aria-describedby", "st-error");
    }
  }

  /** The state the address names, the defaults for what it leaves out (so Back to an address
   *  without a key does not keep the key's later value). */
  function readUrl() {
    Object.assign(state, defaults);
    const params = new URLSearchParams(location.search);
    for (const key of Object.keys(defaults)) {
      if (params.has(key)) state[key] = params.get(key);
    }
    if (!VIEWS.includes(state.view)) state.view = defaults.view;
    if (!(state.lang in T)) state.lang = defaults.lang;
  }

  /** Put the state in the address: a new history entry for a user's change (`push`), so Back
   *  returns to what was shown before it; else the current entry rewritten (the first load's
   *  address completed with the dates the API chose). */
  function writeUrl(push = false) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(state)) {
      if (value && value !== defaults[key]) params.set(key, value);
    }
    params.set("view", state.view);
    params.set("lang", state.lang);
    const url = `${location.pathname}?${params}`;
    if (url === location.pathname + location.search) return;
    if (push) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
    if (!$("st-link").hidden) $("st-link").value = location.href; // the link to copy by hand: this one
  }

  /** A user's change: a history entry of its own, then drawn. */
  function navigate() {
    writeUrl(true);
    return render();
  }

  function apiUrl(format = "json") {
    const params = new URLSearchParams({ fuel: state.fuel });
    if (state.start) params.set("start", state.start);
    if (state.end) params.set("end", state.end);
    let path = "/api/stations/";
    if (state.view === "ranking") {
      path += "ranking";
      if (state.state) params.set("state", state.state);
    } else if (state.view === "search") {
      path += "search";
      params.delete("fuel");
      params.set("q", state.q);
    } else {
      path += state.view;
    }
    if (format === "csv") params.set("format", "csv");
    return `${path}?${params}`;
  }

  function muniUrl(format = "json") {
    const [uf, name] = state.muni.split("|");
    const params = new URLSearchParams({ fuel: state.fuel, state: uf, municipality: name });
    if (state.start) params.set("start", state.start);
    if (state.end) params.set("end", state.end);
    if (format === "csv") params.set("format", "csv");
    return `/api/stations/municipality?${params}`;
  }

  async function getJson(url) {
    const resp = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(typeof body.detail === "string" ? body.detail : `HTTP ${resp.status}`);
    return body;
  }

  const records = (data) =>
    data.rows.map((row) => Object.fromEntries(data.columns.map((c, i) => [c, row[i]])));

  /** A table; a column whose fourth item is true holds prices and its header names `unit`. */
  function table(el, columns, rows, rowAttrs = () => ({}), unit = "") {
    el.textContent = "";
    const head = el.createTHead().insertRow();
    for (const [key, , numeric, priced] of columns) {
      const th = document.createElement("th");
      th.textContent = priced ? `${t(`col.${key}`)} (${unitLabel(unit)})` : t(`col.${key}`);
      if (numeric) th.className = "num";
      head.appendChild(th);
    }
    const body = el.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      for (const [name, value] of Object.entries(rowAttrs(row))) tr.setAttribute(name, value);
      for (const [, render, numeric] of columns) {
        const td = tr.insertCell();
        td.textContent = render(row);
        if (numeric) td.className = "num";
      }
    }
  }

  /** A chart's PNG name, not Plotly's "newplot": the chart and the choices of the data it
   *  draws (fuel, state, municipality), then its window, as the main page names its charts'. */
  function imageName(id) {
    const q = new URLSearchParams((id === "st-chart-muni" ? muniUrl() : apiUrl()).split("?")[1]);
    const parts = ["stations", id.slice(9)];
    for (const [k, v] of q) if (k !== "start" && k !== "end") parts.push(v);
    parts.push(`${q.get("start") || ""}..${q.get("end") || ""}`);
    return parts.join("-").replace(/[^A-Za-z0-9.-]+/g, "_").slice(0, 150);
  }

  /** Draw a chart; `name` says what it draws to a screen reader, with its lines' names. */
  function plot(id, traces, layout, name) {
    const el = $(id);
    const P = plotly();
    if (!P) return;
    const lines = traces.map((trace) => trace.name).filter(Boolean).join(", ");
    // A figure, not an img, which would hide its toolbar's buttons too (see app.js).
    el.setAttribute("role", "figure");
    el.setAttribute("aria-label", lines ? `${name}: ${lines}` : name);
    P.react(
      el,
      traces,
      {
        margin: { t: 24, r: 16, b: 48, l: 64 },
        separators: state.lang === "pt-BR" ? ",." : ".,",
        // below the dates: at Plotly's own y (-0.1) it sat on the year under the first one
        legend: { orientation: "h", yanchor: "top", y: -0.2 },
        ...layout,
      },
      // no "Share chart..." button: it uploads the chart to Plotly Cloud (see app.js); nor the
      // buttons the bundle's Portuguese has no words for, as on the main page
      { displaylogo: false, showSendToCloud: false, responsive: true, locale: state.lang,
        modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"],
        toImageButtonOptions: { filename: imageName(id) } },
    ).then(() => {
      for (const svg of el.querySelectorAll(".main-svg")) svg.setAttribute("aria-hidden", "true");
    });
  }

  /** A chart's axis title in lines (Plotly's <br>) of at most `room` px, in Plotly's font: it
   *  centres a title on the plot and never wraps it, so on a phone a long one ran off the chart. */
  function wrapped(text, room) {
    const ctx = (wrapped.ctx ||= document.createElement("canvas").getContext("2d"));
    ctx.font = "14px 'Open Sans', verdana, arial, sans-serif";
    const lines = [""];
    for (const word of text.split(" ")) {
      const next = lines[lines.length - 1] ? `${lines[lines.length - 1]} ${word}` : word;
      if (lines[lines.length - 1] && ctx.measureText(next).width > room) lines.push(word);
      else lines[lines.length - 1] = next;
    }
    return lines;
  }

  // A weekly chart's dates: at most one a week, which Plotly puts on its Sunday (where the
  // points are), fewer when 80 px each do not fit; its own were every 3 days, between them.
  const weekAxis = (id, weeks) => ({
    type: "date", nticks: Math.max(2, Math.min(weeks.length + 1, Math.floor($(id).clientWidth / 80))),
  });
  // A price axis ticks in centavos, as the main page's: Plotly's own format wrote "5.8" beside
  // "5.75" and "6" beside "6.2"; an axis spanning under 10 centavos keeps its finer ticks.
  const priceAxis = (unit, ys) => {
    const values = ys.filter((v) => v !== null && v !== undefined);
    const wide = values.length && Math.max(...values) - Math.min(...values) >= 0.1;
    return { title: { text: unitLabel(unit) }, ...(wide ? { tickformat: ",.2f" } : {}) };
  };
  // A point's hover label: its week as the page writes days, then what it says (Plotly's own
  // label wrote the date its way and cut a long line name to "Coefficient ...").
  const hoverText = (weeks, says) => ({
    customdata: weeks.map((w, i) => `${day(w)} · ${says(i)}`),
    hovertemplate: "%{customdata}<extra></extra>",
  });

  function fuelName() {
    return t(`fuel.${state.fuel}`);
  }

  /** The summary; with an answer (`data`), its survey weeks and, when they are wider, the days
   *  asked for: the From and To fields hold the days, and the two spans read as a contradiction. */
  function setSummary(key, vars, data) {
    const one = vars.n === 1 && `${key}.one` in T.en ? `${key}.one` : key;
    const weeks = data ? { start: day(data.covered_start), end: day(data.covered_end) } : {};
    let text = t(one, { fuel: fuelName(), ...vars, ...weeks });
    if (data && key !== "summary.empty" && (data.start !== data.covered_start || data.end !== data.covered_end)) {
      text += t("summary.asked", { start: day(data.start), end: day(data.end) });
    }
    $("st-summary").textContent = text;
  }

  // What a failed load leaves: only the error. The view's tables and charts are emptied and
  // its section hidden (syncControls shows it again on the next load).
  function clearView(view) {
    $("st-summary").textContent = "";
    const section = $(`st-view-${view}`);
    section.hidden = true;
    for (const el of section.querySelectorAll("table")) el.textContent = "";
    const P = plotly();
    for (const el of section.querySelectorAll(".chart")) if (P) P.purge(el);
    if (view === "ranking") {
      $("st-muni-title").textContent = t("rank.pick");
      $("st-muni-csv").hidden = true;
    }
  }

  async function renderRanking(data) {
    const rows = records(data);
    setSummary(rows.length ? "summary.ranking" : "summary.empty", { n: rows.length }, data);
    const cols = [
      ["municipality", (r) => r.municipality],
      ["state", (r) => r.state],
      ["stations", (r) => num(r.stations, 0), true],
      ["p10", (r) => money(r.p10), true, true],
      ["median", (r) => money(r.median), true, true],
      ["p90", (r) => money(r.p90), true, true],
    ];
    const attrs = (r) => {
      const key = `${r.state}|${r.municipality}`;
      // Each row takes the focus (Tab) and Enter or Space picks it, as a click does.
      return { "data-muni": key, tabindex: "0", class: key === state.muni ? "selected" : "" };
    };
    // Up to 2 × TOP towns (most states) are split at the median, so that no town is both the
    // cheapest and the dearest; a table with no town (one town, or none) is not shown.
    const cheap = Math.min(TOP, Math.ceil(rows.length / 2));
    const ranked = [rows.slice(0, cheap), rows.slice(Math.max(cheap, rows.length - TOP)).reverse()];
    ["st-cheapest", "st-dearest"].forEach((id, i) => {
      table($(id), cols, ranked[i], attrs, data.unit);
      $(id).closest(".panel").hidden = !ranked[i].length;
    });
    // No town to pick (CNG in Acre): no "Pick a municipality" panel under the note either.
    $("st-chart-muni").closest(".panel").hidden = !rows.length;
    if (rows.length) await renderMunicipality();
  }

  async function renderMunicipality() {
    const csv = $("st-muni-csv");
    const graph = $("st-chart-muni");
    graph.hidden = false;
    if (!state.muni || !state.muni.includes("|")) {
      $("st-muni-title").textContent = t("rank.pick");
      csv.hidden = true;
      if (plotly()) plotly().purge(graph);
      return;
    }
    const [uf, name] = state.muni.split("|");
    $("st-muni-title").textContent = t("rank.muni", { name: `${name} (${uf})` });
    csv.href = muniUrl("csv");
    csv.hidden = false;
    const data = await getJson(muniUrl());
    const rows = records(data);
    // A town kept from another fuel (or a link) with no price here: said, not empty axes.
    if (!rows.length) {
      $("st-muni-title").textContent = `${name} (${uf}): ${t("summary.empty")}`;
      graph.hidden = true;
      if (plotly()) plotly().purge(graph);
      return;
    }
    const weeks = rows.map((r) => r.week);
    const stations = (n) => t(n === 1 ? "chart.stations.one" : "chart.stations", { n: num(n, 0) });
    const unit = per(data.unit);
    plot("st-chart-muni", [
      { x: weeks, y: rows.map((r) => r.p90), mode: "lines", line: { width: 0 }, showlegend: false, hoverinfo: "skip" },
      { x: weeks, y: rows.map((r) => r.p10), mode: "lines", fill: "tonexty", line: { width: 0 },
        fillcolor: "rgba(31,78,121,0.18)", name: t("chart.band"),
        ...hoverText(weeks, (i) => `${t("chart.band")}: ${money(rows[i].p10)} – ${money(rows[i].p90)} ${unit}`) },
      { x: weeks, y: rows.map((r) => r.median), mode: "lines+markers", name: t("chart.median"),
        line: { color: "#1f4e79" },
        ...hoverText(weeks, (i) => `${t("chart.median")}: ${money(rows[i].median)} ${unit} · ${stations(rows[i].stations)}`) },
    ], {
      yaxis: priceAxis(data.unit, rows.flatMap((r) => [r.p10, r.p90])),
      xaxis: weekAxis("st-chart-muni", weeks),
    }, $("st-muni-title").textContent);
  }

  function renderBrands(data) {
    const rows = records(data);
    const few = (r) => r.observations < MIN_BRAND_PRICES;
    setSummary(rows.length ? "summary.brands" : "summary.empty", { n: rows.length }, data);
    const k = rows.filter(few).length;
    const fewKey = k === 1 ? "summary.brandsFew.one" : "summary.brandsFew";
    if (k) $("st-summary").textContent += t(fewKey, { n: k, min: MIN_BRAND_PRICES });
    const sorted = [...rows].sort((a, b) => a.premium - b.premium);
    // Every bar names its flag: a tick per bar (Plotly's automatic ticks skipped every other
    // one of 44), and a chart that grows with the flags so the names do not overlap.
    const brands = sorted.map((r) => r.brand);
    // 40 px above the bars for the toolbar, shown at all times on a touch screen: at 16 it sat
    // on the top flag's bar (the largest premium, the longest); the rows keep their height.
    const margin = { t: 40, r: 16, b: 48, l: 160 };
    const height = Math.max(560, BRAND_ROW_PX * brands.length + margin.t + 64);
    $("st-chart-brands").style.height = `${height}px`;
    const title = wrapped(t("chart.premium", { unit: unitLabel(data.unit) }),
      $("st-chart-brands").clientWidth - margin.l - margin.r);
    margin.b += 18 * (title.length - 1);
    plot("st-chart-brands", [{
      type: "bar", orientation: "h", y: sorted.map((r) => r.brand), x: sorted.map((r) => r.premium),
      marker: {
        color: sorted.map((r) => (r.premium >= 0 ? "#c0392b" : "#1e8449")),
        opacity: sorted.map((r) => (few(r) ? 0.35 : 1)),
      },
      // written as the table writes them, with the unit: Plotly's %{x:.3f} had a hyphen for minus
      customdata: sorted.map((r) => [`${money(r.premium, 3)} ${per(data.unit)}`, num(r.premium_pct, 1), few(r) ? ` · ${t("brands.few")}` : ""]),
      hovertemplate: "%{y}: %{customdata[0]} (%{customdata[1]}%)%{customdata[2]}<extra></extra>",
    }], {
      xaxis: { title: { text: title.join("<br>") } },
      yaxis: { type: "category", tickmode: "array", tickvals: brands, ticktext: brands, automargin: true },
      height,
      margin,
    }, `${fuelName()}: ${t("chart.premium", { unit: unitLabel(data.unit) })}`);
    table($("st-brands"), [
      ["brand", (r) => r.brand],
      ["observations", (r) => num(r.observations, 0) + (few(r) ? ` · ${t("brands.few")}` : ""), true],
      ["mean_price", (r) => money(r.mean_price), true, true],
      ["premium", (r) => money(r.premium, 3), true, true],
      ["premium_pct", (r) => num(r.premium_pct, 1), true],
    ], rows, (r) => (few(r) ? { class: "few" } : {}), data.unit);
  }

  function renderDispersion(data) {
    const rows = records(data);
    setSummary(rows.length ? "summary.dispersion" : "summary.empty", {}, data);
    const weeks = rows.map((r) => r.week);
    const price = (name, col) => hoverText(weeks, (i) => `${name}: ${money(rows[i][col])} ${per(data.unit)}`);
    plot("st-chart-dispersion", [
      { x: weeks, y: rows.map((r) => r.p90), name: "P90", mode: "lines+markers", line: { color: "#c0392b" },
        ...price("P90", "p90") },
      { x: weeks, y: rows.map((r) => r.median), name: t("chart.median"), mode: "lines+markers", line: { color: "#1f4e79" },
        ...price(t("chart.median"), "median") },
      { x: weeks, y: rows.map((r) => r.p10), name: "P10", mode: "lines+markers", line: { color: "#1e8449" },
        ...price("P10", "p10") },
      // one week is a point: a line of one point drew nothing in its panel
      { x: weeks, y: rows.map((r) => r.cv), name: t("chart.cv"), yaxis: "y2", mode: weeks.length > 1 ? "lines" : "markers",
        line: { dash: "dot", color: "#7f8c8d" }, marker: { color: "#7f8c8d" },
        ...hoverText(weeks, (i) => `${t("chart.cv")}: ${num(rows[i].cv * 100, 1)}%`) },
    ], {
      // the dates under the lower panel, for both
      xaxis: { ...weekAxis("st-chart-dispersion", weeks), anchor: "y2" },
      yaxis: { ...priceAxis(data.unit, rows.flatMap((r) => [r.p10, r.p90])), domain: [CV_PANEL + 0.08, 1] },
      // The coefficient of variation in percent, in a panel of its own under the prices: laid
      // over them on a right axis of its own scale, its line sat on the P90 line at 390 px.
      // Its title wraps to the panel's height; its ticks and title have room on the right.
      yaxis2: {
        anchor: "x", domain: [0, CV_PANEL], side: "right",
        title: { text: wrapped(t("chart.cv"), CV_PANEL * ($("st-chart-dispersion").clientHeight - 120)).join("<br>"), standoff: 10 },
        tickmode: "auto", nticks: 4, tickformat: ".1~%", automargin: true, rangemode: "tozero",
      },
      margin: { t: 24, r: 24, b: 48, l: 64 },
    }, `${t("tab.dispersion")} (${fuelName()})`);
    table($("st-dispersion"), [
      ["week", (r) => day(r.week)],
      ["stations", (r) => num(r.stations, 0), true],
      ["p10", (r) => money(r.p10), true, true],
      ["median", (r) => money(r.median), true, true],
      ["p90", (r) => money(r.p90), true, true],
      ["spread", (r) => money(r.p90_p10), true, true],
      ["cv", (r) => (r.cv === null || r.cv === undefined ? "–" : `${num(100 * r.cv, 1)}%`), true],
    ], rows, undefined, data.unit);
  }

  // The lake keeps a CNPJ as its 14 digits; the table shows it as ANP writes it.
  function cnpjShown(cnpj) {
    const m = /^(\d{2})(\d{3})(\d{3})(\d{4})(\d{2})$/.exec(cnpj || "");
    return m ? `${m[1]}.${m[2]}.${m[3]}/${m[4]}-${m[5]}` : cnpj;
  }

  function renderSearch(data) {
    const rows = records(data);
    let key = "summary.empty";
    if (rows.length) key = data.truncated ? "summary.searchCut" : "summary.search";
    setSummary(key, { n: new Set(rows.map((r) => r.cnpj)).size, q: state.q });
    table($("st-search"), [
      ["cnpj", (r) => cnpjShown(r.cnpj)],
      ["station", (r) => r.station],
      ["address", (r) => [r.street, r.number, r.neighbourhood].filter(Boolean).join(", ")],
      ["municipality", (r) => `${r.municipality} (${r.state})`],
      ["brand", (r) => r.brand],
      ["product", (r) => t(`fuel.${r.product}`)],
      ["collected", (r) => day(r.collected)],
      // a search mixes fuels: each price says its own unit
      ["price", (r) => `${money(r.price)} ${per(r.unit)}`, true],
    ], rows);
  }

  function translate() {
    document.documentElement.lang = state.lang;
    document.title = `fuelpipe — ${t("title")}`; // the tab's and history's name, as app.js's
    for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
    for (const el of document.querySelectorAll("[data-t-label]")) el.setAttribute("aria-label", t(el.dataset.tLabel));
    for (const button of document.querySelectorAll(".lang-btn")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === state.lang));
    }
    // The weekly-averages page opens in the language chosen here, not in the browser's, and on
    // the fuel picked here: the same codes (domain/stations.py), each one a product of the main
    // page's (tests/dashboard/test_stations_api.py), so it opens as itself there.
    const back = new URLSearchParams({ lang: state.lang });
    if (meta) back.set("fuel", state.fuel);
    $("st-back").href = `/?${back}`;
    const fuel = $("st-fuel");
    fuel.textContent = "";
    for (const code of held() || Object.keys(T.en).filter((k) => k.startsWith("fuel.")).map((k) => k.slice(5))) {
      fuel.add(new Option(t(`fuel.${code}`), code));
    }
    fuel.value = state.fuel;
    const uf = $("st-state");
    uf.textContent = "";
    uf.add(new Option(t("ctl.allStates"), ""));
    for (const code of UFS) uf.add(new Option(code, code));
    uf.value = state.state;
  }

  function syncControls() {
    for (const tab of document.querySelectorAll(".tabs [role=tab]")) {
      const active = tab.dataset.view === state.view;
      tab.classList.toggle("active", active);
      tab.setAttribute("aria-selected", String(active));
      tab.tabIndex = active ? 0 : -1; // one tab stop: the arrow keys move between the tabs
      // On a phone the strip scrolls sideways: a link to the search opened with its tab out of
      // sight. Centred in the strip (not scrollIntoView: the page stays put).
      const strip = tab.closest(".tabs");
      const s = strip.getBoundingClientRect();
      const r = tab.getBoundingClientRect();
      if (active && (r.left < s.left || r.right > s.right)) {
        strip.scrollLeft += r.left - s.left - (s.width - r.width) / 2;
      }
    }
    for (const section of document.querySelectorAll("main .view")) {
      section.hidden = section.dataset.view !== state.view;
    }
    for (const label of document.querySelectorAll("[data-views]")) {
      label.hidden = !label.dataset.views.split(" ").includes(state.view);
    }
    $("st-fuel").closest("label").hidden = state.view === "search";
    // Not a date field with the focus: the reader's keys are in it, and a value written under
    // them resets the part being typed (an answer landing between a year's "2" and "0" made
    // it "0000", an empty value, and the page went back to its default span).
    for (const [id, key] of [["st-start", "start"], ["st-end", "end"]]) {
      if ($(id) !== document.activeElement) $(id).value = state[key];
    }
    $("st-q").value = state.q;
    $("st-csv").href = state.view === "search" && state.q.trim().length < 2 ? "#" : apiUrl("csv");
  }

  async function render() {
    const mine = ++seq;
    // A fuel the lake lacks (a link from the main page, an old address) opens the default,
    // with no error: the address then drops it.
    if (held() && !held().includes(state.fuel)) state.fuel = defaults.fuel;
    writeUrl();
    translate();
    syncControls();
    showLayout();
    const error = $("st-error");
    error.hidden = true;
    for (const id of ["st-start", "st-end"]) {
      $(id).removeAttribute("aria-invalid");
      $(id).removeAttribute("aria-describedby");
    }
    if (state.view === "search" && state.q.trim().length < 2) {
      $("st-summary").textContent = t("summary.searchHint");
      $("st-search").textContent = "";
      document.body.dataset.ready = String(mine);
      return;
    }
    const section = $(`st-view-${state.view}`);
    section.classList.add("is-loading");
    try {
      const data = await getJson(apiUrl());
      if (mine !== seq) return;
      oldLayout = data.old_layout || null;
      showLayout();
      if (!state.start) state.start = data.start;
      if (!state.end) state.end = data.end;
      writeUrl();
      syncControls();
      if (state.view === "ranking") await renderRanking(data);
      else if (state.view === "brands") renderBrands(data);
      else if (state.view === "dispersion") renderDispersion(data);
      else renderSearch(data);
    } catch (err) {
      if (mine !== seq) return;
      clearView(state.view);
      showError(err);
    } finally {
      section.classList.remove("is-loading");
      document.body.dataset.ready = String(mine);
    }
  }

  function bind() {
    const tabs = [...document.querySelectorAll(".tabs [role=tab]")];
    for (const tab of tabs) {
      tab.addEventListener("click", () => { state.view = tab.dataset.view; navigate(); });
    }
    // The WAI-ARIA tabs pattern, as on the main page: Left/Right go to the previous/next tab
    // (wrapping), Home/End to the first/last, and the tab that takes the focus opens its view.
    $("st-tabs").addEventListener("keydown", (e) => {
      const from = tabs.indexOf(document.activeElement);
      const to = { ArrowLeft: from - 1, ArrowRight: from + 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (from < 0 || to === undefined) return;
      e.preventDefault();
      const tab = tabs[(to + tabs.length) % tabs.length];
      tab.focus();
      tab.click();
    });
    for (const button of document.querySelectorAll(".lang-btn")) {
      button.addEventListener("click", () => { state.lang = button.dataset.lang; navigate(); });
    }
    $("st-fuel").addEventListener("change", (e) => { state.fuel = e.target.value; navigate(); });
    $("st-state").addEventListener("change", (e) => {
      state.state = e.target.value;
      // a town of another state is not in the ranking now shown: its chart goes with it
      if (state.state && !state.muni.startsWith(`${state.state}|`)) state.muni = "";
      navigate();
    });
    // A date being typed is taken when whole: a year under 1000 is one still being typed ("2"
    // of 2025 made "0002-03-30", each fetched, refused (422) and a history entry of its own),
    // and an empty value a part cleared to be typed again (it asked for the default span).
    // A whole date typed with the keys is taken once the reader pauses (KEY_PAUSE_MS), leaves
    // the field or presses Enter: typing the day "30" over "24" made "03" first, a valid day
    // fetched and pushed as an entry of its own. A picker's choice is taken at once.
    // Left unfinished, the field shows the span shown again.
    for (const [id, key] of [["st-start", "start"], ["st-end", "end"]]) {
      const el = $(id);
      let keyed = false;
      const take = () => {
        dateTimers[key] = clearTimeout(dateTimers[key]);
        keyed = false;
        if (el.value && !/^0/.test(el.value) && el.value !== state[key]) { state[key] = el.value; navigate(); }
      };
      el.addEventListener("keydown", (e) => {
        keyed = e.key !== "Enter";
        if (!keyed && dateTimers[key]) take();
      });
      el.addEventListener("pointerdown", () => { keyed = false; });
      el.addEventListener("change", () => {
        clearTimeout(dateTimers[key]);
        // (not document.activeElement: Chrome's field is not it as its day is completed)
        if (keyed) dateTimers[key] = setTimeout(take, KEY_PAUSE_MS);
        else take();
      });
      el.addEventListener("blur", () => {
        if (dateTimers[key]) take();
        keyed = false;
        el.value = state[key];
      });
    }
    let timer = null;
    $("st-q").addEventListener("input", (e) => {
      state.q = e.target.value;
      clearTimeout(timer);
      timer = setTimeout(navigate, 250);
    });
    $("st-controls").addEventListener("submit", (e) => { e.preventDefault(); navigate(); });
    // Back and Forward: the entry's address is what to show.
    window.addEventListener("popstate", () => {
      clearTimeout(timer);
      for (const key in dateTimers) dateTimers[key] = clearTimeout(dateTimers[key]);
      readUrl();
      if (meta) render();
    });
    const pick = (e) => {
      const row = e.target.closest("tr[data-muni]");
      if (!row) return;
      state.muni = row.dataset.muni;
      for (const tr of document.querySelectorAll("tr[data-muni]")) {
        tr.classList.toggle("selected", tr.dataset.muni === state.muni);
      }
      writeUrl(true);
      renderMunicipality().catch((err) => {
        if (plotly()) plotly().purge($("st-chart-muni"));
        showError(err);
      });
    };
    for (const id of ["st-cheapest", "st-dearest"]) {
      $(id).addEventListener("click", pick);
      $(id).addEventListener("keydown", (e) => {
        if (e.key !== "Enter" && e.key !== " ") return;
        e.preventDefault(); // Space would scroll the page
        pick(e);
      });
    }
    // by its key, as every text translate() says again in the language picked
    const say = (key) => { $("st-status").textContent = t($("st-status").dataset.t = key); };
    $("st-share").addEventListener("click", async () => {
      writeUrl();
      const box = $("st-link");
      try {
        // "copied" only once the write resolved: no clipboard (an http page), a refusal or a
        // failure leaves the link in a box, selected, to copy by hand
        await navigator.clipboard.writeText(location.href);
        box.hidden = true;
        say("ctl.copied");
      } catch {
        say("ctl.copyFailed");
        box.value = location.href;
        box.hidden = false;
        box.select();
      }
    });
  }

  async function start() {
    readUrl();
    bind();
    try {
      meta = await getJson("/api/stations/meta");
      oldLayout = meta.old_layout || null;
      // The page opens on gasoline if the lake holds it, else on the first fuel it holds: a
      // lake of LPG alone opened on an empty gasoline view.
      if (held() && !held().includes(defaults.fuel)) {
        if (state.fuel === defaults.fuel) state.fuel = held()[0];
        defaults.fuel = held()[0];
      }
    } catch (err) {
      translate();
      syncControls();
      showError(err);
      document.body.dataset.ready = "error";
      return;
    }
    await render();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
