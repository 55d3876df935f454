// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback benchmark, one protocol and one mode a run; scripts/bench runs it
 * for TCP and ESTP and compares.  Server and client are two threads of one
 * process over 127.0.0.1, so that both protocols see the same scheduling.
 *
 *   estp-bench stream tcp|estp MIB   one connection, MIB MiB client -> server
 *   estp-bench rr tcp|estp SECONDS   1-byte request/response on one connection
 *   estp-bench crr tcp|estp SECONDS  connect, request, response, close
 *   estp-bench focrr tcp|estp SECONDS  crr with the request in a Fast Open
 *                                    SYN (net.*.fastopen with bits 0x3)
 *
 * Prints one line, "MODE PROTO VALUE UNIT (details)", VALUE being MB/s
 * (10^6 bytes), round trips/s or connections/s.  ESTP is IP protocol 253,
 * or $ESTP_IPPROTO.  Any failed call ends the run with a message and exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The kernel's spellings, which checkpatch asks for. */
#define __noreturn	__attribute__((noreturn))
#define __printf(a, b)	__attribute__((format(printf, a, b)))

#define ESTP_IPPROTO_DEFAULT	253
#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN		0x20000000
#endif
#define CHUNK			(64 << 10)

enum mode { STREAM, RR, CRR, FOCRR };

static enum mode mode;
static int proto;
static struct sockaddr_in srv_addr;

static __noreturn __printf(1, 2) void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("estp-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	/* From either thread: the whole run is void. */
	exit(1);
}

/* A failed system call: its name and errno's text. */
static __noreturn void die(const char *call)
{
	fail("%s: %s", call, strerror(errno));
}

static double now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		die("clock_gettime");
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int new_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, proto);

	if (fd < 0)
		die("socket");
	return fd;
}

static void set_int(int fd, int level, int opt, int val, const char *name)
{
	if (setsockopt(fd, level, opt, &val, sizeof(val)))
		die(name);
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0)
			die("write");
		p += n;
		len -= n;
	}
}

/* Exactly len bytes; an early EOF is an error too. */
static void read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0)
			die("read");
		if (!n)
			fail("read: unexpected EOF, %zu bytes missing", len);
		p += n;
		len -= n;
	}
}

static void close_fd(int fd)
{
	if (close(fd))
		die("close");
}

static int accept_one(int lfd)
{
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		die("accept");
	return fd;
}

/* Reads to EOF, then sends back the byte count for the client to check. */
static void serve_stream(int lfd)
{
	int fd = accept_one(lfd);
	uint64_t total = 0;
	char *buf;
	ssize_t n;

	buf = malloc(CHUNK);
	if (!buf)
		fail("out of memory");
	while ((n = read(fd, buf, CHUNK)) > 0)
		total += n;
	if (n < 0)
		die("read");
	write_all(fd, &total, sizeof(total));
	close_fd(fd);
	free(buf);
}

/* Echoes single bytes until the client's EOF. */
static void serve_rr(int lfd)
{
	int fd = accept_one(lfd);
	ssize_t n;
	char c;

	set_int(fd, SOL_TCP, TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)");
	while ((n = read(fd, &c, 1)) > 0)
		write_all(fd, &c, 1);
	if (n < 0)
		die("read");
	close_fd(fd);
}

/*
 * One connection per request; a 'q' request is the client's last.  After
 * the response the server waits for the client to go, so that it is the
 * client that closes: its abort (see run_crr()) reads as ECONNRESET here,
 * which is the expected end, as is a plain EOF.
 */
static void serve_crr(int lfd)
{
	char req = 0, more;

	while (req != 'q') {
		int fd = accept_one(lfd);
		ssize_t n;

		read_all(fd, &req, 1);
		write_all(fd, &req, 1);
		n = read(fd, &more, 1);
		if (n < 0 && errno != ECONNRESET)
			die("read");
		if (n > 0)
			fail("crr: the client sent more than its request");
		close_fd(fd);
	}
}

static void *server(void *arg)
{
	int lfd = *(int *)arg;

	switch (mode) {
	case STREAM:
		serve_stream(lfd);
		break;
	case RR:
		serve_rr(lfd);
		break;
	case CRR:
	case FOCRR:
		serve_crr(lfd);
		break;
	}
	return NULL;
}

static int connect_srv(void)
{
	int fd = new_socket();

	if (connect(fd, (struct sockaddr *)&srv_addr, sizeof(srv_addr)))
		die("connect");
	return fd;
}

static void run_stream(double mib)
{
	uint64_t len = (uint64_t)mib << 20, left, got;
	int fd = connect_srv();
	double t0, dt;
	char *buf;

	buf = malloc(CHUNK);
	if (!buf)
		fail("out of memory");
	memset(buf, 0x5a, CHUNK);
	t0 = now();
	for (left = len; left; left -= left < CHUNK ? left : CHUNK)
		write_all(fd, buf, left < CHUNK ? left : CHUNK);
	if (shutdown(fd, SHUT_WR))
		die("shutdown");
	/* The server's count: all of it has been read, not just queued. */
	read_all(fd, &got, sizeof(got));
	dt = now() - t0;
	if (got != len)
		fail("stream: the server read %llu bytes of %llu",
		     (unsigned long long)got, (unsigned long long)len);
	close_fd(fd);
	free(buf);
	printf("stream %s %.1f MB/s (%llu bytes in %.3f s)\n",
	       proto == IPPROTO_TCP ? "tcp" : "estp", len / dt / 1e6,
	       (unsigned long long)len, dt);
}

