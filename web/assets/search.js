// Suggests symptoms as the member types; the form works without this script.
(function () {
  "use strict";
  var input = document.getElementById("q");
  var results = document.getElementById("results");
  if (!input || !results || !window.fetch) return;
  var timer = null;
  var latest = 0;
  // The page's words, in its language.
  var form = document.getElementById("symptom-search");
  var words = {
    none: (form && form.getAttribute("data-none")) || "",
    matches: (form && form.getAttribute("data-matches")) || ""
  };
  var lang = document.documentElement.lang || "en";

  function render(query, items) {
    results.textContent = "";
    if (!query.trim()) return;
    if (!items.length) {
      var p = document.createElement("p");
      p.textContent = words.none;
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
      if (r.name_en && r.name_en !== r.name) {
        var en = document.createElement("span");
        en.className = "en";
        en.setAttribute("lang", "en");
        en.textContent = "(" + r.name_en + ")";
        li.appendChild(en);
      }
      if (r.matched !== r.name && r.matched !== r.name_en) {
        var m = document.createElement("span");
        m.className = "matched";
        m.textContent = words.matches + " \u201c" + r.matched + "\u201d";
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
      fetch("/api/v1/terms?limit=10&lang=" + encodeURIComponent(lang) + "&q=" + encodeURIComponent(query))
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (body) { if (mine === latest) render(query, body.results || []); })
        .catch(function () {});
    }, 120);
  });
})();
