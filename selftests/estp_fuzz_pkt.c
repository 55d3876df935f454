// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded packet fuzzer: the raw peer of estp_peer.h, in a netns of its
 * own, sends mutated segments at a socket held in one state a case (LISTEN
 * with a request sock, LISTEN on SYN cookies and a backlog of 1, SYN_SENT,
 * SYN_RECV, ESTABLISHED with data in flight both ways, FIN_WAIT1,
 * FIN_WAIT2, CLOSING, CLOSE_WAIT, LAST_ACK, TIME_WAIT), aimed at its
 * 4-tuple with sequence and acknowledgment numbers half near the window,
 * half anywhere.  Every flag mix, data offsets too small and too large,
 * options of every kind with lengths good and bad, truncated headers and
 * options, payloads from none to 64 KiB, and now and then a checksum that
 * does not verify.  When the target leaves its state, it is built again on
 * the raw peer's next port.
 *
 * After the burst: a connection over loopback that was open through it
 * carries 64 KiB each way intact, the listener accepts a new connection,
 * and the counters account for the malformed segments: one InCsumErrors
 * for each segment with a whole header and a bad checksum, one InHdrErrors
 * (ESTP; TCP counts those only in InErrs, when at all) for each without a
 * whole header.  The deltas of the drop counters are logged.
 *
 *   ESTP_FUZZ_SEED=S	the seed (default: the time; always printed)
 *   ESTP_FUZZ_N=N	segments a case (default FZ_DEF_N)
 *
 * A case's generator depends only on the seed and the case's name, so that
 * "ESTP_FUZZ_SEED=S ./estp_fuzz_pkt -r fz.estp.NAME" replays it alone.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_pkt.h"
#include "estp_peer.h"

/* The attacked listener, and the listener of the pair left alone. */
#define FZ_LPORT	20000
#define FZ_SIDE_PORT	30000
/* The raw peer's first port: each target built anew takes the next. */
#define FZ_PPORT	2000
/* Close to 2^32, so that both sides' sequence numbers wrap. */
#define FZ_ISN		0xfffffe00u
#define FZ_DEF_N	100
/* Segments between two looks at the target's state. */
#define FZ_ROUND	25
/* What the target's application sends, which the raw peer never acks. */
#define FZ_APP_BYTES	4000
/* What the raw peer sends the target before the burst. */
#define FZ_PEER_BYTES	1000
#define FZ_SIDE_BYTES	65536
/* The longest segment: an IPv4 packet on lo's MTU of 65536. */
#define FZ_MAX_SEG	65000
#define FZ_MAX_OPT	40
/*
 * A case's bound against a hang: make fuzz's long runs on the debug kernel
 * go at about 280 segments a second, two guests at a time.
 */
#define FZ_CASE_SECS	1800

/* Option kinds. */
#define OPT_EOL		0
#define OPT_NOP		1
#define OPT_MSS		2
#define OPT_WS		3
#define OPT_SACK_PERM	4
#define OPT_SACK	5
#define OPT_TS		8
#define OPT_MD5SIG	19
#define OPT_AO		29
#define OPT_FASTOPEN	34
#define OPT_EXP		254
#define OPT_EXP_TFO	0xf989

enum fz_kind {
	FZ_LISTEN, FZ_COOKIES, FZ_SYN_SENT, FZ_SYN_RECV, FZ_ESTAB, FZ_FIN_WAIT1,
	FZ_FIN_WAIT2, FZ_CLOSING, FZ_CLOSE_WAIT, FZ_LAST_ACK, FZ_TIME_WAIT,
};

static unsigned long long fz_seed;
static int fz_n = FZ_DEF_N;

/* The seed and count, once, before the harness forks a child a case. */
static void __attribute__((constructor)) fz_params(void)
{
	const char *s = getenv("ESTP_FUZZ_SEED");
	const char *n = getenv("ESTP_FUZZ_N");
	struct timespec ts;

	if (s && *s) {
		fz_seed = strtoull(s, NULL, 0);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		fz_seed = (unsigned long long)ts.tv_sec * 1000003u + ts.tv_nsec / 1000;
	}
	if (n && *n)
		fz_n = atoi(n);
	if (fz_n < 0)
		fz_n = 0;
}

/* xorshift64*: the generator of a case. */
struct fz_rng {
	unsigned long long s;
};

