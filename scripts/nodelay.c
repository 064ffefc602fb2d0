/*
 * LD_PRELOAD shim for pcscd: sets TCP_NODELAY on every TCP socket the process accepts or
 * connects, so vpcd's two send() calls per message (length, then payload) are not held back by
 * Nagle's algorithm against the peer's delayed ACK (~44 ms per APDU otherwise; see
 * docs/pcsc.md). Test machines only. Built by scripts/pcscd.sh:
 *   gcc -shared -fPIC -O2 -o nodelay.so nodelay.c -ldl
 * Non-TCP sockets (pcscd's own unix socket) make setsockopt fail harmlessly; errno is preserved.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void nodelay(int fd) {
  if (fd < 0) return;
  int saved = errno;
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  errno = saved;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len) {
  static int (*real)(int, struct sockaddr *, socklen_t *);
  if (!real) real = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
  int r = real(fd, addr, len);
  nodelay(r);
  return r;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  static int (*real)(int, struct sockaddr *, socklen_t *, int);
  if (!real) real = (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
  int r = real(fd, addr, len, flags);
  nodelay(r);
  return r;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  static int (*real)(int, const struct sockaddr *, socklen_t);
  if (!real) real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
  if (addr && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6)) nodelay(fd);
  return real(fd, addr, len);
}
