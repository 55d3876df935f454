// SPDX-License-Identifier: GPL-2.0
/*
 * Socket options: every option ESTP accepts at SOL_TCP (and, for ESTP, at
 * SOL_ESTP) round-trips through setsockopt()/getsockopt(), with TCP's
 * defaults, ranges, caps and errors for bad values and lengths; so do the
 * SOL_SOCKET options a stream socket uses (SO_LINGER, SO_SNDTIMEO,
 * SO_RCVTIMEO, SO_RCVLOWAT), and do what they say on a connection:
 * recv() and send() give up with EAGAIN after their timeouts, connect()
 * after SO_SNDTIMEO with EINPROGRESS, and a receive low-water mark holds
 * back recv(), poll() and the buffer's size as TCP's.  TCP is the
 * specification: every TEST_F runs for TCP and ESTP as fixture variants,
 * on IPv4, IPv6 and v4-mapped IPv6, and asserts what TCP does.
 */
#include <limits.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "kselftest_harness.h"
#include "estp_lib.h"

#ifndef SOL_TCP
#define SOL_TCP		IPPROTO_TCP
#endif

/* An option number neither TCP nor ESTP has. */
#define NO_SUCH_OPT	200

FIXTURE(sockopt)
{
	int fd;
	int levels[2];
	int nlevels;
};

FIXTURE_VARIANTS_FAMILIES(sockopt);

FIXTURE_SETUP(sockopt)
{
	self->fd = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, self->fd) TH_LOG("socket: %s", strerror(errno));
	self->levels[0] = SOL_TCP;
	self->nlevels = 1;
	if (variant->proto == IPPROTO_ESTP)
		self->levels[self->nlevels++] = SOL_ESTP;
}

FIXTURE_TEARDOWN(sockopt)
{
	close(self->fd);
}

/* setsockopt() of an int: 0 or errno. */
static int set_opt(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val)) ? errno : 0;
}

/* getsockopt() of an int into *@val: 0 or errno; the length must be an int's. */
static int get_opt(int fd, int level, int opt, int *val)
{
	socklen_t len = sizeof(*val);

	*val = INT_MIN;
	if (getsockopt(fd, level, opt, val, &len))
		return errno;
	return len == sizeof(*val) ? 0 : EMSGSIZE;
}

/* What a fresh socket reads, TCP's defaults (net.estp.* mirror net.ipv4.tcp_*). */
TEST_F(sockopt, defaults)
{
	static const struct { int opt; int val; } d[] = {
		{ ESTP_NODELAY, 0 },
		{ ESTP_MAXSEG, 536 },		/* TCP_MSS_DEFAULT */
		{ ESTP_CORK, 0 },
		{ ESTP_KEEPIDLE, 7200 },
		{ ESTP_KEEPINTVL, 75 },
		{ ESTP_KEEPCNT, 9 },
		{ ESTP_SYNCNT, 6 },
		{ ESTP_LINGER2, 60 },
		{ ESTP_QUICKACK, 1 },
		{ ESTP_USER_TIMEOUT, 0 },
	};
	char name[32] = "";
	socklen_t len = sizeof(name);
	int i, l, val;

	for (l = 0; l < self->nlevels; l++) {
		for (i = 0; i < (int)ARRAY_SIZE(d); i++) {
			EXPECT_EQ(0, get_opt(self->fd, self->levels[l], d[i].opt, &val));
			EXPECT_EQ(d[i].val, val) TH_LOG("level %d option %d",
							self->levels[l], d[i].opt);
		}
		/* TCP_CA_NAME_MAX bytes at most, NUL-terminated. */
		ASSERT_EQ(0, getsockopt(self->fd, self->levels[l], ESTP_CONGESTION, name, &len));
		EXPECT_EQ(16U, len);
		EXPECT_LT(0, (int)strlen(name));
		len = sizeof(name);
	}
}

