"use strict";
// The annotation page: one depth frame, six keypoints in a fixed order, every change saved by
// the server before the page counts it (handvol/annotate/server.py has the API).

const COLOURS = ["#ffffff", "#ff5252", "#ffd740", "#69f0ae", "#40c4ff", "#e040fb"];
const HIT_RADIUS = 8;       // screen pixels around a keypoint that start a drag
const DRAG_THRESHOLD = 4;   // screen pixels a press may move and still be a click
const IDLE_CAP_SECONDS = 120;  // a longer pause between two actions counts as this much
const OUTSIDE_IMAGE = "#1e1e1e";  // the page's background: no band apart from the frame

const canvas = document.getElementById("canvas");
const context = canvas.getContext("2d");
const $ = (id) => document.getElementById(id);

const state = {
  session: null,      // /api/session
  statuses: {},       // frame name -> "open" | "done" | "skipped"
  frame: null,        // /api/frame of the frame shown
  depth: null,        // Uint16Array, mm
  image: null,        // an offscreen canvas holding the colour-mapped depth
  saved: {},          // keypoint name -> {uv, visible}, as the server last confirmed
  local: {},          // keypoint name -> {uv, visible}, what the page shows
  proposals: {},      // keypoint name -> [u, v] from the model, not yet confirmed
  undo: [],           // [{keypoint, previous: {uv, visible} | null}]
  lastPlaced: null,
  view: {scale: 1, tx: 0, ty: 0},
  contrast: {centre: 1000, range: 150},
  pending: 0,
  clock: {last: performance.now(), hiddenSince: null},
};
let queue = Promise.resolve();

// ---- time on the frame ------------------------------------------------------------------
function takeSeconds() {
  const now = performance.now();
  const seconds = Math.min((now - state.clock.last) / 1000, IDLE_CAP_SECONDS);
  state.clock.last = now;
  return document.hidden ? 0 : Math.max(0, Math.round(seconds * 1000) / 1000);
}
document.addEventListener("visibilitychange", () => {
  if (document.hidden && state.frame) send("/api/visit", {frame: state.frame.name});
  state.clock.last = performance.now();
});

// ---- server -----------------------------------------------------------------------------
function showSaveState() {
  const badge = $("save-state");
  badge.textContent = state.pending ? "saving…" : "saved";
  badge.className = "badge" + (state.pending ? " saving" : "");
}

function message(text) { $("message").textContent = text || ""; }

async function getJson(url) {
  const response = await fetch(url);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// Requests go one after another, in the order of the actions; each resolves with the frame's
// state the server saved.
function send(url, body) {
  body = Object.assign({seconds: takeSeconds()}, body);
  state.pending += 1;
  showSaveState();
  const request = queue.then(async () => {
    const response = await fetch(url, {method: "POST", body: JSON.stringify(body),
                                       headers: {"Content-Type": "application/json"}});
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.statusText);
    return answer;
  });
  queue = request.then((answer) => {
    if (state.frame && answer.name === state.frame.name) {
      state.saved = answer.keypoints;
      state.statuses[answer.name] = answer.status;
    }
  }).catch((error) => {
    message("not saved: " + error.message);
    $("save-state").className = "badge error";
    if (state.frame) state.local = JSON.parse(JSON.stringify(state.saved));
    render();
  }).finally(() => {
    state.pending -= 1;
    if ($("save-state").className.indexOf("error") < 0) showSaveState();
    renderPanel();
  });
  return request;
}

// ---- keypoints --------------------------------------------------------------------------
function keypointNames() { return state.session.keypoints; }
function nextKeypoint() { return keypointNames().find((k) => !(k in state.local)) || null; }

function setKeypoint(name, uv, visible, recordUndo = true) {
  if (recordUndo) state.undo.push({keypoint: name, previous: state.local[name] || null});
  state.local[name] = {uv: uv, visible: visible};
  delete state.proposals[name];
  state.lastPlaced = name;
  render();
  return send("/api/keypoint", {frame: state.frame.name, keypoint: name, uv: uv,
                                visible: visible});
}

function removeKeypoint(name) {
  delete state.local[name];
  render();
  return send("/api/remove", {frame: state.frame.name, keypoint: name});
}

