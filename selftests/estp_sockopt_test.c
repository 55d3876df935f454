// SPDX-License-Identifier: GPL-2.0
/*
 * Socket options: every option ESTP accepts at SOL_TCP (and, for ESTP, at
 * SOL_ESTP) round-trips through setsockopt()/getsockopt(), with TCP's
 * defaults, ranges, caps and errors for bad values and lengths; so do the
 * SOL_SOCKET options a stream socket uses (SO_LINGER, SO_SNDTIMEO,
 * SO_RCVTIMEO, SO_RCVLOWAT).  TCP is the specification: every TEST_F runs
 * for TCP and ESTP as fixture variants and asserts what TCP does.
 */
#include <limits.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

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

FIXTURE_VARIANTS_TCP_ESTP(sockopt);

FIXTURE_SETUP(sockopt)
{
	self->fd = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->fd);
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
		fd = socket(AF_INET, SOCK_STREAM, variant->proto);
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

TEST_HARNESS_MAIN