/* Sets an int option to @set: @err from the set, @get read back after it. */
static void expect_set(struct __test_metadata *_metadata, int fd, int level, int opt,
		       int set, int err, int get)
{
	int val;

	EXPECT_EQ(err, set_opt(fd, level, opt, set))
		TH_LOG("level %d option %d set %d", level, opt, set);
	EXPECT_EQ(0, get_opt(fd, level, opt, &val));
	EXPECT_EQ(get, val)
		TH_LOG("level %d option %d after set %d", level, opt, set);
}

/*
 * Each int option through a sequence of sets: after each, either the value
 * read back or the errno of a rejected set, which leaves the value alone.
 */
TEST_F(sockopt, int_round_trip)
{
	static const struct { int opt; int set; int err; int get; } c[] = {
		{ ESTP_NODELAY, 1, 0, 1 },
		{ ESTP_NODELAY, 7, 0, 1 },
		{ ESTP_NODELAY, 0, 0, 0 },
		{ ESTP_NODELAY, -1, 0, 1 },
		{ ESTP_CORK, 1, 0, 1 },
		{ ESTP_CORK, 0, 0, 0 },
		{ ESTP_CORK, 42, 0, 1 },
		{ ESTP_CORK, 0, 0, 0 },
		{ ESTP_QUICKACK, 0, 0, 0 },
		{ ESTP_QUICKACK, 1, 0, 1 },
		{ ESTP_QUICKACK, 0, 0, 0 },
		{ ESTP_QUICKACK, 3, 0, 1 },
		/* TCP_MIN_MSS (88) to MAX_TCP_WINDOW (32767); 0 clears. */
		{ ESTP_MAXSEG, 1000, 0, 1000 },
		{ ESTP_MAXSEG, 87, EINVAL, 1000 },
		{ ESTP_MAXSEG, 32768, EINVAL, 1000 },
		{ ESTP_MAXSEG, -1, EINVAL, 1000 },
		{ ESTP_MAXSEG, 88, 0, 88 },
		{ ESTP_MAXSEG, 32767, 0, 32767 },
		{ ESTP_MAXSEG, 0, 0, 536 },
		{ ESTP_KEEPIDLE, 100, 0, 100 },		/* and r[] */
		{ ESTP_KEEPIDLE, 1, 0, 1 },
		{ ESTP_KEEPINTVL, 10, 0, 10 },		/* and r[] */
		{ ESTP_KEEPCNT, 5, 0, 5 },		/* and r[] */
		{ ESTP_SYNCNT, 3, 0, 3 },		/* and r[] */
		/* Negative: RST instead of FIN_WAIT2; capped at 120 s. */
		{ ESTP_LINGER2, 30, 0, 30 },
		{ ESTP_LINGER2, -5, 0, -1 },
		{ ESTP_LINGER2, 1000, 0, 120 },
		{ ESTP_LINGER2, 0, 0, 60 },
		{ ESTP_USER_TIMEOUT, 5000, 0, 5000 },
		{ ESTP_USER_TIMEOUT, -1, EINVAL, 5000 },
		{ ESTP_USER_TIMEOUT, INT_MAX, 0, INT_MAX },
		{ ESTP_USER_TIMEOUT, 0, 0, 0 },
	};
	/*
	 * Options that take @min to @max: right after c[]'s set of @opt to
	 * @set, min - 1 and max + 1 are EINVAL and leave @set, @max is taken.
	 */
	static const struct { int opt; int set; int min; int max; } r[] = {
		{ ESTP_KEEPIDLE, 100, 1, 32767 },
		{ ESTP_KEEPINTVL, 10, 1, 32767 },
		{ ESTP_KEEPCNT, 5, 1, 127 },
		{ ESTP_SYNCNT, 3, 1, 127 },
	};
	int i, j, l, lvl, fd;

	for (l = 0; l < self->nlevels; l++) {
		lvl = self->levels[l];
		/* A fresh socket a level: the values must not leak between them. */
		fd = estp_socket(variant->proto, variant->fam);
		ASSERT_LE(0, fd);
		for (i = 0; i < (int)ARRAY_SIZE(c); i++) {
			expect_set(_metadata, fd, lvl, c[i].opt, c[i].set, c[i].err, c[i].get);
			for (j = 0; j < (int)ARRAY_SIZE(r); j++) {
				if (r[j].opt != c[i].opt || r[j].set != c[i].set)
					continue;
				expect_set(_metadata, fd, lvl, r[j].opt, r[j].min - 1, EINVAL,
					   r[j].set);
				expect_set(_metadata, fd, lvl, r[j].opt, r[j].max + 1, EINVAL,
					   r[j].set);
				expect_set(_metadata, fd, lvl, r[j].opt, r[j].max, 0, r[j].max);
			}
		}
		close(fd);
	}
}

