"use strict";
// The summary page: progress, occluded counts, seconds per frame and their histogram.

function rows(table, pairs) {
  table.innerHTML = pairs.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join("");
}

function histogram(svg, bins, binSeconds) {
  const width = Number(svg.getAttribute("width")), height = Number(svg.getAttribute("height"));
  const left = 40, bottom = 30, top = 10;
  const barWidth = (width - left) / bins.length;
  const highest = Math.max(1, ...bins);
  let parts = [`<line x1="${left}" y1="${height - bottom}" x2="${width}" y2="${height - bottom}"
      stroke="#888"/>`, `<text x="4" y="${top + 10}" fill="#aaa" font-size="11">${highest}</text>`,
      `<text x="4" y="${height - bottom}" fill="#aaa" font-size="11">0</text>`];
  bins.forEach((count, i) => {
    const h = (height - bottom - top) * count / highest;
    const x = left + i * barWidth;
    const label = i === bins.length - 1 ? `≥${i * binSeconds}` : `${i * binSeconds}`;
    parts.push(`<rect class="bar" data-count="${count}" x="${x + 2}" y="${height - bottom - h}"
        width="${barWidth - 4}" height="${h}" fill="#40c4ff"/>`);
    parts.push(`<text x="${x + 4}" y="${height - bottom + 14}" fill="#aaa" font-size="11">
        ${label}</text>`);
  });
  parts.push(`<text x="${width / 2}" y="${height - 2}" fill="#aaa" font-size="11">seconds</text>`);
  svg.innerHTML = parts.join("");
}

async function show() {
  const s = await (await fetch("/api/summary")).json();
  document.getElementById("who").textContent = `(${s.annotator || "default annotator"})`;
  rows(document.getElementById("progress"), [
      ["frames done", `${s.done} of ${s.frames}`], ["skipped", s.skipped],
      ["keypoints labelled", s.labelled_keypoints], ["occluded", s.occluded_total],
      ["seconds per done frame (mean)", s.seconds_per_frame_mean ?? "—"],
      ["seconds per done frame (median)", s.seconds_per_frame_median ?? "—"],
      ["seconds in total", s.seconds_total], ["file", s.file]]);
  rows(document.getElementById("occluded"), Object.entries(s.occluded));
  histogram(document.getElementById("histogram"), s.histogram.counts, s.histogram.bin_seconds);
}

show();