function undo() {
  const step = state.undo.pop();
  if (step) {
    if (step.previous) return setKeypoint(step.keypoint, step.previous.uv, step.previous.visible, false);
    return removeKeypoint(step.keypoint);
  }
  const placed = keypointNames().filter((k) => k in state.local);
  if (placed.length) return removeKeypoint(placed[placed.length - 1]);
  return null;
}

function toggleOccluded() {
  const name = state.lastPlaced && state.local[state.lastPlaced] ? state.lastPlaced
      : keypointNames().filter((k) => k in state.local).pop();
  if (!name) return null;
  const point = state.local[name];
  return setKeypoint(name, point.uv, point.visible ? 0 : 1);
}

// ---- frames -----------------------------------------------------------------------------
function frameIndex() { return state.session.frames.indexOf(state.frame.name); }

async function openFrame(name) {
  if (state.frame && state.frame.name !== name) send("/api/visit", {frame: state.frame.name});
  await queue;
  const [frame, depth] = await Promise.all([
      getJson("/api/frame?name=" + encodeURIComponent(name)),
      fetch("/api/depth?name=" + encodeURIComponent(name)).then((r) => r.arrayBuffer())]);
  state.frame = frame;
  state.depth = new Uint16Array(depth);
  state.saved = frame.keypoints;
  state.local = JSON.parse(JSON.stringify(frame.keypoints));
  state.statuses[name] = frame.status;
  state.undo = [];
  state.lastPlaced = null;
  const suggested = frame.suggestion.keypoints || {};
  state.proposals = {};
  if (Object.keys(frame.keypoints).length === 0) Object.assign(state.proposals, suggested);
  message("");
  autoContrast();
  fitHand();
  takeSeconds();
  send("/api/visit", {frame: name, seconds: 0});
  renderPanel();
}

function neighbour(step) {
  const frames = state.session.frames;
  const index = frameIndex() + step;
  return index >= 0 && index < frames.length ? frames[index] : null;
}

function nextOpen() {
  const frames = state.session.frames;
  for (let i = 1; i <= frames.length; i++) {
    const name = frames[(frameIndex() + i) % frames.length];
    if (state.statuses[name] === "open") return name;
  }
  return null;
}

async function finish(status) {
  const name = state.frame.name;
  if (status === "done") {
    for (const [keypoint, uv] of Object.entries(state.proposals)) setKeypoint(keypoint, uv, 1);
  }
  state.statuses[name] = status;
  send("/api/status", {frame: name, status: status});
  await queue;
  const next = nextOpen();
  if (next) return openFrame(next);
  renderPanel();
  message("every frame is done or skipped: see the summary");
  return null;
}

async function go(step) {
  const name = neighbour(step);
  if (name) await openFrame(name);
}

// ---- view -------------------------------------------------------------------------------
function toImage(x, y) {
  const v = state.view;
  return [(x - v.tx) / v.scale - 0.5, (y - v.ty) / v.scale - 0.5];
}
function toScreen(u, v) {
  const w = state.view;
  return [w.tx + (u + 0.5) * w.scale, w.ty + (v + 0.5) * w.scale];
}

function resizeCanvas() {
  const box = canvas.getBoundingClientRect();
  canvas.width = Math.max(1, Math.round(box.width));
  canvas.height = Math.max(1, Math.round(box.height));
}

// Zooms to the cube the network would crop around the suggested reference point, or to the
// whole image without one.
function fitHand() {
  resizeCanvas();
  const f = state.frame;
  const ref = f.suggestion.reference_uvd;
  let centre = [(f.width - 1) / 2, (f.height - 1) / 2];
  let size = [f.width, f.height];
  if (ref) {
    const side = 1.3 * state.session.cube_mm * state.session.intrinsics[0] / ref[2];
    centre = [ref[0], ref[1]];
    size = [side, side];
  }
  const scale = Math.min(canvas.width / size[0], canvas.height / size[1]);
  state.view = {scale: scale, tx: canvas.width / 2 - (centre[0] + 0.5) * scale,
                ty: canvas.height / 2 - (centre[1] + 0.5) * scale};
  keepImageInView();
  render();
}

