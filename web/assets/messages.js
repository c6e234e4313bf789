// Keeps an open conversation up to date: asks the node for what came after the last
// message shown (the node answers as soon as there is something, or after a while), and
// adds it to the page. Without this script the page works the same with its refresh link.
(function () {
  "use strict";
  var chat = document.getElementById("chat");
  if (!chat) return;
  var id = chat.getAttribute("data-conversation");
  var last = parseInt(chat.getAttribute("data-last"), 10) || 0;
  var failures = 0;

  function add(m) {
    var li = document.createElement("li");
    li.className = m.mine ? "mine" : "theirs";
    var who = document.createElement("p");
    who.className = "who";
    who.textContent = (m.mine ? chat.getAttribute("data-mine") : chat.getAttribute("data-theirs")) + " · ";
    var time = document.createElement("time");
    time.textContent = m.when;
    who.appendChild(time);
    li.appendChild(who);
    if (m.body) {
      var body = document.createElement("p");
      body.className = "body";
      body.textContent = m.body;
      li.appendChild(body);
    }
    if (m.image) {
      var holder = document.createElement("p");
      var link = document.createElement("a");
      link.href = "/messages/" + id + "/image/" + m.seq;
      var img = document.createElement("img");
      img.className = "sent-image";
      img.src = link.href;
      img.alt = chat.getAttribute("data-image");
      link.appendChild(img);
      holder.appendChild(link);
      li.appendChild(holder);
    }
    if (!m.mine) {
      var report = document.createElement("p");
      report.className = "report";
      var a = document.createElement("a");
      a.href = "/messages/" + id + "/report/" + m.seq;
      a.textContent = chat.getAttribute("data-report");
      report.appendChild(a);
      li.appendChild(report);
    }
    chat.appendChild(li);
    var empty = document.getElementById("empty");
    if (empty) empty.remove();
  }

  function poll() {
    fetch("/messages/" + id + "/after/" + last, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        failures = 0;
        data.messages.forEach(function (m) { add(m); last = Math.max(last, m.seq); });
        if (!data.open) { window.location.reload(); return; }
        poll();
      })
      .catch(function () {
        failures += 1;
        setTimeout(poll, Math.min(30000, 1000 * failures));
      });
  }
  poll();
})();
