// Small behaviours of forms, kept out of the pages (the Content-Security-Policy allows no inline script):
//   <select data-submit-on-change>            submits its form when a choice is made (the language switch)
//   <input type=checkbox data-select-all="…">  ticks or clears every checkbox the selector finds
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select[data-submit-on-change]") && target.form) {
      target.form.submit();
      return;
    }
    if (target.matches && target.matches("input[type=checkbox][data-select-all]")) {
      document.querySelectorAll(target.getAttribute("data-select-all")).forEach(function (box) {
        box.checked = target.checked;
      });
    }
  });
})();
