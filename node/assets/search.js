// Suggests symptoms as the member types; the form works without this script.
(function () {
  "use strict";
  var input = document.getElementById("q");
  var results = document.getElementById("results");
  if (!input || !results || !window.fetch) return;
  var timer = null;
  var latest = 0;

  function render(query, items) {
    results.textContent = "";
    if (!query.trim()) return;
    if (!items.length) {
      var p = document.createElement("p");
      p.textContent = "No symptom matches \u201c" + query + "\u201d. Try other words, or a shorter word.";
      results.appendChild(p);
      return;
    }
    var ol = document.createElement("ol");
    ol.className = "results";
    items.forEach(function (r) {
      var li = document.createElement("li");
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = r.name;
      li.appendChild(name);
      if (r.matched !== r.name) {
        var m = document.createElement("span");
        m.className = "matched";
        m.textContent = "matches \u201c" + r.matched + "\u201d";
        li.appendChild(m);
      }
      var id = document.createElement("span");
      id.className = "id";
      id.textContent = r.id;
      li.appendChild(id);
      ol.appendChild(li);
    });
    results.appendChild(ol);
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var query = input.value;
      var mine = ++latest;
      if (!query.trim()) { render("", []); return; }
      fetch("/api/v1/terms?limit=10&q=" + encodeURIComponent(query))
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (body) { if (mine === latest) render(query, body.results || []); })
        .catch(function () {});
    }, 120);
  });
})();
