// The API reference at /docs, rendered from this app's own /openapi.json: no CDN, no inline
// script (the page keeps the dashboard's strict Content-Security-Policy). Text is only ever
// set with textContent, so nothing from the document is parsed as HTML.
"use strict";

(function () {
  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
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
      return alternatives.map((a) => typeOf(spec, a)).filter((t) => t !== "null").join(" or ");
    }
    let text = s.type || "object";
    if (s.type === "array") text = "list of " + typeOf(spec, s.items);
    if (s.format) text += " (" + s.format + ")";
    if (s.enum) text += ": " + s.enum.join(", ");
    const bounds = [];
    if (s.minimum !== undefined) bounds.push("≥ " + s.minimum);
    if (s.maximum !== undefined) bounds.push("≤ " + s.maximum);
    if (bounds.length) text += " " + bounds.join(", ");
    if (s.default !== undefined) text += "; default " + JSON.stringify(s.default);
    return text;
  }

  function parameters(spec, op) {
    const params = op.parameters || [];
    if (!params.length) return el("p", "No parameters.");
    const table = el("table");
    const head = el("tr");
    ["name", "in", "type", "description"].forEach((h) => head.appendChild(el("th", h)));
    table.appendChild(head);
    params.forEach((p) => {
      const row = el("tr");
      const name = el("td");
      name.appendChild(el("code", p.name));
      if (p.required) name.appendChild(el("span", " required", "required"));
      row.appendChild(name);
      row.appendChild(el("td", p.in));
      row.appendChild(el("td", typeOf(spec, p.schema)));
      row.appendChild(el("td", p.description || resolve(spec, p.schema).description || ""));
      table.appendChild(row);
    });
    return table;
  }

  function responses(op) {
    const list = el("ul");
    Object.entries(op.responses || {}).forEach(([code, r]) => {
      const types = Object.keys(r.content || {}).join(", ");
      list.appendChild(el("li", code + ": " + (r.description || "") + (types ? " (" + types + ")" : "")));
    });
    return list;
  }

  function render(spec) {
    document.getElementById("api-title").textContent =
      (spec.info && spec.info.title ? spec.info.title : "API") + (spec.info && spec.info.version ? " (v" + spec.info.version + ")" : "");
    document.getElementById("api-description").textContent = (spec.info && spec.info.description) || "";
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
        if (op.summary) section.appendChild(el("p", op.summary));
        if (op.description && op.description !== op.summary) section.appendChild(el("p", op.description));
        section.appendChild(el("h3", "Parameters"));
        section.appendChild(parameters(spec, op));
        section.appendChild(el("h3", "Responses"));
        section.appendChild(responses(op));
        const example = el("p");
        const sample = el("a", "try " + path);
        sample.href = path;
        example.appendChild(sample);
        if (!(op.parameters || []).some((p) => p.required)) section.appendChild(example);
        main.appendChild(section);
      });
    });
    document.getElementById("api-index").appendChild(index);
    document.body.dataset.rendered = "true";
  }

  fetch("/openapi.json")
    .then((r) => {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    })
    .then(render)
    .catch((e) => {
      const p = document.getElementById("api-description");
      p.textContent = "Could not load /openapi.json: " + e.message;
      p.className = "error";
    });
})();
