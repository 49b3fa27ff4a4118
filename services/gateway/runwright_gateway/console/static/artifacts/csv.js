// Reading CSV text for previews.

// CSV as written by spreadsheets and by Runwright's exports (RFC 4180): comma-separated fields,
// a field in double quotes may hold commas, line breaks and "" for a quote; lines end in LF, CRLF
// or CR; blank lines are skipped. At most `maxRows` rows; `partial` text (a file cut short)
// drops its last, perhaps incomplete, row. `more`: the file has rows beyond those returned.
export function parseCsv(text, maxRows = Infinity, partial = false) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false; // inside a quoted field
  let fieldStart = true; // nothing of the current field read yet
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRow = () => {
    row.push(field);
    if (row.length > 1 || row[0] !== "") rows.push(row);
    row = [];
    field = "";
    fieldStart = true;
  };
  while (i < text.length) {
    const c = text[i];
    i += 1;
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i] === '"') {
        field += '"';
        i += 1;
      } else quoted = false;
    } else if (c === '"' && fieldStart) {
      quoted = true;
      fieldStart = false;
    } else if (c === ",") {
      row.push(field);
      field = "";
      fieldStart = true;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i] === "\n") i += 1;
      endRow();
      if (rows.length >= maxRows) return { rows, more: partial || /\S/.test(text.slice(i)) };
    } else {
      field += c;
      fieldStart = false;
    }
  }
  if (!partial && (!fieldStart || row.length)) endRow();
  return { rows: rows.slice(0, maxRows), more: partial };
}