/* Set at one level, read at the other: SOL_TCP and SOL_ESTP are one set of options. */
TEST_F(sockopt, levels_alias)
{
	int val;

	if (self->nlevels < 2) {
		/* TCP has one level: set and read it back there. */
		ASSERT_EQ(0, set_opt(self->fd, SOL_TCP, ESTP_KEEPCNT, 4));
		EXPECT_EQ(0, get_opt(self->fd, SOL_TCP, ESTP_KEEPCNT, &val));
		EXPECT_EQ(4, val);
		return;
	}
	ASSERT_EQ(0, set_opt(self->fd, SOL_ESTP, ESTP_KEEPCNT, 4));
	EXPECT_EQ(0, get_opt(self->fd, SOL_TCP, ESTP_KEEPCNT, &val));
	EXPECT_EQ(4, val);
	ASSERT_EQ(0, set_opt(self->fd, SOL_TCP, ESTP_CORK, 1));
	EXPECT_EQ(0, get_opt(self->fd, SOL_ESTP, ESTP_CORK, &val));
	EXPECT_EQ(1, val);
	ASSERT_EQ(0, set_opt(self->fd, SOL_TCP, ESTP_USER_TIMEOUT, 1234));
	EXPECT_EQ(0, get_opt(self->fd, SOL_ESTP, ESTP_USER_TIMEOUT, &val));
	EXPECT_EQ(1234, val);
}

/*
 * Bad lengths and pointers of the int options: a set shorter than an int
 * is EINVAL, a bad pointer EFAULT; a get copies at most an int and says so
 * in the length, and a negative length is EINVAL.  An unknown option is ENOPROTOOPT both ways.
 */
TEST_F(sockopt, int_lengths)
{
	static const int opts[] = {
		ESTP_NODELAY, ESTP_MAXSEG, ESTP_CORK, ESTP_KEEPIDLE, ESTP_KEEPINTVL,
		ESTP_KEEPCNT, ESTP_SYNCNT, ESTP_LINGER2, ESTP_QUICKACK,
		ESTP_USER_TIMEOUT,
	};
	unsigned char buf[8];
	int i, l, lvl, val = 1;
	socklen_t len;

	for (l = 0; l < self->nlevels; l++) {
		lvl = self->levels[l];
		for (i = 0; i < (int)ARRAY_SIZE(opts); i++) {
			EXPECT_EQ(-1, setsockopt(self->fd, lvl, opts[i], &val, 3));
			EXPECT_EQ(EINVAL, errno) TH_LOG("level %d option %d", lvl, opts[i]);
			EXPECT_EQ(-1, setsockopt(self->fd, lvl, opts[i], &val, 0));
			EXPECT_EQ(EINVAL, errno) TH_LOG("level %d option %d", lvl, opts[i]);
			EXPECT_EQ(-1, setsockopt(self->fd, lvl, opts[i], NULL, sizeof(int)));
			EXPECT_EQ(EFAULT, errno) TH_LOG("level %d option %d", lvl, opts[i]);

			/* Longer than an int: an int, and the length says so. */
			len = sizeof(buf);
			EXPECT_EQ(0, getsockopt(self->fd, lvl, opts[i], buf, &len));
			EXPECT_EQ(sizeof(int), len) TH_LOG("level %d option %d", lvl, opts[i]);
			/* Shorter: that many bytes. */
			len = 2;
			EXPECT_EQ(0, getsockopt(self->fd, lvl, opts[i], buf, &len));
			EXPECT_EQ(2U, len) TH_LOG("level %d option %d", lvl, opts[i]);
			len = 0;
			EXPECT_EQ(0, getsockopt(self->fd, lvl, opts[i], buf, &len));
			EXPECT_EQ(0U, len);
			len = (socklen_t)-1;
			EXPECT_EQ(-1, getsockopt(self->fd, lvl, opts[i], buf, &len));
			EXPECT_EQ(EINVAL, errno) TH_LOG("level %d option %d", lvl, opts[i]);
			len = sizeof(int);
			EXPECT_EQ(-1, getsockopt(self->fd, lvl, opts[i], NULL, &len));
			EXPECT_EQ(EFAULT, errno) TH_LOG("level %d option %d", lvl, opts[i]);
		}
		EXPECT_EQ(ENOPROTOOPT, set_opt(self->fd, lvl, NO_SUCH_OPT, 1));
		len = sizeof(val);
		EXPECT_EQ(-1, getsockopt(self->fd, lvl, NO_SUCH_OPT, &val, &len));
		EXPECT_EQ(ENOPROTOOPT, errno);
	}
}

