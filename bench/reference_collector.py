"""Stale lock collector of the design a lock framework proposed, for comparison only.

Per file: stat, open, non-blocking lockf, unlink. This is the design jerrylock
is measured against, not a safe cleaner. lockf conflicts with POSIX and OFD
locks only, so it removes files that a flock(2) holder has locked, and it never
checks whether another process has the file open.

Usage: python3 reference_collector.py [--max-age SECONDS] DIR
Prints "removed N kept M" to stdout.
"""

import argparse
import fcntl
import os
import stat
import time


def collect(directory: str, max_age: float) -> tuple[int, int]:
    cutoff = time.time() - max_age
    removed = kept = 0
    with os.scandir(directory) as entries:
        for entry in entries:
            if not entry.name.endswith(".lock"):
                continue
            path = entry.path
            info = os.stat(path, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or info.st_mtime > cutoff:
                kept += 1
                continue
            try:
                fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                kept += 1
                continue
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.unlink(path)
                removed += 1
            except OSError:
                kept += 1
            finally:
                os.close(fd)
    return removed, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-age", type=float, default=300.0, help="minimum age in seconds")
    parser.add_argument("directory")
    arguments = parser.parse_args()
    removed, kept = collect(arguments.directory, arguments.max_age)
    print(f"removed {removed} kept {kept}")


if __name__ == "__main__":
    main()
