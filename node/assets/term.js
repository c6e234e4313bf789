// Suggests symptoms (HPO terms) while the member types; the form works without this script.
(function () {
  "use strict";
  var input = document.getElementById("term");
  var list = document.getElementById("term-options");
  if (!input || !list || !window.fetch) return;
  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = input.value;
      if (q.trim().length < 2 || /^HP:\d{7} /.test(q)) return;
      fetch("/api/v1/terms?limit=8&q=" + encodeURIComponent(q))
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (body) {
          list.textContent = "";
          (body.results || []).forEach(function (d) {
            var o = document.createElement("option");
            o.value = d.id + " " + d.name;
            list.appendChild(o);
          });
        })
        .catch(function () {});
    }, 150);
  });
})();