/*
 * ESTP_CONGESTION by name: a known algorithm round-trips, an unknown one is
 * ENOENT and changes nothing, an empty name EINVAL; a get copies at most
 * TCP_CA_NAME_MAX (16) bytes.
 */
TEST_F(sockopt, congestion)
{
	char name[32];
	socklen_t len;
	int l, lvl;

	for (l = 0; l < self->nlevels; l++) {
		lvl = self->levels[l];
		ASSERT_EQ(0, setsockopt(self->fd, lvl, ESTP_CONGESTION, "reno", 4));
		memset(name, 'x', sizeof(name));
		len = sizeof(name);
		ASSERT_EQ(0, getsockopt(self->fd, lvl, ESTP_CONGESTION, name, &len));
		EXPECT_EQ(16U, len);
		EXPECT_STREQ("reno", name);

		EXPECT_EQ(-1, setsockopt(self->fd, lvl, ESTP_CONGESTION, "no_such_cc", 10));
		EXPECT_EQ(ENOENT, errno);
		EXPECT_EQ(-1, setsockopt(self->fd, lvl, ESTP_CONGESTION, "reno", 0));
		EXPECT_EQ(EINVAL, errno);

		len = (socklen_t)-1;
		EXPECT_EQ(-1, getsockopt(self->fd, lvl, ESTP_CONGESTION, name, &len));
		EXPECT_EQ(EINVAL, errno);

		/* Short buffer: the first bytes only. */
		memset(name, 'x', sizeof(name));
		len = 2;
		ASSERT_EQ(0, getsockopt(self->fd, lvl, ESTP_CONGESTION, name, &len));
		EXPECT_EQ(2U, len);
		EXPECT_EQ(0, memcmp(name, "rex", 3));
	}
}

