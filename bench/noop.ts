// The runtime's own floor: a Bun-compiled executable that does nothing, or,
// with arguments, spawns them and exits with their status, the least any
// Bun-built wrapper can cost in start time and memory.
const command = process.argv.slice(2);
if (command.length > 0) {
  const child = Bun.spawn(command, { stdio: ["inherit", "inherit", "inherit"] });
  process.exitCode = await child.exited;
}
