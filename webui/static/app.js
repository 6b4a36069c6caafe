// SLA countdown: every element with data-due shows the time left (or how late), refreshed each 30 s.
(function () {
  var zh = (document.documentElement.lang || "zh").indexOf("zh") === 0;
  function span(ms) {
    // Never claim "0 min late" (or more time left than there is): late rounds up, time left rounds down.
    var m = ms < 0 ? Math.ceil(-ms / 60000) : Math.floor(ms / 60000), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), mm = m % 60;
    if (m === 0) return zh ? "不足1分钟" : "under 1 min";  // never "剩余 0分" while time is left
    if (zh) return (d ? d + "天" : "") + (d || h ? h + "小时" : "") + mm + "分";
    return (d ? d + "d " : "") + (d || h ? h + "h " : "") + mm + "m";
  }
  function tick() {
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var left = new Date(el.getAttribute("data-due")).getTime() - Date.now();
      var out = el.querySelector(".left");
      if (!out) { out = document.createElement("span"); out.className = "left"; el.appendChild(out); }
      out.textContent = left >= 0 ? (zh ? "剩余 " : "") + span(left) + (zh ? "" : " left") : (zh ? "已超时 " : "late by ") + span(left);
      el.classList.toggle("late", left < 0);
    });
  }
  tick();
  setInterval(tick, 30000);
  document.body.addEventListener("htmx:afterSwap", tick);
})();

// A form marked data-once is sent once: its buttons are disabled while it is on its way (a double click
// would otherwise send it twice), and what the clicked button says travels in a hidden field instead.
(function () {
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute || !form.hasAttribute("data-once") || ev.defaultPrevented) return;
    if (form.dataset.sending) { ev.preventDefault(); return; }
    form.dataset.sending = "1";
    var by = ev.submitter;
    if (by && by.name) {
      var carried = form.querySelector("input[data-submitter]") || document.createElement("input");
      carried.type = "hidden"; carried.name = by.name; carried.value = by.value; carried.setAttribute("data-submitter", "");
      form.appendChild(carried);
    }
    setTimeout(function () {
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; b.setAttribute("aria-busy", "true"); });
    }, 0);
  });
  // Back from the next page (bfcache): the form may be used again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      delete form.dataset.sending;
      form.querySelectorAll("button").forEach(function (b) { b.disabled = false; b.removeAttribute("aria-busy"); });
      var carried = form.querySelector("input[data-submitter]");
      if (carried) carried.remove();
    });
  });
})();

// A select marked data-submit-on-change submits its form when changed (no inline handlers: the CSP allows none).
document.addEventListener("change", function (event) {
  if (event.target.matches && event.target.matches("select[data-submit-on-change]")) event.target.form.submit();
});

// A checkbox marked data-check-all="NAME" checks or clears every checkbox named NAME (the CSP allows no inline handlers).
document.addEventListener("change", function (event) {
  var name = event.target.getAttribute && event.target.getAttribute("data-check-all");
  if (!name) return;
  document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) { box.checked = event.target.checked; });
});

// A button marked data-print prints the page (its print stylesheet); no inline handler, as the CSP allows none.
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("button[data-print]")) window.print();
});
