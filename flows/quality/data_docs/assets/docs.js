/* Satu Data Banten: the few jQuery / Bootstrap / bootstrap-table calls GX's Data Docs
   make, in plain JavaScript, so the pages work offline. Not a general jQuery. */
(function () {
  "use strict";
  var handlers = [];          // [element, event, fn]
  var tables = {};            // id -> state of a table made by bootstrapTable

  function Q(nodes) { this.nodes = nodes; this.length = nodes.length; }
  function $(arg) {
    if (typeof arg === "function") { ready(arg); return new Q([]); }
    if (arg === document || arg === window || (arg && arg.nodeType)) return new Q([arg]);
    if (arg instanceof Q) return arg;
    if (typeof arg === "string") {
      try { return new Q(Array.prototype.slice.call(document.querySelectorAll(arg))); }
      catch (e) { return new Q([]); }
    }
    return new Q([]);
  }
  function ready(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }
  Q.prototype.ready = function (fn) { ready(fn); return this; };
  Q.prototype.each = function (fn) {
    this.nodes.forEach(function (el, i) { fn.call(el, i, el); }); return this;
  };
  Q.prototype.parent = function () {
    var out = [];
    this.nodes.forEach(function (el) {
      if (el.parentElement && out.indexOf(el.parentElement) < 0) out.push(el.parentElement);
    });
    return new Q(out);
  };
  Q.prototype.fadeIn = Q.prototype.show = function () {
    this.nodes.forEach(function (el) { el.style.display = ""; }); return this;
  };
  Q.prototype.fadeOut = Q.prototype.hide = function () {
    this.nodes.forEach(function (el) { el.style.display = "none"; }); return this;
  };
  Q.prototype.addClass = function (c) {
    this.nodes.forEach(function (el) { el.classList.add(c); }); return this;
  };
  Q.prototype.removeClass = function (c) {
    this.nodes.forEach(function (el) { el.classList.remove(c); }); return this;
  };
  Q.prototype.data = function (name) {
    var el = this.nodes[0]; return el ? el.getAttribute("data-" + name) : undefined;
  };
  Q.prototype.on = function (event, fn) {
    this.nodes.forEach(function (el) { handlers.push([el, event, fn]); }); return this;
  };
  Q.prototype.prepend = function (markup) {
    this.nodes.forEach(function (el) { el.insertAdjacentHTML("afterbegin", markup); });
    return this;
  };
  Q.prototype.modal = Q.prototype.tooltip = Q.prototype.popover = function () { return this; };
  Q.prototype.bootstrapTable = function (options) {
    this.nodes.forEach(function (el) {
      if (typeof options === "string") { command(el, options); return; }
      tables[el.id] = { options: options || {}, sort: (options || {}).sortName,
                        order: (options || {}).sortOrder || "asc", query: "" };
      renderTable(el);
    });
    return this;
  };

  function trigger(el, event, args) {
    handlers.forEach(function (h) { if (h[0] === el && h[1] === event) h[2].apply(el, args); });
  }
  function command(el, name) {
    var state = tables[el.id];
    if (!state) return;
    if (name === "resetSearch" || name === "clearFilterControl") {
      state.query = "";
      var box = document.getElementById(el.id + "-search");
      if (box) box.value = "";
      renderTable(el);
    }
  }
  function text(html) {
    var div = document.createElement("div"); div.innerHTML = html == null ? "" : html;
    return (div.textContent || "").replace(/\s+/g, " ").trim();
  }
  function sortKey(state, row) {
    var column = (state.options.columns || []).filter(function (c) {
      return c.field === state.sort || c.sortName === state.sort;
    })[0];
    var field = column ? (column.sortName || column.field) : state.sort;
    var value = row[field];
    return typeof value === "number" ? value : text(value).toLowerCase();
  }
  function renderTable(el) {
    var state = tables[el.id], options = state.options;
    var columns = options.columns || [];
    var rows = (options.data || []).slice();
    if (state.query) {
      var q = state.query.toLowerCase();
      rows = rows.filter(function (row) {
        return columns.some(function (c) {
          return text(row[c.field]).toLowerCase().indexOf(q) >= 0;
        });
      });
    }
    if (state.sort) {
      rows.sort(function (a, b) {
        var x = sortKey(state, a), y = sortKey(state, b);
        var r = x < y ? -1 : x > y ? 1 : 0;
        return state.order === "desc" ? -r : r;
      });
    }
    if (options.search && !document.getElementById(el.id + "-search")) {
      var box = document.createElement("input");
      box.type = "search"; box.id = el.id + "-search"; box.className = "sd-search";
      box.placeholder = "Cari / search";
      box.addEventListener("input", function () { state.query = box.value; renderTable(el); });
      el.parentNode.insertBefore(box, el);
    }
    el.classList.add("sd-table");
    el.innerHTML = "";
    var head = el.createTHead().insertRow();
    columns.forEach(function (c) {
      var th = document.createElement("th");
      th.textContent = c.title || c.field;
      if (c.align) th.style.textAlign = c.align;
      if (c.sortable) {
        th.className = "sd-sortable";
        th.addEventListener("click", function () {
          var key = c.sortName || c.field;
          state.order = state.sort === key && state.order === "asc" ? "desc" : "asc";
          state.sort = key; renderTable(el);
        });
      }
      head.appendChild(th);
    });
    var body = el.createTBody();
    if (!rows.length) {
      var cell = body.insertRow().insertCell();
      cell.colSpan = columns.length || 1; cell.className = "sd-empty";
      cell.textContent = "—";
    }
    rows.forEach(function (row, index) {
      var tr = body.insertRow();
      var attrs = typeof window[options.rowAttributes] === "function"
        ? window[options.rowAttributes](row, index) : {};
      Object.keys(attrs || {}).forEach(function (k) {
        if (k === "class") tr.className = attrs[k]; else tr.setAttribute(k, attrs[k]);
      });
      columns.forEach(function (c) {
        var td = tr.insertCell();
        td.innerHTML = row[c.field] == null ? "" : row[c.field];
        if (c.align) td.style.textAlign = c.align;
      });
      tr.addEventListener("click", function (e) {
        if (e.target.closest("a")) return;
        trigger(el, "click-row.bs.table", [e, row, new Q([tr])]);
      });
    });
  }

  // Tabs, collapsibles and toggle buttons (Bootstrap's data-toggle attributes).
  document.addEventListener("click", function (e) {
    var toggle = e.target.closest ? e.target.closest("[data-toggle]") : null;
    if (!toggle) return;
    var kind = toggle.getAttribute("data-toggle");
    var ref = toggle.getAttribute("data-target") || toggle.getAttribute("href") || "";
    var target = ref.charAt(0) === "#" ? document.getElementById(ref.slice(1)) : null;
    if (kind === "tab" && target) {
      e.preventDefault();
      var nav = toggle.closest(".nav");
      if (nav) nav.querySelectorAll("[data-toggle=tab]").forEach(function (t) {
        t.classList.remove("active"); t.setAttribute("aria-selected", "false");
      });
      toggle.classList.add("active"); toggle.setAttribute("aria-selected", "true");
      Array.prototype.forEach.call(target.parentNode.children, function (pane) {
        pane.classList.remove("active", "show");
      });
      target.classList.add("active", "show");
    } else if (kind === "collapse" && target) {
      e.preventDefault();
      target.classList.toggle("show");
    } else if (kind === "buttons") {
      var label = e.target.closest(".btn");
      if (label) {
        toggle.querySelectorAll(".btn").forEach(function (b) { b.classList.remove("active"); });
        label.classList.add("active");
      }
    }
  });

  // GX's charts: the vendored Vega, Vega-Lite and vega-embed (static/satudata/vendor/, loaded
  // before this file on pages with a chart). The site's Content-Security-Policy forbids
  // eval, so Vega runs its expressions through vega-interpreter (`ast: true`).
  var embed = window.vegaEmbed;
  window.vegaEmbed = function (selector, spec, options) {
    var vega = window.vega;
    if (typeof embed !== "function" || !vega || !vega.expressionInterpreter) {
      var el = document.querySelector(selector);
      if (el) {
        el.className += " sd-chart-offline";
        el.textContent = "(grafik tidak tersedia / chart not available)";
      }
      return Promise.resolve();
    }
    var opts = {};
    Object.keys(options || {}).forEach(function (k) { opts[k] = options[k]; });
    opts.ast = true;
    opts.expr = vega.expressionInterpreter;
    return embed(selector, spec, opts);
  };
  window.$ = window.jQuery = $;
})();
