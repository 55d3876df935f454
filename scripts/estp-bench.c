// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark, one protocol and one mode a run; scripts/bench runs it for TCP
 * and ESTP and compares.  Server and client are threads of one process, so
 * that both protocols see the same scheduling.
 *
 *   estp-bench [OPTIONS] MODE tcp|estp SECONDS
 *
 *   stream  CONNS connections (-c, default 1) write to the server for
 *           SECONDS; MB/s (10^6 bytes) the server read, and the CPU time
 *           the whole system spent a GB (/proc/stat: user, system, irq
 *           and softirq of every CPU, so the receiver and softirqs count)
 *   rr      1-byte request/response on one connection: round trips/s and
 *           the 50th, 99th and 99.9th percentile of their latency
 *   crr     connect, request, response, close by abort (SO_LINGER 0: no
 *           TIME_WAIT on either side; the server closes after its
 *           response): connections/s
 *   crrtw   the same with a normal close, the client's first: each
 *           connection ends in TIME_WAIT on the client
 *   focrr   crrtw with the request in a Fast Open SYN (net.*.fastopen 0x3)
 *   conns   COUNT (in place of SECONDS) connections open at once over
 *           loopback, from 127.0.0.2 and up (50000 source ports each) to
 *           one listener served by epoll: connections/s to open them all,
 *           the kernel memory each takes (MemAvailable's drop and Slab's
 *           growth over COUNT, both ends and their files together), and
 *           connections/s to close them all by abort.  Needs fs.nr_open
 *           and net.core.somaxconn above 2 x COUNT and 65535.
 *
 *   -c N        stream's connections (1-64)
 *   -a ADDR     the server's IPv4 address (default 127.0.0.1)
 *   -S NETNS    the server's threads in the network namespace at this path
 *   -C NETNS    the client's threads in this one (a veth pair between them)
 *
 * Prints one line a metric, "METRIC PROTO VALUE UNIT (details)": the mode's
 * own first, then stream's "stream-cpu" (s/GB) and rr's "rr-p50", "rr-p99"
 * and "rr-p999" (us), conns' "conns-mem", "conns-slab" (bytes a connection)
 * and "conns-close" (connections/s).  ESTP is IP protocol 253, or $ESTP_IPPROTO.  Any
 * failed call ends the run with a message and exit 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The kernel's spellings, which checkpatch asks for. */
#define __noreturn	__attribute__((noreturn))
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define ESTP_IPPROTO_DEFAULT	253
#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN		0x20000000
#endif
#define CHUNK			(64 << 10)
#define MAX_CONNS		64
/* rr's latencies: one a round trip, the rest uncounted past this many. */
#define MAX_SAMPLES		(1 << 22)

enum mode { STREAM, RR, CRR, CRRTW, FOCRR, CONNS };

static enum mode mode;
static const char *mode_name;
static int proto, conns = 1;
static unsigned long conns_n;		/* conns: how many */
static int *conns_srv;			/* conns: the accepted fds */
static pthread_t srv_thr;
static double secs;
static struct sockaddr_in srv_addr;
static const char *srv_ns, *cli_ns;

