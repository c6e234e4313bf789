// Suggestions while typing, for inputs marked data-suggest="terms" or "diseases": the
// matches fill the input's <datalist> as "<id> <name>", which the server understands.
// The forms work without this script.
(function () {
  "use strict";
  if (!window.fetch) return;
  Array.prototype.forEach.call(document.querySelectorAll("input[data-suggest]"), function (input) {
    var kind = input.getAttribute("data-suggest");
    var list = input.list;
    var radio = input.getAttribute("data-suggest-radio");
    if (!list || (kind !== "terms" && kind !== "diseases")) return;
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value;
        if (q.trim().length < 2 || /^(HP|ORPHA):\d+ /.test(q)) return;
        var lang = document.documentElement.lang || "en";
        fetch("/api/v1/" + kind + "?limit=8&lang=" + encodeURIComponent(lang) + "&q=" + encodeURIComponent(q))
          .then(function (r) { return r.ok ? r.json() : { results: [] }; })
          .then(function (body) {
            list.textContent = "";
            (body.results || []).forEach(function (d) {
              var o = document.createElement("option");
              o.value = (d.id || d.code) + " " + d.name;
              list.appendChild(o);
            });
            var r = radio && document.getElementById(radio);
            if (r) r.checked = true;
          })
          .catch(function () {});
      }, 150);
    });
  });
})();