static void run_rr(double secs)
{
	int fd = connect_srv();
	double t0, end, t;
	unsigned long n = 0;
	char c = 'r';

	set_int(fd, SOL_TCP, TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)");
	t0 = now();
	end = t0 + secs;
	do {
		write_all(fd, &c, 1);
		read_all(fd, &c, 1);
		n++;
		t = now();
	} while (t < end);
	close_fd(fd);
	printf("rr %s %.1f round-trips/s (%lu in %.3f s)\n",
	       proto == IPPROTO_TCP ? "tcp" : "estp", n / (t - t0), n, t - t0);
}

/*
 * Each connection is closed by the client with SO_LINGER {1, 0}: a RST, so
 * no side keeps a TIME_WAIT.  A normal close would leave the client's
 * 4-tuple in TIME_WAIT for 60 s: TCP reuses those on loopback
 * (net.ipv4.tcp_tw_reuse = 2) but ESTP has no tw_reuse, so ESTP alone would
 * run through ip_local_port_range's ~28000 ports in some rounds and then
 * fail or crawl; binding rotating ports would meet the same TIME_WAITs.
 */
static void crr_once(char req)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd;
	char c = req;

	/* focrr: connect and request in one call, the SYN carrying it. */
	if (mode == FOCRR) {
		fd = new_socket();
		if (sendto(fd, &c, 1, MSG_FASTOPEN, (struct sockaddr *)&srv_addr,
			   sizeof(srv_addr)) != 1)
			die("sendto(MSG_FASTOPEN)");
	} else {
		fd = connect_srv();
		write_all(fd, &c, 1);
	}
	read_all(fd, &c, 1);
	if (c != req)
		fail("crr: response '%c' to request '%c'", c, req);
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		die("setsockopt(SO_LINGER)");
	close_fd(fd);
}

static void run_crr(double secs)
{
	double t0, end, t;
	unsigned long n = 0;

	/* Not counted: focrr's first connection asks for the cookie. */
	if (mode == FOCRR)
		crr_once('r');
	t0 = now();
	end = t0 + secs;
	do {
		crr_once('r');
		n++;
		t = now();
	} while (t < end);
	crr_once('q');		/* not counted: ends the server */
	printf("%s %s %.1f connections/s (%lu in %.3f s)\n", mode == FOCRR ? "focrr" : "crr",
	       proto == IPPROTO_TCP ? "tcp" : "estp", n / (t - t0), n, t - t0);
}

static __noreturn void bad_args(void)
{
	fail("usage: estp-bench stream|rr|crr|focrr tcp|estp MIB|SECONDS");
}

int main(int argc, char **argv)
{
	socklen_t alen = sizeof(srv_addr);
	const char *env;
	pthread_t thr;
	double arg;
	char *end;
	int lfd, err;

	if (argc != 4)
		bad_args();
	if (!strcmp(argv[1], "stream"))
		mode = STREAM;
	else if (!strcmp(argv[1], "rr"))
		mode = RR;
	else if (!strcmp(argv[1], "crr"))
		mode = CRR;
	else if (!strcmp(argv[1], "focrr"))
		mode = FOCRR;
	else
		bad_args();
	if (!strcmp(argv[2], "tcp")) {
		proto = IPPROTO_TCP;
	} else if (!strcmp(argv[2], "estp")) {
		proto = ESTP_IPPROTO_DEFAULT;
		env = getenv("ESTP_IPPROTO");
		if (env && *env) {
			proto = strtol(env, &end, 10);
			if (*end || proto <= 0 || proto > 255)
				fail("ESTP_IPPROTO=%s: not a protocol number", env);
		}
	} else {
		bad_args();
	}
	arg = strtod(argv[3], &end);
	if (*end || !(arg > 0) || arg > 1e6 || (mode == STREAM && arg != (uint64_t)arg))
		fail("%s: MIB must be a whole number, SECONDS a number, > 0", argv[3]);

	/* A peer's RST must end a write with EPIPE and a message, not a signal. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal");

	/* Port 0: the kernel picks a free one, so runs never collide. */
	srv_addr.sin_family = AF_INET;
	srv_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = new_socket();
	if (bind(lfd, (struct sockaddr *)&srv_addr, sizeof(srv_addr)))
		die("bind");
	if (getsockname(lfd, (struct sockaddr *)&srv_addr, &alen))
		die("getsockname");
	/* Listening before the client starts: no connect can be refused. */
	if (listen(lfd, 128))
		die("listen");
	if (mode == FOCRR)
		set_int(lfd, SOL_TCP, TCP_FASTOPEN, 128, "setsockopt(TCP_FASTOPEN)");

	err = pthread_create(&thr, NULL, server, &lfd);
	if (err)
		fail("pthread_create: %s", strerror(err));
	switch (mode) {
	case STREAM:
		run_stream(arg);
		break;
	case RR:
		run_rr(arg);
		break;
	case CRR:
	case FOCRR:
		run_crr(arg);
		break;
	}
	err = pthread_join(thr, NULL);
	if (err)
		fail("pthread_join: %s", strerror(err));
	close_fd(lfd);
	return 0;
}
