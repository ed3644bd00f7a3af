// ifxdose clinic: the little JavaScript there is. Everything works without it;
// it only makes the 28-joint diagram clickable (each joint mirrors its checkbox).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("fieldset.joint-set").forEach(function (set) {
    var kind = set.dataset.kind;
    var output = set.querySelector("output[data-count]");
    function refresh() {
      var n = 0;
      set.querySelectorAll("input[type=checkbox]").forEach(function (box) {
        var dot = set.querySelector('[data-joint="' + box.id + '"]');
        if (dot) { dot.classList.toggle("on", box.checked); dot.setAttribute("aria-checked", box.checked); }
        if (box.checked) { n += 1; }
      });
      if (output) { output.textContent = n; }
    }
    set.querySelectorAll("circle.joint").forEach(function (dot) {
      dot.setAttribute("role", "checkbox");
      dot.setAttribute("tabindex", "0");
      function toggle() {
        var box = document.getElementById(dot.dataset.joint);
        if (box) { box.checked = !box.checked; refresh(); }
      }
      dot.addEventListener("click", toggle);
      dot.addEventListener("keydown", function (e) {
        if (e.key === " " || e.key === "Enter") { e.preventDefault(); toggle(); }
      });
    });
    set.addEventListener("change", refresh);
    refresh();
  });
});
