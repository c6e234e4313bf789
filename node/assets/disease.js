// Suggests ORPHA diseases while the member types; the form works without this script.
(function () {
  "use strict";
  var input = document.getElementById("disease");
  var list = document.getElementById("disease-options");
  if (!input || !list || !window.fetch) return;
  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = input.value;
      if (q.trim().length < 2 || /^ORPHA:\d+ /.test(q)) return;
      fetch("/api/v1/diseases?limit=8&q=" + encodeURIComponent(q))
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (body) {
          list.textContent = "";
          (body.results || []).forEach(function (d) {
            var o = document.createElement("option");
            o.value = d.code + " " + d.name;
            list.appendChild(o);
          });
          var radio = document.getElementById("d-orpha");
          if (radio) radio.checked = true;
        })
        .catch(function () {});
    }, 150);
  });
})();
