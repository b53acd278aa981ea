// The workspace's keyboard and in-place updates (optional: every page and action works without it).
//   j / k     move through the rows of a list (the queue, the bench), Enter opens the selected case
//   a         the case's next action: its first field (or its button)
//   n / u     the next case in the queue view / back to the queue
//   /         the search field          ?   the list of shortcuts
(function () {
  "use strict";

  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable=true], dialog[open]");
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("main tr[data-case]"));
  }

  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
    if (!row) return;
    row.classList.add("selected");
    row.setAttribute("aria-selected", "true");
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var list = rows();
    if (!list.length) return;
    var index = list.indexOf(document.querySelector("main tr[data-case].selected"));
    index = index < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, index + step));
    select(list[index]);
  }

  function follow(link) {
    if (link) link.click(); // a click, so htmx (when present) updates the page in place
  }

  function primaryAction() {
    var panel = document.querySelector("[data-primary]");
    if (!panel) return;
    if (panel.tagName === "DETAILS") panel.open = true;
    var field = panel.querySelector("input:not([type=hidden]), select, textarea, button[type=submit]");
    panel.scrollIntoView({ block: "center" });
    if (field) field.focus();
  }

  // An address such as #action-inspect opens that action's panel.
  function openTarget() {
    var id = decodeURIComponent((location.hash || "").slice(1));
    var target = id && document.getElementById(id);
    if (target && target.tagName === "DETAILS") target.open = true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var key = event.key;
    if (key === "j") move(1);
    else if (key === "k") move(-1);
    else if (key === "Enter") {
      var row = document.querySelector("main tr[data-case].selected");
      if (!row) return;
      follow(row.querySelector("a[href]"));
    } else if (key === "a") primaryAction();
    else if (key === "n") follow(document.getElementById("next-case"));
    else if (key === "u") follow(document.getElementById("back-to-queue"));
    else if (key === "/") {
      var search = document.querySelector("main input[type=search], main input[name=q]");
      if (!search) return;
      search.focus();
    } else if (key === "?") {
      var dialog = document.getElementById("shortcuts");
      if (!dialog || !dialog.showModal) return;
      dialog.showModal();
    } else return;
    event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("main tr[data-case]");
    if (row && !event.target.closest("a, button, input, select, label")) select(row);
  });

  window.addEventListener("hashchange", openTarget);
  document.addEventListener("DOMContentLoaded", openTarget);
  // Counted, so a page (and a browser test) can tell an in-place update has landed.
  document.addEventListener("htmx:afterSettle", function () {
    var root = document.documentElement;
    root.dataset.swaps = String(Number(root.dataset.swaps || 0) + 1);
    openTarget();
  });
})();
