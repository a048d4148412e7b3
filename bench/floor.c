/*
 * The floor for removing stale lock files safely: jerrylock's per-file removal
 * protocol in plain C with no runtime around it. The benchmark compiles it with
 * the machine's cc and times it beside find(1) and jerrylock clean.
 *
 * Usage: floor [-L] [-D] [-a SECONDS] DIR
 *   -a SECONDS  minimum age by mtime (default 300)
 *   -L          skip the write lease, to measure what the lease costs
 *   -D          open the name directly instead of through O_PATH, to measure
 *               what never opening a fifo or device costs
 *
 * Per candidate (a name ending in ".lock"), in the order jerrylock uses:
 *   fstatat(NOFOLLOW)  regular, empty, older than the threshold
 *   openat(O_PATH|NOFOLLOW) relative to the directory descriptor, which
 *                      opens no fifo or device; fstat; then reopen that
 *                      inode read-write through /proc/self/fd/N
 *                      (-D: one openat(NOFOLLOW|NONBLOCK) and an fstat)
 *   flock(LOCK_EX|LOCK_NB)            fails on a flock holder
 *   fcntl(F_OFD_SETLK, F_WRLCK)       fails on a POSIX or OFD holder
 *   fstatat(NOFOLLOW)  the name still points at the inode we hold
 *   fcntl(F_SETSIG, SIGURG)           a lease break must not kill us with SIGIO
 *   fcntl(F_SETLEASE, F_WRLCK)        fails when any other process has it open
 *   unlinkat           while every lock above is held
 *   fcntl(F_GETLEASE)  anything but F_WRLCK: someone opened it meanwhile
 *   fcntl(F_SETLEASE, F_UNLCK), close
 * Prints "removed N kept M" to stdout.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int ends_with_lock(const char *name) {
    size_t length = strlen(name);
    return length > 5 && strcmp(name + length - 5, ".lock") == 0;
}

/* Returns 1 when the file was removed, 0 when it was kept. */
/* Opens a regular file read-write without ever opening anything else; -1 otherwise. */
static int open_regular(int dir_fd, const char *name, int direct) {
    if (direct) return openat(dir_fd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

    int path_fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (path_fd < 0) return -1;
    struct stat path_stat;
    int fd = -1;
    if (fstat(path_fd, &path_stat) == 0 && S_ISREG(path_stat.st_mode)) {
        char proc_path[64];
        snprintf(proc_path, sizeof proc_path, "/proc/self/fd/%d", path_fd);
        fd = open(proc_path, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    }
    close(path_fd);
    return fd;
}

static int remove_if_stale(int dir_fd, const char *name, time_t cutoff, int use_lease, int direct) {
    struct stat before, opened, after;
    if (fstatat(dir_fd, name, &before, AT_SYMLINK_NOFOLLOW) != 0) return 0;
    if (!S_ISREG(before.st_mode) || before.st_size != 0 || before.st_mtime > cutoff) return 0;

    int fd = open_regular(dir_fd, name, direct);
    if (fd < 0) return 0;

    int removed = 0;
    struct flock ofd = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0, .l_pid = 0 };
    if (fstat(fd, &opened) != 0 || opened.st_dev != before.st_dev || opened.st_ino != before.st_ino) goto done;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) goto done;
    if (fcntl(fd, F_OFD_SETLK, &ofd) != 0) goto done;
    if (fstatat(dir_fd, name, &after, AT_SYMLINK_NOFOLLOW) != 0 || after.st_dev != opened.st_dev ||
        after.st_ino != opened.st_ino) {
        goto done;
    }
    if (use_lease) {
        fcntl(fd, F_SETSIG, SIGURG);
        if (fcntl(fd, F_SETLEASE, F_WRLCK) != 0) goto done;
    }
    if (unlinkat(dir_fd, name, 0) == 0) removed = 1;
    if (use_lease) {
        if (fcntl(fd, F_GETLEASE) != F_WRLCK) fprintf(stderr, "floor: \"%s\" was opened during its removal\n", name);
        fcntl(fd, F_SETLEASE, F_UNLCK);
    }
done:
    close(fd);
    return removed;
}

int main(int argc, char **argv) {
    int use_lease = 1;
    int direct = 0;
    long max_age = 300;
    int option;
    while ((option = getopt(argc, argv, "LDa:")) != -1) {
        if (option == 'L') use_lease = 0;
        else if (option == 'D') direct = 1;
        else if (option == 'a') max_age = strtol(optarg, NULL, 10);
        else return 2;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: floor [-L] [-D] [-a SECONDS] DIR\n");
        return 2;
    }

    const char *path = argv[optind];
    int dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir_fd < 0) {
        fprintf(stderr, "floor: cannot open \"%s\": %s\n", path, strerror(errno));
        return 1;
    }
    /* fdopendir takes its own copy, so every *at call can keep using dir_fd. */
    DIR *dir = fdopendir(dup(dir_fd));
    if (dir == NULL) return 1;

    time_t cutoff = time(NULL) - max_age;
    long removed = 0, kept = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (!ends_with_lock(entry->d_name)) continue;
        if (remove_if_stale(dir_fd, entry->d_name, cutoff, use_lease, direct)) removed++;
        else kept++;
    }
    closedir(dir);
    close(dir_fd);
    printf("removed %ld kept %ld\n", removed, kept);
    return 0;
}