static unsigned long long rnd(struct fz_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

static unsigned int rnd_below(struct fz_rng *r, unsigned int n)
{
	return n ? (unsigned int)((rnd(r) >> 16) % n) : 0;
}

static int chance(struct fz_rng *r, int pct)
{
	return rnd_below(r, 100) < (unsigned int)pct;
}

/* One of the @n values at @v. */
static unsigned int pick(struct fz_rng *r, const unsigned int *v, size_t n)
{
	return v[rnd_below(r, n)];
}

#define PICK(r, ...)							\
	({								\
		const unsigned int fz_v_[] = { __VA_ARGS__ };		\
		pick(r, fz_v_, ARRAY_SIZE(fz_v_));			\
	})

/* The generator of case @name: from the seed and the name alone. */
static void fz_rng_init(struct fz_rng *r, unsigned long long seed, const char *name)
{
	unsigned long long h = 0xcbf29ce484222325ULL;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ULL;
	r->s = estp_pattern_word(h, seed) | 1;
}

/* What the burst sent, by what the receive path must make of it. */
struct fz_tally {
	long sent;		/* segments that went out */
	long hdr_bad;		/* shorter than 20 bytes, or than the data offset */
	long doff_small;	/* a data offset below 5, in 20 bytes or more */
	long csum_bad;		/* a whole header and a checksum that fails */
	long csum_auth;		/* ... over 76 bytes, with options TCP may drop first */
	long send_err;		/* sendto() failed: not counted above */
	long rebuilds;		/* the target built again */
	long relistens;		/* ... on a new listener, the old one full */
};

/* The counters logged, those asserted on first. */
static const char *const fz_counters[] = {
	"InSegs", "InCsumErrors", "InHdrErrors", "InBadFlags", "InNoSocket",
	"ListenOverflows", "ListenDrops", "BacklogDrops", "OutRsts", "ChallengeACK",
	"PAWSEstab", "PAWSOldAck", "OfoDrop", "OfoQueue", "RcvQDrop", "SyncookiesSent",
	"SyncookiesRecv", "SyncookiesFailed", "PruneCalled", "RcvPruned", "RcvCollapsed",
	"ACKSkippedSynRecv", "EmbryonicRsts", "DSACKRecv", "DSACKOfoRecv",
	"DSACKIgnoredOld", "DSACKIgnoredDubious", "SackReneging", "FastOpenPassive",
	"FastOpenPassiveFail", "FastOpenCookieReqd", "DelayedACKLost", "AbortOnData",
	"MD5Unexpected", "AOBad", "AOKeyNotFound",
};

#define FZ_NCTR		ARRAY_SIZE(fz_counters)

/* Everything a case holds. */
struct fz_state {
	struct estp_peer peer;
	int proto;
	int lfd;		/* the listener on FZ_LPORT */
	int afd;		/* the target's own socket, or -1 */
	int side_c, side_a;	/* the pair left alone */
	struct peer_conn c;	/* the raw peer's side of the target */
	unsigned int flight;	/* the target's sequence space beyond c.ack */
	unsigned short pport;		/* the raw peer's port for the next target */
	enum fz_kind kind;
	struct fz_rng rng;
	char name[64];
	struct fz_tally t;
	long before[FZ_NCTR];
	long drops_before;
	unsigned char *buf;
};

FIXTURE(fz)
{
	struct fz_state s;
};

FIXTURE_VARIANT(fz)
{
	int proto;
	const char *name;
};

FIXTURE_VARIANT_ADD(fz, estp)
{
	.proto = IPPROTO_ESTP,
	.name = "estp",
};

FIXTURE_VARIANT_ADD(fz, tcp)
{
	.proto = IPPROTO_TCP,
	.name = "tcp",
};

static void fz_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Closes @fd with a RST (SO_LINGER {1, 0}): no orphan stays behind. */
static void fz_abort(int *fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (*fd >= 0)
		setsockopt(*fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	fz_close(fd);
}

/* Writes sysctl @knob of @proto (net.estp.KNOB or net.ipv4.tcp_KNOB). */
static int fz_sysctl(int proto, const char *knob, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), proto == IPPROTO_TCP ? "/proc/sys/net/ipv4/tcp_%s" :
		 "/proc/sys/net/estp/%s", knob);
	return peer_sysctl(path, NULL, 0, val);
}

static long fz_counter(int proto, const char *name)
{
	return estp_counter(proto, name);
}

/* accept() on @lfd within @ms: an fd or -1. */
static int fz_accept(int lfd, int ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

/* The connection from the raw peer's port @pport out of @lfd's queue. */
static int fz_accept_from(int lfd, int pport)
{
	long end = pkt_now_ms() + 3000;
	int fd;

	while (pkt_now_ms() < end) {
		fd = fz_accept(lfd, end - pkt_now_ms());
		if (fd < 0)
			return -1;
		if (estp_peer_port(fd) == pport)
			return fd;
		fz_abort(&fd);
	}
	return -1;
}

/* Empties @lfd's accept queue: how many there were. */
static int fz_accept_drain(int lfd)
{
	int n = 0, fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		fz_abort(&fd);
		n++;
	}
	return n;
}

/* A connection of @proto to 127.0.0.1:@port within @ms: an fd or -1. */
static int fz_connect(int proto, int port, int ms)
{
	struct sockaddr_in sin = estp_sin4(PEER_ADDR, port);
	struct pollfd pfd;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, ms) != 1 || estp_so_error(fd)) {
		fz_abort(&fd);
		return -1;
	}
	return fd;
}

/*
 * Sends @len bytes of pattern from @a to @b and as many from @b to @a, both
 * nonblocking, at once, and checks what arrives: NULL, or what went wrong.
 */
static const char *fz_pump(int a, int b, size_t len, unsigned long long seed, int ms)
{
	static unsigned char buf[16384];
	size_t sent[2] = { 0, 0 }, got[2] = { 0, 0 };
	int fds[2] = { a, b };
	long end = pkt_now_ms() + ms;
	int i;

	while (got[0] < len || got[1] < len) {
		struct pollfd pfd[2];
		ssize_t n;

		if (pkt_now_ms() > end)
			return "timed out";
		for (i = 0; i < 2; i++) {
			pfd[i].fd = fds[i];
			pfd[i].events = POLLIN | (sent[i] < len ? POLLOUT : 0);
		}
		if (poll(pfd, 2, 100) < 0 && errno != EINTR)
			return "poll";
		for (i = 0; i < 2; i++) {
			/* Direction i: fds[i] sends, fds[!i] receives, stream seed + i. */
			if (sent[i] < len && (pfd[i].revents & POLLOUT)) {
				size_t k = len - sent[i];

				if (k > sizeof(buf))
					k = sizeof(buf);

				estp_pattern_fill(buf, k, sent[i], seed + i);
				n = send(fds[i], buf, k, MSG_DONTWAIT);
				if (n < 0 && errno != EAGAIN)
					return "send";
				if (n > 0)
					sent[i] += n;
			}
			if (pfd[!i].revents & (POLLIN | POLLERR | POLLHUP)) {
				n = recv(fds[!i], buf, sizeof(buf), MSG_DONTWAIT);
				if (n == 0 || (n < 0 && errno != EAGAIN))
					return "recv: connection ended";
				if (n > 0) {
					if (got[i] + n > len)
						return "more bytes than sent";
					if (estp_pattern_check(buf, n, got[i], seed + i) >= 0)
						return "bytes differ";
					got[i] += n;
				}
			}
		}
	}
	return NULL;
}

