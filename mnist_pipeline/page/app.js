// The drawing page: draw on #pad, send the picture to /api/predict, show the answer:
// a digit, or a number and each of its digits.
// Plain JavaScript, no libraries: read it top to bottom.
"use strict";

const pad = document.getElementById("pad");
const pen = pad.getContext("2d");
const answer = document.getElementById("answer");
const pieces = document.getElementById("pieces");
const errorBox = document.getElementById("error");
const bars = document.getElementById("bars");
const seen = document.getElementById("seen");
const layers = document.getElementById("layers");
const drop = document.getElementById("drop");
const upload = document.getElementById("upload");

const STROKE_WIDTH = 18;      // on the 280 px tall pad: about MNIST's stroke once scaled to 28 px
const LIVE_EVERY_MS = 120;    // while drawing, ask for an answer at most this often
const LAYER_TITLES = ["Hidden layer 1", "Hidden layer 2", "Hidden layer 3", "Output"];

let inked = false;            // a blank pad gets "draw a digit", never a guess
let drawing = false;
let last = null;              // the previous point of the stroke being drawn
let inFlight = false;         // one request at a time; the newest picture wins
let again = false;            // the pad changed while a request was in flight
let lastSent = 0;
let shown = 0;                // number of the request whose answer is on the page
let chosen = 0;               // which digit of a number is shown in the bars and layers

// --- The pad -----------------------------------------------------------------------
function clearPad() {
  pen.fillStyle = "#fff";
  pen.fillRect(0, 0, pad.width, pad.height);
  inked = false;
  shown += 1;                 // answers still on their way are for the old drawing
  showBlank();
}

function padPoint(event) {
  const box = pad.getBoundingClientRect();
  return {
    x: (event.clientX - box.left) * (pad.width / box.width),
    y: (event.clientY - box.top) * (pad.height / box.height),
  };
}

function drawTo(point) {
  pen.strokeStyle = "#000";
  pen.lineWidth = STROKE_WIDTH;
  pen.lineCap = "round";
  pen.lineJoin = "round";
  pen.beginPath();
  pen.moveTo(last.x, last.y);
  pen.lineTo(point.x, point.y);
  pen.stroke();
  last = point;
}

// Pointer events cover the mouse, a pen and a finger alike.
function startStroke(event) {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  drawing = true;
  inked = true;
  document.body.classList.add("drawing");   // no text on the page gets selected meanwhile
  last = padPoint(event);
  drawTo({ x: last.x + 0.01, y: last.y });   // a tap leaves a dot
}
pad.addEventListener("pointerdown", startStroke);

// A stroke begun just off the pad draws from where it enters, and selects no text on
// the way (the browser had started selecting from where the button went down).
pad.addEventListener("pointerenter", (event) => {
  if (drawing || !(event.buttons & 1)) return;
  window.getSelection().removeAllRanges();
  startStroke(event);
});
document.addEventListener("selectstart", (event) => {
  if (drawing) event.preventDefault();
});

pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const points = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const point of points.length ? points : [event]) drawTo(padPoint(point));
  if (Date.now() - lastSent > LIVE_EVERY_MS) predictPad();
});

function endStroke() {
  if (!drawing) return;
  drawing = false;
  document.body.classList.remove("drawing");
  predictPad();               // the answer after each stroke, no button needed
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

document.getElementById("clear").addEventListener("click", clearPad);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" || event.key === "Delete") clearPad();
});

// --- Photos: the file input and drag-and-drop take the same path ---------------------
upload.addEventListener("change", () => {
  if (upload.files.length) sendPhoto(upload.files[0]);
  upload.value = "";
});
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  if (event.dataTransfer.files.length) sendPhoto(event.dataTransfer.files[0]);
});

function sendPhoto(file) {
  clearPad();
  inked = true;
  send(file, file.type || "application/octet-stream", `in ${file.name}`);
}

// --- Asking the server -------------------------------------------------------------
function predictPad() {
  if (!inked) return showBlank();
  if (inFlight) {
    again = true;
    return;
  }
  lastSent = Date.now();
  send(padPng(), "image/png", "");
}

// The pad as PNG bytes, at once. (toBlob would be asynchronous, and Chromium may put
// its encoding off for up to a second; toDataURL encodes now.)
function padPng() {
  const base64 = pad.toDataURL("image/png").split(",")[1];
  return Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
}

async function send(body, type, source) {
  const number = ++shown;
  inFlight = true;
  answer.setAttribute("aria-busy", "true");   // an answer to the pad as it is now is coming
  try {
    const response = await fetch("/api/predict", {
      method: "POST",
      headers: { "Content-Type": type },
      body,
    });
    const result = await response.json();
    if (number !== shown) return;       // the pad was cleared or redrawn meanwhile
    if (response.status === 422) showBlank();
    else if (!response.ok) showError(result.error || `server answered ${response.status}`);
    else showResult(result, source);
  } catch (failure) {
    if (number === shown) showError(`no answer from the server (${failure.message})`);
  } finally {
    inFlight = false;
    answer.setAttribute("aria-busy", "false");
    if (again) {
      again = false;
      predictPad();
    }
  }
}

