// Heat map: per step, how many items wait now and the average time spent, drawn on the diagram.
(function () {
  var box = document.getElementById("heat");
  if (!box || !window.BpmnJS) return;
  var zh = (document.documentElement.lang || "zh").indexOf("zh") === 0;
  var viewer = new window.BpmnJS({ container: box });
  function duration(s) {
    if (s === null || s === undefined) return "—";
    if (s < 3600) return Math.round(s / 60) + (zh ? "分" : "m");
    return (s / 3600).toFixed(1) + (zh ? "小时" : "h");
  }
  fetch(box.getAttribute("data-src"), { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (info) {
      return viewer.importXML(info.xml).then(function () {
        var canvas = viewer.get("canvas"), overlays = viewer.get("overlays"), registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport");
        var max = 1;
        Object.keys(info.stats).forEach(function (id) { max = Math.max(max, info.stats[id].waiting); });
        Object.keys(info.stats).forEach(function (id) {
          var s = info.stats[id];
          if (!registry.get(id)) return;
          var heat = s.waiting / max;
          var badge = document.createElement("div");
          badge.className = "heat-badge";
          badge.style.background = "rgba(232, 89, 12, " + (0.25 + 0.75 * heat).toFixed(2) + ")";
          badge.textContent = (zh ? "等待 " : "waiting ") + s.waiting + " · " + duration(s.avg_seconds);
          badge.setAttribute("data-step", id);
          overlays.add(id, { position: { top: -26, left: 0 }, html: badge });
        });
        box.setAttribute("data-ready", "1");
      });
    })
    .catch(function (err) { box.textContent = "流程图加载失败 / diagram failed to load: " + err; });
})();
