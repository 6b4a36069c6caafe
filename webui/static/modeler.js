// The procedure modeler: bpmn-js Modeler plus a small Chinese properties panel for what Guichet understands
// (lane = department, timer expressions, service operations, gateway conditions), validation shown on the
// elements, and deployment as a new version.
(function () {
  var canvasBox = document.getElementById("canvas");
  if (!canvasBox || !window.BpmnJS) return;
  var spiff = {
    name: "SpiffWorkflow", prefix: "spiffworkflow", uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
    xml: { tagAlias: "lowerCase" },
    types: [{ name: "ServiceTaskOperator", superClass: ["Element"], properties: [
      { name: "id", isAttr: true, type: "String" }, { name: "resultVariable", isAttr: true, type: "String" }] },
      // <spiffworkflow:properties><spiffworkflow:property name="decisions" value="complete,return"/>: a user task's decisions
      { name: "Properties", superClass: ["Element"], properties: [{ name: "properties", type: "Property", isMany: true }] },
      { name: "Property", superClass: ["Element"], properties: [
        { name: "name", isAttr: true, type: "String" }, { name: "value", isAttr: true, type: "String" }] }]
  };
  var modeler = new window.BpmnJS({ container: canvasBox, keyboard: { bindTo: document }, moddleExtensions: { spiffworkflow: spiff } });
  var modeling = modeler.get("modeling"), moddle = modeler.get("moddle"), overlays = modeler.get("overlays");
  var registry = modeler.get("elementRegistry");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var $ = function (id) { return document.getElementById(id); };
  var selected = null, timerHost = null, problems = {};

  function show(field, on) { document.querySelector('[data-for="' + field + '"]').hidden = !on; }
  function timerDefinition(bo) {
    var defs = bo.eventDefinitions || [];
    for (var i = 0; i < defs.length; i++) if (defs[i].$type === "bpmn:TimerEventDefinition") return defs[i];
    return null;
  }
  function timerBody(def) {
    var expr = def.timeCycle || def.timeDuration || def.timeDate;
    return expr ? expr.body : "";
  }
  // SLA units the panel offers: each says how a number becomes an ISO 8601 duration and how to read one back.
  // A new unit (e.g. 工作日, once the working-day calendar lands) is one more entry here.
  var SLA_UNITS = [
    { label: "分钟", iso: function (n) { return "PT" + n + "M"; }, read: /^PT(\d+)M$/ },
    { label: "小时", iso: function (n) { return "PT" + n + "H"; }, read: /^PT(\d+)H$/ },
    { label: "天", iso: function (n) { return "P" + n + "D"; }, read: /^P(\d+)D$/ }
  ];
  var DEFAULT_SLA = "handover_sla";  // the configured SLA ([transfer] handover_sla), a process variable
  SLA_UNITS.forEach(function (u, i) {
    var o = document.createElement("option"); o.value = String(i); o.textContent = u.label; $("p-sla-unit").appendChild(o);
  });
  // What the panel can show as number + unit: {repeats, default} or {repeats, number, unit}; null for anything else.
  function readSla(body, cycle) {
    var text = (body || "").trim(), repeats = null, m;
    if (cycle) {
      m = /^"R(\d+)\/"\s*\+\s*([a-z_]+)$/.exec(text);
      if (m && m[2] === DEFAULT_SLA) return { repeats: +m[1], isDefault: true };
      m = /^"?R(\d+)\/([^"]+)"?$/.exec(text);
      if (!m) return null;
      repeats = +m[1]; text = m[2];
    } else {
      if (text === DEFAULT_SLA) return { repeats: null, isDefault: true };
      text = text.replace(/^"|"$/g, "");
    }
    for (var i = 0; i < SLA_UNITS.length; i++) {
      var found = SLA_UNITS[i].read.exec(text);
      if (found) return { repeats: repeats, number: +found[1], unit: i };
    }
    return null;
  }
  // The expression the panel writes: always a quoted literal or the default variable; nobody types quotes.
  function writeSla(cycle) {
    var repeats = Math.max(1, parseInt($("p-sla-repeats").value, 10) || 2);
    var prefix = cycle ? "R" + repeats + "/" : "";
    if ($("p-sla-default").checked) return cycle ? '"' + prefix + '" + ' + DEFAULT_SLA : DEFAULT_SLA;
    var n = Math.max(1, parseInt($("p-sla-number").value, 10) || 1);
    return '"' + prefix + SLA_UNITS[+$("p-sla-unit").value].iso(n) + '"';
  }
  function describeSla(cycle) {
    var what = $("p-sla-default").checked ? "系统默认时限"
      : (parseInt($("p-sla-number").value, 10) || 1) + " " + SLA_UNITS[+$("p-sla-unit").value].label;
    return cycle ? "到时未办结: 每隔 " + what + " 逐级上报一次, 共 " + (parseInt($("p-sla-repeats").value, 10) || 2) + " 次"
      : "到时未办结即上报 (" + what + ")";
  }
  function showSla(timer) {
    var cycle = !!timer.timeCycle, sla = timer.timeDate ? null : readSla(timerBody(timer), cycle);
    show("sla", !!sla); show("timer", !sla);
    if (!sla) { $("p-timer").value = timerBody(timer); return; }
    $("p-sla-default").checked = !!sla.isDefault; $("p-sla-own").checked = !sla.isDefault;
    if (!sla.isDefault) { $("p-sla-number").value = sla.number; $("p-sla-unit").value = String(sla.unit); }
    document.querySelector('[data-for="sla-repeats"]').hidden = !cycle;
    if (cycle) $("p-sla-repeats").value = sla.repeats;
    $("p-sla-preview").textContent = describeSla(cycle);
  }
  function setTimer(body) {
    var def = timerDefinition(timerHost.businessObject);
    var key = def.timeCycle ? "timeCycle" : def.timeDate ? "timeDate" : "timeDuration", props = {};
    props[key] = moddle.create("bpmn:FormalExpression", { body: body });
    modeling.updateModdleProperties(timerHost, def, props);
  }

  function operatorOf(bo) {
    var ext = bo.extensionElements && bo.extensionElements.values || [];
    for (var i = 0; i < ext.length; i++) if (/serviceTaskOperator$/i.test(ext[i].$type)) return ext[i];
    return null;
  }

  function extension(bo, pattern) {
    var ext = bo.extensionElements && bo.extensionElements.values || [];
    for (var i = 0; i < ext.length; i++) if (pattern.test(ext[i].$type)) return ext[i];
    return null;
  }
  function decisionsOf(bo) {
    var props = extension(bo, /:properties$/i), list = props && props.properties || [];
    for (var i = 0; i < list.length; i++) if (list[i].name === "decisions") return list[i];
    return null;
  }

  var KINDS = { "bpmn:UserTask": "人工环节", "bpmn:ServiceTask": "自动操作", "bpmn:ScriptTask": "脚本",
    "bpmn:ExclusiveGateway": "分支", "bpmn:ParallelGateway": "并行分支", "bpmn:SequenceFlow": "连线",
    "bpmn:BoundaryEvent": "时限事件", "bpmn:StartEvent": "开始", "bpmn:EndEvent": "结束", "bpmn:Lane": "泳道(部门)",
    "bpmn:Participant": "参与方", "bpmn:IntermediateCatchEvent": "等待事件", "bpmn:CallActivity": "子流程",
    "bpmn:Task": "环节", "bpmn:TextAnnotation": "注释" };

  function select(element) {
    selected = element && element.type !== "bpmn:Process" && element.type !== "bpmn:Collaboration" ? element : null;
    $("props-form").hidden = !selected;
    $("props-empty").hidden = !!selected;
    if (!selected) return;
    var bo = selected.businessObject;
    // In words: 人工环节 “信贷部办理”; the element's id and BPMN type stay on hover, for whoever needs them.
    $("p-id").textContent = bo.name || "";
    $("p-id").title = bo.id;
    $("p-type").textContent = KINDS[selected.type] || "其他元素";
    $("p-type").title = selected.type.replace("bpmn:", "") + " · " + bo.id;
    $("p-name").value = bo.name || "";
    var isLane = selected.type === "bpmn:Lane", op = operatorOf(bo);
    // A user task's SLA is the timer on its boundary: edit it from the task itself.
    timerHost = timerDefinition(bo) ? selected : (selected.attachers || []).filter(function (a) {
      return timerDefinition(a.businessObject);
    })[0] || null;
    var timer = timerHost && timerDefinition(timerHost.businessObject);
    show("lane", isLane); if (isLane) $("p-lane").value = bo.name || "";
    show("timer", false); show("sla", false);
    if (timer) showSla(timer);
    show("operation", selected.type === "bpmn:ServiceTask"); if (op) $("p-operation").value = op.id;
    var isUserTask = selected.type === "bpmn:UserTask", declared = isUserTask && decisionsOf(bo);
    show("decisions", isUserTask);
    if (isUserTask) { $("p-decisions").value = declared ? declared.value : ""; tickDecisions(); }
    var isFlow = selected.type === "bpmn:SequenceFlow";
    show("condition", isFlow); if (isFlow) $("p-condition").value = bo.conditionExpression ? bo.conditionExpression.body : "";
    $("p-problem").hidden = !problems[bo.id];
    $("p-problem").textContent = problems[bo.id] || "";
  }

  $("p-name").addEventListener("change", function () { if (selected) modeling.updateLabel(selected, this.value); });
  $("p-lane").addEventListener("change", function () { if (selected) modeling.updateLabel(selected, this.value); });
  $("p-timer").addEventListener("change", function () { if (timerHost) setTimer(this.value); });
  ["p-sla-default", "p-sla-own", "p-sla-number", "p-sla-unit", "p-sla-repeats"].forEach(function (id) {
    $(id).addEventListener("change", function () {
      if (!timerHost) return;
      if (id === "p-sla-number" || id === "p-sla-unit") $("p-sla-own").checked = true;
      var cycle = !!timerDefinition(timerHost.businessObject).timeCycle;
      setTimer(writeSla(cycle));
      $("p-sla-preview").textContent = describeSla(cycle);
    });
  });
  $("p-condition").addEventListener("change", function () {
    var value = this.value.trim();
    modeling.updateProperties(selected, { conditionExpression: value ? moddle.create("bpmn:FormalExpression", { body: value }) : undefined });
  });
  $("p-operation").addEventListener("change", function () {
    var bo = selected.businessObject, op = operatorOf(bo);
    if (op) { modeling.updateModdleProperties(selected, op, { id: this.value }); return; }
    var ext = bo.extensionElements || moddle.create("bpmn:ExtensionElements", { values: [] });
    ext.get("values").push(moddle.create("spiffworkflow:ServiceTaskOperator", { id: this.value, resultVariable: "" }));
    modeling.updateProperties(selected, { extensionElements: ext });
  });
  // The decisions in words (checkboxes) and as codes (the text box) are one setting: each follows the other.
  var ticks = Array.prototype.slice.call(document.querySelectorAll(".p-decision"));
  function tickDecisions() {
    var codes = $("p-decisions").value.split(/[,，\s]+/).filter(Boolean);
    ticks.forEach(function (box) { box.checked = codes.indexOf(box.value) >= 0; });
  }
  ticks.forEach(function (box) {
    box.addEventListener("change", function () {
      var others = $("p-decisions").value.split(/[,，\s]+/).filter(function (c) {
        return c && !ticks.some(function (t) { return t.value === c; });
      });
      $("p-decisions").value = ticks.filter(function (t) { return t.checked; }).map(function (t) { return t.value; })
        .concat(others).join(",");
      $("p-decisions").dispatchEvent(new Event("change"));
    });
  });
  $("p-decisions").addEventListener("input", tickDecisions);
  $("p-decisions").addEventListener("change", function () {
    tickDecisions();
    var bo = selected.businessObject, value = this.value.split(/[,，\s]+/).filter(Boolean).join(",");
    var existing = decisionsOf(bo);
    if (existing) { modeling.updateModdleProperties(selected, existing, { value: value }); return; }
    var ext = bo.extensionElements || moddle.create("bpmn:ExtensionElements", { values: [] });
    var props = extension(bo, /:properties$/i);
    if (!props) { props = moddle.create("spiffworkflow:Properties", { properties: [] }); ext.get("values").push(props); }
    props.get("properties").push(moddle.create("spiffworkflow:Property", { name: "decisions", value: value }));
    modeling.updateProperties(selected, { extensionElements: ext });
  });
  modeler.on("selection.changed", function (e) { select(e.newSelection[0]); });

  function mark(list) {
    overlays.remove({ type: "problem" });
    registry.getAll().forEach(function (el) { modeler.get("canvas").removeMarker(el.id, "has-problem"); });
    problems = {};
    var out = $("problems"); out.innerHTML = "";
    list.forEach(function (p) {
      problems[p.element_id] = (problems[p.element_id] ? problems[p.element_id] + "; " : "") + p.message;
      var li = document.createElement("li"); li.textContent = p.message; out.appendChild(li);
      if (p.element_id && registry.get(p.element_id)) {
        modeler.get("canvas").addMarker(p.element_id, "has-problem");
        var note = document.createElement("div"); note.className = "problem-note"; note.textContent = p.message;
        note.setAttribute("data-problem-for", p.element_id);
        overlays.add(p.element_id, "problem", { position: { bottom: -6, left: 0 }, html: note });
      }
    });
    if (selected) select(selected);
  }
  function send(url) {
    return modeler.saveXML({ format: true }).then(function (result) {
      return fetch(url, { method: "POST", credentials: "same-origin", body: result.xml,
        headers: { "Content-Type": "application/xml", "X-CSRFToken": csrf } });
    }).then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); });
  }
  $("btn-validate").addEventListener("click", function () {
    $("status").textContent = "…";
    send(canvasBox.getAttribute("data-validate")).then(function (r) {
      mark(r.body.problems || []);
      $("status").textContent = r.body.valid ? "校验通过, 可以部署 / valid" : "校验未通过: " + (r.body.problems || []).length + " 处问题";
      $("status").className = r.body.valid ? "ok" : "error";
    });
  });
  $("btn-deploy").addEventListener("click", function () {
    var note = $("change-note").value.trim();
    if (!note) {  // the server refuses it too; saying so here keeps the manager on the note
      $("note-error").hidden = false; $("change-note").focus();
      $("status").textContent = $("note-error").textContent; $("status").className = "error";
      return;
    }
    $("note-error").hidden = true;
    $("status").textContent = "…";
    send(canvasBox.getAttribute("data-deploy") + "?note=" + encodeURIComponent(note)).then(function (r) {
      if (r.status === 201 || r.status === 200 || r.status === 202) { window.location = r.body.redirect; return; }
      mark(r.body.problems || []);
      $("status").textContent = r.body.message || "部署被拒绝: 请先修正标出的问题";
      $("status").className = "error";
    });
  });

  // Fit the diagram into the canvas right of the palette, which would otherwise cover the lane labels.
  function fitBesidePalette() {
    var canvas = modeler.get("canvas"), palette = canvasBox.querySelector(".djs-palette");
    canvas.zoom("fit-viewport");
    if (!palette) return;
    var box = canvasBox.getBoundingClientRect(), inner = canvas.viewbox().inner, margin = 12;
    var left = palette.getBoundingClientRect().right - box.left + margin;
    var scale = Math.min((box.width - left - margin) / inner.width, (box.height - 2 * margin) / inner.height, 1);
    canvas.viewbox({ x: inner.x - left / scale, y: inner.y - margin / scale, width: box.width / scale,
                     height: box.height / scale });
  }

  fetch(canvasBox.getAttribute("data-xml"), { credentials: "same-origin" })
    .then(function (r) { return r.text(); })
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function () { fitBesidePalette(); canvasBox.setAttribute("data-ready", "1"); })
    .catch(function (err) { $("status").textContent = "流程图加载失败 / failed to load: " + err; });
  window.guichetModeler = modeler;  // for browser tests and power users
})();
