// The API reference at /docs, rendered from this app's own /openapi.json: no CDN, no inline
// script (the page keeps the dashboard's strict Content-Security-Policy). Text is only ever
// set with textContent, so nothing from the document is parsed as HTML.
"use strict";

(function () {
  // The page's own words in both languages; what the OpenAPI document says (the API's title,
  // its operations' and fields' descriptions) is the API's, in English, and marked lang="en".
  const T = {
    en: {
      page: "fuelpipe API reference",
      loading: "Loading the OpenAPI document…",
      note: "",
      home: "dashboard",
      index: "operations",
      failed: "Could not load /openapi.json: {msg}",
      params: "Parameters",
      none: "No parameters.",
      heads: ["name", "in", "type", "description"],
      required: " required",
      responses: "Responses",
      try: "try {path}",
      listOf: "list of {type}",
      or: " or ",
      default: "default",
    },
    "pt-BR": {
      page: "Referência da API do fuelpipe",
      loading: "Carregando o documento OpenAPI…",
      note: "As descrições abaixo são as do documento OpenAPI da API, em inglês.",
      home: "painel",
      index: "operações",
      failed: "Não foi possível carregar /openapi.json: {msg}",
      params: "Parâmetros",
      none: "Sem parâmetros.",
      heads: ["nome", "em", "tipo", "descrição"],
      required: " obrigatório",
      responses: "Respostas",
      try: "experimentar {path}",
      listOf: "lista de {type}",
      or: " ou ",
      default: "padrão",
    },
  };
  // ?lang= as the dashboard's links write it, else the browser's language (as /stations).
  const asked = new URLSearchParams(window.location.search).get("lang");
  const lang = Object.hasOwn(T, asked)
    ? asked
    : (navigator.language || "en").toLowerCase().startsWith("pt") ? "pt-BR" : "en";
  const t = (key, vars = {}) => String(T[lang][key]).replace(/\{(\w+)\}/g, (_, k) => vars[k]);

  /** The page's frame in its language: title, header, links (home keeps the language). */
  function frame() {
    document.documentElement.lang = lang;
    document.title = t("page");
    document.getElementById("api-title").textContent = t("page");
    document.getElementById("api-description").textContent = t("loading");
    const note = document.getElementById("api-note");
    note.textContent = t("note");
    note.hidden = !note.textContent;
    const home = document.getElementById("api-home");
    home.textContent = t("home");
    home.href = "/?lang=" + encodeURIComponent(lang);
    document.getElementById("api-index").setAttribute("aria-label", t("index"));
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  /** The OpenAPI document's own text: English, said so to a screen reader on a pt-BR page. */
  function english(node) {
    if (lang !== "en") node.lang = "en";
    return node;
  }

  function resolve(spec, schema) {
    let s = schema || {};
    for (let i = 0; i < 8 && s.$ref; i++) {
      const parts = s.$ref.replace(/^#\//, "").split("/");
      s = parts.reduce((o, p) => (o ? o[p] : undefined), spec) || {};
    }
    return s;
  }

  function typeOf(spec, schema) {
    const s = resolve(spec, schema);
    const alternatives = s.anyOf || s.oneOf;
    if (alternatives) {
      return alternatives.map((a) => typeOf(spec, a)).filter((x) => x !== "null").join(t("or"));
    }
    let text = s.type || "object";
    if (s.type === "array") text = t("listOf", { type: typeOf(spec, s.items) });
    if (s.format) text += " (" + s.format + ")";
    if (s.enum) text += ": " + s.enum.join(", ");
    const bounds = [];
    if (s.minimum !== undefined) bounds.push("≥ " + s.minimum);
    if (s.maximum !== undefined) bounds.push("≤ " + s.maximum);
    if (bounds.length) text += " " + bounds.join(", ");
    if (s.default !== undefined) text += "; " + t("default") + " " + JSON.stringify(s.default);
    return text;
  }

  function parameters(spec, op) {
    const params = op.parameters || [];
    if (!params.length) return el("p", t("none"));
    const table = el("table");
    const head = el("tr");
    T[lang].heads.forEach((h) => head.appendChild(el("th", h)));
    table.appendChild(head);
    params.forEach((p) => {
      const row = el("tr");
      const name = el("td");
      name.appendChild(el("code", p.name));
      if (p.required) name.appendChild(el("span", t("required"), "required"));
      row.appendChild(name);
      row.appendChild(el("td", p.in));
      row.appendChild(el("td", typeOf(spec, p.schema)));
      row.appendChild(english(el("td", p.description || resolve(spec, p.schema).description || "")));
      table.appendChild(row);
    });
    return table;
  }

  function responses(op) {
    const list = el("ul");
    Object.entries(op.responses || {}).forEach(([code, r]) => {
      const types = Object.keys(r.content || {}).join(", ");
      list.appendChild(english(el("li", code + ": " + (r.description || "") + (types ? " (" + types + ")" : ""))));
    });
    return list;
  }

  function render(spec) {
    // The API's own title in English; the page's in another language.
    const title = lang === "en" && spec.info && spec.info.title ? spec.info.title : t("page");
    document.getElementById("api-title").textContent =
      title + (spec.info && spec.info.version ? " (v" + spec.info.version + ")" : "");
    english(document.getElementById("api-description")).textContent = (spec.info && spec.info.description) || "";
    const index = el("ul");
    const main = document.getElementById("api-operations");
    Object.entries(spec.paths || {}).forEach(([path, item]) => {
      Object.entries(item).forEach(([method, op]) => {
        const id = (method + path).replace(/[^a-z0-9]+/gi, "-");
        const link = el("a", method.toUpperCase() + " " + path);
        link.href = "#" + id;
        const li = el("li");
        li.appendChild(link);
        index.appendChild(li);

        const section = el("section", null, "operation");
        section.id = id;
        const title = el("h2");
        title.appendChild(el("span", method.toUpperCase(), "method"));
        title.appendChild(el("span", path));
        section.appendChild(title);
        if (op.summary) section.appendChild(english(el("p", op.summary)));
        if (op.description && op.description !== op.summary) section.appendChild(english(el("p", op.description)));
        section.appendChild(el("h3", t("params")));
        section.appendChild(parameters(spec, op));
        section.appendChild(el("h3", t("responses")));
        section.appendChild(responses(op));
        const example = el("p");
        const sample = el("a", t("try", { path }));
        sample.href = path;
        example.appendChild(sample);
        if (!(op.parameters || []).some((p) => p.required)) section.appendChild(example);
        main.appendChild(section);
      });
    });
    document.getElementById("api-index").appendChild(index);
    document.body.dataset.rendered = "true";
  }

  frame();
  fetch("/openapi.json")
    .then((r) => {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    })
    .then(render)
    .catch((e) => {
      const p = document.getElementById("api-description");
      p.textContent = t("failed", { msg: e.message });
      p.removeAttribute("lang");
      p.className = "error";
    });
})();
