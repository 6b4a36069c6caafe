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
        // A badge goes where it hides none of the step's timers (boundary events sit on the step's edges):
        // above the step, then above and right of a timer on that edge, then below.
        var CANDIDATES = [{ top: -26, left: 0 }, { top: -26, left: 48 }, { bottom: -6, left: 0 }, { bottom: -6, left: 48 }];
        function overlaps(a, b) { return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom; }
        function place(id, badge) {
          var timers = [];  // each timer's circle and its label
          (registry.get(id).attachers || []).forEach(function (a) {
            [a, a.label].forEach(function (shape) {
              var visual = shape && registry.getGraphics(shape).querySelector(".djs-visual");
              if (visual) timers.push(visual.getBoundingClientRect());
            });
          });
          for (var i = 0; i < CANDIDATES.length; i++) {
            var overlay = overlays.add(id, "heat", { position: CANDIDATES[i], html: badge });
            var rect = badge.getBoundingClientRect();
            if (!timers.some(function (t) { return overlaps(rect, t); })) return;
            if (i < CANDIDATES.length - 1) overlays.remove(overlay);
          }
        }
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
          place(id, badge);
        });
        box.setAttribute("data-ready", "1");
      });
    })
    .catch(function (err) { box.textContent = "流程图加载失败 / diagram failed to load: " + err; });
})();
