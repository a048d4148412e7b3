// The only module that reads process.platform: it picks the implementation of
// the Platform interface once, on first use.
import type { Platform, ProcessControl } from "./types.ts";

let current: Platform | undefined;
let currentControl: ProcessControl | undefined;

export function currentPlatform(): Platform {
  if (current !== undefined) return current;

  switch (process.platform) {
    case "linux": {
      const { createLinuxPlatform } = require("./linux.ts") as typeof import("./linux.ts");
      current = createLinuxPlatform();
      break;
    }
    case "darwin": {
      const { createDarwinPlatform } = require("./darwin.ts") as typeof import("./darwin.ts");
      current = createDarwinPlatform();
      break;
    }
    case "win32": {
      const { createWindowsPlatform } = require("./windows.ts") as typeof import("./windows.ts");
      current = createWindowsPlatform();
      break;
    }
    default:
      throw new Error(`Unsupported operating system "${process.platform}": jerrylock runs on Linux, macOS and Windows`);
  }
  return current;
}

/** Returns the process supervision calls of this OS, for `jerrylock run`. */
export function currentProcessControl(): ProcessControl {
  if (currentControl !== undefined) return currentControl;

  switch (process.platform) {
    case "linux": {
      const { createLinuxProcessControl } = require("./process-linux.ts") as typeof import("./process-linux.ts");
      currentControl = createLinuxProcessControl();
      break;
    }
    case "darwin": {
      const { createDarwinProcessControl } = require("./process-darwin.ts") as typeof import("./process-darwin.ts");
      currentControl = createDarwinProcessControl();
      break;
    }
    case "win32": {
      const { createWindowsProcessControl } = require("./process-windows.ts") as typeof import("./process-windows.ts");
      currentControl = createWindowsProcessControl();
      break;
    }
    default:
      throw new Error(`Unsupported operating system "${process.platform}": jerrylock runs on Linux, macOS and Windows`);
  }
  return currentControl;
}