/*
 * Sends from the raw peer of @self a segment of @c with @flags and
 * @len bytes of data, which moves c.seq on: 0 or -1.
 */
static int fz_peer_data(struct fz_state *self, unsigned char flags, int len)
{
	unsigned char *s = self->buf;

	memset(s, 0, PKT_HDR_LEN);
	pkt_put16(s, self->c.port);
	pkt_put16(s + 2, self->c.lport);
	pkt_put32(s + 4, self->c.seq);
	pkt_put32(s + 8, self->c.ack);
	s[12] = 5 << 4;
	s[13] = flags;
	pkt_put16(s + 14, PEER_WIN);
	estp_pattern_fill(s + PKT_HDR_LEN, len, 0, self->c.port);
	if (peer_send_buf(&self->peer, s, PKT_HDR_LEN + len))
		return -1;
	self->c.seq += len + !!(flags & PKT_FIN);
	return 0;
}

/* Reads @len bytes from nonblocking @fd into @buf within @ms: 0 or -1. */
static int fz_read(int fd, unsigned char *buf, int len, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long end = pkt_now_ms() + ms;
	int got = 0;
	ssize_t n;

	while (got < len && pkt_now_ms() < end) {
		poll(&pfd, 1, 50);
		n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			return -1;
		if (n > 0)
			got += n;
	}
	return got == len ? 0 : -1;
}

/* Waits for the target's FIN to the raw peer: its sequence number, or -1. */
static long long fz_await_fin(struct fz_state *self)
{
	long end = pkt_now_ms() + PEER_ANSWER_MS;
	struct pkt_seg r;

	while (pkt_now_ms() < end) {
		if (peer_recv(&self->peer, &self->c, end - pkt_now_ms(), &r) != 1)
			return -1;
		if (r.flags & PKT_FIN)
			return r.seq + (r.seg_len - r.hdr_len);
	}
	return -1;
}

/*
 * An established connection from the raw peer's next port: the target's
 * end in self->afd, FZ_PEER_BYTES from the raw peer delivered (not read),
 * and @app bytes from the application that the raw peer never acks.
 */
static const char *fz_estab(struct fz_state *self, int app)
{
	static char data[FZ_APP_BYTES];
	unsigned short port = self->pport++;

	peer_drain(&self->peer);
	if (peer_connect(&self->peer, &self->c, port, FZ_LPORT, FZ_ISN))
		return "handshake";
	self->flight = 0;
	self->afd = fz_accept_from(self->lfd, port);
	if (self->afd < 0)
		return "accept";
	if (fz_peer_data(self, PKT_ACK | PKT_PSH, FZ_PEER_BYTES))
		return "peer data";
	if (app) {
		if (send(self->afd, data, app, 0) != app)
			return "application data";
		self->flight = app;
	}
	return NULL;
}

/* The state the target of @kind must be in, -1 for none to check. */
static int fz_state(enum fz_kind kind)
{
	static const int st[] = {
		[FZ_LISTEN] = ST_SYN_RECV, [FZ_COOKIES] = -1,
		[FZ_SYN_SENT] = ST_SYN_SENT, [FZ_SYN_RECV] = ST_SYN_RECV,
		[FZ_ESTAB] = ST_ESTABLISHED, [FZ_FIN_WAIT1] = ST_FIN_WAIT1,
		[FZ_FIN_WAIT2] = ST_FIN_WAIT2, [FZ_CLOSING] = ST_CLOSING,
		[FZ_CLOSE_WAIT] = ST_CLOSE_WAIT, [FZ_LAST_ACK] = ST_LAST_ACK,
		[FZ_TIME_WAIT] = ST_TIME_WAIT,
	};

	return st[kind];
}

