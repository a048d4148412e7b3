// Owner records: what a lock file's content says about who created it.
//
// Recognised forms, all optionally ending in a newline:
//   "1234"            a bare pid (lockfile-progs --use-pid, pidfiles); "0" names no process
//   "1234 HOSTNAME"   git's gc.pid
//   {"pid":1234,...}  JSON, as written by jerrylock itself
// Anything else is not an owner record, so the file is not a lock jerrylock
// may remove (a copied Cargo.lock or yarn.lock must survive).

/** Fields of an owner record; only `pid` is required. */
export interface OwnerRecord {
  format: "pid" | "pid-host" | "json";
  /** 0 means the record names no process (lockfile-create without --use-pid writes "0"). */
  pid: number;
  host?: string;
  bootId?: string;
  pidNamespace?: string;
  /** Exact process start token, comparable with ProcessInfo.startId on the same boot. */
  startId?: string;
  startedAtMs?: number;
  tool?: string;
}

export type RecordParse =
  | { kind: "empty" }
  | { kind: "record"; record: OwnerRecord; terminated: boolean }
  /** JSON that does not parse yet and has no final newline: possibly still being written. */
  | { kind: "partial" }
  | { kind: "unrecognised"; reason: string };

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Parses file content into an owner record, validating the pid against `maxPid`. */
export function parseOwnerRecord(bytes: Uint8Array, maxPid: number): RecordParse {
  if (bytes.length === 0) return { kind: "empty" };

  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { kind: "unrecognised", reason: "content is not text" };
  }

  // Records written on Windows end in CRLF.
  const terminated = text.endsWith("\n");
  const body = text.endsWith("\r\n") ? text.slice(0, -2) : terminated ? text.slice(0, -1) : text;

  const bare = /^ *(\d{1,12})$/.exec(body);
  if (bare?.[1] !== undefined) {
    return withValidPid({ format: "pid", pid: Number(bare[1]) }, terminated, maxPid);
  }

  const pidHost = /^(\d{1,12}) ([^\s]{1,255})$/.exec(body);
  if (pidHost?.[1] !== undefined && pidHost[2] !== undefined) {
    return withValidPid({ format: "pid-host", pid: Number(pidHost[1]), host: pidHost[2] }, terminated, maxPid);
  }

  if (body.trimStart().startsWith("{")) return parseJsonRecord(body, terminated, maxPid);

  return { kind: "unrecognised", reason: "content is neither empty nor an owner record" };
}

function parseJsonRecord(body: string, terminated: boolean, maxPid: number): RecordParse {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return terminated ? { kind: "unrecognised", reason: "content is invalid JSON" } : { kind: "partial" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { kind: "unrecognised", reason: "JSON content is not an object" };
  }

  const object = value as Record<string, unknown>;
  if (typeof object.pid !== "number" || !Number.isInteger(object.pid)) {
    return { kind: "unrecognised", reason: 'JSON content has no integer "pid"' };
  }

  // A field that is present but malformed makes the whole record untrusted:
  // dropping it would turn, say, a record of another host into a local one.
  for (const key of ["host", "boot_id", "pid_ns", "start", "started_at", "tool"]) {
    const field = object[key];
    if (field === undefined) continue;
    if (typeof field !== "string" || field.length === 0 || field.length > 255) {
      return { kind: "unrecognised", reason: `owner record has an invalid "${key}" (a string of 1 to 255 characters expected)` };
    }
  }
  const text = (key: string): string | undefined => object[key] as string | undefined;

  const record: OwnerRecord = { format: "json", pid: object.pid };
  record.host = text("host");
  record.bootId = text("boot_id");
  record.pidNamespace = text("pid_ns");
  record.startId = text("start");
  record.tool = text("tool");
  const startedAt = text("started_at");
  if (startedAt !== undefined) {
    if (Number.isNaN(Date.parse(startedAt))) return { kind: "unrecognised", reason: 'owner record has an invalid "started_at" (an ISO 8601 time expected)' };
    record.startedAtMs = Date.parse(startedAt);
  }

  return withValidPid(record, terminated, maxPid);
}

// Habit from py-filelock and pidfile readers: validate the pid before any
// kill(pid, 0), because 0 and negative values address process groups.
function withValidPid(record: OwnerRecord, terminated: boolean, maxPid: number): RecordParse {
  if (record.pid < 0 || record.pid > maxPid) {
    return { kind: "unrecognised", reason: `owner record names pid ${record.pid}, outside 1..${maxPid}` };
  }
  return { kind: "record", record, terminated };
}

/** Fields jerrylock writes into the lock files it creates. */
export interface OwnerRecordFields {
  pid: number;
  host: string;
  bootId?: string;
  pidNamespace?: string;
  startId?: string;
  startedAtMs?: number;
  tool: string;
}

/** Formats jerrylock's own owner record: one JSON object and a final newline. */
export function formatOwnerRecord(fields: OwnerRecordFields): string {
  const json: Record<string, string | number> = { pid: fields.pid, host: fields.host };
  if (fields.bootId !== undefined) json.boot_id = fields.bootId;
  if (fields.pidNamespace !== undefined) json.pid_ns = fields.pidNamespace;
  if (fields.startId !== undefined) json.start = fields.startId;
  if (fields.startedAtMs !== undefined) json.started_at = new Date(fields.startedAtMs).toISOString();
  json.tool = fields.tool;
  return `${JSON.stringify(json)}\n`;
}