// Shifts the view so that the image fills the canvas along each axis where it is larger than
// the canvas, and centres it where it is smaller: no empty band beside the frame.
function keepImageInView() {
  const v = state.view;
  const clamp = (offset, imageSide, canvasSide) => (imageSide >= canvasSide
      ? Math.min(0, Math.max(canvasSide - imageSide, offset)) : (canvasSide - imageSide) / 2);
  v.tx = clamp(v.tx, state.frame.width * v.scale, canvas.width);
  v.ty = clamp(v.ty, state.frame.height * v.scale, canvas.height);
}

function zoomAt(x, y, factor) {
  const [u, v] = toImage(x, y);
  state.view.scale = Math.max(0.2, Math.min(64, state.view.scale * factor));
  const [sx, sy] = toScreen(u, v);
  state.view.tx += x - sx;
  state.view.ty += y - sy;
  keepImageInView();
  render();
}

// The colour window: the hand's depth ± half the cube (SPEC §7), else the valid depths' range.
function autoContrast() {
  const ref = state.frame.suggestion.reference_uvd;
  if (ref) {
    setContrast(ref[2], state.session.cube_mm / 2);
    return;
  }
  let low = Infinity, high = 0;
  for (const d of state.depth) if (d > 0) { low = Math.min(low, d); high = Math.max(high, d); }
  if (high > 0) setContrast((low + high) / 2, Math.max(20, (high - low) / 2));
}

function setContrast(centre, range) {
  state.contrast = {centre: Math.round(centre), range: Math.round(range)};
  $("center").value = state.contrast.centre;
  $("range").value = state.contrast.range;
  $("center-out").textContent = state.contrast.centre;
  $("range-out").textContent = state.contrast.range;
  const f = state.frame;
  const image = document.createElement("canvas");
  image.width = f.width;
  image.height = f.height;
  image.getContext("2d").putImageData(
      colourDepth(state.depth, f.width, f.height, state.contrast.centre, state.contrast.range),
      0, 0);
  state.image = image;
  render();
}

// ---- drawing ----------------------------------------------------------------------------
const POINT_RADIUS = 6;
const LABEL_FONT = "12px system-ui, sans-serif";
const LABEL_HEIGHT = 14;

function drawPoint(name, uv, style) {
  const [x, y] = toScreen(uv[0], uv[1]);
  const colour = COLOURS[keypointNames().indexOf(name)];
  context.lineWidth = 2;
  context.strokeStyle = colour;
  context.fillStyle = style === "visible" ? colour : "rgba(0, 0, 0, 0.5)";
  context.setLineDash(style === "proposed" ? [3, 3] : []);
  context.beginPath();
  context.arc(x, y, POINT_RADIUS, 0, 2 * Math.PI);
  context.fill();
  context.stroke();
  if (style === "occluded") {
    context.beginPath();
    context.moveTo(x - 4, y - 4); context.lineTo(x + 4, y + 4);
    context.moveTo(x + 4, y - 4); context.lineTo(x - 4, y + 4);
    context.stroke();
  }
  context.setLineDash([]);
  context.lineWidth = 1;
  context.strokeStyle = "rgba(0, 0, 0, 0.9)";  // parts the ring from warm depth colours
  context.beginPath();
  context.arc(x, y, POINT_RADIUS + 1.5, 0, 2 * Math.PI);
  context.stroke();
}

