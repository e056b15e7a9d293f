// The page's whole client: EventSource for the stream, Markdown rendered as it arrives, a transcript that follows it.
//
// Model output is untrusted. The answer is Markdown, rendered by marked (static/marked.umd.js) with raw HTML
// shown as text and images as their description; DOMPurify (static/purify.min.js) then cleans marked's HTML
// (no scripts, no event handlers, no javascript: links) and hands back DOM nodes, which the page appends;
// no model text is ever assigned to an element as HTML. Tool lines are plain text nodes.
// Every URL is relative ("chat/stream", not "/chat/stream"): the page also works below a proxy's prefix.
"use strict";

const $ = (selector) => document.querySelector(selector);
let current = null; // { source, turn } while an answer streams
let following = true; // the transcript keeps the newest text in view until the reader scrolls up

// -- model text: Markdown in, inert DOM nodes out ------------------------------------------------

const HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHTML = (text) => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);

const markdown = new marked.Marked({
  gfm: true,
  renderer: {
    html: ({ text }) => escapeHTML(text), // "<script>" in an answer is shown, never parsed
    image: ({ text }) => escapeHTML(`[image: ${text}]`), // no request to an address the model chose
  },
});
const ALLOWED = {
  ALLOWED_TAGS: ["p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"],
  ALLOWED_ATTR: ["href", "title", "start", "align"],
  RETURN_DOM_FRAGMENT: true,
};
DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") { // a link from the model opens elsewhere, never in place of the chat
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

function renderMarkdown(text) {
  return DOMPurify.sanitize(markdown.parse(text), ALLOWED);
}

// A tool's JSON as sent (`{"forecast": "6\u00b0C"}`) shown with the characters its escapes stand for (6°C).
function readable(text) {
  try { JSON.parse(text); } catch { return text; }
  return text.replace(/\\\\|\\u([0-9a-fA-F]{4})/g, (match, hex) => {
    const code = hex ? parseInt(hex, 16) : 0;
    return code >= 0x80 ? String.fromCharCode(code) : match; // ASCII escapes (\u0022) stay as they are
  });
}

// -- the transcript: follow the newest text unless the reader scrolled up ------------------------

function atEnd(box) {
  return box.scrollHeight - box.scrollTop - box.clientHeight < 32;
}

function keepInView() {
  const box = $("#transcript");
  if (following) box.scrollTop = box.scrollHeight;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function newTurn(message) {
  $("#transcript").append(element("div", "turn user", message));
  const box = element("div", "turn assistant");
  const answer = element("div", "answer");
  const status = element("div", "status", "connecting…");
  box.append(answer, status);
  box.dataset.state = "connecting";
  box.setAttribute("aria-busy", "true"); // screen readers read the answer once it is complete
  $("#transcript").append(box);
  return { box, answer, status, markdown: "", frame: 0, tools: {} };
}

function render(turn) {
  cancelAnimationFrame(turn.frame);
  turn.frame = 0;
  turn.answer.replaceChildren(renderMarkdown(turn.markdown));
  keepInView();
}

function renderSoon(turn) { // at most one render per frame, however many deltas arrive in it
  if (!turn.frame) turn.frame = requestAnimationFrame(() => render(turn));
}

function finish(state, note) {
  if (!current) return;
  const { source, turn } = current;
  source.close(); // also stops EventSource from reconnecting
  render(turn);
  turn.box.dataset.state = state;
  turn.box.setAttribute("aria-busy", "false");
  turn.status.textContent = note;
  current = null;
  const stopHadFocus = document.activeElement === $("#stop");
  $("#stop").disabled = true;
  $("#send").disabled = false;
  if (stopHadFocus) $("#message").focus(); // a disabled button drops the focus: keep it where typing goes on
  keepInView();
}

function ask(message) {
  message = message.trim();
  if (!message) return;
  finish("stopped", "stopped");
  const backend = $("#backend").value;
  const turn = newTurn(message);
  following = true; // a new question brings the reader to its answer
  keepInView();
  const source = new EventSource(`chat/stream?${new URLSearchParams({ message, backend })}`);
  current = { source, turn };
  $("#stop").disabled = false;
  $("#send").disabled = true;
  const on = (name, handle) => source.addEventListener(name, (event) => {
    if (current && current.source === source) handle(JSON.parse(event.data));
  });
  on("session_update", (data) => { turn.box.dataset.session = data.session_id; turn.box.dataset.state = "streaming"; });
  on("typing_start", () => { turn.status.textContent = "typing…"; });
  on("text_delta", (data) => { turn.markdown += data.delta; renderSoon(turn); });
  on("tool_start", (data) => {
    const call = `${data.name}(${readable(data.arguments)})`;
    const line = element("div", "tool", `tool ${call} …`);
    turn.tools[data.name] = { line, call };
    turn.answer.before(line);
    keepInView();
  });
  on("tool_complete", (data) => {
    const { line, call } = turn.tools[data.name] || { line: element("div", "tool"), call: data.name };
    line.textContent = `tool ${call} → ${readable(data.output)}`;
    if (!line.isConnected) turn.answer.before(line);
    keepInView();
  });
  on("response_complete", (data) => {
    turn.box.dataset.finalLength = String(data.character_count);
    const ttft = data.ttft_ms === null ? "no text" : `first text after ${Math.round(data.ttft_ms)} ms`;
    finish("complete", `${data.word_count} words, ${data.character_count} characters, ${ttft}`);
  });
  source.addEventListener("error", (event) => {
    if (!current || current.source !== source) return;
    if (event.data) { // the server's own `error` event
      const data = JSON.parse(event.data);
      finish("error", `error (${data.code}): ${data.message}`);
    } else { // the connection failed or dropped; do not let EventSource ask again
      finish("error", "connection lost");
    }
  });
}

let promptsAsked = 0;

async function loadPrompts() {
  const asked = ++promptsAsked;
  const backend = $("#backend").value;
  const box = $("#suggestions");
  box.replaceChildren();
  const reply = await fetch(`chat/prompts?${new URLSearchParams({ backend })}`);
  const data = await reply.json();
  if (asked !== promptsAsked) return; // the backend changed while this list was on its way
  $("#mode").textContent = `${data.mode} mode`;
  $("#message").maxLength = data.max_message_chars;
  for (const prompt of data.prompts) {
    const button = element("button", "suggestion", prompt);
    button.type = "button";
    button.addEventListener("click", () => { ask(prompt); $("#message").focus(); });
    box.append(button);
  }
  for (const problem of data.problems || []) { // a fixture file that could not be read: say which
    box.append(element("p", "problem", `Fixture not loaded: ${problem}`));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#ask").addEventListener("submit", (event) => {
    event.preventDefault();
    ask($("#message").value);
    $("#message").value = "";
    $("#message").focus();
  });
  $("#stop").addEventListener("click", () => finish("stopped", "stopped"));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && current) finish("stopped", "stopped");
  });
  $("#transcript").addEventListener("scroll", (event) => { following = atEnd(event.target); });
  $("#backend").addEventListener("change", loadPrompts);
  loadPrompts();
});
