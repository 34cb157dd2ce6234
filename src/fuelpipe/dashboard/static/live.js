/* fuelpipe live panel: polls /api/live with If-None-Match; on a new store version it names the
   parts that changed ("store", or an intraday series' key) and app.js redraws the open view
   only when it shows one of them ("fuelpipe:data-changed"). Keyed cards get their
   value's freshness: when it was published and how long ago. A 304 still moves the "checked"
   time and those ages on, to the server's clock it names in X-Fuelpipe-As-Of. A publication
   after that clock (a store filled ahead of it, as the demo's) gets its instant, not an age.
   Each failed poll in a row doubles the wait (to 16 times), a Retry-After longer than that is
   waited out (an hour at most), and the status says why in the page's language (a refusal,
   4xx, is not a server error; the browser's own error text in its title) and when the last
   answer came, which the page is as of; a hidden page does
   not poll and polls at once when shown, a Retry-After allowing. Loaded by app.js after the
   first chart, its first answer the one app.js asked before the first view's data. No inline
   script. */
(function () {
  "use strict";

  const INTERVAL_MS = Number(document.documentElement.dataset.liveMs || 3000);
  const TEXT = {
    en: {
      live: "Live · checked {time}",
      offline: "Live updates paused ({message})",
      lastChecked: "{status} · last checked {time}",
      network: "no connection to the server",
      server: "server error {status}",
      notFound: "not found on this server, {status}",
      tooMany: "too many requests to the server, {status}",
      refused: "request refused by the server, {status}",
      unexpected: "unexpected answer from the server",
      published: "published {ago}",
      publishedAt: "published {at}",
      notPublished: "nothing published yet",
    },
    "pt-BR": {
      live: "Ao vivo · verificado {time}",
      offline: "Atualização ao vivo pausada ({message})",
      lastChecked: "{status} · última verificação {time}",
      network: "sem conexão com o servidor",
      server: "erro do servidor {status}",
      notFound: "não encontrada neste servidor, {status}",
      tooMany: "muitas requisições ao servidor, {status}",
      refused: "requisição recusada pelo servidor, {status}",
      unexpected: "resposta inesperada do servidor",
      published: "publicado {ago}",
      publishedAt: "publicado em {at}",
      notPublished: "nada publicado ainda",
    },
  };
  let etag = null;
  let version = null;
  let parts = {}; // each part's hash at the last 200 (/api/live's "parts")
  let view = null;
  let checked = null; // the server's clock at the last answer, 200 or 304 (ms since the epoch)
  let failures = 0; // in a row: a server restarting is not asked every 3 s by every tab
  let failed = null; // the last of those failures (null once an answer came)
  let notBefore = 0; // a failed answer's Retry-After ends then (Date.now's clock)
  let timer = 0;
  const RETRY_AFTER_CAP_MS = 3_600_000; // as watch's for a source (stages/source_rest.py)

  function lang() {
    return document.documentElement.lang === "pt-BR" ? "pt-BR" : "en";
  }

  function t(key, vars) {
    let text = TEXT[lang()][key];
    for (const [name, value] of Object.entries(vars || {})) text = text.replace(`{${name}}`, value);
    return text;
  }

  // The day number of an instant's São Paulo calendar date (its parts: no locale's layout).
  function day(ms) {
    const p = {};
    const opts = { year: "numeric", month: "numeric", day: "numeric", timeZone: "America/Sao_Paulo" };
    for (const { type, value } of new Intl.DateTimeFormat("en", opts).formatToParts(ms)) {
      p[type] = Number(value);
    }
    return Date.UTC(p.year, p.month - 1, p.day) / 864e5;
  }

  /** How long before ``at`` (ms) ``then`` was: hours, minutes, seconds under a day; past it,
      São Paulo calendar days ("yesterday" is the day before, not any 24 to 48 hours: Friday
      18:00 read on Sunday 03:00 is two days ago). */
  function ago(then, at) {
    const rtf = new Intl.RelativeTimeFormat(lang(), { numeric: "auto" });
    const seconds = (at - then) / 1000;
    if (seconds >= 86400) return rtf.format(day(then) - day(at), "day");
    for (const [size, unit] of [[3600, "hour"], [60, "minute"]]) {
      if (seconds >= size) return rtf.format(-Math.floor(seconds / size), unit);
    }
    return rtf.format(-Math.floor(seconds), "second");
  }

  /** Why a poll failed, in the reader's words: a 4xx is the request refused (an older server
      without /api/live answers 404, a proxy throttling 429), not a server error. */
  function why(err) {
    const status = err.status;
    if (status === 404) return t("notFound", { status });
    if (status === 429) return t("tooMany", { status });
    if (status >= 400 && status < 500) return t("refused", { status });
    if (status >= 500) return t("server", { status });
    // fetch rejects with a TypeError when no answer came (the network down, the server
    // gone); the browser's words for it are its own language's, and vary by browser.
    return t(err instanceof TypeError ? "network" : "unexpected");
  }

  /** How long a failed answer asks not to be asked again (ms; 0 for no Retry-After): seconds,
      or an HTTP date against the answer's own Date (both the server's clock), at most an hour. */
  function retryAfter(response) {
    const value = (response.headers.get("Retry-After") || "").trim();
    let ms = NaN;
    if (/^\d+$/.test(value)) ms = Number(value) * 1000;
    else if (value) {
      const sent = Date.parse(response.headers.get("Date") || "");
      ms = Date.parse(value) - (Number.isNaN(sent) ? Date.now() : sent);
    }
    return Number.isNaN(ms) ? 0 : Math.min(Math.max(ms, 0), RETRY_AFTER_CAP_MS);
  }

  // São Paulo's wall clock, labelled, as app.js writes every instant.
  const instant = (iso) => window.FUELPIPE_INSTANT(iso);

  /** "published 2 hours ago" to the server's clock at the last answer (the view's age_s, moved
      on by 304s); a publication after that clock gets its instant: an age would be made up. */
  function published(iso) {
    const then = Date.parse(iso);
    return checked >= then
      ? t("published", { ago: ago(then, checked) })
      : t("publishedAt", { at: instant(iso) });
  }

  /** The status line: paused saying why while polls fail, else live as of the last answer. A
      view drawn meanwhile (a language, a view picked) repaints it, in the page's language. */
  function say() {
    const status = document.getElementById("live-status");
    if (failed) {
      // the cards and their ages are as of the last answer: say when that was, if there was one
      const paused = t("offline", { message: why(failed) });
      status.textContent =
        checked === null ? paused : t("lastChecked", { status: paused, time: instant(checked) });
      status.title = failed.message;
      status.classList.add("paused");
    } else if (view) {
      status.textContent = t("live", { time: instant(checked) });
      status.title = "";
      status.classList.remove("paused");
    }
  }

  /** An answer, 200 or 304, ends a run of failures and any wait one asked for. */
  function answered() {
    failures = 0;
    failed = null;
    notBefore = 0;
  }

  function paint() {
    say();
    if (!view) return;
    document.getElementById("live-status").dataset.version = view.version;
    const byKey = new Map(view.series.map((s) => [s.key, s]));
    for (const card of document.querySelectorAll(".card[data-key]")) {
      const found = byKey.get(card.dataset.key);
      let line = card.querySelector(".card-fresh");
      // A card showing an older value (the End date picked), or none by then (no data-date),
      // is not the one just published.
      const older = found && found.date && card.dataset.date !== found.date;
      if (!found || older) {
        if (line) line.remove();
        continue;
      }
      if (!line) {
        line = document.createElement("p");
        line.className = "card-foot card-fresh";
        card.append(line);
      }
      line.textContent = found.published_at ? published(found.published_at) : t("notPublished");
      line.title = found.published_at ? instant(found.published_at) : "";
    }
  }

  // app.js asked /api/live before it read the first view's data: that answer is the first
  // poll's, so what landed between that read and this script is a change, not the baseline.
  let first = window.FUELPIPE_LIVE;

  async function poll() {
    const asked =
      first ||
      fetch("/api/live", { headers: etag ? { "If-None-Match": etag } : {}, cache: "no-store" });
    first = null;
    try {
      const response = await asked;
      const asOf = response.headers.get("X-Fuelpipe-As-Of") || "";
      const serverNow = Date.parse(asOf);
      // The server's clock bounds the End date (app.js, by its São Paulo day: the header is
      // UTC, a day ahead from 21:00 there).
      if (!Number.isNaN(serverNow)) {
        document.dispatchEvent(new CustomEvent("fuelpipe:clock", { detail: asOf }));
      }
      if (response.status === 200) {
        etag = response.headers.get("ETag");
        view = await response.json();
        checked = Date.parse(view.as_of);
        const changed = version !== null && view.version !== version;
        const before = parts;
        version = view.version;
        parts = view.parts || {};
        answered();
        paint();
        if (changed) {
          // What moved: "store" (every view reads it) or an intraday series' key.
          const moved = Object.keys(parts).filter((part) => parts[part] !== before[part]);
          const detail = { view, parts: moved };
          document.dispatchEvent(new CustomEvent("fuelpipe:data-changed", { detail }));
        }
      } else if (response.status === 304) {
        if (!Number.isNaN(serverNow)) checked = serverNow;
        answered();
        paint();
      } else {
        const err = new Error(`HTTP ${response.status}`);
        err.status = response.status;
        err.retryAfter = retryAfter(response);
        throw err;
      }
    } catch (err) {
      failures += 1;
      failed = err;
      notBefore = Date.now() + (err.retryAfter || 0);
      say();
    }
    window.clearTimeout(timer);
    const backoff = INTERVAL_MS * 2 ** Math.min(failures, 4);
    if (visible()) timer = window.setTimeout(poll, Math.max(backoff, notBefore - Date.now()));
  }

  const visible = () => document.visibilityState === "visible";
  document.addEventListener("visibilitychange", () => {
    if (!visible()) return;
    // Shown again: at once, unless the server asked for a wait that has not ended.
    window.clearTimeout(timer);
    const wait = notBefore - Date.now();
    if (wait > 0) timer = window.setTimeout(poll, wait);
    else poll();
  });
  document.addEventListener("fuelpipe:rendered", paint);
  poll();
})();
