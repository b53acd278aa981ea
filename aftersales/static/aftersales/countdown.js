// Keeps the server-rendered deadline countdowns ticking (optional: the page is correct without it).
(function () {
  function fmt(el, ms) {
    var s = Math.floor(Math.abs(ms) / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var t = d ? el.dataset.fmtDays : (h ? el.dataset.fmtHours : el.dataset.fmtMinutes);
    return t.replace("{d}", d).replace("{h}", h).replace("{m}", m);
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".due[data-due]").forEach(function (el) {
      var ms = Date.parse(el.dataset.due) - now;
      var text = ms < 0 ? el.dataset.over : el.dataset.left;
      el.querySelector(".due-text").textContent = text.replace("{t}", fmt(el, ms));
      el.classList.toggle("breached", ms < 0);
      el.classList.toggle("soon", ms >= 0 && ms <= 3600000);
      el.classList.toggle("ok", ms > 3600000);
    });
  }
  setInterval(tick, 30000);
})();
