/* The Outlook view: the stored nowcast of a fuel as a fan chart, the driver's move since the
   last survey, the backtest accuracy (said plainly when the model does not beat no-change) and
   a map of the expected change by state. Registers itself with app.js; no inline script.
   Minified on its own (outlook.min.js): app.js loads it when the Outlook tab opens, or once
   the first view is drawn, so the first chart never waits for it. Its texts (TEXT) join the
   page's when it loads; the tab's label and the accuracy table's heading are in i18n.js, as
   the page shows them before this file loads. */
(function () {
  "use strict";

  const TEXT = {
    en: {
      "outlook.last": "Last published ({week})",
      "outlook.nowcast": "Nowcast, week of {week}",
      "outlook.range80": "80%: {lo} – {hi}",
      "outlook.driver": "Brent in reais, last 7 days",
      "outlook.driverFoot": "to {day}",
      "outlook.driverUnused": "not used by this forecast",
      "outlook.ratio": "MAE vs no-change, 1 week",
      "outlook.ratioFoot": "{weeks} since {from}",
      "outlook.ratioFootPart": "{model} of {weeks} since {from}, the others no change",
      "outlook.nPart": "{model} of {n}",
      "outlook.covPart": "{model} (all {n}: {all})",
      "outlook.notScored": "no week scored yet",
      "outlook.noAccuracy": "No backtest to show: there is no outlook for {fuel} ({area}).",
      "outlook.beats": "The model beat the no-change forecast here: at 1 week its mean absolute error was {ratio} of no-change's over the last {weeks} (80% bands held {c80}, 95% bands {c95}).",
      "outlook.notBeats": "The model does NOT beat the no-change forecast here: at 1 week its mean absolute error was {ratio} of no-change's over the last {weeks}. Read the fan as a range of plausible prices, not as a better guess than the last price.",
      "outlook.unclear": "No clear difference from the no-change forecast here: at 1 week the model's mean absolute error was {ratio} of no-change's over the last {weeks}, but a test of the weekly errors (Diebold-Mariano, p = {p}) cannot tell the two apart. Read the fan as a range of plausible prices.",
      "outlook.unknown": "Not enough scored weeks yet to say whether the model beats no-change here: one-week-ahead forecasts have been scored for {weeks}, and at least {min} are needed. Read the fan as a range of plausible prices.",
      "outlook.none": "No outlook stored for {fuel} ({area}) yet: it needs {min} published weeks without a long gap ({weeks} stored) and the driver series (PTAX, Brent).",
      "outlook.noneYet": "No outlook stored for {fuel} ({area}) yet: its {weeks} published weeks would do, but survey pauses leave too few weeks whose outcome was published, the driver series (PTAX, Brent) are missing, or the outlook has not been refreshed since.",
      "outlook.stale": "{driver} has no value after {day}.",
      "outlook.staleKept": "Brent in reais still follows the market through the drivers that are current, so the forecast keeps it.",
      "outlook.staleDropped": "Brent in reais is frozen at an old value, so this forecast leaves it out and uses the fuel's own recent changes only.",
      "outlook.staleNoChange": "This forecast uses no driver: it is no change.",
      "outlook.loo": "Bands {weeks} ahead: from the model's leave-one-out residuals, as it has fewer than {errors} there yet.",
      "outlook.errors.one": "{n} past forecast error",
      "outlook.errors.other": "{n} past forecast errors",
      "outlook.noChange": "This forecast is no change: the last published price at every week, not the model's forecast. A state's forecast is its last price moved by Brazil's forecast change from the same week, and {why}",
      "outlook.noChange.national_ends_before": "Brazil's series stored here ends in the week of {national}, so there is no Brazil forecast to apply.",
      "outlook.noChange.no_national": "no Brazil week is stored up to this one, so there is no Brazil forecast to apply.",
      "outlook.noChange.national_no_forecast": "Brazil's model made no forecast from this week (too few weeks since its last long pause), so there is none to apply.",
      "outlook.nowcastNoChange": "No change (no model forecast), week of {week}",
      "outlook.ratioNoChange": "not applicable: no-change forecasts",
      "outlook.notApplicable": "Not applicable: the forecasts scored here were no change themselves, so comparing them with the no-change forecast says nothing. The table still shows how far prices moved in a week and how often the bands held them: read the fan as a range of plausible prices.",
      "outlook.mapNoChange": "{ahead}: no change (no Brazil forecast to apply), not compared with no change",
      "outlook.mapWeek": "The map is of the week of {week}, the states' newest stored; the nowcast chart is of the week of {fan}, the newest stored of {area}.",
      "outlook.mapAllNoChange": "Every state's forecast is no change ({ahead}: its last price), not the model's: Brazil has no forecast from the states' week to apply, so the map has no change to colour.",
      "outlook.mapNoChangeNote.one": "The faded state's forecast is no change: Brazil has no forecast from its week to apply.",
      "outlook.mapNoChangeNote.other": "The {n} faded states' forecasts are no change: Brazil has no forecast from their week to apply.",
      "outlook.behind": "Out of date: this forecast was made from the week of {last} (as of {asOf}), but the week of {newest} has been published since and no newer forecast was made, so its first weeks are already published.",
      "outlook.behind.too_short": "The outlook needs {min} published weeks without a long gap, and the series has {weeks} since its last one.",
      "outlook.behind.no_forecast": "The model could not be fitted from the newest week (survey pauses leave too few weeks whose outcome was published, or the driver series have no value).",
      "outlook.behind.failed": "The outlook's refresh failed on this series' data.",
      "outlook.behind.none": "The outlook has not been refreshed since that week was stored.",
      "outlook.nowcastBehind": "Out-of-date nowcast, week of {week}",
      "outlook.mapBehind": "Out of date: forecast from the week of {last}; the week of {newest} was published since",
      "outlook.mapBehindNote.one": "The grey state's forecast is out of date: not shown as a change.",
      "outlook.mapBehindNote.other": "The {n} grey states' forecasts are out of date: not shown as a change.",
      "outlook.driver.brent": "Brent spot (FRED)",
      "outlook.driver.usd": "The dollar (PTAX)",
      "outlook.driver.futures": "Brent futures (BZ=F)",
      "outlook.fan": "{fuel} — {area}: nowcast with 80% and 95% bands",
      "outlook.fanNoChange": "{fuel} — {area}: no change (no model forecast) with 80% and 95% bands",
      "outlook.published": "Published",
      "outlook.point": "Nowcast",
      "outlook.pointNoChange": "No change",
      "outlook.band80": "80% band",
      "outlook.band95": "95% band",
      "outlook.actual": "Published later",
      "outlook.map": "{fuel}: expected change by state within 2 weeks",
      "outlook.mapNone": "{fuel}: no change in any state within 2 weeks (no model forecast)",
      "outlook.mapCsv": "Download the map's CSV",
      "outlook.noMap": "No state outlooks stored for {fuel}.",
      "outlook.onMap.one": "The map shows the one state that has one: pick it as the area.",
      "outlook.onMap.other": "The map shows the {n} states that have one: pick one as the area.",
      "outlook.mapAhead": "{weeks} ahead",
      "outlook.mapBeats": "{ahead}: error {ratio} of no-change's over {weeks}, beats it (p = {p})",
      "outlook.mapNotBeats": "{ahead}: error {ratio} of no-change's over {weeks}, does NOT beat it (p = {p})",
      "outlook.mapUnclear": "{ahead}: error {ratio} of no-change's over {weeks}, no clear difference (p = {p})",
      "outlook.mapFew": "{ahead}: {weeks}, {min} needed for a verdict",
      "outlook.scored.one": "{weeks} scored",
      "outlook.scored.other": "{weeks} scored",
      "outlook.mapBrazil": "Each state's change is Brazil's forecast change from the state's last published week, applied to its last price: states on the same week show the same change.",
      "outlook.mapNote": "Hover or tap a state for its backtest {ahead}: a verdict needs {min} scored weeks and a Diebold-Mariano p below {p}.",
      "outlook.mapFaded.one": "The faded state has fewer: no verdict.",
      "outlook.mapFaded.other": "The {n} faded states have fewer: no verdict.",
      "outlook.col.h": "Weeks ahead",
      "outlook.col.n": "Weeks scored",
      "outlook.col.mae": "MAE",
      "outlook.col.naive": "No-change MAE",
      "outlook.col.ratio": "Ratio",
      "outlook.col.bias": "Bias",
      "outlook.col.c80": "80% coverage",
      "outlook.col.c95": "95% coverage",
    },
    "pt-BR": {
      "outlook.last": "Último publicado ({week})",
      "outlook.nowcast": "Previsão imediata, semana de {week}",
      "outlook.range80": "80%: {lo} – {hi}",
      "outlook.driver": "Brent em reais, últimos 7 dias",
      "outlook.driverFoot": "até {day}",
      "outlook.driverUnused": "não usado nesta previsão",
      "outlook.ratio": "EAM vs sem mudança, 1 semana",
      "outlook.ratioFoot": "{weeks} desde {from}",
      "outlook.ratioFootPart": "{model} de {weeks} desde {from}, as demais sem mudança",
      "outlook.nPart": "{model} de {n}",
      "outlook.covPart": "{model} (todas as {n}: {all})",
      "outlook.notScored": "nenhuma semana avaliada ainda",
      "outlook.noAccuracy": "Sem backtest para mostrar: não há perspectiva para {fuel} ({area}).",
      "outlook.beats": "O modelo superou a previsão sem mudança aqui: em 1 semana seu erro absoluto médio foi {ratio} do da previsão sem mudança nas últimas {weeks} (faixas de 80% acertaram {c80}, de 95% {c95}).",
      "outlook.notBeats": "O modelo NÃO supera a previsão sem mudança aqui: em 1 semana seu erro absoluto médio foi {ratio} do da previsão sem mudança nas últimas {weeks}. Leia o leque como uma faixa de preços plausíveis, não como um palpite melhor que o último preço.",
      "outlook.unclear": "Sem diferença clara da previsão sem mudança aqui: em 1 semana o erro absoluto médio do modelo foi {ratio} do da previsão sem mudança nas últimas {weeks}, mas um teste dos erros semanais (Diebold-Mariano, p = {p}) não distingue os dois. Leia o leque como uma faixa de preços plausíveis.",
      "outlook.unknown": "Ainda não há semanas avaliadas suficientes para dizer se o modelo supera a previsão sem mudança aqui: as previsões de 1 semana à frente foram avaliadas em {weeks}, e são necessárias ao menos {min}. Leia o leque como uma faixa de preços plausíveis.",
      "outlook.none": "Ainda não há perspectiva para {fuel} ({area}): são necessárias {min} semanas publicadas sem uma longa interrupção (armazenadas: {weeks}) e as séries de PTAX e Brent.",
      "outlook.noneYet": "Ainda não há perspectiva para {fuel} ({area}): suas {weeks} semanas publicadas bastariam, mas as interrupções da pesquisa deixam poucas semanas com resultado publicado, faltam as séries de PTAX e Brent, ou a perspectiva ainda não foi atualizada.",
      "outlook.stale": "{driver} não tem valor depois de {day}.",
      "outlook.staleKept": "O Brent em reais ainda acompanha o mercado pelos fatores atualizados, então a previsão o mantém.",
      "outlook.staleDropped": "O Brent em reais está parado num valor antigo, então esta previsão o deixa de fora e usa só as variações recentes do próprio combustível.",
      "outlook.staleNoChange": "Esta previsão não usa nenhum fator: ela é a de sem mudança.",
      "outlook.loo": "Faixas a {weeks} à frente: dos resíduos leave-one-out do modelo, pois ainda há menos de {errors} com essa antecedência.",
      "outlook.errors.one": "{n} erro de suas previsões passadas",
      "outlook.errors.other": "{n} erros de suas previsões passadas",
      "outlook.noChange": "Esta previsão é a de sem mudança: o último preço publicado em todas as semanas, não a previsão do modelo. A previsão de um estado é seu último preço movido pela variação prevista para o Brasil a partir da mesma semana, e {why}",
      "outlook.noChange.national_ends_before": "a série do Brasil armazenada aqui termina na semana de {national}, então não há previsão do Brasil para aplicar.",
      "outlook.noChange.no_national": "não há semana do Brasil armazenada até esta, então não há previsão do Brasil para aplicar.",
      "outlook.noChange.national_no_forecast": "o modelo do Brasil não fez previsão a partir desta semana (poucas semanas desde sua última longa interrupção), então não há o que aplicar.",
      "outlook.nowcastNoChange": "Sem mudança (sem previsão do modelo), semana de {week}",
      "outlook.ratioNoChange": "não se aplica: previsões sem mudança",
      "outlook.notApplicable": "Não se aplica: as previsões avaliadas aqui eram elas mesmas sem mudança, então compará-las com a previsão sem mudança não diz nada. A tabela ainda mostra quanto os preços andaram em uma semana e quantas vezes as faixas os contiveram: leia o leque como uma faixa de preços plausíveis.",
      "outlook.mapNoChange": "{ahead}: sem mudança (sem previsão do Brasil para aplicar), não comparada com a sem mudança",
      "outlook.mapWeek": "O mapa é da semana de {week}, a mais recente armazenada dos estados; o gráfico da previsão imediata é da semana de {fan}, a mais recente armazenada da área ({area}).",
      "outlook.mapAllNoChange": "A previsão de todos os estados é sem mudança ({ahead}: o último preço), não a do modelo: o Brasil não tem previsão da semana dos estados para aplicar, então o mapa não tem variação para colorir.",
      "outlook.mapNoChangeNote.one": "A previsão do estado esmaecido é sem mudança: o Brasil não tem previsão da semana dele para aplicar.",
      "outlook.mapNoChangeNote.other": "As previsões dos {n} estados esmaecidos são sem mudança: o Brasil não tem previsão da semana deles para aplicar.",
      "outlook.behind": "Desatualizada: esta previsão foi feita a partir da semana de {last} (em {asOf}), mas a semana de {newest} já foi publicada e nenhuma previsão mais nova foi feita, então suas primeiras semanas já estão publicadas.",
      "outlook.behind.too_short": "A perspectiva precisa de {min} semanas publicadas sem uma longa interrupção, e a série tem {weeks} desde a última.",
      "outlook.behind.no_forecast": "O modelo não pôde ser ajustado a partir da semana mais recente (as interrupções da pesquisa deixam poucas semanas com resultado publicado, ou faltam valores das séries de PTAX e Brent).",
      "outlook.behind.failed": "A atualização da perspectiva falhou nos dados desta série.",
      "outlook.behind.none": "A perspectiva não foi atualizada desde que essa semana foi armazenada.",
      "outlook.nowcastBehind": "Previsão imediata desatualizada, semana de {week}",
      "outlook.mapBehind": "Desatualizada: previsão a partir da semana de {last}; a semana de {newest} já foi publicada",
      "outlook.mapBehindNote.one": "A previsão do estado em cinza está desatualizada: não aparece como variação.",
      "outlook.mapBehindNote.other": "As previsões dos {n} estados em cinza estão desatualizadas: não aparecem como variação.",
      "outlook.driver.brent": "O Brent spot (FRED)",
      "outlook.driver.usd": "O dólar (PTAX)",
      "outlook.driver.futures": "O Brent futuro (BZ=F)",
      "outlook.fan": "{fuel} — {area}: previsão imediata com faixas de 80% e 95%",
      "outlook.fanNoChange": "{fuel} — {area}: sem mudança (sem previsão do modelo) com faixas de 80% e 95%",
      "outlook.published": "Publicado",
      "outlook.point": "Previsão imediata",
      "outlook.pointNoChange": "Sem mudança",
      "outlook.band80": "Faixa de 80%",
      "outlook.band95": "Faixa de 95%",
      "outlook.actual": "Publicado depois",
      "outlook.map": "{fuel}: variação esperada por estado em até 2 semanas",
      "outlook.mapNone": "{fuel}: sem mudança em nenhum estado em até 2 semanas (sem previsão do modelo)",
      "outlook.mapCsv": "Baixar CSV do mapa",
      "outlook.noMap": "Não há perspectivas por estado para {fuel}.",
      "outlook.onMap.one": "O mapa mostra o único estado que tem uma: escolha-o como área.",
      "outlook.onMap.other": "O mapa mostra os {n} estados que têm uma: escolha um como área.",
      "outlook.mapAhead": "{weeks} à frente",
      "outlook.mapBeats": "{ahead}: erro {ratio} do da previsão sem mudança em {weeks}, a supera (p = {p})",
      "outlook.mapNotBeats": "{ahead}: erro {ratio} do da previsão sem mudança em {weeks}, NÃO a supera (p = {p})",
      "outlook.mapUnclear": "{ahead}: erro {ratio} do da previsão sem mudança em {weeks}, sem diferença clara (p = {p})",
      "outlook.mapFew": "{ahead}: {weeks}, são necessárias {min} para um veredito",
      "outlook.scored.one": "{weeks} avaliada",
      "outlook.scored.other": "{weeks} avaliadas",
      "outlook.mapBrazil": "A variação de cada estado é a variação prevista para o Brasil a partir da última semana publicada do estado, aplicada ao seu último preço: estados na mesma semana mostram a mesma variação.",
      "outlook.mapNote": "Passe o mouse sobre um estado ou toque nele para ver seu backtest {ahead}: um veredito exige {min} semanas avaliadas e um p de Diebold-Mariano abaixo de {p}.",
      "outlook.mapFaded.one": "O estado esmaecido tem menos: sem veredito.",
      "outlook.mapFaded.other": "Os {n} estados esmaecidos têm menos: sem veredito.",
      "outlook.col.h": "Semanas à frente",
      "outlook.col.n": "Semanas avaliadas",
      "outlook.col.mae": "EAM",
      "outlook.col.naive": "EAM sem mudança",
      "outlook.col.ratio": "Razão",
      "outlook.col.bias": "Viés",
      "outlook.col.c80": "Cobertura 80%",
      "outlook.col.c95": "Cobertura 95%",
    },
  };
  function fanTraces(kit, view) {
    const t = kit.t;
    const last = { x: view.last_week, y: view.last_price };
    const weeks = [last.x, ...view.steps.map((s) => s.week)];
    const cur = view.unit.startsWith("BRL") ? "R$ " : "";
    // a week and its price as the other weekly charts hover them, not Plotly's "(x, y)"
    const hover = `%{x|${kit.state.lang === "pt-BR" ? "%d/%m/%Y" : "%b %-d, %Y"}}: ${cur}%{y:.3f}<extra>%{fullData.name}</extra>`;
    const band = (lo, hi, name, color) => {
      const top = [last.y, ...view.steps.map((s) => s[hi])];
      return [
        { x: weeks, y: top, type: "scatter", mode: "lines",
          line: { width: 0 }, hoverinfo: "skip", showlegend: false },
        // Both ends, in reais: the lower end alone read as if the band were one price.
        { x: weeks, y: [last.y, ...view.steps.map((s) => s[lo])], type: "scatter", mode: "lines",
          line: { width: 0 }, fill: "tonexty", fillcolor: color, name, customdata: top,
          hovertemplate: `${name}: ${cur}%{y:.3f} – ${cur}%{customdata:.3f}<extra></extra>` },
      ];
    };
    const traces = [
      ...band("lo95", "hi95", t("outlook.band95"), "rgba(11,110,153,0.15)"),
      ...band("lo80", "hi80", t("outlook.band80"), "rgba(11,110,153,0.30)"),
      { x: view.history.map((p) => p.week), y: view.history.map((p) => p.price), type: "scatter",
        mode: "lines+markers", name: t("outlook.published"), line: { color: "#16324f", width: 2 },
        marker: { size: 4 }, hovertemplate: hover },
      { x: weeks, y: [last.y, ...view.steps.map((s) => s.point)], type: "scatter",
        // the no-change fallback named as the cards name it, not as the model's nowcast
        mode: "lines+markers", name: t(view.method === "no_change" ? "outlook.pointNoChange" : "outlook.point"),
        line: { color: "#e07b00", width: 2, dash: "dash" }, marker: { size: 6 }, hovertemplate: hover },
    ];
    const scored = view.steps.filter((s) => s.published !== null);
    if (scored.length) {
      traces.push({ x: scored.map((s) => s.week), y: scored.map((s) => s.published),
        type: "scatter", mode: "markers", name: t("outlook.actual"),
        marker: { color: "#2e8540", size: 9, symbol: "diamond" } });
    }
    return traces;
  }

  function accuracyTable(kit, view) {
    const table = document.getElementById("outlook-accuracy");
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    for (const key of ["h", "n", "mae", "naive", "ratio", "bias", "c80", "c95"]) {
      const th = document.createElement("th");
      th.textContent = kit.t("outlook.col." + key);
      head.append(th);
    }
    const body = table.createTBody();
    const pct = (x) => kit.fmt.pct(x === null || x === undefined ? null : x * 100, 0, false);
    for (const a of view.accuracy) {
      // over the model's own weeks, as the errors beside it ("8 of 22"); every week's after
      const cover = (own, all) => a.no_change_n && a.n > a.no_change_n && own !== null && own !== undefined
        ? kit.t("outlook.covPart", { model: pct(own), n: a.n, all: pct(all) }) : pct(all);
      const row = body.insertRow();
      row.dataset.horizon = String(a.horizon);
      const cells = [
        // An error or a bias is often under a centavo: 3 decimals, unlike the cards (at 2 a
        // model off by 0.4 centavo and one off by none would both read R$0.00).
        // the errors are over the model's own weeks: "8 of 22" when no-change ones are among them
        String(a.horizon), a.no_change_n ? kit.t("outlook.nPart", { model: a.n - a.no_change_n, n: a.n }) : String(a.n),
        kit.fmt.money(a.mae, view.unit, 3),
        kit.fmt.money(a.naive_mae, view.unit, 3), kit.fmt.num(a.ratio, 2),
        // rounded first: a bias of -0.0001 read "-R$0.000", a sign on nothing
        kit.fmt.money(a.bias === null ? null : Number(a.bias.toFixed(3)) || 0, view.unit, 3),
        cover(a.coverage80_model, a.coverage80), cover(a.coverage95_model, a.coverage95),
      ];
      for (const text of cells) row.insertCell().textContent = text;
      if (a.ratio !== null && a.ratio >= 1) row.classList.add("worse");
    }
  }

  /** A state's backtest at the map's horizon, one hover line: its error against no-change's
   *  and the verdict rule of the area view, or how few weeks were scored. */
  function mapAccuracy(kit, map, s) {
    const ahead = kit.t("outlook.mapAhead", { weeks: kit.count(map.horizon, "week") });
    const weeks = kit.count(s.scored_weeks, "week");
    if (s.method === "no_change") return kit.t("outlook.mapNoChange", { ahead });
    if (s.verdict === "unknown" || s.ratio === null) {
      // "1 week scored" / "1 semana avaliada": the participle agrees with the count
      const scored = kit.tn("outlook.scored", s.scored_weeks, { weeks });
      return kit.t("outlook.mapFew", { ahead, weeks: scored, min: kit.fmt.num(map.min_scored_weeks, 0) });
    }
    const key = s.verdict === "beats" ? "outlook.mapBeats"
      : s.verdict === "does_not_beat" ? "outlook.mapNotBeats" : "outlook.mapUnclear";
    return kit.t(key, {
      ahead, weeks, ratio: kit.fmt.pct(s.ratio * 100, 0, false),
      p: kit.fmt.num(s.dm_p === null ? null : s.dm_p, 2),
    });
  }

  /** Drivers too old when the forecast was made: each one's last day, then whether the forecast
   *  kept Brent in BRL (the current drivers carry it), was fitted without it, or is no change
   *  (which uses no driver). */
  function staleText(kit, view) {
    const stale = view.stale_drivers || [];
    if (!stale.length) return "";
    const lines = stale.map((d) => kit.t("outlook.stale", {
      driver: kit.t("outlook.driver." + d.driver), day: kit.fmt.date(d.last_day),
    }));
    lines.push(kit.t(view.method === "no_change" ? "outlook.staleNoChange"
      : view.drivers_dropped ? "outlook.staleDropped" : "outlook.staleKept"));
    return lines.join(" ");
  }

  /** A forecast that is the no-change fallback (a state's, where Brazil had no forecast from its
   *  week): said plainly, with why. */
  function noChangeText(kit, view) {
    if (!view.available || view.method !== "no_change") return "";
    const reason = view.no_change_reason || "no_national";
    return kit.t("outlook.noChange", {
      why: kit.t("outlook.noChange." + reason, { national: kit.fmt.date(view.national_last_week) }),
    });
  }

  /** A forecast older than its series' newest stored week (the refresh made none from it):
   *  which weeks, and why there is no newer one when the refresh said so. */
  function behindText(kit, view) {
    if (!view.available || !view.stale) return "";
    const { t, fmt } = kit;
    const why = t("outlook.behind." + (view.stale_reason || "none"), {
      min: fmt.num(view.min_weeks, 0), weeks: fmt.num(view.published_weeks || 0, 0),
    });
    return [t("outlook.behind", {
      last: fmt.date(view.last_week), newest: fmt.date(view.newest_week),
      asOf: fmt.date(kit.spDay(view.as_of)),
    }), why].join(" ");
  }

  async function render(kit, token) {
    const { t, fmt, state } = kit;
    const url = kit.api("/api/outlook", { fuel: state.fuel, area: state.area });
    const mapUrl = kit.api("/api/outlook/map", { fuel: state.fuel, horizon: 2 });
    // Both CSVs even with no forecast: a row saying `available` false and why (published_weeks
    // against min_weeks), or the map's saying no state has one (empty state columns).
    kit.setCsv(url);
    kit.setCsv(mapUrl, "outlook-map-csv");
    const [view, map, gj] = await Promise.all([
      kit.getJSON(url), kit.getJSON(mapUrl), kit.loadGeojson(),
    ]);
    if (!kit.isCurrent(token)) return;
    kit.setText("outlook-map-csv", t("outlook.mapCsv"));
    const fuel = t("product." + state.fuel);
    const area = kit.areaName(state.area);
    const cards = document.getElementById("outlook-cards");
    cards.replaceChildren();
    const behind = document.getElementById("outlook-behind");
    behind.textContent = behindText(kit, view);
    behind.dataset.reason = view.stale ? view.stale_reason || "none" : "";
    const method = document.getElementById("outlook-method");
    method.textContent = noChangeText(kit, view);
    method.dataset.method = view.available ? view.method || "model" : "";
    const staleBox = document.getElementById("outlook-stale");
    staleBox.textContent = view.available ? staleText(kit, view) : "";
    staleBox.dataset.dropped = view.drivers_dropped ? "1" : "0";
    const loo = view.available ? view.steps.filter((s) => s.bands === "leave_one_out") : [];
    // "1 week" for horizon 1 alone, "3, 4, 5 weeks"; "fewer than 1 past forecast error"
    const hs = loo.map((s) => s.horizon);
    const weeks = hs.length === 1 ? kit.count(hs[0], "week") : t("n.week.other", { n: hs.join(", ") });
    kit.setText("outlook-bands", loo.length ? t("outlook.loo", { weeks, errors: kit.tn("outlook.errors", view.least_errors) }) : "");
    if (!view.available) {
      kit.setText("outlook-verdict", "");
      // Short of the model's minimum, say how short; with enough weeks, what else it lacks.
      const weeks = view.published_weeks || 0;
      const none = t(weeks < view.min_weeks ? "outlook.none" : "outlook.noneYet", {
        fuel, area, min: fmt.num(view.min_weeks, 0), weeks: fmt.num(weeks, 0),
      });
      kit.showEmpty("chart-outlook-fan", map.states.length
        ? `${none} ${kit.tn("outlook.onMap", map.states.length)}` : none);
      // The panel's heading stays: one line under it says why it has no table.
      const table = document.getElementById("outlook-accuracy");
      table.replaceChildren();
      const cell = table.insertRow().insertCell();
      cell.className = "muted";
      cell.textContent = t("outlook.noAccuracy", { fuel, area });
    } else {
      const first = view.steps[0];
      const one = view.accuracy.find((a) => a.horizon === 1);
      // R$ prices with 2 decimals, as the overview and ANP publish them; 3 only where 2 would
      // show two different prices as one (a nowcast a few tenths of a centavo from the last
      // price, beside its +0.1%; a band that narrow), so the cards never read as "no change".
      const digits = (a, b) => a !== b && fmt.money(a, view.unit) === fmt.money(b, view.unit) ? 3 : 2;
      const near = digits(view.last_price, first.point);
      const band = digits(first.lo80, first.hi80);
      kit.card(cards, t("outlook.last", { week: fmt.date(view.last_week) }),
        fmt.money(view.last_price, view.unit, near));
      const change = (first.point / view.last_price - 1) * 100;
      // An out-of-date forecast's change is no expectation any more: said, and not coloured.
      const noChange = view.method === "no_change";
      kit.card(cards, t(view.stale ? "outlook.nowcastBehind" : noChange ? "outlook.nowcastNoChange"
        : "outlook.nowcast", { week: fmt.date(first.week) }),
        fmt.money(first.point, view.unit, near),
        fmt.pct(change, 1),
        view.stale ? "flat" : kit.changeClass(change, 1), // a change shown as 0.0% is neither up nor down
        t("outlook.range80", { lo: fmt.money(first.lo80, view.unit, band), hi: fmt.money(first.hi80, view.unit, band) }));
      const move = view.driver_move === null ? null : (Math.exp(view.driver_move) - 1) * 100;
      // A forecast fitted without the drivers does not use this move (a frozen Brent's "move"
      // is the dollar's): the card says so instead of reading as an input.
      kit.card(cards, t("outlook.driver"), fmt.pct(move, 1),
        view.drivers_dropped ? t("outlook.driverUnused") : "",
        view.drivers_dropped ? "flat" : kit.changeClass(move, 1),
        // no day without a move (a frozen Brent): not "to —"
        view.driver_day ? t("outlook.driverFoot", { day: fmt.date(view.driver_day) }) : "");
      if (one) {
        // Coloured only when there is a verdict; the foot names the first week really scored.
        const tone = view.verdict === "beats" ? "down" : view.verdict === "does_not_beat" ? "up" : "flat";
        kit.card(cards, t("outlook.ratio"), fmt.num(one.ratio, 2), "", tone,
          view.verdict === "not_applicable" ? t("outlook.ratioNoChange")
          // the ratio is over the model's own weeks, not the no-change fallback's
          : one.n ? t(one.no_change_n ? "outlook.ratioFootPart" : "outlook.ratioFoot", {
            model: fmt.num(one.n - one.no_change_n, 0),
            weeks: kit.count(one.n, "week"), from: fmt.date(one.first_week || view.accuracy_from),
          }) : t("outlook.notScored"));
      }
      const vars = {
        ratio: fmt.pct(one && one.ratio !== null ? one.ratio * 100 : null, 0, false),
        // the verdict's weeks: the model's own forecasts (the no-change fallback's are no evidence)
        weeks: kit.count(one ? one.n - (one.no_change_n || 0) : 0, "week"),
        min: fmt.num(view.min_scored_weeks || 12, 0),
        // the bands' coverage over those same weeks (not the fallback's no-change bands)
        c80: fmt.pct(one && one.coverage80_model !== null ? one.coverage80_model * 100 : null, 0, false),
        c95: fmt.pct(one && one.coverage95_model !== null ? one.coverage95_model * 100 : null, 0, false),
        p: fmt.num(one && one.dm_p !== null && one.dm_p !== undefined ? one.dm_p : null, 2),
      };
      const verdict = document.getElementById("outlook-verdict");
      // No change compared with itself is no result: when every scored forecast was no change,
      // the verdict says it does not apply.
      verdict.textContent = t(view.verdict === "beats" ? "outlook.beats"
        : view.verdict === "does_not_beat" ? "outlook.notBeats"
        : view.verdict === "not_applicable" ? "outlook.notApplicable"
        : view.verdict === "no_clear_difference" ? "outlook.unclear" : "outlook.unknown", vars);
      verdict.dataset.verdict = view.verdict;
      const layout = kit.baseLayout(t(noChange ? "outlook.fanNoChange" : "outlook.fan", { fuel, area }));
      layout.yaxis.tickprefix = view.unit.startsWith("BRL") ? "R$ " : "";
      // the unit, as price movement's axis: R$ 110 is per 13 kg, R$ 6 per litre
      layout.yaxis.title = { text: t("unit." + view.unit), standoff: 14 };
      layout.yaxis.automargin = true;
      // As of the last published week the forecast was made from, not its last forecast week.
      // weekly (the last argument): its caption names the week, as the cards do
      await kit.plot("chart-outlook-fan", fanTraces(kit, view), layout, url, view.last_week, true);
      accuracyTable(kit, view);
    }
    if (!kit.isCurrent(token)) return;
    const note = document.getElementById("outlook-map-note");
    note.textContent = "";
    const behindStates = map.behind || [];
    if (!map.states.length && !behindStates.length) {
      kit.showEmpty("chart-outlook-map", t("outlook.noMap", { fuel }));
      return;
    }
    // A state with too few scored weeks is faded: its forecast was not shown to beat anything;
    // so is one whose forecast is no change (no Brazil forecast to apply).
    const few = map.states.filter((s) => s.verdict === "unknown" && s.method !== "no_change").length;
    const flat = map.states.filter((s) => s.method === "no_change").length;
    const newest = [...map.states.map((s) => s.last_week), ...behindStates.map((s) => s.newest_week)]
      .reduce((a, w) => (w > a ? w : a), "");
    // The map's week is the states' newest, the fan's its area's (the demo's: June 2026 and
    // Brazil's March, its workbook's last week): said, not left to the two captions.
    const week = view.available && newest !== view.last_week
      ? t("outlook.mapWeek", { week: fmt.date(newest), fan: fmt.date(view.last_week), area }) : "";
    const ahead = t("outlook.mapAhead", { weeks: kit.count(map.horizon, "week") });
    // Every state no change (the demo's: Brazil's weeks end before the states'): a blank map,
    // so its title and the note's first words say so, and no backtest is offered on hover.
    const allNoChange = flat === map.states.length && !behindStates.length;
    // The states' own histories are too short for a model: each takes Brazil's forecast change
    // (outlook/pooled.py), so the map is one colour wherever the weeks agree, and says why.
    note.textContent = [allNoChange ? t("outlook.mapAllNoChange", { ahead }) : "", week,
      t("outlook.mapBrazil"), allNoChange ? "" : t("outlook.mapNote", {
        ahead, min: fmt.num(map.min_scored_weeks, 0), p: fmt.num(map.verdict_p, 2),
      }), few ? kit.tn("outlook.mapFaded", few) : "",
      flat && !allNoChange ? kit.tn("outlook.mapNoChangeNote", flat) : "",
      behindStates.length ? kit.tn("outlook.mapBehindNote", behindStates.length) : ""]
      .filter(Boolean).join(" ");
    const top = Math.max(0.005, ...map.states.map((s) => Math.abs(s.change)));
    // An out-of-date forecast is drawn grey, apart from the current ones' colour scale.
    const grey = behindStates.length ? [{
      type: "choropleth",
      geojson: gj,
      featureidkey: "properties.sigla",
      locations: behindStates.map((s) => s.area),
      z: behindStates.map(() => 0),
      text: behindStates.map((s) => s.name),
      customdata: behindStates.map((s) => t("outlook.mapBehind", {
        last: fmt.date(s.last_week), newest: fmt.date(s.newest_week),
      })),
      colorscale: [[0, "#c8c8c8"], [1, "#c8c8c8"]],
      showscale: false,
      name: "behind",
      marker: { line: { color: "#ffffff", width: 0.8 } },
      hovertemplate: "<b>%{text}</b><br>%{customdata}<extra></extra>",
    }] : [];
    await kit.plot("chart-outlook-map", [{
      type: "choropleth",
      geojson: gj,
      featureidkey: "properties.sigla",
      locations: map.states.map((s) => s.area),
      z: map.states.map((s) => s.change * 100),
      zmin: -top * 100,
      zmax: top * 100,
      text: map.states.map((s) => s.name),
      customdata: map.states.map((s) => [s.last_price, s.point, mapAccuracy(kit, map, s)]),
      colorscale: [[0, "#0b6e99"], [0.5, "#f7f7f7"], [1, "#b83b5e"]],
      marker: {
        line: { color: "#ffffff", width: 0.8 },
        opacity: map.states.map((s) => (s.verdict === "unknown" || s.method === "no_change" ? 0.35 : 1)),
      },
      colorbar: { title: { text: "%" }, thickness: 12, len: 0.7 },
      showscale: flat < map.states.length, // every state no change: no colour to read
      // every fuel is priced in reais (per litre, 13 kg or m³), as the fan's axis says
      hovertemplate: "<b>%{text}</b><br>%{z:+.2f}%<br>R$ %{customdata[0]:.3f} → R$ %{customdata[1]:.3f}<br>%{customdata[2]}<extra></extra>",
    }, ...grey], kit.mapLayout(t(allNoChange ? "outlook.mapNone" : "outlook.map", { fuel })), mapUrl, newest, true); // the states' last published week
  }

  // app.js names the view and its controls (VIEWS.outlook) and draws it with this on load.
  window.FUELPIPE_EXTRA_VIEWS = window.FUELPIPE_EXTRA_VIEWS || {};
  window.FUELPIPE_EXTRA_VIEWS.outlook = { render, text: TEXT };
})();