// --- Showing the answer ------------------------------------------------------------
function showBlank() {
  answer.textContent = "draw a digit";
  answer.className = "answer waiting";
  errorBox.hidden = true;
  pieces.hidden = true;
  pieces.replaceChildren();
  chosen = 0;
  drawBars(new Array(10).fill(0));
  seen.removeAttribute("src");
  drawLayers([]);
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function showResult(result, source) {
  errorBox.hidden = true;
  const from = source ? ` (${source})` : "";
  if (result.digits.length > 1) return showNumber(result, from);
  pieces.hidden = true;
  pieces.replaceChildren();
  const percent = (result.probability * 100).toFixed(1);
  if (result.not_a_digit) {     // a letter, a star, a scribble: no digit is forced on it
    answer.className = "answer not-a-digit";
    answer.textContent = `That doesn't look like a digit (best guess ${result.best_guess}, ${percent}%)${from}`;
  } else {
    answer.className = "answer";
    answer.textContent = `${result.digit} (${percent}% sure${source ? ", " + source : ""})`;
  }
  showDigit(result);
}

// A number: the digits in #answer ("?" for a piece that is no digit), and under it each
// digit's 28x28 and probability, as buttons; the chosen one fills the bars and layers.
function showNumber(result, from) {
  if (result.number === null) {
    answer.className = "answer not-a-digit";
    answer.textContent = `That doesn't look like a digit or a number${from}`;
  } else {
    answer.className = "answer number";
    answer.textContent = `${result.number}${from}`;
  }
  pieces.replaceChildren();
  result.digits.forEach((digit, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = digit.not_a_digit ? "piece not-a-digit" : "piece";
    const picture = document.createElement("img");
    picture.src = digit.preprocessed;
    picture.alt = `what the network sees of piece ${index + 1}`;
    const label = document.createElement("span");
    const percent = (digit.probability * 100).toFixed(1);
    label.textContent = digit.not_a_digit ? `? (${digit.best_guess} ${percent}%)` : `${digit.digit} ${percent}%`;
    button.append(picture, label);
    button.addEventListener("click", () => choosePiece(index, result.digits));
    pieces.append(button);
  });
  pieces.hidden = false;
  choosePiece(Math.min(chosen, result.digits.length - 1), result.digits);  // a newer answer keeps the choice
}

function choosePiece(index, digits) {
  chosen = index;
  [...pieces.children].forEach((button, i) => button.setAttribute("aria-pressed", String(i === index)));
  showDigit(digits[index]);
}

function showDigit(digit) {
  drawBars(digit.probabilities);
  seen.src = digit.preprocessed;
  drawLayers(digit.activations);
}

function drawBars(probabilities) {
  const best = probabilities.indexOf(Math.max(...probabilities));
  bars.replaceChildren();
  probabilities.forEach((p, digit) => {
    const label = document.createElement("span");
    label.textContent = digit;
    const bar = document.createElement("div");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = `${(p * 100).toFixed(1)}%`;
    bar.append(fill);
    const value = document.createElement("span");
    value.className = "percent";
    value.textContent = `${(p * 100).toFixed(1)}%`;
    if (p > 0 && digit === best) label.className = "top";
    bars.append(label, bar, value);
  });
}

// Each layer's units as squares; brightness is the unit's output over the layer's largest.
function drawLayers(activations) {
  const sizes = [100, 50, 25, 10];
  layers.replaceChildren();
  sizes.forEach((size, index) => {
    const values = activations[index] ? activations[index].values : new Array(size).fill(0);
    const largest = Math.max(...values, 1e-6);
    const layer = document.createElement("div");
    layer.className = "layer";
    const title = document.createElement("h3");
    const kind = index === sizes.length - 1 ? "softmax" : "ReLU";
    title.textContent = `${LAYER_TITLES[index] || "Layer " + (index + 1)}: ${values.length} ${kind} units`;
    const units = document.createElement("div");
    units.className = "units";
    values.forEach((value, unit) => {
      const cell = document.createElement("div");
      cell.className = "unit";
      cell.style.setProperty("--level", (value / largest).toFixed(3));
      cell.title = `unit ${unit + 1}: ${value.toFixed(3)}`;
      if (index === sizes.length - 1) cell.textContent = unit;   // the output's units are digits
      units.append(cell);
    });
    layer.append(title, units);
    layers.append(layer);
  });
}

clearPad();