/* Builds the target of self->kind on the raw peer's next port: NULL or what failed. */
static const char *fz_target(struct fz_state *self)
{
	struct sockaddr_in sin;
	const char *err = NULL;
	struct pkt_seg r;
	long long fin;
	int want;

	fz_abort(&self->afd);
	switch (self->kind) {
	case FZ_LISTEN:
	case FZ_COOKIES:
	case FZ_SYN_RECV:
		/* A request sock (or a cookie) the raw peer never acks. */
		peer_drain(&self->peer);
		if (peer_syn(&self->peer, &self->c, self->pport, FZ_LPORT, FZ_ISN, 1460) != 1 ||
		    self->c.synack.flags != (PKT_SYN | PKT_ACK))
			err = "SYN-ACK";
		self->pport++;
		self->flight = 0;
		break;
	case FZ_SYN_SENT:
		/* A connect() to the raw peer, which never answers. */
		peer_drain(&self->peer);
		self->afd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
				   self->proto);
		sin = estp_sin4(PEER_ADDR, self->pport);
		if (self->afd < 0 ||
		    (connect(self->afd, (struct sockaddr *)&sin, sizeof(sin)) &&
		     errno != EINPROGRESS))
			return "connect";
		memset(&self->c, 0, sizeof(self->c));
		self->c.port = self->pport++;
		self->c.lport = estp_local_port(self->afd);
		if (peer_recv(&self->peer, &self->c, PEER_ANSWER_MS, &r) != 1 ||
		    r.flags != PKT_SYN)
			return "SYN";
		self->c.seq = FZ_ISN;
		self->c.ack = r.seq + 1;
		self->flight = 0;
		break;
	case FZ_ESTAB:
		err = fz_estab(self, FZ_APP_BYTES);
		break;
	case FZ_FIN_WAIT1:
		err = fz_estab(self, FZ_APP_BYTES);
		if (!err && shutdown(self->afd, SHUT_WR))
			err = "shutdown";
		self->flight++;
		break;
	case FZ_FIN_WAIT2:
	case FZ_CLOSING:
	case FZ_TIME_WAIT:
		err = fz_estab(self, 0);
		if (err)
			break;
		peer_drain(&self->peer);
		/* Data left unread would turn the close into a RST. */
		if (self->kind == FZ_TIME_WAIT &&
		    fz_read(self->afd, self->buf, FZ_PEER_BYTES, PEER_ANSWER_MS))
			return "reading the raw peer's data";
		if (self->kind == FZ_TIME_WAIT)
			fz_close(&self->afd);
		else if (shutdown(self->afd, SHUT_WR))
			return "shutdown";
		fin = fz_await_fin(self);
		if (fin < 0)
			return "the target's FIN";
		if (self->kind == FZ_CLOSING) {
			/* Our FIN crosses theirs: it does not ack it. */
			self->c.ack = fin;
			self->flight = 1;
			err = fz_peer_data(self, PKT_FIN | PKT_ACK, 0) ? "FIN" : NULL;
		} else {
			self->c.ack = fin + 1;
			self->flight = 0;
			err = fz_peer_data(self, self->kind == FZ_TIME_WAIT ?
					   PKT_FIN | PKT_ACK : PKT_ACK, 0) ? "ACK" : NULL;
		}
		break;
	case FZ_CLOSE_WAIT:
	case FZ_LAST_ACK:
		err = fz_estab(self, 0);
		if (err)
			break;
		if (fz_peer_data(self, PKT_FIN | PKT_ACK, 0))
			return "FIN";
		if (peer_wait_rows(self->proto, FZ_LPORT, self->c.port, ST_CLOSE_WAIT, 1,
				   PEER_ANSWER_MS) != 1)
			return "CLOSE_WAIT";
		if (send(self->afd, self->buf, FZ_APP_BYTES, 0) != FZ_APP_BYTES)
			return "application data";
		self->flight = FZ_APP_BYTES;
		if (self->kind == FZ_LAST_ACK) {
			if (shutdown(self->afd, SHUT_WR))
				return "shutdown";
			self->flight++;
		}
		break;
	}
	if (err)
		return err;
	want = fz_state(self->kind);
	if (want >= 0 && peer_wait_rows(self->proto, self->c.lport, self->c.port, want, 1,
					PEER_ANSWER_MS) != 1)
		return "the state aimed at";
	return NULL;
}

/* Appends the @n bytes at @b to the options at @o (@len so far), cut at FZ_MAX_OPT. */
static void fz_opt_put(unsigned char *o, int *len, const unsigned char *b, int n)
{
	int k = FZ_MAX_OPT - *len < n ? FZ_MAX_OPT - *len : n;

	if (k > 0) {
		memcpy(o + *len, b, k);
		*len += k;
	}
}

/* A sequence number around @base: near it, at window edges, or anywhere. */
static unsigned int fz_seq_near(struct fz_rng *r, unsigned int base, unsigned int span)
{
	switch (rnd_below(r, 8)) {
	case 0:
	case 1:
		return base;
	case 2:
		return base + rnd_below(r, span + 1);
	case 3:
		return base + rnd_below(r, 129) - 64;
	case 4:
		return base + PICK(r, 65535, 65536, 65534, 1 << 14, 1 << 20, 1 << 30) +
		       rnd_below(r, 5) - 2;
	case 5:
		return base - PICK(r, 1, 2, 65535, 65536, 1 << 20, 0x7fffffff, 0x80000000);
	case 6:
		return PICK(r, 0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe);
	default:
		return rnd(r);
	}
}

/* A SACK block's edges around the target's unacked range [@una, @una + @span). */
static void fz_sack_block(struct fz_rng *r, unsigned int una, unsigned int span, unsigned char *b)
{
	unsigned int s, e;

	switch (rnd_below(r, 6)) {
	case 0:		/* inside */
		s = una + rnd_below(r, span + 1);
		e = s + rnd_below(r, span + 1);
		break;
	case 1:		/* inverted */
		e = una + rnd_below(r, span + 1);
		s = e + 1 + rnd_below(r, 3000);
		break;
	case 2:		/* below snd_una: a D-SACK or junk */
		s = una - 1 - rnd_below(r, 100000);
		e = s + rnd_below(r, 200000);
		break;
	case 3:		/* beyond snd_nxt */
		s = una + span + rnd_below(r, 1 << 20);
		e = s + 1 + rnd_below(r, 65536);
		break;
	case 4:		/* across 2^31 */
		s = una + 0x7fffff00u;
		e = s + 0x200;
		break;
	default:
		s = rnd(r);
		e = rnd(r);
		break;
	}
	pkt_put32(b, s);
	pkt_put32(b + 4, e);
}

