// Process diagram with the current step(s) highlighted and the finished ones marked (bpmn-js viewer).
(function () {
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS) return;
  var viewer = new window.BpmnJS({ container: box });
  fetch(box.getAttribute("data-src"), { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (info) {
      return viewer.importXML(info.xml).then(function () {
        var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport");
        (info.done || []).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "done"); });
        (info.current || []).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "current"); });
        box.setAttribute("data-ready", "1");
        box.setAttribute("data-current", (info.current || []).join(","));
      });
    })
    .catch(function (err) { box.textContent = "流程图加载失败 / diagram failed to load: " + err; });
})();
