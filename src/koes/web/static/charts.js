// Draws the report charts from the JSON next to each chart element (type="application/json": data,
// not script, so the Content-Security-Policy needs no inline script), and turns the map or a chart
// into a PNG download. Hidden cells arrive as null: a gap in a line, no bar; never a zero.
(function () {
  "use strict";
  var COLOURS = ["#0b4f8a", "#c4501a", "#2e7d32", "#6a1b9a", "#00838f", "#8d6e00", "#ad1457", "#37474f", "#558b2f", "#4527a0", "#d84315", "#00695c"];

  // A long series name wraps onto lines of about 28 characters, so the legend at the side of the
  // plot leaves the plot its width (a diagnosis chapter's name is 90 characters).
  function wrap(name) {
    var lines = [], line = "";
    String(name).split(" ").forEach(function (word) {
      if (line && (line + " " + word).length > 28) { lines.push(line); line = word; } else { line = line ? line + " " + word : word; }
    });
    if (line) { lines.push(line); }
    return lines.join("<br>");
  }

  function traceOf(chart, t, i) {
    var trace = {
      name: wrap(t.name), x: t.x, y: t.y, text: t.text, hoverinfo: "x+name+text",
      marker: { color: COLOURS[i % COLOURS.length] }
    };
    // A comparison is one series of areas: the own municipality (first) stands out from the rest.
    if (chart.highlight_first) {
      trace.marker.color = t.x.map(function (_, j) { return j === 0 ? COLOURS[0] : "#7c8a99"; });
    }
    if (chart.kind === "bar") {
      trace.type = "bar";
      trace.textposition = "none";
      if (t.ci) {
        trace.error_y = {
          type: "data", symmetric: false, color: "#333",
          array: t.ci.map(function (c, j) { return c && t.y[j] !== null ? c[1] - t.y[j] : null; }),
          arrayminus: t.ci.map(function (c, j) { return c && t.y[j] !== null ? t.y[j] - c[0] : null; })
        };
      }
    } else {
      trace.type = "scatter";
      trace.mode = "lines+markers";
      trace.connectgaps = false;
      trace.line = { color: COLOURS[i % COLOURS.length], width: 2 };
    }
    // The user's own municipality (its trace, when the chart says which) is drawn heavier.
    if (chart.own_trace === i) {
      if (trace.line) { trace.line.width = 4; }
      trace.marker.size = 8;
      trace.name = "\u25B6 " + trace.name;
    }
    return trace;
  }

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-chart"));
    if (!source || !window.Plotly) { return; }
    var chart = JSON.parse(source.textContent);
    var n = chart.traces.length;
    var lines = chart.traces.reduce(function (sum, t) { return sum + wrap(t.name).split("<br>").length; }, 0);
    // The legend stands to the right of the plot, one series a line, and the chart grows with the
    // series: below the plot it overlapped rotated axis labels and cut off series after nine.
    var layout = {
      separators: chart.separators, barmode: "group", height: Math.max(360, 120 + 20 * lines + 6 * n),
      margin: { l: 70, r: 20, t: 20, b: 80 }, showlegend: n > 1,
      legend: { orientation: "v", x: 1.02, xanchor: "left", y: 1, yanchor: "top" },
      font: { family: "system-ui, sans-serif", size: 13, color: "#1a1a1a" },
      xaxis: { type: "category", automargin: true },
      // Whole numbers with the page's separators ("15.000.000" in Danish), never SI prefixes ("15M", "40k").
      yaxis: { rangemode: "tozero", automargin: true, tickformat: ",~r", exponentformat: "none" }
    };
    // Axis titles with units (the measure's label carries its unit).
    if (chart.x_title) { layout.xaxis.title = { text: chart.x_title }; }
    if (chart.y_title) { layout.yaxis.title = { text: chart.y_title }; }
    var traces = chart.traces.map(function (t, i) { return traceOf(chart, t, i); });
    // No mode bar: its texts are English only, and the page has its own PNG download and table.
    window.Plotly.newPlot(element, traces, layout, { displaylogo: false, displayModeBar: false, responsive: true });
    element.setAttribute("data-drawn", "true");
  }

  function save(blob, filename) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = filename + ".png";
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  // The map's PNG is drawn once, soon after the page loads, so a click saves it at once: a download
  // started later, after the image has loaded, is outside the click and a browser may refuse it.
  function svgToPng(svg, done) {
    var box = svg.viewBox.baseVal;
    var scale = 2;
    var clone = svg.cloneNode(true);
    clone.setAttribute("width", box.width);
    clone.setAttribute("height", box.height);
    var text = new XMLSerializer().serializeToString(clone);
    var image = new Image();
    image.onload = function () {
      var canvas = document.createElement("canvas");
      canvas.width = box.width * scale;
      canvas.height = box.height * scale;
      var context = canvas.getContext("2d");
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(done, "image/png");
    };
    image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(text);
  }

  function targetOf(button) {
    return document.getElementById(button.getAttribute("data-target"));
  }

  function prepare(button) {
    var target = targetOf(button);
    if (!target || target.tagName.toLowerCase() !== "svg") { return; }
    svgToPng(target, function (blob) {
      button.pngBlob = blob;
      button.setAttribute("data-ready", "true");
    });
  }

  function download(button) {
    var target = targetOf(button);
    var filename = button.getAttribute("data-filename");
    if (!target) { return; }
    if (button.pngBlob) {
      save(button.pngBlob, filename);
    } else if (target.tagName.toLowerCase() === "svg") {
      svgToPng(target, function (blob) { save(blob, filename); });
    } else if (window.Plotly) {
      window.Plotly.downloadImage(target, { format: "png", filename: filename, width: 1000, height: 500 });
    }
  }

  document.querySelectorAll("[data-chart]").forEach(draw);
  document.querySelectorAll(".png-download").forEach(function (button) {
    button.addEventListener("click", function () { download(button); });
    prepare(button);
  });
})();