/* A list of options, good and bad, into @o: its length (at most FZ_MAX_OPT). */
static int fz_opts(struct fz_rng *r, const struct fz_state *self, unsigned char *o)
{
	unsigned char b[64];
	int len = 0, k, n, i;

	for (k = rnd_below(r, 6); k > 0; k--) {
		memset(b, 0, sizeof(b));
		switch (rnd_below(r, 14)) {
		case 0:
			b[0] = OPT_MSS;
			b[1] = chance(r, 75) ? 4 : PICK(r, 0, 1, 2, 3, 5, 6, 40);
			pkt_put16(b + 2, PICK(r, 0, 1, 8, 64, 536, 1460, 65495, 65535,
					      rnd(r) & 0xffff));
			n = b[1] >= 2 && b[1] <= 8 ? b[1] : 4;
			break;
		case 1:
			b[0] = OPT_WS;
			b[1] = chance(r, 75) ? 3 : PICK(r, 0, 1, 2, 4, 9);
			b[2] = PICK(r, 0, 1, 7, 14, 15, 16, 31, 255, rnd(r) & 0xff);
			n = b[1] >= 2 && b[1] <= 8 ? b[1] : 3;
			break;
		case 2:
			b[0] = OPT_SACK_PERM;
			b[1] = chance(r, 60) ? 2 : PICK(r, 0, 1, 3, 4, 8);
			n = b[1] >= 2 && b[1] <= 8 ? b[1] : 2;
			break;
		case 3:
			i = 1 + rnd_below(r, 4);
			b[0] = OPT_SACK;
			b[1] = 2 + 8 * i;
			if (chance(r, 25))
				b[1] += rnd_below(r, 15) - 7;
			for (n = 0; n < i; n++)
				fz_sack_block(r, self->c.ack, self->flight, b + 2 + 8 * n);
			n = 2 + 8 * i;
			break;
		case 4:
			b[0] = OPT_TS;
			b[1] = chance(r, 80) ? 10 : PICK(r, 0, 1, 2, 6, 8, 9, 11, 12);
			pkt_put32(b + 2, PICK(r, 0, 1, 0x7fffffff, 0x80000000, 0xffffffff,
					      0xfffffffe, rnd(r)));
			pkt_put32(b + 6, PICK(r, 0, 0xffffffff, 1, rnd(r)));
			n = 10;
			break;
		case 5:
			b[0] = OPT_FASTOPEN;
			b[1] = PICK(r, 2, 3, 4, 5, 6, 7, 9, 10, 11, 17, 18, 19, 0, 1);
			for (i = 2; i < 20; i++)
				b[i] = rnd(r);
			n = b[1] >= 2 ? b[1] : 2;
			break;
		case 6:
			b[0] = OPT_EXP;
			b[1] = PICK(r, 4, 5, 6, 8, 12, 13, 20, 3, 2);
			pkt_put16(b + 2, OPT_EXP_TFO);
			for (i = 4; i < 20; i++)
				b[i] = rnd(r);
			n = b[1] >= 2 ? b[1] : 4;
			break;
		case 7:
		case 8:
			b[0] = OPT_NOP;
			n = 1;
			break;
		case 9:
			/* EOL, then garbage that must be ignored. */
			b[0] = OPT_EOL;
			for (i = 1; i < 8; i++)
				b[i] = rnd(r);
			n = 1 + rnd_below(r, 8);
			break;
		case 10:
			/* A kind of any number, with a length of 0 or 1. */
			b[0] = rnd(r);
			b[1] = rnd_below(r, 2);
			b[2] = rnd(r);
			n = 2 + rnd_below(r, 2);
			break;
		case 11:
			/* A length past the end of the header. */
			b[0] = PICK(r, OPT_MSS, OPT_WS, OPT_SACK, OPT_TS, OPT_FASTOPEN,
				    rnd(r) & 0xff);
			b[1] = FZ_MAX_OPT - len + 1 + rnd_below(r, 200);
			for (i = 2; i < 6; i++)
				b[i] = rnd(r);
			n = 2 + rnd_below(r, 5);
			break;
		default:
			b[0] = rnd(r);
			b[1] = rnd(r);
			for (i = 2; i < 40; i++)
				b[i] = rnd(r);
			n = b[1] >= 2 && b[1] <= 40 ? b[1] : 2;
			break;
		}
		fz_opt_put(o, &len, b, n);
	}
	/* Padding to a whole word: NOPs, EOLs or junk. */
	k = rnd_below(r, 3);
	while (len % 4)
		o[len++] = k == 0 ? OPT_NOP : k == 1 ? OPT_EOL : (unsigned char)rnd(r);
	return len;
}

/* Flag mixes that mean something; the rest come from a random byte. */
static const unsigned char fz_flag_mixes[] = {
	PKT_ACK, PKT_ACK, PKT_ACK | PKT_PSH, PKT_ACK | PKT_FIN, PKT_SYN, PKT_SYN | PKT_ACK,
	PKT_RST, PKT_RST | PKT_ACK, PKT_SYN | PKT_FIN, PKT_SYN | PKT_RST, PKT_FIN, 0,
	PKT_ACK | PKT_URG, PKT_ACK | PKT_URG | PKT_PSH, PKT_SYN | PKT_ECE | PKT_CWR,
	PKT_ACK | PKT_ECE, PKT_ACK | PKT_CWR, PKT_SYN | PKT_ACK | PKT_ECE,
	PKT_FIN | PKT_PSH | PKT_URG, PKT_SYN | PKT_FIN | PKT_RST | PKT_ACK,
};

/*
 * Lays out one mutated segment for the target of @self in self->buf: its
 * length; *@bad when its checksum is made not to verify.
 */
