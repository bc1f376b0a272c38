// The index over every tree of a file: search by task id, filter by outcome, reward and depth, sort by
// column. Rows come from the JSON block #index-data and are written with textContent only.
(function () {
  "use strict";
  var rows = JSON.parse(document.getElementById("index-data").textContent);
  var body = document.getElementById("rows");
  var sortKey = "position", sortDir = 1;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fmt(x) { return Number.isInteger(x) ? String(x) : x.toFixed(3); }
  function num(id, fallback) {
    var v = document.getElementById(id).value;
    return v === "" ? fallback : Number(v);
  }
  // The page name is rebuilt from the row's position (an integer), never taken from the data.
  function pageOf(r) { return "tree-" + String(r.position).padStart(5, "0") + ".html"; }
  function render() {
    var q = document.getElementById("search").value.trim().toLowerCase();
    var won = document.getElementById("won").value;
    var minReward = num("min-reward", -Infinity), maxReward = num("max-reward", Infinity);
    var minDepth = num("min-depth", -Infinity), maxDepth = num("max-depth", Infinity);
    var shown = rows.filter(function (r) {
      return (!q || String(r.task_id).toLowerCase().indexOf(q) >= 0) &&
        (won === "any" || (won === "won") === r.success) &&
        r.best_reward >= minReward && r.best_reward <= maxReward && r.depth >= minDepth && r.depth <= maxDepth;
    });
    shown.sort(function (a, b) {
      var x = a[sortKey], y = b[sortKey];
      return (x < y ? -1 : x > y ? 1 : a.position - b.position) * sortDir;
    });
    body.textContent = "";
    var frag = document.createDocumentFragment();
    shown.forEach(function (r) {
      var tr = el("tr");
      var link = el("a", "", r.task_id);
      link.href = pageOf(r);
      var cell = el("td", "cell-text");
      cell.appendChild(link);
      tr.appendChild(el("td", "num", r.position));
      tr.appendChild(cell);
      tr.appendChild(el("td", "", r.algorithm));
      tr.appendChild(el("td", "num", r.nodes));
      tr.appendChild(el("td", "num", r.depth));
      tr.appendChild(el("td", "num", fmt(r.best_reward)));
      var outcome = el("td");
      outcome.appendChild(el("span", "badge " + (r.success ? "b-won" : "b-terminal"), r.success ? "won" : "not won"));
      if (r.error) outcome.appendChild(el("span", "badge b-error", "error"));
      tr.appendChild(outcome);
      tr.appendChild(el("td", "num", r.pairs));
      tr.appendChild(el("td", "cell-text muted", r.source));
      frag.appendChild(tr);
    });
    body.appendChild(frag);
    document.getElementById("shown").textContent = String(shown.length);
  }
  document.getElementById("total").textContent = String(rows.length);
  ["search", "won", "min-reward", "max-reward", "min-depth", "max-depth"].forEach(function (id) {
    document.getElementById(id).addEventListener("input", render);
  });
  document.querySelectorAll("th[data-key]").forEach(function (th) {
    th.style.cursor = "pointer";
    th.addEventListener("click", function () {
      var key = th.dataset.key;
      sortDir = key === sortKey ? -sortDir : 1;
      sortKey = key;
      render();
    });
  });
  render();
  window.__viewerReady = performance.now();
})();
