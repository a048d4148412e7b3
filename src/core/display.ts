// Turning untrusted bytes (file names, record content, process names) into
// text that is safe to print on a terminal.

/** Escapes a raw file name for display: invalid UTF-8 and control bytes become \xNN. */
export function displayBytes(name: Uint8Array): string {
  if (isPlainAscii(name)) return Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString("latin1");

  let text = "";
  const decoded = utf8Decoder.decode(name);
  const valid = Buffer.from(decoded, "utf8").equals(Buffer.from(name));
  if (!valid) {
    for (const byte of name) text += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : escapeByte(byte);
    return text;
  }
  for (const character of decoded) {
    const code = character.codePointAt(0)!;
    if (isControl(code)) text += escapeByte(code);
    else if (character === "\\") text += "\\\\";
    else text += character;
  }
  return text;
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

/** C0, DEL and C1 control characters, which a terminal may act on. */
function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/** Escapes control characters in text that came from a file or from /proc. */
export function printableText(text: string): string {
  let printable = "";
  for (const character of text) {
    const code = character.codePointAt(0)!;
    printable += isControl(code) ? escapeByte(code) : character;
  }
  return printable;
}

function isPlainAscii(name: Uint8Array): boolean {
  for (const byte of name) if (byte < 0x20 || byte >= 0x7f || byte === 0x5c) return false;
  return true;
}

function escapeByte(byte: number): string {
  if (byte === 0x0a) return "\\n";
  if (byte === 0x09) return "\\t";
  if (byte === 0x5c) return "\\\\";
  return `\\x${byte.toString(16).padStart(2, "0")}`;
}