/* SO_LINGER round-trips; shorter than struct linger is EINVAL. */
TEST_F(sockopt, so_linger)
{
	struct linger l = { .l_onoff = 1, .l_linger = 5 }, r;
	socklen_t len = sizeof(r);

	ASSERT_EQ(0, setsockopt(self->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
	memset(&r, 0xff, sizeof(r));
	ASSERT_EQ(0, getsockopt(self->fd, SOL_SOCKET, SO_LINGER, &r, &len));
	EXPECT_EQ(sizeof(r), len);
	EXPECT_EQ(1, r.l_onoff);
	EXPECT_EQ(5, r.l_linger);

	l.l_onoff = 0;
	ASSERT_EQ(0, setsockopt(self->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
	len = sizeof(r);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_SOCKET, SO_LINGER, &r, &len));
	EXPECT_EQ(0, r.l_onoff);

	EXPECT_EQ(-1, setsockopt(self->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(int)));
	EXPECT_EQ(EINVAL, errno);
}

/* SO_SNDTIMEO and SO_RCVTIMEO round-trip; a short timeval is EINVAL. */
TEST_F(sockopt, so_timeouts)
{
	static const int opts[] = { SO_SNDTIMEO, SO_RCVTIMEO };
	struct timeval tv, r;
	socklen_t len;
	int i;

	for (i = 0; i < 2; i++) {
		tv.tv_sec = 3 + i;
		tv.tv_usec = 0;
		ASSERT_EQ(0, setsockopt(self->fd, SOL_SOCKET, opts[i], &tv, sizeof(tv)));
		len = sizeof(r);
		memset(&r, 0xff, sizeof(r));
		ASSERT_EQ(0, getsockopt(self->fd, SOL_SOCKET, opts[i], &r, &len));
		EXPECT_EQ(sizeof(r), len);
		EXPECT_EQ(3 + i, r.tv_sec);
		EXPECT_EQ(0, r.tv_usec);

		EXPECT_EQ(-1, setsockopt(self->fd, SOL_SOCKET, opts[i], &tv, sizeof(int)));
		EXPECT_EQ(EINVAL, errno);
		/* Microseconds out of range: EDOM. */
		tv.tv_sec = 0;
		tv.tv_usec = 1000000;
		EXPECT_EQ(-1, setsockopt(self->fd, SOL_SOCKET, opts[i], &tv, sizeof(tv)));
		EXPECT_EQ(EDOM, errno);
	}
}

/* The largest receive buffer the socket may grow to: net.*.rmem's max. */
static long rmem_max(int proto)
{
	const char *path = proto == IPPROTO_TCP ? "/proc/sys/net/ipv4/tcp_rmem" :
						  "/proc/sys/net/estp/rmem";
	char buf[128];
	long lo, def, hi;

	if (estp_sysctl_get(path, buf, sizeof(buf)) ||
	    sscanf(buf, "%ld %ld %ld", &lo, &def, &hi) != 3)
		return -1;
	return hi;
}

/*
 * SO_RCVLOWAT: round-trips; 0 reads as 1; negative means INT_MAX, capped
 * as TCP caps it at half the largest receive buffer (half SO_RCVBUF once
 * the user set that).
 */
TEST_F(sockopt, so_rcvlowat)
{
	long hi = rmem_max(variant->proto);
	int val;

	ASSERT_LT(0, hi);
	ASSERT_EQ(0, set_opt(self->fd, SOL_SOCKET, SO_RCVLOWAT, 100));
	EXPECT_EQ(0, get_opt(self->fd, SOL_SOCKET, SO_RCVLOWAT, &val));
	EXPECT_EQ(100, val);
	ASSERT_EQ(0, set_opt(self->fd, SOL_SOCKET, SO_RCVLOWAT, 0));
	EXPECT_EQ(0, get_opt(self->fd, SOL_SOCKET, SO_RCVLOWAT, &val));
	EXPECT_EQ(1, val);
	ASSERT_EQ(0, set_opt(self->fd, SOL_SOCKET, SO_RCVLOWAT, -1));
	EXPECT_EQ(0, get_opt(self->fd, SOL_SOCKET, SO_RCVLOWAT, &val));
	EXPECT_EQ(hi / 2, val);

	ASSERT_EQ(0, set_opt(self->fd, SOL_SOCKET, SO_RCVBUF, 65536));
	ASSERT_EQ(0, get_opt(self->fd, SOL_SOCKET, SO_RCVBUF, &val));
	ASSERT_EQ(0, set_opt(self->fd, SOL_SOCKET, SO_RCVLOWAT, INT_MAX));
	EXPECT_EQ(0, get_opt(self->fd, SOL_SOCKET, SO_RCVLOWAT, &val));
	EXPECT_EQ(65536, val);	/* half the doubled 64 KiB */
	EXPECT_EQ(-1, setsockopt(self->fd, SOL_SOCKET, SO_RCVLOWAT, &val, 2));
	EXPECT_EQ(EINVAL, errno);
}

/* ---- the SOL_SOCKET options on a connection ---- */

/* How long a timeout below is, and how much later than that TCG may be. */
#define TIMEO_MS	300
#define LATE_S		3.0

FIXTURE(conn)
{
	int lfd, cfd, afd;
	int fam;			/* enum estp_fam */
	struct sockaddr_storage addr;	/* the listener's */
	socklen_t alen;
};

FIXTURE_VARIANTS_FAMILIES(conn);

/*
 * In a netns of its own: a listener on 127.0.0.1 (::1, ::ffff:127.0.0.1; a port the kernel picks,
 * accept queue @backlog), without a connection yet.
 */
static void listen_on(struct __test_metadata *_metadata, FIXTURE_DATA(conn) *self,
		      int proto, int backlog)
{
	self->alen = estp_loopback(self->fam, 0, &self->addr);
	self->lfd = estp_socket(proto, self->fam);
	ASSERT_LE(0, self->lfd) TH_LOG("socket: %s", strerror(errno));
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&self->addr, self->alen));
	ASSERT_EQ(0, listen(self->lfd, backlog));
	ASSERT_EQ(0, getsockname(self->lfd, (struct sockaddr *)&self->addr, &self->alen));
}

