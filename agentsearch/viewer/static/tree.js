// One search tree: a collapsible outline (rows built only when their parent is expanded, so a 10,000-node
// tree opens as fast as a small one) and the selected node's full text. Data comes from the JSON block
// #tree-data; every string from it is put on screen with textContent, never parsed as HTML.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("tree-data").textContent);
  var N = D.parent.length;
  var CHUNK = 200; // children rendered per "show more" step
  var FLAG = { terminal: 1, won: 2, invalid: 4, diverged: 8, rollout: 16, expanded: 32 };
  var kids = [];
  for (var i = 0; i < N; i++) kids.push([]);
  for (i = 0; i < N; i++) if (D.parent[i] >= 0) kids[D.parent[i]].push(i);
  var onBest = new Set(D.best_path);
  var roles = {}; // node -> [[role, other node, state, gap]]
  D.pairs.forEach(function (p) {
    (roles[p[1]] = roles[p[1]] || []).push(["chosen", p[2], p[0], p[3]]);
    (roles[p[2]] = roles[p[2]] || []).push(["rejected", p[1], p[0], p[3]]);
    (roles[p[0]] = roles[p[0]] || []).push(["state", p[1], p[2], p[3]]);
  });
  var qmin = Infinity, qmax = -Infinity;
  for (i = 1; i < N; i++) { qmin = Math.min(qmin, D.q[i]); qmax = Math.max(qmax, D.q[i]); }
  var expanded = new Set();
  expanded.add(0);
  D.best_path.forEach(function (n) { expanded.add(n); });
  for (i = 0; i < N; i++) if (D.depth[i] < 1) expanded.add(i);
  var selected = -1;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fmt(x) { return typeof x === "number" ? (Number.isInteger(x) ? String(x) : x.toFixed(3)) : String(x); }
  function has(n, f) { return (D.flags[n] & f) !== 0; }
  function qColor(q) {
    if (!(qmax > qmin)) return "hsl(215 12% 62%)";
    var t = Math.max(0, Math.min(1, (q - qmin) / (qmax - qmin)));
    return "hsl(" + Math.round(120 * t) + " 65% " + (48 - 10 * t) + "%)";
  }
  function short(text, limit) {
    // Bidi controls are dropped from one-line labels (the full text keeps them, isolated).
    var s = String(text).replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "").replace(/\s+/g, " ").trim();
    return s.length > limit ? s.slice(0, limit - 1) + "\u2026" : s;
  }
  function label(n) { return n === 0 ? "(reset) " + short(D.observation[0], 80) : short(D.action[n] || D.response[n], 90); }
  function badges(n, into) {
    function add(cls, text) { into.appendChild(el("span", "badge " + cls, text)); }
    if (has(n, FLAG.won)) add("b-won", "won");
    else if (has(n, FLAG.terminal)) add("b-terminal", "terminal");
    if (onBest.has(n) && n !== 0) add("b-best", "best");
    var count = { chosen: 0, rejected: 0, state: 0 };
    (roles[n] || []).forEach(function (r) { count[r[0]] += 1; });
    function times(k) { return count[k] > 1 ? " \u00d7" + count[k] : ""; }
    if (count.chosen) add("b-chosen", "chosen" + times("chosen"));
    if (count.rejected) add("b-rejected", "rejected" + times("rejected"));
    if (count.state) add("b-state", "pair state" + times("state"));
    if (has(n, FLAG.invalid)) add("b-invalid", "invalid");
    if (has(n, FLAG.diverged)) add("b-diverged", "diverged");
    if (has(n, FLAG.rollout)) add("", "rollout");
  }

  // ------------------------------------------------------------------ the outline
  function rowFor(n) {
    var li = el("li");
    li.dataset.node = String(n);
    var row = el("div", "row" + (onBest.has(n) ? " on-best" : "") + (n === selected ? " selected" : ""));
    var toggle = el("button", "toggle", kids[n].length ? (expanded.has(n) ? "\u25be" : "\u25b8") : "\u00b7");
    toggle.type = "button";
    toggle.title = kids[n].length ? kids[n].length + " children" : "leaf";
    var swatch = el("span", "swatch");
    swatch.style.background = qColor(D.q[n]);
    row.appendChild(toggle);
    row.appendChild(swatch);
    row.appendChild(el("span", "nid", "#" + n));
    row.appendChild(el("span", "label", label(n)));
    row.appendChild(el("span", "stat", "N=" + D.visits[n] + " Q=" + fmt(D.q[n]) + " r=" + fmt(D.reward[n])));
    badges(n, row);
    li.appendChild(row);
    return li;
  }
  function showChildren(li, n, upto) {
    var ul = li.querySelector(":scope > ul");
    if (!ul) { ul = el("ul"); li.appendChild(ul); ul.dataset.shown = "0"; }
    var shown = Number(ul.dataset.shown), list = kids[n], end = Math.min(list.length, Math.max(upto, shown + CHUNK));
    var more = li.querySelector(":scope > .more");
    if (more) more.remove();
    var frag = document.createDocumentFragment(), pending = [];
    for (var k = shown; k < end; k++) {
      var child = rowFor(list[k]);
      frag.appendChild(child);
      if (expanded.has(list[k]) && kids[list[k]].length) pending.push([child, list[k]]);
    }
    ul.appendChild(frag);
    ul.dataset.shown = String(end);
    if (end < list.length) {
      var btn = el("button", "more", "show " + Math.min(CHUNK, list.length - end) + " more of " + (list.length - end));
      btn.type = "button";
      btn.dataset.more = String(n);
      li.appendChild(btn);
    }
    return pending;
  }
  // Iterative, so a very deep tree cannot overflow the call stack.
  function expandFrom(li, n, upto) {
    var stack = showChildren(li, n, upto || 0);
    while (stack.length) {
      var item = stack.pop();
      stack.push.apply(stack, showChildren(item[0], item[1], 0));
    }
  }
  function liOf(n) { return document.querySelector('#tree li[data-node="' + n + '"]'); }
  function setToggle(li, n) { li.querySelector(":scope > .row > .toggle").textContent = expanded.has(n) ? "\u25be" : "\u25b8"; }
  function toggle(n) {
    var li = liOf(n);
    if (!li || !kids[n].length) return;
    if (expanded.has(n)) {
      expanded.delete(n);
      var ul = li.querySelector(":scope > ul"), more = li.querySelector(":scope > .more");
      if (ul) ul.remove();
      if (more) more.remove();
    } else {
      expanded.add(n);
      expandFrom(li, n);
    }
    setToggle(li, n);
  }
  function renderTree() {
    var tree = document.getElementById("tree");
    tree.textContent = "";
    var ul = el("ul"), root = rowFor(0);
    ul.appendChild(root);
    // Built detached, then attached once: the browser styles and lays out the rows in one pass.
    if (expanded.has(0)) expandFrom(root, 0);
    tree.appendChild(ul);
  }
  // Make node n's row exist: expand its ancestors, showing enough children at each level.
  function reveal(n) {
    var path = [], a = n;
    while (a >= 0) { path.push(a); a = D.parent[a]; }
    path.reverse();
    for (var k = 0; k + 1 < path.length; k++) {
      var p = path[k], li = liOf(p);
      var need = kids[p].indexOf(path[k + 1]) + 1;
      if (!expanded.has(p)) { expanded.add(p); expandFrom(li, p, need); setToggle(li, p); }
      else if (Number((li.querySelector(":scope > ul") || { dataset: { shown: 0 } }).dataset.shown) < need) expandFrom(li, p, need);
    }
    return liOf(n);
  }

  // ------------------------------------------------------------------ the selected node
  function section(parent, title, text) {
    parent.appendChild(el("h3", "", title));
    parent.appendChild(el("pre", "", text === "" ? "(empty)" : text));
  }
  function nodeTable(parent, title, nodes, current) {
    parent.appendChild(el("h3", "", title));
    if (!nodes.length) { parent.appendChild(el("div", "muted", "none")); return; }
    var table = el("table"), head = el("tr");
    ["node", "action", "Q", "", "N", "reward", ""].forEach(function (h) { head.appendChild(el("th", "", h)); });
    table.appendChild(head);
    var top = Math.max.apply(null, nodes.map(function (m) { return Math.abs(D.q[m]); }).concat([1e-9]));
    nodes.forEach(function (m) {
      var tr = el("tr", "pick" + (m === current ? " current" : ""));
      tr.dataset.node = String(m);
      tr.appendChild(el("td", "num", "#" + m));
      tr.appendChild(el("td", "cell-text", short(D.action[m] || D.response[m], 120)));
      tr.appendChild(el("td", "num", fmt(D.q[m])));
      var bar = el("span", "qbar"), cell = el("td");
      bar.style.width = Math.round(60 * Math.abs(D.q[m]) / top) + "px";
      bar.style.background = qColor(D.q[m]);
      cell.appendChild(bar);
      tr.appendChild(cell);
      tr.appendChild(el("td", "num", D.visits[m]));
      tr.appendChild(el("td", "num", fmt(D.reward[m])));
      var flags = el("td");
      badges(m, flags);
      tr.appendChild(flags);
      table.appendChild(tr);
    });
    parent.appendChild(table);
  }
  function select(n) {
    if (!(n >= 0 && n < N)) return;
    var old = document.querySelector("#tree .row.selected");
    if (old) old.classList.remove("selected");
    selected = n;
    var li = reveal(n);
    var row = li.querySelector(":scope > .row");
    row.classList.add("selected");
    row.scrollIntoView({ block: "nearest" });
    if (history.replaceState) history.replaceState(null, "", "#node=" + n);
    var box = document.getElementById("details");
    box.textContent = "";
    box.appendChild(el("h3", "", "Node #" + n + " \u00b7 depth " + D.depth[n]));
    var crumbs = el("div", "crumbs"), a = n, path = [];
    while (a >= 0) { path.push(a); a = D.parent[a]; }
    path.reverse().forEach(function (m) {
      var b = el("button", "", "#" + m);
      b.type = "button";
      b.dataset.node = String(m);
      crumbs.appendChild(b);
    });
    box.appendChild(crumbs);
    var stats = el("table");
    [["visits", D.visits[n]], ["Q", fmt(D.q[n])], ["initial value", fmt(D.init[n])], ["reward", fmt(D.reward[n])],
     ["log-prob", fmt(D.logprob[n])], ["tokens", D.tokens[n]], ["samples", D.count[n]], ["iteration", D.iteration[n]]]
      .forEach(function (kv) {
        var tr = el("tr");
        tr.appendChild(el("th", "", kv[0]));
        tr.appendChild(el("td", "num", kv[1]));
        stats.appendChild(tr);
      });
    var flagRow = el("tr"), flagCell = el("td");
    flagRow.appendChild(el("th", "", "state"));
    badges(n, flagCell);
    flagRow.appendChild(flagCell);
    stats.appendChild(flagRow);
    box.appendChild(stats);
    (roles[n] || []).forEach(function (r) {
      var text = r[0] === "chosen" ? "chosen over #" + r[1] + " at state #" + r[2]
        : r[0] === "rejected" ? "rejected for #" + r[1] + " at state #" + r[2]
        : "state of a pair: #" + r[1] + " over #" + r[2];
      box.appendChild(el("div", "", "Pair: " + text + " (gap " + fmt(r[3]) + ")"));
    });
    if (n > 0) section(box, "Action", D.action[n]);
    if (n > 0) section(box, "Response", D.response[n]);
    section(box, n > 0 ? "Observation" : "Observation after reset", D.observation[n]);
    if (n > 0) nodeTable(box, "Siblings (same state)", kids[D.parent[n]], n);
    nodeTable(box, "Children", kids[n], -1);
  }

  // ------------------------------------------------------------------ header and wiring
  function header() {
    var m = D.meta;
    document.getElementById("title").textContent = "Task " + m.task_id + " \u00b7 " + (m.env || "?") + " \u00b7 " + (m.algorithm || "tree");
    document.getElementById("node-count").textContent = String(N);
    var depth = 0;
    for (var k = 0; k < N; k++) depth = Math.max(depth, D.depth[k]);
    document.getElementById("max-depth").textContent = String(depth);
    document.getElementById("best-reward").textContent = fmt(m.best_reward);
    document.getElementById("success").textContent = m.success ? "won" : "not won";
    document.getElementById("pair-count").textContent = String(D.pairs.length) + " (" + m.strategy + ")";
    document.getElementById("model").textContent = m.model || "?";
    document.getElementById("q-range").textContent = isFinite(qmin) ? fmt(qmin) + " \u2026 " + fmt(qmax) : "-";
    document.getElementById("instruction").textContent = m.instruction;
    if (m.error) {
      var err = document.getElementById("error");
      err.textContent = "search error: " + m.error;
      err.hidden = false;
    }
  }
  header();
  renderTree();
  document.getElementById("tree").addEventListener("click", function (ev) {
    var more = ev.target.closest("button.more");
    if (more) { var p = Number(more.dataset.more); expandFrom(liOf(p), p); return; }
    var li = ev.target.closest("li");
    if (!li) return;
    var n = Number(li.dataset.node);
    if (ev.target.closest(".toggle")) toggle(n);
    else select(n);
  });
  document.getElementById("details").addEventListener("click", function (ev) {
    var t = ev.target.closest("[data-node]");
    if (t) select(Number(t.dataset.node));
  });
  document.getElementById("expand-all").addEventListener("click", function () {
    for (var k = 0; k < N; k++) if (kids[k].length) expanded.add(k);
    renderTree();
    if (selected >= 0) select(selected);
  });
  document.getElementById("collapse-all").addEventListener("click", function () {
    expanded = new Set([0]);
    renderTree();
  });
  document.getElementById("goto-best").addEventListener("click", function () { select(D.best_path[D.best_path.length - 1] || 0); });
  document.getElementById("goto").addEventListener("change", function (ev) { select(Number(ev.target.value)); });
  var hash = /^#node=(\d+)$/.exec(location.hash);
  select(hash ? Number(hash[1]) : 0);
  window.__viewerReady = performance.now();
})();
