// The runbook editor: CodeMirror 5 (vendored under vendor/codemirror, loaded on first use, so it
// works offline and only pages that edit pay for it) with YAML highlighting and line numbers,
// checked as you type by /api/v1/runbooks/validate, each error marked at its line and listed
// below the editor (for screen readers too). Without CodeMirror the plain textarea still works.
import { api } from "./api.js";
import { h } from "./ui.js";

const BASE = new URL("./vendor/codemirror/", import.meta.url);
let loading = null;

function load() {
  if (window.CodeMirror) return Promise.resolve(window.CodeMirror);
  loading ||= new Promise((resolve, reject) => {
    const css = h("link", { rel: "stylesheet", href: new URL("codemirror.css", BASE).href });
    document.head.append(css);
    const core = h("script", { src: new URL("codemirror.js", BASE).href });
    core.onload = () => {
      const mode = h("script", { src: new URL("yaml.js", BASE).href });
      mode.onload = () => resolve(window.CodeMirror);
      mode.onerror = reject;
      document.head.append(mode);
    };
    core.onerror = reject;
    document.head.append(core);
  });
  return loading;
}

// Turns `textarea` into the editor. `list` is the element that lists the errors. Answers
// { value(), set(text), ready } ; `ready` resolves once the editor (or the fallback) is up.
export function runbookEditor(textarea, list) {
  let cm = null;
  let timer = 0;
  let asked = 0;
  const marked = [];

  function value() {
    return cm ? cm.getValue() : textarea.value;
  }

  function show(errors) {
    for (const line of marked.splice(0)) {
      cm?.removeLineClass(line, "background", "cm-error-line");
      cm?.setGutterMarker(line, "cm-errors", null);
    }
    list.replaceChildren(
      ...errors.map((e) => h("li", { dataset: { line: e.line ? String(e.line) : "" } }, e.line ? `Line ${e.line}: ` : "", h("code", {}, e.field), ` ${e.message}`)),
    );
    textarea.setAttribute("aria-invalid", errors.length ? "true" : "false");
    if (!cm) return;
    for (const e of errors) {
      if (!e.line) continue;
      const line = Math.min(e.line - 1, cm.lineCount() - 1);
      marked.push(line);
      cm.addLineClass(line, "background", "cm-error-line");
      cm.setGutterMarker(line, "cm-errors", h("span", { class: "cm-error-marker", title: `${e.field}: ${e.message}` }, "●"));
    }
  }

  async function check() {
    const mine = ++asked;
    const text = value();
    if (!text.trim()) return show([]);
    try {
      const answer = await api("/api/v1/runbooks/validate", { method: "POST", body: { runbook: text } });
      if (mine === asked) show(answer.errors);
    } catch {
      /* the next keystroke asks again */
    }
  }

  function changed() {
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  }

  textarea.addEventListener("input", changed);
  const ready = load()
    .then((CodeMirror) => {
      cm = CodeMirror.fromTextArea(textarea, {
        mode: "yaml",
        lineNumbers: true,
        gutters: ["cm-errors", "CodeMirror-linenumbers"],
        indentUnit: 2,
        tabSize: 2,
        extraKeys: { Tab: (editor) => editor.replaceSelection("  ") },
        screenReaderLabel: textarea.getAttribute("aria-label") || "Runbook YAML",
      });
      cm.on("change", () => {
        cm.save();
        changed();
      });
      if (value().trim()) check();
    })
    .catch(() => {
      /* CodeMirror did not load: the plain textarea is the editor */
    });
  return {
    value,
    set(text) {
      if (cm) cm.setValue(text);
      else textarea.value = text;
      changed();
    },
    ready,
  };
}