/* cfd connected to the listener, afd accepted. */
static void connect_pair(struct __test_metadata *_metadata, FIXTURE_DATA(conn) *self,
			 int proto)
{
	listen_on(_metadata, self, proto, 4);
	self->cfd = estp_socket(proto, self->fam);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, connect(self->cfd, (struct sockaddr *)&self->addr, self->alen));
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
}

FIXTURE_SETUP(conn)
{
	self->lfd = self->cfd = self->afd = -1;
	self->fam = variant->fam;
	ASSERT_EQ(0, estp_netns_private());
}

FIXTURE_TEARDOWN(conn)
{
	estp_close_abort(&self->afd);
	estp_close_abort(&self->cfd);
	estp_close_abort(&self->lfd);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int set_timeo(int fd, int opt, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };

	return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)) ? errno : 0;
}

/* SIOCINQ of @fd once it is @want, waiting up to 2 s for segments on their way. */
static int wait_inq(int fd, int want)
{
	double end = now_s() + 2;
	int inq = -1;

	while ((ioctl(fd, SIOCINQ, &inq) || inq != want) && now_s() < end)
		usleep(2000);
	return inq;
}

/*
 * The elapsed time of a call that had to wait @ms: not before (timers do not
 * fire early; one jiffy of rounding), and not LATE_S later.
 */
#define EXPECT_WAITED(secs, ms) do {					\
	EXPECT_LE((ms) / 1000.0 - 0.01, (secs));			\
	EXPECT_GT((ms) / 1000.0 + LATE_S, (secs));			\
} while (0)

/*
 * SO_RCVTIMEO: a recv() with nothing to read fails with EAGAIN once the
 * time is up; one with MSG_WAITALL returns what came by then.
 */
TEST_F(conn, rcvtimeo_eagain)
{
	char buf[100];
	double t0, secs;
	ssize_t n;

	connect_pair(_metadata, self, variant->proto);
	ASSERT_EQ(0, set_timeo(self->afd, SO_RCVTIMEO, TIMEO_MS));
	t0 = now_s();
	n = recv(self->afd, buf, sizeof(buf), 0);
	secs = now_s() - t0;
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_WAITED(secs, TIMEO_MS);

	ASSERT_EQ(10, send(self->cfd, "0123456789", 10, 0));
	ASSERT_EQ(10, wait_inq(self->afd, 10));
	t0 = now_s();
	n = recv(self->afd, buf, sizeof(buf), MSG_WAITALL);
	secs = now_s() - t0;
	EXPECT_EQ(10, n);
	EXPECT_WAITED(secs, TIMEO_MS);
}

/*
 * SO_SNDTIMEO: with both buffers full (the reader does not read), a
 * blocking send() returns once the time is up: EAGAIN, or the bytes it took
 * if the receiver opened its window by a little meanwhile (window probes
 * may carry data; tcp_collapse() may make room), never all of them.
 */
