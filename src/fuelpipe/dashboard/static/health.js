/* The Health view: the pipeline's problems (sources late or failing, alerts, splits owed), its
   counters, the completeness of each series and the last runs. Registers itself with app.js; no
   inline script. Minified on its own (health.min.js): app.js loads it when the Health tab opens,
   or once the first view is drawn, so the first chart never waits for it. Its texts (TEXT) join
   the page's when it loads; the tab's label and the runs table's heading are in i18n.js, as the
   page shows them before this file loads. */
(function () {
  "use strict";

  const TEXT = {
    en: {
      "n.value.one": "{n} value",
      "n.value.other": "{n} values",
      "health.freshness": "Freshness p50 / p95",
      "health.freshnessDetail": "publication to storage, {n}",
      "health.freshnessNone": "No value yet",
      "health.freshnessNoneDetail": "no value of its series' last five weeks was stored as it was published: those stored by their series' first run, as all of a demo store's, are history and not counted",
      "health.problems": "Sources late or failing",
      "health.late": "Late",
      "health.failing": "Failing",
      "health.alert": "Active alert",
      "health.alertsWaiting": "Alerts not yet sent",
      "health.alertsQueued": "oldest queued {date}",
      "health.alertsFailing": "sending fails since {date}",
      "health.alertsDropped": "Alerts dropped",
      "health.splitOwed": "Split: history not re-based",
      "health.splitOwedDetail": "closes before {date} may be on the pre-split basis until the re-read succeeds",
      "health.since": "since {date}",
      "health.lastAttempt": "last attempt {date}",
      "health.nextAttempt": "next attempt {date}",
      "health.series": "Series stored",
      "health.complete": "Mean completeness",
      "health.pending": "Pending retries",
      "health.pendingRead": "failing sources from the newest {n} of {total}",
      "health.quarantined": "Quarantined",
      "health.held.one": "Quarantined: {n} record waiting for a person",
      "health.held.other": "Quarantined: {n} records waiting for a person",
      "health.heldHow": "Their retries are spent. Retry one: fuelpipe quarantine release KEY DATE; or accept that its date has no value: fuelpipe quarantine accept KEY DATE (each row gives its own).",
      "health.heldBySeries": "All {n} by series: {list}",
      "health.heldLacking": "Stored OK but still lacking figures (a volume, say) after their re-downloads: {n} date(s), listed by fuelpipe quarantine list; fuelpipe quarantine release KEY DATE asks again.",
      "health.heldSeriesMore.one": "{n} more series",
      "health.heldSeriesMore.other": "{n} more series",
      "health.heldNewest": "Below, the newest {n} of {total}, quarantined last first; all of them: fuelpipe quarantine list",
      "health.heldDates.one": "{n} date",
      "health.heldDates.other": "{n} dates",
      "health.heldSeries": "Series",
      "health.heldDate": "Date",
      "health.heldAt": "Quarantined (São Paulo time)",
      "health.heldRetries": "Retries",
      "health.heldReason": "Reason",
      "health.heldAct": "Commands",
      "health.dead": "Dead letters",
      "health.absent": "No value at the source",
      "health.unexpected": "Published on calendar-skipped days",
      "health.revised": "Revised values (with history)",
      "health.title": "Completeness per series (stored OK ÷ expected since its first date)",
      "health.titleShort": "Series below 100% complete: {n} (the other {m} are complete)",
      "health.showAll.one": "Show the one series",
      "health.showAll.other": "Show all {n} series",
      "health.showShort": "Show only those below 100%",
      "health.allComplete.one": "The one series is complete: every expected date is stored.",
      "health.allComplete.other": "All {n} series are complete: every expected date is stored.",
      "health.nothingExpected": "nothing expected yet",
      "health.stage": "Stage",
      "health.started": "Started (São Paulo time)",
      "health.finished": "Finished (São Paulo time)",
      "health.counts": "Counts",
      "health.noRuns": "No pipeline run recorded yet.",
      "health.noSeries": "Nothing is stored yet: run the pipeline (fuelpipe run) to fill the store.",
      "health.notAvailable": "n/a",
      "stage.scraper": "Scraper",
      "stage.data_clustering": "Gap audit (data clustering)",
      "stage.retry_recheck": "Retry recheck",
      "stage.revise": "Revisions",
      "stage.outlook": "Outlook",
      "stage.intraday": "Intraday",
      "count.absent_written": "absent written",
      "count.adjusted": "adjusted",
      "count.dates": "dates",
      "count.completed": "completed (lacking figures came)",
      "count.dead_lettered": "dead lettered",
      "count.deferred": "deferred",
      "count.due": "due",
      "count.errors": "errors",
      "count.failed": "failed",
      "count.flagged": "flagged",
      "count.gaps_found": "gaps found",
      "count.gaps_held": "gaps sent earlier, still queued",
      "count.given_back": "given back",
      "count.keys": "keys",
      "count.keys_audited": "keys audited",
      "count.keys_scanned": "keys scanned",
      "count.lacking_dropped": "dates no longer lacking figures",
      "count.lacking_given_up": "lacking figures given up",
      "count.lacking_lost_race": "lacking notes lost race",
      "count.lacking_noted": "dates noted lacking figures",
      "count.lacking_retried": "lacking figures re-downloaded",
      "count.last_delivery_held": "made pending before a last delivery",
      "count.left_unread": "left unread",
      "count.lost_race": "lost race",
      "count.messages_sent": "messages sent",
      "count.no_session": "no session",
      "count.not_given_back": "not given back",
      "count.pending_written": "pending written",
      "count.points_written": "points written",
      "count.purged": "purged",
      "count.quarantined": "quarantined",
      "count.records_written": "records written",
      "count.redelivered": "redelivered",
      "count.refetched": "refetched",
      "count.rest_held": "held while the source rests",
      "count.rested": "put off while the source rests",
      "count.retried": "retried",
      "count.revised": "revised",
      "count.series": "series",
      "count.set_aside_cleared": "set-aside values cleared",
      "count.set_aside_kept": "set-aside values kept",
      "count.source_requests": "source requests",
      "count.split_owed_written": "split owed written",
      "count.split_rereads": "split rereads",
      "count.split_rereads_failed": "split rereads failed",
      "count.split_rereads_owed": "split rereads owed",
      "count.unexpected": "unexpected",
      "count.unknown_keys": "unknown keys",
      "count.unservable": "unservable",
      "count.version_owed": "data version owed",
      "count.watermark_conflicts": "watermark conflicts",
      "count.watermarks_moved": "watermarks moved",
      "count.watermarks_repaired": "watermarks repaired",
    },
    "pt-BR": {
      "n.value.one": "{n} valor",
      "n.value.other": "{n} valores",
      "health.freshness": "Atualização p50 / p95",
      "health.freshnessDetail": "da publicação ao armazenamento, {n}",
      "health.freshnessNone": "Nenhum valor ainda",
      "health.freshnessNoneDetail": "nenhum valor das últimas cinco semanas de suas séries foi armazenado ao ser publicado: os armazenados na primeira execução da série, como todos os de uma base de demonstração, são histórico e não contam",
      "health.problems": "Fontes atrasadas ou com falha",
      "health.late": "Atrasada",
      "health.failing": "Com falha",
      "health.alert": "Alerta ativo",
      "health.alertsWaiting": "Alertas ainda não enviados",
      "health.alertsQueued": "o mais antigo na fila desde {date}",
      "health.alertsFailing": "o envio falha desde {date}",
      "health.alertsDropped": "Alertas descartados",
      "health.splitOwed": "Desdobramento: histórico não reajustado",
      "health.splitOwedDetail": "fechamentos antes de {date} podem estar na base anterior ao desdobramento até a releitura dar certo",
      "health.since": "desde {date}",
      "health.lastAttempt": "última tentativa {date}",
      "health.nextAttempt": "próxima tentativa {date}",
      "health.series": "Séries armazenadas",
      "health.complete": "Completude média",
      "health.pending": "Novas tentativas pendentes",
      "health.pendingRead": "fontes com falha entre as {n} mais recentes de {total}",
      "health.quarantined": "Em quarentena",
      "health.held.one": "Em quarentena: {n} registro aguardando uma pessoa",
      "health.held.other": "Em quarentena: {n} registros aguardando uma pessoa",
      "health.heldHow": "Suas novas tentativas se esgotaram. Tentar de novo: fuelpipe quarantine release CHAVE DATA; ou aceitar que a data não tem valor: fuelpipe quarantine accept CHAVE DATA (cada linha traz os seus).",
      "health.heldBySeries": "Todos os {n} por série: {list}",
      "health.heldLacking": "Gravadas OK, mas ainda sem alguns números (o volume, por exemplo) depois dos novos downloads: {n} data(s), listadas por fuelpipe quarantine list; fuelpipe quarantine release CHAVE DATA pede de novo.",
      "health.heldSeriesMore.one": "mais {n} série",
      "health.heldSeriesMore.other": "mais {n} séries",
      "health.heldNewest": "Abaixo, os {n} mais recentes de {total}, o último em quarentena primeiro; todos: fuelpipe quarantine list",
      "health.heldDates.one": "{n} data",
      "health.heldDates.other": "{n} datas",
      "health.heldSeries": "Série",
      "health.heldDate": "Data",
      "health.heldAt": "Em quarentena desde (horário de Brasília)",
      "health.heldRetries": "Tentativas",
      "health.heldReason": "Motivo",
      "health.heldAct": "Comandos",
      "health.dead": "Mensagens mortas",
      "health.absent": "Sem valor na fonte",
      "health.unexpected": "Publicados em dias fora do calendário",
      "health.revised": "Valores revisados (com histórico)",
      "health.title": "Completude por série (OK armazenados ÷ esperados desde a primeira data)",
      "health.titleShort": "Séries abaixo de 100% de completude: {n} (as outras {m} estão completas)",
      "health.showAll.one": "Mostrar a única série",
      "health.showAll.other": "Mostrar as {n} séries",
      "health.showShort": "Mostrar só as abaixo de 100%",
      "health.allComplete.one": "A única série está completa: toda data esperada está armazenada.",
      "health.allComplete.other": "As {n} séries estão completas: toda data esperada está armazenada.",
      "health.nothingExpected": "nada esperado ainda",
      "health.stage": "Etapa",
      "health.started": "Início (horário de Brasília)",
      "health.finished": "Fim (horário de Brasília)",
      "health.counts": "Contagens",
      "health.noRuns": "Nenhuma execução do pipeline registrada ainda.",
      "health.noSeries": "Nada armazenado ainda: rode o pipeline (fuelpipe run) para preencher o banco.",
      "health.notAvailable": "n/d",
      "stage.scraper": "Coleta",
      "stage.data_clustering": "Auditoria de lacunas (data clustering)",
      "stage.retry_recheck": "Reverificação de pendentes",
      "stage.revise": "Revisões",
      "stage.outlook": "Perspectiva",
      "stage.intraday": "Intradiário",
      "count.absent_written": "sem valor gravados",
      "count.adjusted": "ajustados",
      "count.dates": "datas",
      "count.completed": "completados (números que faltavam vieram)",
      "count.dead_lettered": "mensagens mortas",
      "count.deferred": "adiados",
      "count.due": "vencidos",
      "count.errors": "erros",
      "count.failed": "com falha",
      "count.flagged": "sinalizados",
      "count.gaps_found": "lacunas encontradas",
      "count.gaps_held": "lacunas já enviadas, ainda na fila",
      "count.given_back": "devolvidos",
      "count.keys": "chaves",
      "count.keys_audited": "chaves auditadas",
      "count.keys_scanned": "chaves examinadas",
      "count.lacking_dropped": "datas que não faltam mais números",
      "count.lacking_given_up": "números faltantes desistidos",
      "count.lacking_lost_race": "notas de faltantes com concorrência perdida",
      "count.lacking_noted": "datas anotadas com números faltando",
      "count.lacking_retried": "números faltantes baixados de novo",
      "count.last_delivery_held": "pendentes antes de uma última entrega",
      "count.left_unread": "deixados sem ler",
      "count.lost_race": "concorrência perdida",
      "count.messages_sent": "mensagens enviadas",
      "count.no_session": "sem pregão",
      "count.not_given_back": "não devolvidos",
      "count.pending_written": "pendentes gravados",
      "count.points_written": "pontos gravados",
      "count.purged": "expurgados",
      "count.quarantined": "em quarentena",
      "count.records_written": "valores gravados",
      "count.redelivered": "reentregues",
      "count.refetched": "baixados de novo",
      "count.rest_held": "retidos durante a pausa da fonte",
      "count.rested": "adiados pela pausa da fonte",
      "count.retried": "novas tentativas",
      "count.revised": "revisados",
      "count.series": "séries",
      "count.set_aside_cleared": "valores separados apagados",
      "count.set_aside_kept": "valores separados guardados",
      "count.source_requests": "consultas às fontes",
      "count.split_owed_written": "desdobramentos pendentes gravados",
      "count.split_rereads": "releituras por desdobramento",
      "count.split_rereads_failed": "releituras por desdobramento com falha",
      "count.split_rereads_owed": "releituras por desdobramento pendentes",
      "count.unexpected": "fora do calendário",
      "count.unknown_keys": "chaves desconhecidas",
      "count.unservable": "sem atendimento",
      "count.version_owed": "versão dos dados pendente",
      "count.watermark_conflicts": "conflitos de marca d’água",
      "count.watermarks_moved": "marcas d’água movidas",
      "count.watermarks_repaired": "marcas d’água reparadas",
    },
  };
  async function render(kit, token) {
    const { t, fmt, card } = kit;
    const url = kit.api("/api/health");
    kit.setCsv(url);
    const view = await kit.getJSON(url);
    if (!kit.isCurrent(token)) return;
    const cards = document.getElementById("health-cards");
    cards.replaceChildren();
    const scored = view.series.filter((s) => s.completeness !== null);
    const mean = scored.length ? scored.reduce((a, s) => a + s.completeness, 0) / scored.length : null;
    const asOf = t("asOf", { date: fmt.instant(view.as_of) });
    const since = (x) => t("health.since", { date: fmt.instant(x.since) });
    const problems = view.problems || [];
    if (!problems.length) card(cards, t("health.problems"), "0", "", "flat", asOf);
    for (const p of problems) {
      // A failing source: the reason, the last attempt and the next.
      const tries = [["lastAttempt", p.last_attempt_at], ["nextAttempt", p.next_attempt_at]]
        .filter((x) => x[1]).map((x) => ` · ${t("health." + x[0], { date: fmt.instant(x[1]) })}`).join("");
      card(cards, `${t("health." + p.state)} · ${p.source}`,
        p.keys.map(kit.seriesName).join(", ") + (p.series > p.keys.length ? " …" : ""),
        since(p) + (p.reason ? ` · ${p.reason}` : "") + tries, "bad", asOf);
    }
    // An alert's summary in the page's language (the API gives both; pt-BR falls back to the
    // English text when the rule wrote none)
    const pt = kit.state.lang === "pt-BR";
    for (const a of view.alerts || []) {
      card(cards, `${t("health.alert")} · ${a.rule}`, pt ? a.summary_pt_br : a.summary, since(a), "warn", asOf);
    }
    // Alerts a sink has not taken: those waiting (the sink down), then the newest drops (refused
    // for good, or past retention); the CSV's alert_delivery table has the latest 20.
    const delivery = view.alert_delivery || [];
    for (const d of delivery.filter((x) => x.state === "waiting")) {
      const failing = d.failing_since ? ` · ${t("health.alertsFailing", { date: fmt.instant(d.failing_since) })}` : "";
      card(cards, `${t("health.alertsWaiting")} · ${d.sink}`, fmt.num(d.count, 0),
        t("health.alertsQueued", { date: fmt.instant(d.at) }) + failing, d.failing_since ? "bad" : "warn", asOf);
    }
    for (const d of delivery.filter((x) => x.state === "dropped").slice(0, 3)) {
      card(cards, `${t("health.alertsDropped")} · ${d.sink}`, fmt.num(d.count, 0),
        `${fmt.instant(d.at)} · ${d.line || ""}`, "bad", asOf);
    }
    // A split whose history re-read failed: closes before it may still be on the old basis.
    for (const s of view.series) {
      const o = s.split_owed;
      if (!o) continue;
      const last = o.splits[o.splits.length - 1].date;
      card(cards, `${t("health.splitOwed")} · ${kit.seriesName(s.key)}`, o.splits.map((x) => `${x.ratio} · ${fmt.date(x.date)}`).join(", "),
        (o.since ? since(o) + " · " : "") + t("health.splitOwedDetail", { date: fmt.date(last) }), "bad", asOf);
    }
    card(cards, t("health.series"), `${view.stored_series} / ${view.catalog_series}`, "", "", asOf);
    card(cards, t("health.complete"), mean === null ? "—" : fmt.pct(mean * 100, 1, false), "", "", asOf);
    // A backlog past the view's cap: the failing cards above come from the newest records only.
    const read = view.pending_read ?? view.pending;
    card(cards, t("health.pending"), fmt.num(view.pending, 0),
      read < view.pending ? t("health.pendingRead", { n: fmt.num(read, 0), total: fmt.num(view.pending, 0) }) : "",
      view.pending ? "warn" : "flat", asOf);
    card(cards, t("health.quarantined"), fmt.num(view.quarantined, 0), "", view.quarantined ? "bad" : "flat", asOf);
    card(cards, t("health.dead"), view.dead_letters === null ? t("health.notAvailable") : fmt.num(view.dead_letters, 0), "", "", asOf);
    card(cards, t("health.absent"), fmt.num(view.absent ?? 0, 0), "", "", asOf);
    card(cards, t("health.unexpected"), fmt.num(view.unexpected ?? 0, 0), "", "", asOf);
    card(cards, t("health.revised"), fmt.num(view.revised ?? 0, 0), "", "", asOf);
    // No sample (only history stored, as on a demo store): why, not "— / —, 0 values". The
    // sources without one share a card: four cards of the same long why filled a phone's screen.
    const freshness = view.freshness || [];
    for (const f of freshness.filter((x) => x.samples)) {
      card(cards, `${t("health.freshness")} · ${f.source}`, `${fmt.duration(f.p50_s)} / ${fmt.duration(f.p95_s)}`,
        t("health.freshnessDetail", { n: kit.count(f.samples, "value") }), "flat", asOf);
    }
    const none = freshness.filter((x) => !x.samples).map((x) => x.source);
    if (none.length) {
      card(cards, `${t("health.freshness")} · ${none.join(", ")}`, t("health.freshnessNone"),
        t("health.freshnessNoneDetail"), "flat prose", asOf); // a why, not a short figure: not bold
    }
    renderHeld(kit, view);
    renderRuns(kit, view.last_runs);
    if (!view.series.length) {
      kit.showEmpty("chart-health", t("health.noSeries"));
      return;
    }
    const sorted = view.series.slice().sort((a, b) => (a.completeness ?? -1) - (b.completeness ?? -1));
    // Hundreds of full bars hid the few that are not: by default only the series below 100%
    // (one with nothing expected yet has no completeness to fall short of), all on request.
    const short = sorted.filter((s) => s.completeness !== null && s.completeness < 1);
    const scoredCount = sorted.filter((s) => s.completeness !== null).length;
    const all = kit.state.health === "all" || short.length === sorted.length;
    const toggle = document.getElementById("health-all");
    toggle.hidden = short.length === sorted.length;
    toggle.textContent = all ? t("health.showShort") : kit.tn("health.showAll", sorted.length);
    toggle.setAttribute("aria-pressed", String(all));
    const div = document.getElementById("chart-health");
    if (!all && !short.length) {
      div.style.height = "";
      kit.showEmpty("chart-health", kit.tn("health.allComplete", scoredCount));
      return;
    }
    const shown = all ? sorted : short;
    div.style.height = `${Math.max(360, 16 * shown.length + 120)}px`;
    const layout = kit.baseLayout(all ? t("health.title")
      : t("health.titleShort", { n: shown.length, m: scoredCount - shown.length }));
    layout.margin = { t: 56, r: 32, b: 48, l: 24 };
    layout.yaxis.automargin = true; // the longest series key sets the left margin
    layout.xaxis.tickformat = ".0%";
    layout.xaxis.range = [0, 1.02];
    layout.xaxis.side = "top";
    layout.yaxis.autorange = "reversed";
    layout.yaxis.tickfont = { size: 10 };
    // Each bar by its readable name in the page's language ("Etanol hidratado — Amapá"), the
    // key (the bar's value) in its hover.
    layout.yaxis.tickmode = "array";
    layout.yaxis.tickvals = shown.map((s) => s.key);
    layout.yaxis.ticktext = shown.map((s) => kit.seriesName(s.key));
    layout.bargap = 0.25;
    layout.showlegend = false;
    await kit.plot("chart-health", [{
      type: "bar",
      orientation: "h",
      x: shown.map((s) => s.completeness ?? 0),
      y: shown.map((s) => s.key),
      // A series with nothing expected yet has no completeness: grey, and said so, not a red 0%.
      customdata: shown.map((s) => [s.present, s.expected,
        s.completeness === null ? t("health.nothingExpected") : fmt.pct(s.completeness * 100, 1, false),
        kit.seriesName(s.key), s.key]),
      marker: {
        color: shown.map((s) => (s.completeness === null ? "#9aa8b5" : s.completeness >= 0.99 ? "#2e8540"
          : s.completeness >= 0.8 ? "#f2a541" : "#b8322a")),
      },
      // the key from customdata: %{y} is the tick's text, the name again
      hovertemplate: "%{customdata[3]} (%{customdata[4]}): %{customdata[2]}<br>%{customdata[0]} / %{customdata[1]}<extra></extra>",
    }], layout, url, kit.spDay(view.as_of));
  }

  /** A run's stage or counter in the page's language ("stage.scraper", "count.records_written");
   *  one without a text of its own is its name with spaces. */
  function runWord(t, kind, name) {
    const text = t(`${kind}.${name}`);
    return text === `${kind}.${name}` ? name.replace(/_/g, " ") : text;
  }

  /** ``table``'s head of ``labels``, and a function adding a row of cells (returned) each
   *  carrying its column's name: on a phone the rows stack as labelled lines (app.css). */
  function labelled(table, labels) {
    const head = table.createTHead().insertRow();
    for (const label of labels) {
      const th = document.createElement("th");
      th.textContent = label;
      head.append(th);
    }
    const body = table.createTBody();
    return () => {
      const row = body.insertRow();
      return labels.map((label) => {
        const cell = row.insertCell();
        cell.dataset.label = label;
        return cell;
      });
    };
  }

  function renderRuns(kit, runs) {
    const { t, fmt } = kit;
    const table = document.getElementById("runs");
    table.replaceChildren();
    if (!runs.length) {
      const row = table.insertRow();
      const cell = row.insertCell();
      cell.textContent = t("health.noRuns");
      cell.className = "muted";
      return;
    }
    // Each cell carries its column's name: on a phone the rows stack as labelled lines
    // (app.css), four squashed columns wrapped a time over two lines and a counter per word.
    const addRow = labelled(table, ["health.stage", "health.started", "health.finished", "health.counts"].map((key) => t(key)));
    for (const run of runs) {
      const cells = addRow();
      cells[0].textContent = runWord(t, "stage", run.stage);
      cells[0].title = run.stage; // the stage's own name, as the logs and `fuelpipe status` say it
      cells[1].textContent = fmt.clock(run.started_at);
      cells[2].textContent = fmt.clock(run.finished_at);
      cells[1].className = cells[2].className = "when";
      // One counter per span, kept whole on a line ("records written 1,234"); the lines break
      // between counters.
      Object.entries(run.counts).forEach(([k, v], i) => {
        if (i) cells[3].append(", ");
        const counter = document.createElement("span");
        counter.className = "count";
        counter.textContent = `${runWord(t, "count", k)} ${fmt.num(v, 0)}`;
        cells[3].append(counter);
      });
    }
  }

  /** Each ``p`` of ``texts`` a paragraph of the panel. */
  function lines(panel, ...texts) {
    for (const text of texts) {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = text;
      panel.append(p);
    }
  }

  /** The records quarantined last (the API lists the newest 50), each with the commands that
   *  act on it and its reason as text (it quotes a source's error: never read as HTML); more
   *  than 10 quarantined, a line sums them all up by series first (the API's per-series counts
   *  of every one, not of those listed; the first 20 series); past those listed, a line says
   *  they are the newest of how many, and where they all are. Hidden with none quarantined. */
  function renderHeld(kit, view) {
    const { t, fmt } = kit;
    const panel = document.getElementById("health-quarantine");
    const held = view.quarantined_records || [];
    panel.replaceChildren();
    panel.hidden = !view.quarantined && !held.length && !view.lacking_given_up;
    if (panel.hidden) return;
    // A key outside the catalog (a series a release dropped) has no name: its key alone.
    const named = (x) => (x.label === null ? x.key : `${kit.seriesName(x.key)} (${x.key})`);
    const title = document.createElement("h2");
    // Only dates stored OK whose lacking figures never came: the panel's name, their line.
    title.textContent = view.quarantined ? kit.tn("health.held", view.quarantined) : t("health.quarantined");
    panel.append(title);
    if (view.quarantined) lines(panel, t("health.heldHow"));
    if (view.lacking_given_up) lines(panel, t("health.heldLacking", { n: fmt.num(view.lacking_given_up, 0) }));
    if (!held.length) return;
    const series = view.quarantined_series || []; // by series, the one quarantined last first
    if (view.quarantined > 10 && series.length) {
      const list = series.slice(0, 20).map((g) => {
        const span = g.first === g.last ? fmt.date(g.first) : `${fmt.date(g.first)} – ${fmt.date(g.last)}`;
        return `${named(g)}: ${kit.tn("health.heldDates", g.count)}, ${span}`;
      });
      if (series.length > 20) list.push(kit.tn("health.heldSeriesMore", series.length - 20));
      lines(panel, t("health.heldBySeries", { n: fmt.num(view.quarantined, 0), list: list.join("; ") }));
    }
    if (view.quarantined > held.length) {
      lines(panel, t("health.heldNewest", { n: fmt.num(held.length, 0), total: fmt.num(view.quarantined, 0) }));
    }
    const labels = ["health.heldSeries", "health.heldDate", "health.heldAt", "health.heldRetries",
      "health.heldReason", "health.heldAct"].map((key) => t(key));
    const scroll = document.createElement("div");
    scroll.className = "table-scroll";
    scroll.setAttribute("role", "region");
    scroll.setAttribute("aria-label", title.textContent);
    const table = document.createElement("table");
    table.className = "runs stacked";
    table.id = "quarantined";
    const addRow = labelled(table, labels);
    for (const r of held) {
      const cells = addRow();
      const key = document.createElement("code");
      key.textContent = r.key;
      if (r.label !== null) cells[0].append(kit.seriesName(r.key), " ");
      cells[0].append(key);
      cells[1].textContent = fmt.date(r.date);
      cells[1].className = "when";
      cells[2].textContent = fmt.clock(r.quarantined_at);
      cells[2].className = "when";
      cells[3].textContent = fmt.num(r.retries, 0);
      cells[4].textContent = r.reason;
      cells[4].className = "reason";
      for (const verb of ["release", "accept"]) {
        const command = document.createElement("code");
        command.textContent = `fuelpipe quarantine ${verb} ${r.key} ${r.date}`;
        cells[5].append(command);
      }
    }
    scroll.append(table);
    panel.append(scroll);
  }

  // Problems (sources late or failing) move with the clock, not only with the data version
  // live.js watches: while the view is open and the page visible, it reloads its own data every
  // minute, and at once when the page is shown again. No other view is refetched.
  const REFRESH_MS = 60000;
  let timer = 0;
  let shown = null; // the kit of the last render: app.js's redraw and state

  /** Start or stop the refresh; true when it has just started. */
  function refresh() {
    const open = shown && shown.state.view === "health" && document.visibilityState === "visible";
    if (open && !timer) {
      // A view opened since (its render not done yet) is not redrawn by a late tick.
      timer = window.setInterval(() => shown.state.view === "health" && shown.redraw(true), REFRESH_MS);
      return true;
    }
    if (!open && timer) {
      window.clearInterval(timer);
      timer = 0;
    }
    return false;
  }
  document.addEventListener("fuelpipe:rendered", refresh); // every view's, drawn or failed
  document.addEventListener("visibilitychange", () => {
    if (refresh()) shown.redraw(true); // shown again: what went late while it was hidden
  });

  // "Show all" keeps its choice in the URL (app.js reads it back: health=all).
  document.getElementById("health-all").addEventListener("click", () => {
    shown.state.health = shown.state.health === "all" ? "" : "all";
    shown.writeUrl(true);
    shown.redraw(true);
  });

  // app.js names the view (VIEWS.health) and draws it with this when its tab opens.
  window.FUELPIPE_EXTRA_VIEWS = window.FUELPIPE_EXTRA_VIEWS || {};
  window.FUELPIPE_EXTRA_VIEWS.health = {
    text: TEXT,
    render(kit, token) {
      shown = kit;
      return render(kit, token);
    },
  };
})();
