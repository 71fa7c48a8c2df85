// Draws the report charts from the JSON next to each chart element (type="application/json": data,
// not script, so the Content-Security-Policy needs no inline script), and turns the map or a chart
// into a PNG download that carries its title, population and provenance. Hidden cells arrive as null: a gap in a line, no bar; never a zero.
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
    // Kept: a PNG of the chart can be made only once Plotly has finished drawing it.
    element.plotted = window.Plotly.newPlot(element, traces, layout, { displaylogo: false, displayModeBar: false, responsive: true });
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

  // What a saved PNG says under the picture, so it keeps its context after it leaves KØS: the
  // page's title with its population, the figure's own heading, and the stamp (source, release,
  // disclosure control, when computed) the server wrote on the button.
  function stampLines(button, target) {
    function text(element) { return element ? element.textContent.replace(/\s+/g, " ").trim() : ""; }
    var population = document.getElementById("population");
    var section = target.closest("section");
    var lines = [
      text(population ? population.closest("h1, h2") : document.querySelector("h1")),
      text(section ? section.querySelector("h2, h3") : null),
      button.getAttribute("data-stamp") || ""
    ];
    return lines.filter(function (line) { return line; });
  }

  // Word-wrapped lines of at most `width` pixels in the context's font.
  function wrapped(context, lines, width) {
    var out = [];
    lines.forEach(function (line) {
      var current = "";
      line.split(" ").forEach(function (word) {
        var next = current ? current + " " + word : word;
        if (current && context.measureText(next).width > width) { out.push(current); current = word; } else { current = next; }
      });
      out.push(current);
    });
    return out;
  }

  // The picture (an image address) with the stamp drawn below it, as a PNG blob.
  function stamped(source, width, height, lines, done) {
    var scale = 2, pad = 16, lineHeight = 20;
    var image = new Image();
    image.onload = function () {
      var canvas = document.createElement("canvas");
      var context = canvas.getContext("2d");
      context.font = "14px system-ui, sans-serif";
      var text = wrapped(context, lines, width - 2 * pad);
      var band = pad + text.length * lineHeight + pad / 2;
      canvas.width = width * scale;
      canvas.height = (height + band) * scale;
      context = canvas.getContext("2d");  // resizing the canvas reset its state
      context.scale(scale, scale);
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, width, height + band);
      context.drawImage(image, 0, 0, width, height);
      context.fillStyle = "#1a1a1a";
      context.textBaseline = "top";
      text.forEach(function (line, i) {
        context.font = (i === 0 ? "bold " : "") + "14px system-ui, sans-serif";
        context.fillText(line, pad, height + pad / 2 + i * lineHeight);
      });
      canvas.toBlob(done, "image/png");
    };
    image.src = source;
  }

  // The PNG is drawn once, soon after the page loads, so a click saves it at once: a download
  // started later, after the image has loaded, is outside the click and a browser may refuse it.
  function picture(target, done) {
    if (target.tagName.toLowerCase() === "svg") {
      var box = target.viewBox.baseVal;
      var clone = target.cloneNode(true);
      clone.setAttribute("width", box.width);
      clone.setAttribute("height", box.height);
      var text = new XMLSerializer().serializeToString(clone);
      done("data:image/svg+xml;charset=utf-8," + encodeURIComponent(text), box.width, box.height);
    } else if (window.Plotly && target.plotted) {
      var width = Math.max(800, target.clientWidth), height = Math.max(360, target.clientHeight);
      target.plotted.then(function () {
        return window.Plotly.toImage(target, { format: "png", width: width, height: height, scale: 2 });
      }).then(function (url) { done(url, width, height); }, function (error) {
        console.error("PNG of " + target.id + " not made: " + error);
      });
    }
  }

  function targetOf(button) {
    return document.getElementById(button.getAttribute("data-target"));
  }

  function prepare(button, then) {
    var target = targetOf(button);
    if (!target) { return; }
    var lines = stampLines(button, target);
    picture(target, function (source, width, height) {
      stamped(source, width, height, lines, function (blob) {
        button.pngBlob = blob;
        button.setAttribute("data-stamp-lines", JSON.stringify(lines));
        button.setAttribute("data-ready", "true");
        if (then) { then(blob); }
      });
    });
  }

  function download(button) {
    var filename = button.getAttribute("data-filename");
    if (button.pngBlob) {
      save(button.pngBlob, filename);
    } else {
      prepare(button, function (blob) { save(blob, filename); });
    }
  }

  document.querySelectorAll("[data-chart]").forEach(draw);
  // The map's PNG is made at once (an SVG is quick to draw); a chart's when the pointer or the
  // keyboard reaches its button, so the page does not render every chart twice while it loads.
  document.querySelectorAll(".png-download").forEach(function (button) {
    button.addEventListener("click", function () { download(button); });
    var target = targetOf(button);
    if (target && target.tagName.toLowerCase() === "svg") {
      prepare(button);
    } else {
      var once = function () {
        button.removeEventListener("pointerenter", once);
        button.removeEventListener("focus", once);
        if (!button.pngBlob) { prepare(button); }
      };
      button.addEventListener("pointerenter", once);
      button.addEventListener("focus", once);
    }
  });
})();
