// SPDX-License-Identifier: GPL-2.0
/*
 * libestpize.so: LD_PRELOAD library that makes an unmodified program's TCP
 * sockets ESTP sockets.  socket(AF_INET or AF_INET6, SOCK_STREAM with any
 * of SOCK_NONBLOCK/SOCK_CLOEXEC, 0 or IPPROTO_TCP) is turned into
 * socket(family, type, ESTP_PROTO) (environment, default 253); every other
 * socket() is passed through untouched.
 *
 * Fallback: when the ESTP socket cannot be made because the protocol is not
 * there (estp.ko not loaded and not autoloadable: EPROTONOSUPPORT,
 * ESOCKTNOSUPPORT, EAFNOSUPPORT for an AF_INET6 without IPv6 support in
 * ESTP), the program gets a TCP socket, as an MPTCP socket falls back to
 * TCP, and one line on stderr says so (ESTPIZE_QUIET=1 silences it).  With
 * ESTPIZE_STRICT=1 the error is returned instead (mptcpize's library keeps
 * the error: the program sees socket() fail).  A program that runs is what a
 * user of "estpize run" expects; a test that must prove ESTP was used sets
 * ESTPIZE_STRICT=1 or reads /proc/net/estp_stat.
 *
 * SO_PROTOCOL: getsockopt(SOL_SOCKET, SO_PROTOCOL) is NOT rewritten: it
 * reports the truth (253), as mptcpize's library reports IPPROTO_MPTCP.  None
 * of the programs tried (curl, python3 http.server, nginx, iperf3, OpenSSH's
 * ssh and sshd, redis-server, redis-cli, redis-benchmark) asks for it; a
 * program that does and insists on 6 can be given ESTPIZE_SO_PROTOCOL_TCP=1,
 * which makes getsockopt(SO_PROTOCOL) report IPPROTO_TCP for every socket
 * whose protocol is ESTP's (accepted ones included).
 */
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ESTPIZE_DEFAULT_PROTO	253

typedef int (*socket_fn)(int, int, int);
typedef int (*getsockopt_fn)(int, int, int, void *, socklen_t *);

static socket_fn real_socket;
static getsockopt_fn real_getsockopt;
static int estp_proto = ESTPIZE_DEFAULT_PROTO;
static int strict;
static int quiet;
static int fake_so_protocol;
static int warned;

/* the system calls themselves, should dlsym() find no next definition */
static int sys_socket(int family, int type, int protocol)
{
	return (int)syscall(SYS_socket, family, type, protocol);
}

static int sys_getsockopt(int fd, int level, int name, void *val,
			  socklen_t *len)
{
	return (int)syscall(SYS_getsockopt, fd, level, name, val, len);
}

static int env_flag(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0") != 0;
}

__attribute__((constructor))
static void estpize_init(void)
{
	const char *p = getenv("ESTP_PROTO");
	char *end;
	long v;

	if (!real_socket)
		real_socket = (socket_fn)dlsym(RTLD_NEXT, "socket");
	if (!real_getsockopt)
		real_getsockopt = (getsockopt_fn)dlsym(RTLD_NEXT, "getsockopt");
	if (p && *p) {
		v = strtol(p, &end, 0);
		if (*end == '\0' && v > 0 && v < 256)
			estp_proto = (int)v;
	}
	strict = env_flag("ESTPIZE_STRICT");
	quiet = env_flag("ESTPIZE_QUIET");
	fake_so_protocol = env_flag("ESTPIZE_SO_PROTOCOL_TCP");
}

static int is_tcp_request(int family, int type, int protocol)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);

	return (family == AF_INET || family == AF_INET6) &&
	       base == SOCK_STREAM &&
	       (protocol == 0 || protocol == IPPROTO_TCP);
}

int socket(int family, int type, int protocol)
{
	int fd, err;

	if (!real_socket)	/* called before the constructor */
		real_socket = (socket_fn)dlsym(RTLD_NEXT, "socket");
	if (!real_socket)
		real_socket = sys_socket;
	if (!is_tcp_request(family, type, protocol))
		return real_socket(family, type, protocol);

	fd = real_socket(family, type, estp_proto);
	if (fd >= 0)
		return fd;
	err = errno;
	if (strict || (err != EPROTONOSUPPORT && err != ESOCKTNOSUPPORT &&
		       err != EAFNOSUPPORT)) {
		errno = err;
		return -1;
	}
	if (!quiet && !warned) {
		warned = 1;
		fprintf(stderr,
			"estpize: protocol %d not available (%s), using TCP\n",
			estp_proto, strerror(err));
	}
	return real_socket(family, type, protocol);
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int ret;

	if (!real_getsockopt)
		real_getsockopt = (getsockopt_fn)dlsym(RTLD_NEXT, "getsockopt");
	if (!real_getsockopt)
		real_getsockopt = sys_getsockopt;
	ret = real_getsockopt(fd, level, name, val, len);
	if (ret == 0 && fake_so_protocol && level == SOL_SOCKET &&
	    name == SO_PROTOCOL && val && len && *len >= sizeof(int) &&
	    *(int *)val == estp_proto)
		*(int *)val = IPPROTO_TCP;
	return ret;
}
