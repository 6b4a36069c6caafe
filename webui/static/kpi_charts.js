// The KPI dashboard's charts (Chart.js from npm, served from /vendor): monthly trend, department ranking,
// ranking within a department. The data comes from the page (#kpi-data); a rate of null is "no data" (a gap).
(function () {
  const source = document.getElementById("kpi-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const colours = { filling_accuracy: "#1c7ed6", on_time_circulation: "#2f9e44", storage_security: "#e8590c" };
  const percent = (f) => (f && f.rate !== null ? Math.round(f.rate * 1000) / 10 : null);
  const datasets = (rows) => Object.keys(data.labels).map((code) => ({
    label: data.labels[code], data: rows.map((r) => percent(r[code])), borderColor: colours[code],
    backgroundColor: colours[code], spanGaps: false,
  }));
  const scales = { y: { min: 0, max: 100, ticks: { callback: (v) => v + "%" } } };
  const options = { animation: false, responsive: true, scales,
    plugins: { tooltip: { callbacks: { label: (c) => c.dataset.label + ": " + (c.raw === null ? "无数据" : c.raw + "%") } } } };
  function draw(id, type, labels, rows) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    new Chart(canvas, { type, data: { labels, datasets: datasets(rows) }, options });
    canvas.dataset.ready = "1";
  }
  draw("chart-trend", "line", data.trend.map((r) => r.month), data.trend);
  draw("chart-ranking", "bar", data.ranking.map((r) => r.department), data.ranking);
  draw("chart-people", "bar", data.people.map((r) => r.name || r.person), data.people);
})();