TEST_F(conn, sndtimeo_eagain)
{
	static char buf[256 << 10];
	struct pollfd pfd;
	int fl, small = 16384;
	double t0, secs;
	ssize_t n;

	connect_pair(_metadata, self, variant->proto);
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)));
	fl = fcntl(self->cfd, F_GETFL);
	ASSERT_EQ(0, fcntl(self->cfd, F_SETFL, fl | O_NONBLOCK));
	/* Full: EAGAIN, and no POLLOUT for 200 ms (ACKs may make room first). */
	for (;;) {
		n = send(self->cfd, buf, 4096, MSG_NOSIGNAL);
		if (n > 0)
			continue;
		ASSERT_EQ(-1, n);
		ASSERT_EQ(EAGAIN, errno);
		pfd = (struct pollfd){ .fd = self->cfd, .events = POLLOUT };
		if (poll(&pfd, 1, 200) == 0)
			break;
	}
	ASSERT_EQ(0, fcntl(self->cfd, F_SETFL, fl));
	ASSERT_EQ(0, set_timeo(self->cfd, SO_SNDTIMEO, TIMEO_MS));
	t0 = now_s();
	n = send(self->cfd, buf, sizeof(buf), MSG_NOSIGNAL);
	secs = now_s() - t0;
	if (n < 0) {
		EXPECT_EQ(EAGAIN, errno);
	} else {
		EXPECT_GT((ssize_t)sizeof(buf), n) TH_LOG("a full buffer took it all");
	}
	TH_LOG("send() returned %zd after %.2f s", n, secs);
	EXPECT_WAITED(secs, TIMEO_MS);
}

/*
 * SO_SNDTIMEO bounds a blocking connect() too: a listener whose accept
 * queue is full drops the SYN, and connect() gives up waiting with
 * EINPROGRESS while the handshake goes on (EALREADY for another connect()).
 */
TEST_F(conn, connect_sndtimeo)
{
	struct pollfd pfd;
	double t0, secs;
	int first, ret;

	listen_on(_metadata, self, variant->proto, 0);
	/* A backlog of 0 takes one connection, which stays unaccepted. */
	first = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, first);
	ASSERT_EQ(0, connect(first, (struct sockaddr *)&self->addr, self->alen));
	pfd = (struct pollfd){ .fd = self->lfd, .events = POLLIN };
	EXPECT_EQ(1, poll(&pfd, 1, 2000));

	self->cfd = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, set_timeo(self->cfd, SO_SNDTIMEO, TIMEO_MS));
	t0 = now_s();
	ret = connect(self->cfd, (struct sockaddr *)&self->addr, self->alen);
	secs = now_s() - t0;
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EINPROGRESS, errno);
	EXPECT_WAITED(secs, TIMEO_MS);
	EXPECT_EQ(-1, connect(self->cfd, (struct sockaddr *)&self->addr, self->alen));
	EXPECT_EQ(EALREADY, errno);
	estp_close_abort(&first);
}

/* Sends @n bytes on @fd after @ms: a thread that asserts nothing. */
struct later {
	pthread_t thread;
	int fd, ms;
	size_t n;
	ssize_t sent;
};

static void *later_run(void *arg)
{
	static const char buf[4096];
	struct later *l = arg;

	usleep(l->ms * 1000);
	l->sent = send(l->fd, buf, l->n, MSG_NOSIGNAL);
	return NULL;
}

/*
 * SO_RCVLOWAT 1000: with 500 bytes queued a blocking recv() waits for the
 * mark until SO_RCVTIMEO and then returns what is there; with 600 more
 * coming 200 ms later, it returns all 1100 once they are in.
 */