static int fz_build(struct fz_state *self, int *bad)
{
	struct fz_rng *r = &self->rng;
	const struct peer_conn *c = &self->c;
	int aim = self->kind == FZ_LISTEN || self->kind == FZ_COOKIES ? 50 : 90;
	unsigned char *s = self->buf, opts[FZ_MAX_OPT + 4];
	int olen, hlen, plen, len, doff, i;
	unsigned short check;

	olen = chance(r, 60) ? fz_opts(r, self, opts) : 0;
	hlen = PKT_HDR_LEN + olen;
	switch (rnd_below(r, 20)) {
	case 0 ... 10:
		plen = 0;
		break;
	case 11 ... 15:
		plen = 1 + rnd_below(r, 64);
		break;
	case 16 ... 17:
		plen = 65 + rnd_below(r, 1400);
		break;
	case 18:
		plen = 1461 + rnd_below(r, 8000);
		break;
	default:
		plen = rnd_below(r, FZ_MAX_SEG - hlen + 1);
		break;
	}
	memset(s, 0, hlen);
	pkt_put16(s, chance(r, aim) ? c->port :
		  PEER_PORT_MIN + rnd_below(r, PEER_PORT_MAX - PEER_PORT_MIN + 1));
	pkt_put16(s + 2, chance(r, 97) ? c->lport : FZ_LPORT + rnd_below(r, 5) - 2);
	pkt_put32(s + 4, chance(r, 50) ? fz_seq_near(r, c->seq, 65535) : (unsigned int)rnd(r));
	pkt_put32(s + 8, chance(r, 50) ? fz_seq_near(r, c->ack, self->flight) :
		  (unsigned int)rnd(r));
	if (chance(r, 60))
		s[13] = fz_flag_mixes[rnd_below(r, ARRAY_SIZE(fz_flag_mixes))];
	else
		s[13] = rnd(r);
	pkt_put16(s + 14, PICK(r, 0, 1, 512, 65535, 65535, 65535, rnd(r) & 0xffff));
	if (chance(r, 30))
		pkt_put16(s + 18, PICK(r, 1, 2, 0xffff, rnd(r) & 0xffff, plen, plen + 1));
	memcpy(s + PKT_HDR_LEN, opts, olen);
	if (chance(r, 50)) {
		estp_pattern_fill(s + hlen, plen, c->seq, self->c.port);
	} else {
		for (i = 0; i < plen; i++)
			s[hlen + i] = rnd(r);
	}
	len = hlen + plen;
	doff = hlen / 4;
	switch (rnd_below(r, 25)) {
	case 0:
	case 1:
		doff = rnd_below(r, 5);			/* too small */
		break;
	case 2:
		if (len / 4 < 15)
			doff = len / 4 + 1 + rnd_below(r, 15 - len / 4);	/* past the end */
		break;
	case 3:
		doff = rnd_below(r, 16);
		break;
	case 4:
		len = rnd_below(r, PKT_HDR_LEN);	/* a header cut short */
		break;
	case 5:
		len = PKT_HDR_LEN + rnd_below(r, len - PKT_HDR_LEN + 1);	/* cut anywhere */
		break;
	}
	s[12] = doff << 4 | (chance(r, 5) ? rnd_below(r, 16) : 0);
	*bad = 0;
	if (len < 18)
		return len;
	check = pkt_csum(htonl(INADDR_LOOPBACK), htonl(INADDR_LOOPBACK), self->proto, s, len);
	if (chance(r, 8)) {
		unsigned short x = check ^ (1 + rnd_below(r, 0xffff));

		/* 0x0000 and 0xffff are one number in one's complement. */
		if (x != 0 && x != 0xffff && x != check &&
		    !(check == 0 && x == 0xffff) && !(check == 0xffff && x == 0)) {
			check = x;
			*bad = 1;
		}
	}
	pkt_put16(s + 16, check);
	return len;
}

/*
 * Whether TCP may drop @s for its signature options before it verifies the
 * checksum: tcp_v4_rcv() verifies at once only up to 76 bytes
 * (CHECKSUM_BREAK), and a full or request sock first looks for TCP-MD5 and
 * TCP-AO options (tcp_inbound_hash()), dropping malformed options (6.7 on)
 * and a signature it has no key for.  The widest of the kernels' rules
 * (TCP-AO's: while 5 bytes remain), so a count that may be too large.
 */
static bool fz_auth_suspect(const unsigned char *s, int len)
{
	int olen = (s[12] >> 4) * 4 - PKT_HDR_LEN, size;
	const unsigned char *p = s + PKT_HDR_LEN;

	if (len <= 76)
		return false;
	while (olen >= 5) {
		if (p[0] == OPT_EOL)
			return false;
		if (p[0] == OPT_NOP) {
			p++;
			olen--;
			continue;
		}
		size = p[1];
		if (size < 2 || size > olen || p[0] == OPT_MD5SIG || p[0] == OPT_AO)
			return true;
		p += size;
		olen -= size;
	}
	return false;
}

/* Builds one segment, sends it and counts it. */
static void fz_send_one(struct fz_state *self)
{
	struct sockaddr_in dst = estp_sin4(PEER_ADDR, 0);
	const unsigned char *s = self->buf;
	int len, bad, doff;

	len = fz_build(self, &bad);
	if (sendto(self->peer.raw, s, len, 0, (struct sockaddr *)&dst, sizeof(dst)) != len) {
		self->t.send_err++;
		return;
	}
	self->t.sent++;
	doff = len >= PKT_HDR_LEN ? s[12] >> 4 : 0;
	if (len < PKT_HDR_LEN || doff < 5 || doff * 4 > len) {
		self->t.hdr_bad++;
		if (len >= PKT_HDR_LEN && doff < 5)
			self->t.doff_small++;
	} else if (bad) {
		self->t.csum_bad++;
		self->t.csum_auth += fz_auth_suspect(s, len);
	}
}

/* Logs the counters that moved; asserts what the tally explains. */
static void fz_check_counters(struct __test_metadata *_metadata, struct fz_state *self,
			      long drops)
{
	char line[1024];
	long d[FZ_NCTR], auth;
	size_t i, off = 0;

	for (i = 0; i < FZ_NCTR; i++) {
		long v = fz_counter(self->proto, fz_counters[i]);

		d[i] = v >= 0 && self->before[i] >= 0 ? v - self->before[i] : -1;
		if (d[i] > 0 && off < sizeof(line) - 64)
			off += snprintf(line + off, sizeof(line) - off, " %s +%ld",
					fz_counters[i], d[i]);
	}
	line[off] = '\0';
	TH_LOG("deltas:%s", off ? line : " none");
	TH_LOG("sent %ld (send errors %ld): header bad %ld (doff < 5: %ld), checksum bad %ld (signature options %ld)",
	       self->t.sent, self->t.send_err, self->t.hdr_bad, self->t.doff_small,
	       self->t.csum_bad, self->t.csum_auth);
	TH_LOG("targets built again %ld (on a new listener %ld), backlog drops %ld",
	       self->t.rebuilds, self->t.relistens, drops);
	/* InSegs counts every segment, well formed or not, and the pair's too. */
	EXPECT_LE(self->t.sent - drops, d[0]);
	/*
	 * Every segment with a whole header and a bad checksum, and only
	 * those; ESTP verifies the checksum first, TCP may drop a long
	 * segment for its options before (fz_auth_suspect()).
	 */
	auth = self->proto == IPPROTO_TCP ? self->t.csum_auth : 0;
	EXPECT_LE(self->t.csum_bad - auth - drops, d[1]);
	EXPECT_GE(self->t.csum_bad, d[1]);
	if (self->proto == IPPROTO_ESTP) {
		/* Every segment without a whole header, and only those. */
		EXPECT_LE(self->t.hdr_bad - drops, d[2]);
		EXPECT_GE(self->t.hdr_bad, d[2]);
	}
}

