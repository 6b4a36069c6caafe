// Two versions side by side: removed and changed elements marked on the old one, added and changed on the new.
(function () {
  if (!window.BpmnJS) return;
  ["cmp-old", "cmp-new"].forEach(function (id) {
    var box = document.getElementById(id);
    if (!box) return;
    var viewer = new window.BpmnJS({ container: box });
    fetch(box.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport");
        ["added", "removed", "changed"].forEach(function (kind) {
          (box.getAttribute("data-" + kind) || "").split(",").filter(Boolean).forEach(function (el) {
            if (registry.get(el)) canvas.addMarker(el, "diff-" + kind);
          });
        });
        box.setAttribute("data-ready", "1");
      });
  });
})();