TEST_F(conn, rcvlowat_recv)
{
	static const char data[500];
	struct later l = { .n = 600, .ms = 200 };
	char buf[2000];
	double t0, secs;
	ssize_t n;

	connect_pair(_metadata, self, variant->proto);
	ASSERT_EQ(0, set_opt(self->afd, SOL_SOCKET, SO_RCVLOWAT, 1000));
	ASSERT_EQ(0, set_timeo(self->afd, SO_RCVTIMEO, TIMEO_MS));
	ASSERT_EQ(500, send(self->cfd, data, sizeof(data), 0));
	ASSERT_EQ(500, wait_inq(self->afd, 500));
	t0 = now_s();
	n = recv(self->afd, buf, sizeof(buf), 0);
	secs = now_s() - t0;
	EXPECT_EQ(500, n);
	EXPECT_WAITED(secs, TIMEO_MS);

	ASSERT_EQ(0, set_timeo(self->afd, SO_RCVTIMEO, 5000));
	ASSERT_EQ(500, send(self->cfd, data, sizeof(data), 0));
	ASSERT_EQ(500, wait_inq(self->afd, 500));
	l.fd = self->cfd;
	ASSERT_EQ(0, pthread_create(&l.thread, NULL, later_run, &l));
	t0 = now_s();
	n = recv(self->afd, buf, sizeof(buf), 0);
	secs = now_s() - t0;
	pthread_join(l.thread, NULL);
	EXPECT_EQ(600, l.sent);
	EXPECT_EQ(1100, n);
	EXPECT_LE(0.19, secs) TH_LOG("returned below the mark");
}

/*
 * SO_RCVLOWAT 1000: 500 bytes queued are not "readable" to poll(), which
 * sleeps until 600 more make 1100 (tcp_poll(), tcp_data_ready()).
 */
TEST_F(conn, rcvlowat_poll)
{
	static const char data[500];
	struct later l = { .n = 600, .ms = 200 };
	struct pollfd pfd;
	double t0, secs;
	int inq = -1;

	connect_pair(_metadata, self, variant->proto);
	ASSERT_EQ(0, set_opt(self->afd, SOL_SOCKET, SO_RCVLOWAT, 1000));
	ASSERT_EQ(500, send(self->cfd, data, sizeof(data), 0));
	ASSERT_EQ(500, wait_inq(self->afd, 500));
	pfd = (struct pollfd){ .fd = self->afd, .events = POLLIN };
	EXPECT_EQ(0, poll(&pfd, 1, 100)) TH_LOG("POLLIN below the mark");

	l.fd = self->cfd;
	ASSERT_EQ(0, pthread_create(&l.thread, NULL, later_run, &l));
	t0 = now_s();
	pfd.revents = 0;
	EXPECT_EQ(1, poll(&pfd, 1, 5000));
	secs = now_s() - t0;
	pthread_join(l.thread, NULL);
	EXPECT_EQ(POLLIN, pfd.revents);
	EXPECT_LE(0.19, secs) TH_LOG("woken below the mark");
	EXPECT_EQ(0, ioctl(self->afd, SIOCINQ, &inq));
	EXPECT_EQ(1100, inq);
}


/*
 * A mark above the receive buffer grows the buffer to hold it, unless the
 * user set SO_RCVBUF (tcp_set_rcvlowat()): a reader could never be woken
 * otherwise.
 */
TEST_F(conn, rcvlowat_grows_rcvbuf)
{
	int fd, before, lowat;

	fd = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, fd);
	before = estp_getsockopt_int(fd, SOL_SOCKET, SO_RCVBUF);
	ASSERT_LT(0, before);
	lowat = 4 * before;
	ASSERT_GT(rmem_max(variant->proto) / 2, lowat);
	ASSERT_EQ(0, set_opt(fd, SOL_SOCKET, SO_RCVLOWAT, lowat));
	EXPECT_EQ(lowat, estp_getsockopt_int(fd, SOL_SOCKET, SO_RCVLOWAT));
	EXPECT_LE(lowat, estp_getsockopt_int(fd, SOL_SOCKET, SO_RCVBUF))
		TH_LOG("SO_RCVBUF %d before", before);
	close(fd);
}

ESTP_HARNESS_MAIN("defaults", "int_lengths", "rcvtimeo_eagain", "rcvlowat_poll")