/* A case: the burst at the target of @kind, then the checks. */
static void fz_run(struct __test_metadata *_metadata, struct fz_state *self,
		   const char *vname, enum fz_kind kind, const char *name)
{
	long in_errs0 = -1, drops, t0 = pkt_now_ms(), t1, t2;
	const char *err;
	size_t i;
	int n, fd, st;

	self->kind = kind;
	snprintf(self->name, sizeof(self->name), "%s.%s", vname, name);
	fz_rng_init(&self->rng, fz_seed, self->name);
	ksft_print_msg("seed %llu\n", (unsigned long long)fz_seed);
	ksft_print_msg("fz.%s: %d segments; alone: ESTP_FUZZ_SEED=%llu ESTP_FUZZ_N=%d %s\n",
		       self->name, fz_n, (unsigned long long)fz_seed, fz_n, "./estp_fuzz_pkt");

	if (kind == FZ_COOKIES)
		ASSERT_EQ(0, fz_sysctl(self->proto, "syncookies", "2"));
	self->lfd = estp_listen_fam(self->proto, ESTP_FAM4, PEER_ADDR, FZ_LPORT,
				    kind == FZ_COOKIES ? 1 : 16);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, fcntl(self->lfd, F_SETFL, O_NONBLOCK));
	err = fz_target(self);
	ASSERT_EQ(NULL, err) TH_LOG("target %s: %s failed", name, err);

	for (i = 0; i < FZ_NCTR; i++)
		self->before[i] = fz_counter(self->proto, fz_counters[i]);
	if (self->proto == IPPROTO_TCP)
		in_errs0 = estp_proc_counter("/proc/net/snmp", "Tcp", "InErrs");
	self->drops_before = peer_softnet_drops();
	t1 = pkt_now_ms();

	for (n = 0; n < fz_n; n++) {
		if (n && n % FZ_ROUND == 0 && fz_state(kind) >= 0) {
			st = peer_state(self->proto, self->c.lport, self->c.port);
			if (st != fz_state(kind)) {
				self->t.rebuilds++;
				err = fz_target(self);
				if (err) {
					/*
					 * A long burst can fill the listener's
					 * queues with what it began (TCP's and
					 * ESTP's alike): a new listener, once.
					 */
					self->t.relistens++;
					fz_close(&self->lfd);
					self->lfd = estp_listen_fam(self->proto, ESTP_FAM4,
								    PEER_ADDR, FZ_LPORT,
								    kind == FZ_COOKIES ? 1 : 16);
					ASSERT_LE(0, self->lfd);
					ASSERT_EQ(0, fcntl(self->lfd, F_SETFL, O_NONBLOCK));
					err = fz_target(self);
				}
				ASSERT_EQ(NULL, err)
					TH_LOG("target again at segment %d (state %d): %s failed",
					       n, st, err);
			}
		}
		fz_send_one(self);
	}
	/*
	 * Until InSegs counts every segment sent but those lo's backlog
	 * dropped (softirq may still be at work on the last ones), for 2 s
	 * at most: the checks below say what is missing after that.
	 */
	for (t2 = pkt_now_ms() + 2000;; usleep(1000)) {
		drops = peer_softnet_drops() - self->drops_before;
		if (fz_counter(self->proto, fz_counters[0]) - self->before[0] + drops >=
		    self->t.sent || pkt_now_ms() >= t2)
			break;
	}
	t2 = pkt_now_ms();
	fz_check_counters(_metadata, self, drops);
	if (self->proto == IPPROTO_TCP && in_errs0 >= 0) {
		long d = estp_proc_counter("/proc/net/snmp", "Tcp", "InErrs") - in_errs0;

		TH_LOG("TCP InErrs +%ld", d);
		/* Bad checksums, and data offsets below 5 in a whole segment. */
		EXPECT_LE(self->t.csum_bad - self->t.csum_auth + self->t.doff_small - drops, d);
	}
	EXPECT_EQ(0, self->t.send_err);

	/* The pair left alone still carries 64 KiB each way, intact. */
	err = fz_pump(self->side_c, self->side_a, FZ_SIDE_BYTES, fz_seed, 30000);
	EXPECT_EQ(NULL, err) TH_LOG("the pair left alone: %s", err);

	/*
	 * The target goes first, with a RST: a plain close() at exit would
	 * leave an orphan sending its FIN to the silent raw peer for minutes
	 * (one in SYN_RECV after a simultaneous open does), holding the
	 * module.
	 */
	fz_abort(&self->afd);
	/* The listener still accepts, once what the fuzzer completed is gone. */
	TH_LOG("accept queue held %d", fz_accept_drain(self->lfd));
	fd = fz_connect(self->proto, FZ_LPORT, 10000);
	ASSERT_LE(0, fd) TH_LOG("connect to the attacked listener");
	self->afd = fz_accept(self->lfd, 5000);
	while (self->afd >= 0 && estp_peer_port(self->afd) != estp_local_port(fd)) {
		fz_abort(&self->afd);
		self->afd = fz_accept(self->lfd, 5000);
	}
	EXPECT_LE(0, self->afd) TH_LOG("accept after the burst");
	if (self->afd >= 0) {
		err = fz_pump(fd, self->afd, 4096, fz_seed + 2, 10000);
		EXPECT_EQ(NULL, err) TH_LOG("a new connection: %s", err);
	}
	fz_abort(&fd);
	TH_LOG("ms: target %ld, burst %ld, checks %ld", t1 - t0, t2 - t1, pkt_now_ms() - t2);
}

