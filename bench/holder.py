"""Long-lived lock holder for the benchmark.

Reads commands on stdin, one per line, and replies on stdout:
  hold DIR KIND NAME...   open each DIR/NAME (creating it if missing, never
                          truncating, so its mtime stays old) and lock it with
                          KIND (flock, posix, ofd, or open for no lock at
                          all); replies "ready PID COUNT"
  release                 close every held file; replies "released PID"
Prints "ready PID 0" at start. Exits when stdin closes.
"""

import fcntl
import os
import resource
import struct
import sys


def lock(fd: int, kind: str) -> None:
    if kind == "flock":
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    elif kind == "posix":
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    elif kind == "open":
        pass
    elif kind == "ofd":
        # struct flock: l_type, l_whence (short), l_start, l_len (off_t), l_pid (int) + padding.
        request = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, request)
    else:
        raise ValueError(f"unknown lock kind {kind!r}")


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held: list[int] = []
    print(f"ready {os.getpid()} 0", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "hold":
            directory, kind, names = words[1], words[2], words[3:]
            for name in names:
                fd = os.open(os.path.join(directory, name), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
                lock(fd, kind)
                held.append(fd)
            print(f"ready {os.getpid()} {len(held)}", flush=True)
        elif words[0] == "release":
            for fd in held:
                os.close(fd)
            held.clear()
            print(f"released {os.getpid()}", flush=True)


if __name__ == "__main__":
    main()