static __noreturn __printf(1, 2) void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("estp-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	/* From any thread: the whole run is void. */
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

static const char *proto_name(void)
{
	return proto == IPPROTO_TCP ? "tcp" : "estp";
}

/* setns() moves only the calling thread: each side enters its own. */
static void enter_netns(const char *path)
{
	int fd;

	if (!path)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("%s: %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET))
		die("setns");
	close(fd);
}

/* Busy CPU time of the whole system, in seconds (/proc/stat's "cpu" line). */
static double cpu_busy(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		die("/proc/stat");
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		fail("/proc/stat: no cpu line");
	/* user nice system [idle iowait] irq softirq steal */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / sysconf(_SC_CLK_TCK);
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

static void *xmalloc(size_t len)
{
	void *p = malloc(len);

	if (!p)
		fail("out of memory");
	return p;
}

static pthread_t spawn(void *(*fn)(void *), void *arg)
{
	pthread_t thr;
	int err = pthread_create(&thr, NULL, fn, arg);

	if (err)
		fail("pthread_create: %s", strerror(err));
	return thr;
}

static void join(pthread_t thr)
{
	int err = pthread_join(thr, NULL);

	if (err)
		fail("pthread_join: %s", strerror(err));
}

/* One accepted stream: read to EOF, send back the count for the client. */
static void *serve_stream_conn(void *arg)
{
	int fd = *(int *)arg;
	uint64_t total = 0;
	char *buf = xmalloc(CHUNK);
	ssize_t n;

	while ((n = read(fd, buf, CHUNK)) > 0)
		total += n;
	if (n < 0)
		die("read");
	write_all(fd, &total, sizeof(total));
	close_fd(fd);
	free(buf);
	return NULL;
}

static void serve_stream(int lfd)
{
	pthread_t thr[MAX_CONNS];
	int fd[MAX_CONNS], i;

	for (i = 0; i < conns; i++) {
		fd[i] = accept_one(lfd);
		thr[i] = spawn(serve_stream_conn, &fd[i]);
	}
	for (i = 0; i < conns; i++)
		join(thr[i]);
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
 * One connection per request; a 'q' request is the client's last.  crrtw
 * and focrr: after the response the server waits for the client's FIN, so
 * that the client closes first and keeps the TIME_WAIT.  crr: the server
 * closes at once, as the client's abort (a RST, which is never sent again)
 * may be lost on a lossy path, and a server waiting for it would wait for
 * ever.
 */
static void serve_crr(int lfd)
{
	char req = 0, more;

	while (req != 'q') {
		int fd = accept_one(lfd);
		ssize_t n;

		read_all(fd, &req, 1);
		write_all(fd, &req, 1);
		if (mode == CRR) {
			close_fd(fd);
			continue;
		}
		n = read(fd, &more, 1);
		if (n < 0 && errno != ECONNRESET)
			die("read");
		if (n > 0)
			fail("%s: the client sent more than its request", mode_name);
		close_fd(fd);
	}
}

/* Accepts conns_n connections, epoll telling when the listener has some. */
static void serve_conns(int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned long got = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		die("epoll_create1");
	if (fcntl(lfd, F_SETFL, O_NONBLOCK) || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev))
		die("epoll_ctl");
	while (got < conns_n) {
		if (epoll_wait(ep, &ev, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		while (got < conns_n) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd < 0) {
				if (errno == EAGAIN)
					break;
				die("accept4");
			}
			conns_srv[got++] = fd;
		}
	}
	close_fd(ep);
}

/* The listener is made in the server's namespace, then handed over. */
static int srv_lfd = -1;
static pthread_mutex_t srv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t srv_ready = PTHREAD_COND_INITIALIZER;

static void *server(void *arg)
{
	socklen_t alen = sizeof(srv_addr);
	int lfd;

	(void)arg;
	enter_netns(srv_ns);
	lfd = new_socket();
	/* Port 0: the kernel picks a free one, so runs never collide. */
	if (bind(lfd, (struct sockaddr *)&srv_addr, sizeof(srv_addr)))
		die("bind");
	if (getsockname(lfd, (struct sockaddr *)&srv_addr, &alen))
		die("getsockname");
	if (mode == FOCRR)
		set_int(lfd, SOL_TCP, TCP_FASTOPEN, 128, "setsockopt(TCP_FASTOPEN)");
	/* Listening before the client starts: no connect can be refused. */
	if (listen(lfd, mode == CONNS ? 65535 : 128))
		die("listen");
	pthread_mutex_lock(&srv_lock);
	srv_lfd = lfd;
	pthread_cond_signal(&srv_ready);
	pthread_mutex_unlock(&srv_lock);

	switch (mode) {
	case STREAM:
		serve_stream(lfd);
		break;
	case RR:
		serve_rr(lfd);
		break;
	case CRR:
	case CRRTW:
	case FOCRR:
		serve_crr(lfd);
		break;
	case CONNS:
		serve_conns(lfd);
		break;
	}
	close_fd(lfd);
	return NULL;
}

static int connect_srv(void)
{
	int fd = new_socket();

	if (connect(fd, (struct sockaddr *)&srv_addr, sizeof(srv_addr)))
		die("connect");
	return fd;
}

struct stream_conn {
	int fd;
	double end;		/* when to stop writing */
	uint64_t sent, got;	/* written; what the server says it read */
	double done;		/* when the server's count came back */
};

static void *stream_client(void *arg)
{
	struct stream_conn *c = arg;
	char *buf = xmalloc(CHUNK);

	memset(buf, 0x5a, CHUNK);
	while (now() < c->end) {
		write_all(c->fd, buf, CHUNK);
		c->sent += CHUNK;
	}
	if (shutdown(c->fd, SHUT_WR))
		die("shutdown");
	/* The server's count: all of it has been read, not just queued. */
	read_all(c->fd, &c->got, sizeof(c->got));
	c->done = now();
	close_fd(c->fd);
	free(buf);
	return NULL;
}

static void run_stream(void)
{
	struct stream_conn c[MAX_CONNS] = { 0 };
	pthread_t thr[MAX_CONNS];
	uint64_t total = 0;
	double t0, cpu0, dt, cpu, last = 0;
	int i;

	for (i = 0; i < conns; i++)
		c[i].fd = connect_srv();
	cpu0 = cpu_busy();
	t0 = now();
	for (i = 0; i < conns; i++) {
		c[i].end = t0 + secs;
		thr[i] = spawn(stream_client, &c[i]);
	}
	for (i = 0; i < conns; i++) {
		join(thr[i]);
		if (c[i].got != c[i].sent)
			fail("stream: the server read %llu bytes of %llu",
			     (unsigned long long)c[i].got, (unsigned long long)c[i].sent);
		total += c[i].got;
		if (c[i].done > last)
			last = c[i].done;
	}
	cpu = cpu_busy() - cpu0;
	dt = last - t0;
	printf("stream %s %.1f MB/s (%d connection(s), %llu bytes in %.3f s)\n",
	       proto_name(), total / dt / 1e6, conns, (unsigned long long)total, dt);
	printf("stream-cpu %s %.2f s/GB (%.2f s of CPU busy for %llu bytes)\n",
	       proto_name(), cpu / (total / 1e9), cpu, (unsigned long long)total);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile (0-100) of n sorted values, nearest rank. */
static double percentile(const double *v, unsigned long n, double p)
{
	unsigned long rank = (unsigned long)(p / 100 * n + 0.999999);

	if (rank < 1)
		rank = 1;
	return v[rank > n ? n - 1 : rank - 1];
}

static void run_rr(void)
{
	double *lat = xmalloc(MAX_SAMPLES * sizeof(*lat));
	int fd = connect_srv();
	double t0, end, t, prev;
	unsigned long n = 0, kept;
	char c = 'r';

	set_int(fd, SOL_TCP, TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)");
	t0 = now();
	end = t0 + secs;
	prev = t0;
	do {
		write_all(fd, &c, 1);
		read_all(fd, &c, 1);
		t = now();
		if (n < MAX_SAMPLES)
			lat[n] = t - prev;
		prev = t;
		n++;
	} while (t < end);
	close_fd(fd);
	kept = n < MAX_SAMPLES ? n : MAX_SAMPLES;
	qsort(lat, kept, sizeof(*lat), cmp_double);
	printf("rr %s %.1f round-trips/s (%lu in %.3f s)\n", proto_name(), n / (t - t0), n, t - t0);
	printf("rr-p50 %s %.1f us\n", proto_name(), percentile(lat, kept, 50) * 1e6);
	printf("rr-p99 %s %.1f us\n", proto_name(), percentile(lat, kept, 99) * 1e6);
	printf("rr-p999 %s %.1f us\n", proto_name(), percentile(lat, kept, 99.9) * 1e6);
	free(lat);
}

/*
 * crr closes with SO_LINGER {1, 0}: a RST, so no side keeps a TIME_WAIT.
 * crrtw and focrr close normally: the client, which closes first, keeps
 * its 4-tuple in TIME_WAIT for 60 s; a run of SECONDS at a few thousand
 * connections a second stays well inside ip_local_port_range.
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
		fail("%s: response '%c' to request '%c'", mode_name, c, req);
	if (mode == CRR && setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		die("setsockopt(SO_LINGER)");
	close_fd(fd);
}

static void run_crr(void)
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
	printf("%s %s %.1f connections/s (%lu in %.3f s)\n", mode_name, proto_name(),
	       n / (t - t0), n, t - t0);
}

/* A /proc/meminfo field, in bytes. */
static double mem_field(const char *field)
{
	FILE *f = fopen("/proc/meminfo", "r");
	size_t len = strlen(field);
	unsigned long long kb;
	char line[256];

	if (!f)
		die("/proc/meminfo");
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, len) && line[len] == ':' &&
		    sscanf(line + len + 1, "%llu", &kb) == 1) {
			fclose(f);
			return kb * 1024.0;
		}
	}
	fclose(f);
	fail("/proc/meminfo: no %s", field);
}

/*
 * Each client socket binds its own source: 127.0.0.2 and up, ports 10000 to
 * 59999, so that no two need the kernel's choice of a port, which would run
 * out long before COUNT.  The server's ends share the listener's port.
 */
/*
 * Waits (at most 5 minutes) until Slab and MemAvailable hold still: the
 * sockets of a run before this one go back to the slabs through RCU and
 * deferred fput() for many seconds after their close() returned, and the
 * first conns run on 500000 connections saw ESTP's "Slab up" 326 MiB while
 * TCP's sockets were still being freed.  Not a synchronisation: a
 * benchmark's baseline.
 */
static void mem_settle(void)
{
	double slab = mem_field("Slab"), avail = mem_field("MemAvailable"), s, a;
	int still = 0, i;

	for (i = 0; i < 300 && still < 3; i++) {
		sleep(1);
		s = mem_field("Slab");
		a = mem_field("MemAvailable");
		still = fabs(s - slab) < (1 << 20) && fabs(a - avail) < (4 << 20) ? still + 1 : 0;
		slab = s;
		avail = a;
	}
	if (still < 3)
		fprintf(stderr, "conns: memory still moving after %d s\n", i);
}

static void run_conns(void)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct rlimit rl;
	double avail0, slab0, avail, slab, t0, t1, t2;
	unsigned long i;
	int *cli;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit");
	/* Raised only as far as needed: the hard limit only by root. */
	if (rl.rlim_cur < 2 * conns_n + 64) {
		rl.rlim_cur = 2 * conns_n + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			die("setrlimit(RLIMIT_NOFILE): is fs.nr_open above 2 x COUNT?");
	}
	cli = xmalloc(conns_n * sizeof(*cli));
	mem_settle();
	avail0 = mem_field("MemAvailable");
	slab0 = mem_field("Slab");
	t0 = now();
	for (i = 0; i < conns_n; i++) {
		struct sockaddr_in src = {
			.sin_family = AF_INET,
			.sin_port = htons(10000 + i % 50000),
			.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + i / 50000),
		};

		cli[i] = new_socket();
		if (bind(cli[i], (struct sockaddr *)&src, sizeof(src)))
			die("bind");
		if (connect(cli[i], (struct sockaddr *)&srv_addr, sizeof(srv_addr)))
			die("connect");
	}
	/* Every connection accepted too: the server thread has them all. */
	join(srv_thr);
	t1 = now();
	printf("conns %s %.1f connections/s (%lu open in %.3f s)\n", proto_name(),
	       conns_n / (t1 - t0), conns_n, t1 - t0);
	avail = avail0 - mem_field("MemAvailable");
	slab = mem_field("Slab") - slab0;
	printf("conns-mem %s %.0f bytes (MemAvailable down %.0f MiB for %lu connections)\n",
	       proto_name(), avail / conns_n, avail / (1 << 20), conns_n);
	printf("conns-slab %s %.0f bytes (Slab up %.0f MiB for %lu connections)\n",
	       proto_name(), slab / conns_n, slab / (1 << 20), conns_n);
	t1 = now();
	for (i = 0; i < conns_n; i++) {
		if (setsockopt(cli[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
			die("setsockopt(SO_LINGER)");
		close_fd(cli[i]);
		close_fd(conns_srv[i]);
	}
	t2 = now();
	printf("conns-close %s %.1f connections/s (%lu closed in %.3f s)\n", proto_name(),
	       conns_n / (t2 - t1), conns_n, t2 - t1);
	free(cli);
	free(conns_srv);
}

static __noreturn void bad_args(void)
{
	fail("usage: estp-bench [-c CONNS] [-a ADDR] [-S NETNS] [-C NETNS]\n"
	     "         stream|rr|crr|crrtw|focrr tcp|estp SECONDS, or conns tcp|estp COUNT");
}

int main(int argc, char **argv)
{
	static const char *const names[] = {
		[STREAM] = "stream", [RR] = "rr", [CRR] = "crr", [CRRTW] = "crrtw",
		[FOCRR] = "focrr", [CONNS] = "conns",
	};
	const char *env, *addr = "127.0.0.1";
	unsigned int m;
	char *end;
	int opt;

	while ((opt = getopt(argc, argv, "c:a:S:C:")) != -1) {
		switch (opt) {
		case 'c':
			conns = strtol(optarg, &end, 10);
			if (*end || conns < 1 || conns > MAX_CONNS)
				fail("-c %s: 1 to %d connections", optarg, MAX_CONNS);
			break;
		case 'a':
			addr = optarg;
			break;
		case 'S':
			srv_ns = optarg;
			break;
		case 'C':
			cli_ns = optarg;
			break;
		default:
			bad_args();
		}
	}
	if (argc - optind != 3)
		bad_args();
	for (m = 0; m < ARRAY_SIZE(names); m++)
		if (!strcmp(argv[optind], names[m]))
			break;
	if (m == ARRAY_SIZE(names))
		bad_args();
	mode = m;
	mode_name = names[m];
	if (conns > 1 && mode != STREAM)
		fail("-c: stream only");
	if (!strcmp(argv[optind + 1], "tcp")) {
		proto = IPPROTO_TCP;
	} else if (!strcmp(argv[optind + 1], "estp")) {
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
	if (mode == CONNS) {
		conns_n = strtoul(argv[optind + 2], &end, 10);
		if (*end || !conns_n || conns_n > 50000UL * 200)
			fail("%s: COUNT must be 1 to 10000000", argv[optind + 2]);
		conns_srv = xmalloc(conns_n * sizeof(*conns_srv));
	} else {
		secs = strtod(argv[optind + 2], &end);
		if (*end || !(secs > 0) || secs > 1e6)
			fail("%s: SECONDS must be a number > 0", argv[optind + 2]);
	}
	srv_addr.sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &srv_addr.sin_addr) != 1)
		fail("-a %s: not an IPv4 address", addr);

	/* A peer's RST must end a write with EPIPE and a message, not a signal. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("signal");

	srv_thr = spawn(server, NULL);
	pthread_mutex_lock(&srv_lock);
	while (srv_lfd < 0)
		pthread_cond_wait(&srv_ready, &srv_lock);
	pthread_mutex_unlock(&srv_lock);
	/* The client's threads inherit this thread's namespace. */
	enter_netns(cli_ns);

	switch (mode) {
	case STREAM:
		run_stream();
		break;
	case RR:
		run_rr();
		break;
	case CRR:
	case CRRTW:
	case FOCRR:
		run_crr();
		break;
	case CONNS:
		run_conns();	/* joins the server itself */
		return 0;
	}
	join(srv_thr);
	return 0;
}