function overlaps(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

// Places each label beside its point where it covers no other label and no point: the first
// free one of eight directions, at growing distances (a leader line joins far ones).
function placeLabel(x, y, width, taken) {
  const gap = POINT_RADIUS + 3;
  for (const distance of [0, 14, 28, 42]) {
    for (const [dx, dy] of [[1, -1], [1, 1], [-1, -1], [-1, 1], [0, -1], [0, 1], [1, 0],
                            [-1, 0]]) {
      const cx = x + dx * (gap + distance + (dx ? width / 2 : 0));
      const cy = y + dy * (gap + distance + (dy ? LABEL_HEIGHT / 2 : 0));
      const box = {x: cx - width / 2, y: cy - LABEL_HEIGHT / 2, w: width, h: LABEL_HEIGHT};
      if (!taken.some((other) => overlaps(box, other))) return {box: box, far: distance > 0};
    }
  }
  return {box: {x: x + gap, y: y - gap - LABEL_HEIGHT, w: width, h: LABEL_HEIGHT}, far: false};
}

function drawLabels(points) {
  context.font = LABEL_FONT;
  context.textBaseline = "middle";
  const taken = points.map(([, uv]) => {
    const [x, y] = toScreen(uv[0], uv[1]);
    const r = POINT_RADIUS + 2;
    return {x: x - r, y: y - r, w: 2 * r, h: 2 * r};
  });
  for (const [name, uv] of points) {
    const [x, y] = toScreen(uv[0], uv[1]);
    const text = name.replace("_tip", "");
    const colour = COLOURS[keypointNames().indexOf(name)];
    const {box, far} = placeLabel(x, y, context.measureText(text).width + 4, taken);
    taken.push(box);
    if (far) {
      context.strokeStyle = colour;
      context.lineWidth = 1;
      context.beginPath();
      context.moveTo(x, y);
      context.lineTo(Math.max(box.x, Math.min(x, box.x + box.w)),
                     Math.max(box.y, Math.min(y, box.y + box.h)));
      context.stroke();
    }
    context.lineWidth = 3;
    context.strokeStyle = "rgba(0, 0, 0, 0.8)";  // a dark outline keeps it legible on any colour
    context.strokeText(text, box.x + 2, box.y + box.h / 2);
    context.fillStyle = colour;
    context.fillText(text, box.x + 2, box.y + box.h / 2);
  }
}

function render() {
  if (!state.frame || !state.image) return;
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.fillStyle = OUTSIDE_IMAGE;
  context.fillRect(0, 0, canvas.width, canvas.height);
  const v = state.view;
  context.imageSmoothingEnabled = false;
  context.drawImage(state.image, v.tx, v.ty, state.frame.width * v.scale,
                    state.frame.height * v.scale);
  const ref = state.frame.suggestion.reference_uvd;
  if (ref) {
    const [x, y] = toScreen(ref[0], ref[1]);
    context.strokeStyle = "rgba(255, 255, 255, 0.6)";
    context.lineWidth = 1;
    context.beginPath();
    context.moveTo(x - 10, y); context.lineTo(x + 10, y);
    context.moveTo(x, y - 10); context.lineTo(x, y + 10);
    context.stroke();
  }
  const points = [];
  for (const [name, uv] of Object.entries(state.proposals)) {
    drawPoint(name, uv, "proposed");
    points.push([name, uv]);
  }
  for (const [name, point] of Object.entries(state.local)) {
    drawPoint(name, point.uv, point.visible ? "visible" : "occluded");
    points.push([name, point.uv]);
  }
  drawLabels(points);
}

function renderPanel() {
  if (!state.frame) return;
  const names = state.session.frames;
  $("frame-name").textContent = state.frame.name;
  $("frame-position").textContent = `${frameIndex() + 1} / ${names.length}`;
  const status = state.statuses[state.frame.name];
  $("frame-status").textContent = status;
  $("frame-status").className = "badge " + status;
  const next = nextKeypoint();
  const placed = keypointNames().filter((k) => k in state.local).length;
  $("prompt").innerHTML = next
      ? `click <b id="next-name">${next}</b> (${placed + 1} of ${keypointNames().length})`
      : "all six placed: <b>Enter</b> saves the frame as done";
  const list = $("keypoints");
  list.innerHTML = "";
  keypointNames().forEach((name, i) => {
    const item = document.createElement("li");
    const point = state.local[name];
    const label = point ? (point.visible ? "visible" : "occluded")
        : (name in state.proposals ? "model" : "—");
    item.innerHTML = `<span class="dot" style="border-color:${COLOURS[i]}"></span>${name}` +
        `<span class="state">${label}</span>`;
    if (name === next) item.className = "next";
    list.appendChild(item);
  });
}

// ---- input ------------------------------------------------------------------------------
function hit(x, y) {
  const candidates = Object.entries(state.local).map(([k, p]) => [k, p.uv])
      .concat(Object.entries(state.proposals));
  let best = null, bestDistance = HIT_RADIUS;
  for (const [name, uv] of candidates) {
    const [px, py] = toScreen(uv[0], uv[1]);
    const distance = Math.hypot(px - x, py - y);
    if (distance <= bestDistance) { best = name; bestDistance = distance; }
  }
  return best;
}

let press = null;
canvas.addEventListener("contextmenu", (event) => event.preventDefault());
canvas.addEventListener("mousedown", (event) => {
  canvas.focus();
  const x = event.offsetX, y = event.offsetY;
  press = {x: x, y: y, button: event.button, shift: event.shiftKey, moved: false,
           keypoint: event.button === 0 ? hit(x, y) : null, view: Object.assign({}, state.view)};
});
canvas.addEventListener("mousemove", (event) => {
  if (!press) return;
  const dx = event.offsetX - press.x, dy = event.offsetY - press.y;
  if (Math.hypot(dx, dy) > DRAG_THRESHOLD) press.moved = true;
  if (!press.moved) return;
  if (press.keypoint) {
    press.uv = toImage(event.offsetX, event.offsetY);
    if (press.keypoint in state.local) state.local[press.keypoint].uv = press.uv;
    else state.proposals[press.keypoint] = press.uv;
  } else {
    state.view.tx = press.view.tx + dx;
    state.view.ty = press.view.ty + dy;
    keepImageInView();
  }
  render();
});
window.addEventListener("mouseup", () => {
  if (!press) return;
  const p = press;
  press = null;
  if (p.moved && p.keypoint && p.uv) {
    const inImage = p.uv[0] >= -0.5 && p.uv[0] <= state.frame.width - 0.5 &&
        p.uv[1] >= -0.5 && p.uv[1] <= state.frame.height - 0.5;
    const before = state.saved[p.keypoint];
    if (!inImage) {
      message("outside the image: not moved");
      state.local = JSON.parse(JSON.stringify(state.saved));
      render();
      return;
    }
    const visible = before ? before.visible : 1;
    state.undo.push({keypoint: p.keypoint, previous: before || null});
    setKeypoint(p.keypoint, roundUv(p.uv), visible, false);
  } else if (!p.moved && p.button === 0) {
    const name = nextKeypoint();
    const uv = toImage(p.x, p.y);
    if (!name) { message("all six are placed: drag one to move it, or z to undo"); return; }
    if (uv[0] < -0.5 || uv[0] > state.frame.width - 0.5 || uv[1] < -0.5 ||
        uv[1] > state.frame.height - 0.5) { message("outside the image"); return; }
    setKeypoint(name, roundUv(uv), p.shift ? 0 : 1);
  }
});
canvas.addEventListener("wheel", (event) => {
  event.preventDefault();
  zoomAt(event.offsetX, event.offsetY, Math.exp(-event.deltaY * 0.0015));
}, {passive: false});

function roundUv(uv) { return [Math.round(uv[0] * 100) / 100, Math.round(uv[1] * 100) / 100]; }

const KEYS = {
  "z": undo, "Backspace": undo, "o": toggleOccluded, "s": () => finish("skipped"),
  "Enter": () => finish("done"), "ArrowRight": () => go(1), "ArrowLeft": () => go(-1),
  "b": () => go(-1), "f": fitHand,
  "+": () => zoomAt(canvas.width / 2, canvas.height / 2, 1.25),
  "-": () => zoomAt(canvas.width / 2, canvas.height / 2, 0.8),
  "[": () => setContrast(state.contrast.centre, Math.max(20, state.contrast.range * 0.8)),
  "]": () => setContrast(state.contrast.centre, state.contrast.range * 1.25),
};
document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "INPUT" || !state.frame) return;
  const action = KEYS[event.key];
  if (!action || event.altKey || (event.metaKey && event.key !== "z")) return;
  event.preventDefault();
  action();
});
$("undo").onclick = undo;
$("occluded").onclick = toggleOccluded;
$("skip").onclick = () => finish("skipped");
$("done").onclick = () => finish("done");
$("back").onclick = () => go(-1);
$("next").onclick = () => go(1);
$("fit").onclick = fitHand;
$("center").oninput = (e) => setContrast(Number(e.target.value), state.contrast.range);
$("range").oninput = (e) => setContrast(state.contrast.centre, Number(e.target.value));
window.addEventListener("resize", () => {
  resizeCanvas();
  if (state.frame) keepImageInView();
  render();
});

// ---- start: resume where this annotator stopped -----------------------------------------
async function start() {
  state.session = await getJson("/api/session");
  state.session.frames.forEach((name, i) => { state.statuses[name] = state.session.statuses[i]; });
  $("annotator").textContent = "annotator: " + (state.session.annotator || "default");
  await openFrame(state.session.position);
}

window.annotator = {state: state, toScreen: toScreen, idle: () => queue.then(() => state.pending)};
start().catch((error) => message(error.message));
