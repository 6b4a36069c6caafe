// Convenience checks of Chinese formats before submitting (the server checks again and is the authority).
// Messages match the server's, and stand next to their field.
(function () {
  var W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], C = "10X98765432";
  function idCard(v) {
    v = v.trim().toUpperCase();
    if (!/^\d{17}[\dX]$/.test(v)) return "身份证号码应为 18 位 (17 位数字加 1 位数字或 X), 当前为 " + v.length + " 位";
    var y = +v.substr(6, 4), m = +v.substr(10, 2), d = +v.substr(12, 2), born = new Date(y, m - 1, d);
    if (born.getFullYear() !== y || born.getMonth() !== m - 1 || born.getDate() !== d) return "身份证号码中的出生日期不存在";
    if (born > new Date() || y < 1900) return "身份证号码中的出生日期不合理";
    var s = 0; for (var i = 0; i < 17; i++) s += (+v[i]) * W[i];
    return C[s % 11] === v[17] ? "" : "身份证号码校验位不正确, 请核对";
  }
  function luhn(v) {
    var t = 0; for (var i = 0; i < v.length; i++) { var n = +v[v.length - 1 - i]; if (i % 2) { n *= 2; if (n > 9) n -= 9; } t += n; }
    return t % 10 === 0;
  }
  function bankCard(v) {
    v = v.replace(/[\s-]/g, "");
    if (!/^\d{12,19}$/.test(v)) return "银行卡号应为 12 至 19 位数字";
    return luhn(v) ? "" : "银行卡号校验未通过 (Luhn), 请核对";
  }
  function mobile(v) {
    v = v.replace(/[\s-]/g, "").replace(/^\+86/, "");
    return /^1[3-9]\d{9}$/.test(v) ? "" : "手机号码应为 11 位, 以 13 至 19 开头";
  }
  function amount(v) {
    v = v.trim().replace(/,/g, "");
    if (!/^-?\d{1,13}(\.\d{1,2})?$/.test(v)) return "金额格式不正确, 最多两位小数, 例如 1200.50";
    return +v < 0 ? "金额不能为负数" : "";
  }
  var CHECKS = {id_card: idCard, bank_card: bankCard, mobile: mobile, amount: amount};
  function show(input, msg) {
    var box = input.closest(".field"), out = box && box.querySelector(".field-error");
    if (!out) return;
    out.textContent = msg; out.hidden = !msg; box.classList.toggle("has-error", !!msg);
  }
  function problem(input) {
    // Empty required fields are left to the server, which names every one of them at once.
    var v = input.value, check = CHECKS[input.dataset.check];
    return v.trim() && check ? check(v) : "";
  }
  document.querySelectorAll("form[data-validate]").forEach(function (form) {
    var inputs = form.querySelectorAll("[data-check], select, textarea");
    inputs.forEach(function (el) {
      // Typing clears the message at once (so nothing moves under the pointer later); leaving the field checks it.
      el.addEventListener("input", function () { show(el, ""); });
      el.addEventListener("blur", function () { var msg = problem(el); if (msg) show(el, msg); });
    });
    form.addEventListener("submit", function (ev) {
      if (ev.submitter && ev.submitter.hasAttribute("data-skip-check")) return;
      var first = null;
      inputs.forEach(function (el) { var msg = problem(el); if (msg) { show(el, msg); first = first || el; } });
      if (first) { ev.preventDefault(); first.focus(); }
    });
  });
})();