static void fz_begin(struct __test_metadata *_metadata, struct fz_state *self, int proto)
{
	const char *err;

	memset(self, 0, sizeof(*self));
	self->lfd = -1;
	self->afd = -1;
	self->side_c = -1;
	self->side_a = -1;
	self->peer.raw = -1;
	self->peer.home = -1;
	self->proto = proto;
	self->pport = FZ_PPORT;
	self->buf = malloc(FZ_MAX_SEG + 64);
	ASSERT_NE(NULL, self->buf);
	err = peer_open(&self->peer, proto);
	ASSERT_EQ(NULL, err) TH_LOG("raw peer: %s failed", err);
	ASSERT_EQ(0, estp_pair_fam(proto, ESTP_FAM4, FZ_SIDE_PORT, &self->side_c,
				   &self->side_a));
}

/* The protocol's sockets in this netns once they are down to none, or after @ms. */
static long fz_sockets_settle(int proto, int ms)
{
	long end = pkt_now_ms() + ms, n = -1;

	while (!estp_proto_line(proto == IPPROTO_TCP ? "TCP" : "ESTP", NULL, &n) && n &&
	       pkt_now_ms() < end)
		usleep(10000);
	return n;
}

static void fz_end(struct __test_metadata *_metadata, struct fz_state *self)
{
	if (_metadata->exit_code == KSFT_FAIL && self->name[0])
		ksft_print_msg("replay: ESTP_FUZZ_SEED=%llu ESTP_FUZZ_N=%d %s -r fz.%s\n",
			       (unsigned long long)fz_seed, fz_n, "./estp_fuzz_pkt", self->name);
	fz_abort(&self->afd);
	fz_close(&self->lfd);
	fz_close(&self->side_c);
	fz_close(&self->side_a);
	/*
	 * No orphan may outlive the case: one would hold this netns and the
	 * module for as long as it retransmits to the silent raw peer.
	 */
	EXPECT_EQ(0, fz_sockets_settle(self->proto, 5000));
	peer_close(&self->peer);
	free(self->buf);
	self->buf = NULL;
}

FIXTURE_SETUP(fz)
{
	fz_begin(_metadata, &self->s, variant->proto);
}

FIXTURE_TEARDOWN(fz)
{
	fz_end(_metadata, &self->s);
}

TEST_F_TIMEOUT(fz, listen, FZ_CASE_SECS)
{
	fz_run(_metadata, &self->s, variant->name, FZ_LISTEN, "listen");
}

TEST_F_TIMEOUT(fz, listen_cookies, FZ_CASE_SECS)
{
	fz_run(_metadata, &self->s, variant->name, FZ_COOKIES, "listen_cookies");
}

TEST_F_TIMEOUT(fz, syn_sent, FZ_CASE_SECS)
{
	fz_run(_metadata, &self->s, variant->name, FZ_SYN_SENT, "syn_sent");
}

TEST_F_TIMEOUT(fz, syn_recv, FZ_CASE_SECS)
{
	fz_run(_metadata, &self->s, variant->name, FZ_SYN_RECV, "syn_recv");
}

TEST_F_TIMEOUT(fz, established, FZ_CASE_SECS)
{
	fz_run(_metadata, &self->s, variant->name, FZ_ESTAB, "established");
}

TEST_F_TIMEOUT(fz, fin_wait1, FZ_CASE_SECS)
{
	fz_run(_metadata, &self->s, variant->name, FZ_FIN_WAIT1, "fin_wait1");
}

TEST_F_TIMEOUT(fz, fin_wait2, FZ_CASE_SECS)
{
	fz_run(_metadata, &self->s, variant->name, FZ_FIN_WAIT2, "fin_wait2");
}

TEST_F_TIMEOUT(fz, closing, FZ_CASE_SECS)
{
	fz_run(_metadata, &self->s, variant->name, FZ_CLOSING, "closing");
}

TEST_F_TIMEOUT(fz, close_wait, FZ_CASE_SECS)
{
	fz_run(_metadata, &self->s, variant->name, FZ_CLOSE_WAIT, "close_wait");
}

TEST_F_TIMEOUT(fz, last_ack, FZ_CASE_SECS)
{
	fz_run(_metadata, &self->s, variant->name, FZ_LAST_ACK, "last_ack");
}

TEST_F_TIMEOUT(fz, time_wait, FZ_CASE_SECS)
{
	fz_run(_metadata, &self->s, variant->name, FZ_TIME_WAIT, "time_wait");
}

/*
 * Cases that once failed, replayed in every run: the seed, the segments a
 * case and the target.
 */
static const struct fz_regression {
	unsigned long long seed;
	int n;
	enum fz_kind kind;
	const char *name;
} fz_replays[] = {
	/*
	 * A simultaneous open took the target to SYN_RECV; the fuzzer closed
	 * it without a RST and the orphan held the module (fz_end()).
	 */
	{ 2, 100, FZ_SYN_SENT, "syn_sent" },
};

TEST_F_TIMEOUT(fz, regressions, FZ_CASE_SECS)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fz_replays); i++) {
		if (i) {
			fz_end(_metadata, &self->s);
			fz_begin(_metadata, &self->s, variant->proto);
		}
		fz_seed = fz_replays[i].seed;
		fz_n = fz_replays[i].n;
		fz_run(_metadata, &self->s, variant->name, fz_replays[i].kind,
		       fz_replays[i].name);
	}
}

ESTP_HARNESS_MAIN_CI_ESTP_ONLY
