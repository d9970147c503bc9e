/* Smoke check for the VM harness, built by tests/vm/smoke.sh with the host's cc.
 *
 * Two things in one tiny program:
 *   - it is a dynamically linked glibc binary, so running it in the guest proves that run.sh copies
 *     a host binary together with its ldd libraries and dynamic loader (as busbar will need);
 *   - it opens a pty pair the way `busbar sim` does (posix_openpt / grantpt / unlockpt / ptsname)
 *     and passes bytes both ways in raw mode, so /dev/ptmx and /dev/pts work in the guest.
 * Prints "PTYCHECK OK <slave path>" and exits 0, or says what failed and exits 1.
 */
#define _XOPEN_SOURCE 600
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static int fail(const char *what) {
    printf("PTYCHECK FAIL %s: %s\n", what, strerror(errno));
    return 1;
}

/* Read exactly n bytes from fd within a few seconds, so a broken pty fails instead of hanging. */
static int read_exact(int fd, char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, 5000);
        if (r <= 0) {
            errno = r == 0 ? ETIMEDOUT : errno;
            return -1;
        }
        ssize_t k = read(fd, buf + got, n - got);
        if (k <= 0) return -1;
        got += (size_t)k;
    }
    return 0;
}

int main(void) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0) return fail("posix_openpt");
    if (grantpt(master) != 0) return fail("grantpt");
    if (unlockpt(master) != 0) return fail("unlockpt");
    const char *name = ptsname(master);
    if (name == NULL) return fail("ptsname");
    int slave = open(name, O_RDWR | O_NOCTTY);
    if (slave < 0) return fail("open slave");

    struct termios t;
    if (tcgetattr(slave, &t) != 0) return fail("tcgetattr");
    cfmakeraw(&t);
    if (tcsetattr(slave, TCSANOW, &t) != 0) return fail("tcsetattr");

    char buf[8];
    if (write(master, "ping\r\n\0", 7) != 7) return fail("write master");
    if (read_exact(slave, buf, 7) != 0) return fail("read slave");
    if (memcmp(buf, "ping\r\n\0", 7) != 0) {
        printf("PTYCHECK FAIL master->slave bytes changed\n");
        return 1;
    }
    if (write(slave, "pong\n\xff", 6) != 6) return fail("write slave");
    if (read_exact(master, buf, 6) != 0) return fail("read master");
    if (memcmp(buf, "pong\n\xff", 6) != 0) {
        printf("PTYCHECK FAIL slave->master bytes changed\n");
        return 1;
    }
    printf("PTYCHECK OK %s\n", name);
    return 0;
}
