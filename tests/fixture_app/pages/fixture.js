// Shared by the fixture pages: every interaction appends a line to <output id="log">.
// Consecutive input events on one field update that field's last line instead of adding lines,
// so "clear, then type" leaves exactly one line: "input: <field>=<final value>".
"use strict";
window.fx = (() => {
  const lines = [];
  let lastInput = null;

  function render() {
    const out = document.getElementById("log");
    if (out) out.textContent = lines.join("\n");
  }

  function log(line) {
    lines.push(line);
    lastInput = null;
    render();
  }

  function click(name) {
    log(`clicked: ${name}`);
  }

  function clickAt(name, event) {
    log(`clicked: ${name} at ${Math.round(event.clientX)},${Math.round(event.clientY)}`);
  }

  function input(name, element) {
    const value = "value" in element ? element.value : element.textContent;
    const line = `input: ${name}=${value}`;
    if (lastInput === name && lines.length > 0) lines[lines.length - 1] = line;
    else lines.push(line);
    lastInput = name;
    render();
  }

  return { lines, log, click, clickAt, input };
})();
