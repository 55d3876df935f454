// SPDX-License-Identifier: GPL-2.0
/*
 * sock_diag (inet_diag) and SOCK_DESTROY, over raw NETLINK_SOCK_DIAG, for
 * TCP and ESTP as fixture variants: what TCP's tcp_diag answers, ESTP's
 * must answer for its own protocol number.
 *
 * - dump: a listener, an established pair, a request sock (a raw peer's
 *   SYN left without its final ACK) and a time-wait minisock, with their
 *   states, ports, inodes, uids and timers; the states mask, the request's
 *   ports and a bytecode port filter select exactly the expected ones; a
 *   lookup by cookie finds one, a wrong cookie none; the MEMINFO,
 *   SKMEMINFO, CONG and SHUTDOWN attributes hold what the socket has.
 * - SOCK_DESTROY: an established socket's peer gets a RST, its blocked
 *   reader and later calls ECONNABORTED; a listener's acceptor wakes with
 *   TCP's errno and its unaccepted child's peer is reset; a request sock
 *   and a time-wait minisock leave the tables; orphans in LAST_ACK and
 *   FIN_WAIT2 leave them and let go of the orphan count (TCP) or estp.ko
 *   (ESTP) in the destroy itself; a socket bound to a device is found
 *   only with its interface; a second destroy and one
 *   from a user namespace without CAP_NET_ADMIN over the socket's netns
 *   fail as TCP's do.  A kernel without CONFIG_INET_DIAG_DESTROY has no
 *   SOCK_DESTROY for TCP: there the TCP variant skips them (every kernel
 *   of the matrix has it, the debug kernel since its config says so).
 * - races (ESTP only, through the fault point "abort", which holds a
 *   destroy between its lookup and the socket lock): a close() and a
 *   second destroy inside that window.
 * - IPv6 (fixture diag6): an AF_INET6 dump lists the IPv6 and v4-mapped
 *   sockets (addresses, ports, states, inodes) and an AF_INET dump the IPv4
 *   ones only; a lookup by cookie; SOCK_DESTROY of an IPv6 and a mapped
 *   socket (ECONNABORTED for the owner, ECONNRESET for the peer).
 *
 * Every test runs in a netns of its own (the raw peer's, or diag6's), so
 * that a dump sees only its sockets.
 */
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_pkt.h"
#include "estp_peer.h"

#define LPORT		24000
#define RAW_PORT	4000	/* the raw peer's, below 16384 */
#define ISN		0x2468aceu
#define MAXSOCKS	32
#define DEADLINE_MS	5000
#define MIN(a, b)	((a) < (b) ? (a) : (b))

#define STATES_ALL	((1u << ST_BOUND_INACTIVE) - 1)

/* One socket of a dump, with the attributes the tests look at. */
struct dsock {
	struct inet_diag_msg m;
	int has_meminfo, has_skmeminfo, has_shutdown;
	int info_len;			/* INET_DIAG_INFO's, 0: none */
	uint8_t info_state;		/* its tcpi_state */
	struct inet_diag_meminfo meminfo;
	uint32_t skmeminfo[SK_MEMINFO_VARS];
	uint8_t shutdown;
	char cong[32];
};

static int diag_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	/* A TCG guest on a busy host can be slow: an answer gets 30 s. */
	struct timeval tv = { .tv_sec = 30, .tv_usec = 0 };

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Sends a request of @type with @flags, and @bc as its bytecode: 0 or -errno. */
static int diag_send(int fd, int type, int flags, const struct inet_diag_req_v2 *req,
		     const void *bc, int bclen)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
		struct nlattr nla;
		char bc[64];
	} msg;
	size_t len = NLMSG_LENGTH(sizeof(*req));

	memset(&msg, 0, sizeof(msg));
	msg.req = *req;
	if (bclen) {
		msg.nla.nla_type = INET_DIAG_REQ_BYTECODE;
		msg.nla.nla_len = NLA_HDRLEN + bclen;
		memcpy(msg.bc, bc, bclen);
		len += NLA_ALIGN(msg.nla.nla_len);
	}
	msg.nlh.nlmsg_len = len;
	msg.nlh.nlmsg_type = type;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | flags;
	msg.nlh.nlmsg_seq = 1;
	return send(fd, &msg, len, 0) == (ssize_t)len ? 0 : -errno;
}

static void diag_parse(const struct nlmsghdr *nlh, struct dsock *d)
{
	const struct inet_diag_msg *m = NLMSG_DATA(nlh);
	int len = nlh->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	const struct nlattr *a = (const void *)((const char *)m + NLMSG_ALIGN(sizeof(*m)));

	memset(d, 0, sizeof(*d));
	d->m = *m;
	while (len >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= len) {
		const void *data = (const char *)a + NLA_HDRLEN;
		size_t dlen = a->nla_len - NLA_HDRLEN;

		switch (a->nla_type & NLA_TYPE_MASK) {
		case INET_DIAG_MEMINFO:
			d->has_meminfo = dlen >= sizeof(d->meminfo);
			memcpy(&d->meminfo, data, MIN(dlen, sizeof(d->meminfo)));
			break;
		case INET_DIAG_SKMEMINFO:
			d->has_skmeminfo = dlen >= sizeof(d->skmeminfo);
			memcpy(d->skmeminfo, data, MIN(dlen, sizeof(d->skmeminfo)));
			break;
		case INET_DIAG_SHUTDOWN:
			d->has_shutdown = 1;
			d->shutdown = *(const uint8_t *)data;
			break;
		case INET_DIAG_INFO:
			d->info_len = dlen;
			d->info_state = dlen ? *(const uint8_t *)data : 0xff;
			break;
		case INET_DIAG_CONG:
			snprintf(d->cong, sizeof(d->cong), "%.*s", (int)dlen, (const char *)data);
			break;
		}
		len -= NLA_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
}

/*
 * Reads answers until NLMSG_DONE (a dump) or one message or error (the
 * others): the sockets into @out (up to @max), how many came, or -errno.
 */
static int diag_recv(int fd, struct dsock *out, int max, int dump)
{
	/* Not static: the race tests read answers in two threads at once. */
	char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	int n = 0;

	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

		if (len < 0)
			return -errno;
		for (; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_type == NLMSG_DONE)
				return n;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nlh);

				return e->error ? e->error : n;
			}
			if (n < max)
				diag_parse(nlh, &out[n]);
			n++;
			if (!dump)
				return n;
		}
	}
}

static struct inet_diag_req_v2 diag_req(int proto, uint32_t states, uint8_t ext)
{
	struct inet_diag_req_v2 r;

	memset(&r, 0, sizeof(r));
	r.sdiag_family = AF_INET;
	r.sdiag_protocol = proto;
	r.idiag_ext = ext;
	r.idiag_states = states;
	r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	return r;
}

/* A dump: the sockets into @out, how many, or -errno. */
static int diag_dump(const struct inet_diag_req_v2 *req, const void *bc, int bclen,
		     struct dsock *out, int max)
{
	int fd = diag_open(), n;

	if (fd < 0)
		return -errno;
	n = diag_send(fd, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, req, bc, bclen);
	if (!n)
		n = diag_recv(fd, out, max, 1);
	close(fd);
	return n;
}

/*
 * SOCK_DIAG_BY_FAMILY for one socket of @family (@out), or SOCK_DESTROY:
 * 0 or -errno.
 */
static int diag_exact_fam(int type, int family, int proto, const struct inet_diag_sockid *id,
			  uint8_t ext, struct dsock *out)
{
	struct inet_diag_req_v2 req = diag_req(proto, STATES_ALL, ext);
	struct dsock tmp;
	int fd = diag_open(), ret;

	if (fd < 0)
		return -errno;
	req.sdiag_family = family;
	req.id = *id;
	ret = diag_send(fd, type, type == SOCK_DESTROY ? NLM_F_ACK : 0, &req, NULL, 0);
	if (!ret)
		ret = diag_recv(fd, out ? out : &tmp, 1, 0);
	close(fd);
	return ret < 0 ? ret : 0;
}

static int diag_exact(int type, int proto, const struct inet_diag_sockid *id, uint8_t ext,
		      struct dsock *out)
{
	return diag_exact_fam(type, AF_INET, proto, id, ext, out);
}

static int diag_destroy(int proto, const struct inet_diag_sockid *id)
{
	return diag_exact(SOCK_DESTROY, proto, id, 0, NULL);
}

/* The socket of a dump with local port @lport, remote port @rport (-1: any). */
static const struct dsock *find(const struct dsock *s, int n, int lport, int rport)
{
	int i;

	for (i = 0; i < n && i < MAXSOCKS; i++)
		if ((lport < 0 || ntohs(s[i].m.id.idiag_sport) == lport) &&
		    (rport < 0 || ntohs(s[i].m.id.idiag_dport) == rport))
			return &s[i];
	return NULL;
}

/* Every socket of @proto in this netns, for a failure's log. */
static void log_dump(struct __test_metadata *_metadata, int proto)
{
	struct inet_diag_req_v2 req = diag_req(proto, STATES_ALL, 0);
	static struct dsock s[MAXSOCKS];
	int i, n = diag_dump(&req, NULL, 0, s, MAXSOCKS);

	TH_LOG("dump: %d sockets", n);
	for (i = 0; i < n && i < MAXSOCKS; i++)
		TH_LOG("  %u -> %u state %u timer %u expires %u",
		       ntohs(s[i].m.id.idiag_sport), ntohs(s[i].m.id.idiag_dport),
		       s[i].m.idiag_state, s[i].m.idiag_timer, s[i].m.idiag_expires);
}

/* Polls the dump of @proto until the socket @lport:@rport is in @state (-1: gone). */
static int wait_state(int proto, int lport, int rport, int state)
{
	struct inet_diag_req_v2 req = diag_req(proto, STATES_ALL, 0);
	static struct dsock s[MAXSOCKS];
	int ms, n;

	for (ms = 0; ms < DEADLINE_MS; ms += 10) {
		const struct dsock *d;

		n = diag_dump(&req, NULL, 0, s, MAXSOCKS);
		if (n < 0)
			return n;
		d = find(s, n, lport, rport);
		if (state < 0 ? !d : d && d->m.idiag_state == state)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static unsigned long inode_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

/* Whether thread @tid of this process sleeps (state S): it is blocked. */
static int thread_sleeps(pid_t tid)
{
	char path[64], buf[256], *p;
	int fd, ms;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	for (ms = 0; ms < DEADLINE_MS; ms += 5) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return 0;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			p = strrchr(buf, ')');
			if (p && p[1] == ' ' && p[2] == 'S')
				return 1;
		}
		usleep(5000);
	}
	return 0;
}

/* A blocking call in a thread of its own: recv() or accept() on fd. */
struct blocked {
	int fd, accept;
	pid_t tid;
	ssize_t ret;
	int err;
	pthread_t th;
};

static void *blocked_call(void *arg)
{
	struct blocked *b = arg;
	char c;

	b->tid = syscall(SYS_gettid);
	b->ret = b->accept ? accept(b->fd, NULL, NULL) : recv(b->fd, &c, 1, 0);
	b->err = errno;
	return NULL;
}

static int blocked_start(struct blocked *b, int fd, int is_accept)
{
	memset(b, 0, sizeof(*b));
	b->fd = fd;
	b->accept = is_accept;
	if (pthread_create(&b->th, NULL, blocked_call, b))
		return -1;
	while (!__atomic_load_n(&b->tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	return thread_sleeps(b->tid) ? 0 : -1;
}

FIXTURE(diag) {
	struct estp_peer peer;
	int proto;
	int lfd, cfd, afd;		/* listener, client, accepted */
	int tw_port;			/* the client port of the time-wait pair */
	struct peer_conn req;		/* the raw peer's half-open connection */
};

FIXTURE_VARIANTS_TCP_ESTP(diag);

/*
 * A listener on LPORT with an accepted pair, a time-wait minisock of a
 * second pair (its client side) and a request sock of the raw peer's.
 */
static void env_setup(struct __test_metadata *_metadata,
		      FIXTURE_DATA(diag) *self, int proto)
{
	struct sockaddr_in sin = estp_sin4(PEER_ADDR, LPORT);
	const char *why;
	int one = 1, fd, afd;

	self->proto = proto;
	self->lfd = -1;
	self->cfd = -1;
	self->afd = -1;
	why = peer_open(&self->peer, self->proto);
	ASSERT_EQ(NULL, why) TH_LOG("raw peer: %s", why);

	self->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, self->proto);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(self->lfd, 16));

	/* The established pair. */
	self->cfd = estp_connect_to(self->proto, PEER_ADDR, LPORT);
	ASSERT_LE(0, self->cfd);
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);

	/* A time-wait minisock on the client side: it closes first. */
	fd = estp_connect_to(self->proto, PEER_ADDR, LPORT);
	ASSERT_LE(0, fd);
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	self->tw_port = estp_local_port(fd);
	close(fd);
	ASSERT_EQ(0, wait_state(self->proto, LPORT, self->tw_port, 8 /* CLOSE_WAIT */))
		log_dump(_metadata, self->proto);
	close(afd);
	ASSERT_EQ(0, wait_state(self->proto, self->tw_port, LPORT, ST_TIME_WAIT))
		log_dump(_metadata, self->proto);
	ASSERT_EQ(0, wait_state(self->proto, LPORT, self->tw_port, -1))
		log_dump(_metadata, self->proto);

	/* A request sock: the raw peer's SYN, answered, never acknowledged. */
	ASSERT_EQ(1, peer_syn(&self->peer, &self->req, RAW_PORT, LPORT, ISN, 1460));
	ASSERT_EQ(PKT_SYN | PKT_ACK, self->req.synack.flags);
}

static void env_teardown(FIXTURE_DATA(diag) *self)
{
	if (self->cfd >= 0)
		close(self->cfd);
	if (self->afd >= 0)
		close(self->afd);
	if (self->lfd >= 0)
		close(self->lfd);
	peer_close(&self->peer);
}

FIXTURE_SETUP(diag)
{
	env_setup(_metadata, self, variant->proto);
}

FIXTURE_TEARDOWN(diag)
{
	env_teardown(self);
}

/* The sockid of a dumped socket, cookie included, for a lookup or destroy. */
static int sockid_of(int proto, int lport, int rport, struct inet_diag_sockid *id)
{
	struct inet_diag_req_v2 req = diag_req(proto, STATES_ALL, 0);
	static struct dsock s[MAXSOCKS];
	const struct dsock *d;
	int n = diag_dump(&req, NULL, 0, s, MAXSOCKS);

	d = n > 0 ? find(s, n, lport, rport) : NULL;
	if (!d)
		return -1;
	*id = d->m.id;
	return 0;
}

/*
 * Whether @proto answers SOCK_DESTROY: TCP only with
 * CONFIG_INET_DIAG_DESTROY; asked with a cookie
 * that matches no socket, so that nothing is destroyed.
 */
static int destroy_supported(int proto, const struct inet_diag_sockid *id)
{
	struct inet_diag_sockid bad = *id;

	bad.idiag_cookie[0] ^= 1;
	return diag_destroy(proto, &bad) != -EOPNOTSUPP;
}

#define NO_DESTROY	"no SOCK_DESTROY for TCP: kernel without CONFIG_INET_DIAG_DESTROY"

/* Every kind of socket, once, with its state, ports, owner and timer. */
TEST_F(diag, dump_all)
{
	struct inet_diag_req_v2 req = diag_req(self->proto, STATES_ALL, 0);
	struct dsock s[MAXSOCKS];
	int cport = estp_local_port(self->cfd);
	const struct dsock *d;
	int n;

	n = diag_dump(&req, NULL, 0, s, MAXSOCKS);
	ASSERT_EQ(5, n);

	d = find(s, n, LPORT, 0);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(ST_LISTEN, d->m.idiag_state);
	EXPECT_EQ(inode_of(self->lfd), d->m.idiag_inode);
	EXPECT_EQ(getuid(), d->m.idiag_uid);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), d->m.id.idiag_src[0]);
	EXPECT_EQ(16u, d->m.idiag_wqueue);	/* the backlog */

	d = find(s, n, cport, LPORT);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(ST_ESTABLISHED, d->m.idiag_state);
	EXPECT_EQ(inode_of(self->cfd), d->m.idiag_inode);
	EXPECT_EQ(getuid(), d->m.idiag_uid);

	d = find(s, n, LPORT, cport);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(ST_ESTABLISHED, d->m.idiag_state);
	EXPECT_EQ(inode_of(self->afd), d->m.idiag_inode);

	d = find(s, n, LPORT, RAW_PORT);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(ST_SYN_RECV, d->m.idiag_state);
	EXPECT_EQ(1, d->m.idiag_timer);
	EXPECT_EQ(0u, d->m.idiag_inode);
	EXPECT_EQ(0u, d->m.idiag_uid);
	EXPECT_GE(3000u, d->m.idiag_expires);	/* 1 s, or 2 s after a resend */

	d = find(s, n, self->tw_port, LPORT);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(ST_TIME_WAIT, d->m.idiag_state);
	EXPECT_EQ(3, d->m.idiag_timer);
	EXPECT_EQ(0u, d->m.idiag_inode);
	EXPECT_LT(50000u, d->m.idiag_expires);	/* 60 s, less what passed */
	EXPECT_GE(60000u, d->m.idiag_expires);
}

/* The states mask picks each kind alone; SYN_RECV stands for request socks. */
TEST_F(diag, state_mask)
{
	static const struct { int state, count; } cases[] = {
		{ ST_LISTEN, 1 }, { ST_ESTABLISHED, 2 }, { ST_SYN_RECV, 1 },
		{ ST_TIME_WAIT, 1 }, { 2 /* SYN_SENT */, 0 },
	};
	struct dsock s[MAXSOCKS];
	size_t i;
	int j, n;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct inet_diag_req_v2 req = diag_req(self->proto, 1u << cases[i].state, 0);

		n = diag_dump(&req, NULL, 0, s, MAXSOCKS);
		EXPECT_EQ(cases[i].count, n) TH_LOG("state %d", cases[i].state);
		for (j = 0; j < n && j < MAXSOCKS; j++)
			EXPECT_EQ(cases[i].state, s[j].m.idiag_state)
				TH_LOG("%u -> %u", ntohs(s[j].m.id.idiag_sport),
				       ntohs(s[j].m.id.idiag_dport));
		if (n != cases[i].count)
			log_dump(_metadata, self->proto);
	}
}

/* The request's source port, and a bytecode destination-port test. */
TEST_F(diag, port_filters)
{
	struct inet_diag_req_v2 req = diag_req(self->proto, STATES_ALL, 0);
	/* dport == LPORT: on to the end (accept), else past it (reject) */
	struct inet_diag_bc_op bc[2] = {
		{ .code = INET_DIAG_BC_D_EQ, .yes = 8, .no = 12 },
		{ .code = 0, .yes = 0, .no = LPORT },
	};
	int cport = estp_local_port(self->cfd);
	struct dsock s[MAXSOCKS];
	int n;

	req.id.idiag_sport = htons(LPORT);
	n = diag_dump(&req, NULL, 0, s, MAXSOCKS);
	EXPECT_EQ(3, n);		/* listener, accepted, request */
	EXPECT_NE(NULL, find(s, n, LPORT, 0));
	EXPECT_NE(NULL, find(s, n, LPORT, cport));
	EXPECT_NE(NULL, find(s, n, LPORT, RAW_PORT));

	req = diag_req(self->proto, STATES_ALL, 0);
	n = diag_dump(&req, bc, sizeof(bc), s, MAXSOCKS);
	EXPECT_EQ(2, n);		/* the client, the time-wait minisock */
	EXPECT_NE(NULL, find(s, n, cport, LPORT));
	EXPECT_NE(NULL, find(s, n, self->tw_port, LPORT));

	/* A bytecode that the audit refuses. */
	bc[0].no = 13;
	EXPECT_EQ(-EINVAL, diag_dump(&req, bc, sizeof(bc), s, MAXSOCKS));
}

/* One socket by its 4-tuple and cookie; a wrong cookie finds none. */
TEST_F(diag, lookup_by_cookie)
{
	int cport = estp_local_port(self->cfd);
	struct inet_diag_sockid id;
	struct dsock d;

	ASSERT_EQ(0, sockid_of(self->proto, LPORT, cport, &id));
	ASSERT_EQ(0, diag_exact(SOCK_DIAG_BY_FAMILY, self->proto, &id, 0, &d));
	EXPECT_EQ(inode_of(self->afd), d.m.idiag_inode);
	EXPECT_EQ(ST_ESTABLISHED, d.m.idiag_state);
	EXPECT_EQ(0, memcmp(id.idiag_cookie, d.m.id.idiag_cookie, sizeof(id.idiag_cookie)));

	id.idiag_cookie[0] ^= 1;
	EXPECT_EQ(-ENOENT, diag_exact(SOCK_DIAG_BY_FAMILY, self->proto, &id, 0, &d));

	/* The listener, the request sock and the minisock too. */
	ASSERT_EQ(0, sockid_of(self->proto, LPORT, 0, &id));
	ASSERT_EQ(0, diag_exact(SOCK_DIAG_BY_FAMILY, self->proto, &id, 0, &d));
	EXPECT_EQ(ST_LISTEN, d.m.idiag_state);
	ASSERT_EQ(0, sockid_of(self->proto, LPORT, RAW_PORT, &id));
	ASSERT_EQ(0, diag_exact(SOCK_DIAG_BY_FAMILY, self->proto, &id, 0, &d));
	EXPECT_EQ(ST_SYN_RECV, d.m.idiag_state);
	ASSERT_EQ(0, sockid_of(self->proto, self->tw_port, LPORT, &id));
	ASSERT_EQ(0, diag_exact(SOCK_DIAG_BY_FAMILY, self->proto, &id, 0, &d));
	EXPECT_EQ(ST_TIME_WAIT, d.m.idiag_state);
}

/* MEMINFO, SKMEMINFO, CONG, SHUTDOWN and the queues hold the socket's values. */
TEST_F(diag, attributes)
{
	uint8_t ext = (1 << (INET_DIAG_MEMINFO - 1)) | (1 << (INET_DIAG_SKMEMINFO - 1)) |
		      (1 << (INET_DIAG_CONG - 1)) | (1 << (INET_DIAG_INFO - 1));
	unsigned char info[512];
	socklen_t info_len = sizeof(info);
	struct inet_diag_req_v2 req = diag_req(self->proto, STATES_ALL, ext);
	int cport = estp_local_port(self->cfd), rcvbuf;
	char buf[1000], cc[32];
	struct dsock s[MAXSOCKS];
	const struct dsock *d;
	socklen_t len = sizeof(rcvbuf);
	int n, ms;

	memset(buf, 'x', sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf), send(self->cfd, buf, sizeof(buf), 0));
	ASSERT_EQ(0, shutdown(self->cfd, SHUT_WR));
	ASSERT_EQ(0, getsockopt(self->afd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len));
	ASSERT_EQ(0, estp_sysctl_get(self->proto == IPPROTO_TCP ?
				     "/proc/sys/net/ipv4/tcp_congestion_control" :
				     "/proc/sys/net/estp/congestion_control", cc, sizeof(cc)));
	cc[strcspn(cc, "\n")] = '\0';

	/* Until the data and the FIN are in. */
	for (ms = 0, d = NULL; ms < DEADLINE_MS; ms += 10, usleep(10000)) {
		n = diag_dump(&req, NULL, 0, s, MAXSOCKS);
		d = find(s, n, LPORT, cport);
		/* And the client's FIN is acknowledged: FIN_WAIT2. */
		if (d && d->has_shutdown && d->shutdown == 1 /* RCV_SHUTDOWN */ &&
		    find(s, n, cport, LPORT) && find(s, n, cport, LPORT)->m.idiag_state == 5)
			break;
	}
	ASSERT_NE(NULL, d);
	EXPECT_EQ(1, d->shutdown);
	/* The FIN counts, as TCP's rcv_nxt does. */
	EXPECT_EQ((uint32_t)sizeof(buf) + 1, d->m.idiag_rqueue);
	EXPECT_EQ(0u, d->m.idiag_wqueue);
	ASSERT_TRUE(d->has_meminfo);
	EXPECT_LT((uint32_t)sizeof(buf), d->meminfo.idiag_rmem);	/* truesize */
	ASSERT_TRUE(d->has_skmeminfo);
	EXPECT_EQ(d->meminfo.idiag_rmem, d->skmeminfo[SK_MEMINFO_RMEM_ALLOC]);
	EXPECT_EQ((uint32_t)rcvbuf, d->skmeminfo[SK_MEMINFO_RCVBUF]);
	EXPECT_STREQ(cc, d->cong);
	/* INET_DIAG_INFO: TCP_INFO's struct, of the running kernel's size. */
	ASSERT_EQ(0, getsockopt(self->afd, IPPROTO_TCP, TCP_INFO, info, &info_len));
	EXPECT_EQ((int)info_len, d->info_len);
	EXPECT_EQ(d->m.idiag_state, d->info_state);

	d = find(s, n, cport, LPORT);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(2, d->shutdown);	/* SEND_SHUTDOWN */
	EXPECT_EQ(0u, d->m.idiag_wqueue);	/* all acknowledged: FIN_WAIT2 */
}

/*
 * An established socket destroyed: its blocked reader and later calls get
 * ECONNABORTED, the peer a RST; a second destroy finds nothing.
 */
TEST_F(diag, destroy_established)
{
	int cport = estp_local_port(self->cfd);
	struct inet_diag_sockid id;
	struct blocked b;
	char c;

	ASSERT_EQ(0, sockid_of(self->proto, cport, LPORT, &id));
	if (!destroy_supported(self->proto, &id))
		SKIP(return, NO_DESTROY);
	ASSERT_EQ(0, blocked_start(&b, self->cfd, 0));
	ASSERT_EQ(0, diag_destroy(self->proto, &id));
	pthread_join(b.th, NULL);
	EXPECT_EQ(-1, b.ret);
	EXPECT_EQ(ECONNABORTED, b.err);

	/* The error went to the reader: later calls see a closed socket. */
	EXPECT_EQ(0, recv(self->cfd, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(-1, send(self->cfd, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(0, estp_so_error(self->cfd));

	/* The peer was reset. */
	EXPECT_EQ(-1, recv(self->afd, &c, 1, 0));
	EXPECT_EQ(ECONNRESET, errno);

	EXPECT_EQ(0, wait_state(self->proto, cport, LPORT, -1));
	EXPECT_EQ(-ENOENT, diag_destroy(self->proto, &id));
}

/* A destroy before the reader comes: its first call reports it. */
TEST_F(diag, destroy_then_read)
{
	int cport = estp_local_port(self->cfd);
	struct inet_diag_sockid id;
	char c;

	ASSERT_EQ(0, sockid_of(self->proto, cport, LPORT, &id));
	if (!destroy_supported(self->proto, &id))
		SKIP(return, NO_DESTROY);
	ASSERT_EQ(0, diag_destroy(self->proto, &id));
	EXPECT_EQ(-1, recv(self->cfd, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(ECONNABORTED, errno);
	EXPECT_EQ(0, recv(self->cfd, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(0, estp_so_error(self->cfd));
}

/*
 * A listener destroyed: its unaccepted child is reset, its request sock
 * goes, the owner sees ECONNABORTED and accept() TCP's errno.
 */
TEST_F(diag, destroy_listener)
{
	struct inet_diag_sockid id;
	int fd;
	char c;

	fd = estp_connect_to(self->proto, PEER_ADDR, LPORT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, wait_state(self->proto, LPORT, estp_local_port(fd), ST_ESTABLISHED));
	ASSERT_EQ(0, sockid_of(self->proto, LPORT, 0, &id));
	if (!destroy_supported(self->proto, &id))
		SKIP(return, NO_DESTROY);
	ASSERT_EQ(0, diag_destroy(self->proto, &id));
	EXPECT_EQ(-1, recv(fd, &c, 1, 0));
	EXPECT_EQ(ECONNRESET, errno);
	close(fd);
	EXPECT_EQ(0, wait_state(self->proto, LPORT, RAW_PORT, -1));
	EXPECT_EQ(0, wait_state(self->proto, LPORT, 0, -1));
	EXPECT_EQ(ECONNABORTED, estp_so_error(self->lfd));
	EXPECT_EQ(-1, accept(self->lfd, NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	/* Still bound: from 6.8, a dump that asks shows it in CLOSE. */
	if (estp_kernel_at_least(6, 8) == 1) {
		struct inet_diag_req_v2 req = diag_req(self->proto, 1u << ST_BOUND_INACTIVE, 0);
		struct dsock s[MAXSOCKS];
		int n = diag_dump(&req, NULL, 0, s, MAXSOCKS);

		ASSERT_EQ(1, n);
		EXPECT_EQ(ST_CLOSE, s[0].m.idiag_state);
		EXPECT_EQ(LPORT, ntohs(s[0].m.id.idiag_sport));
		EXPECT_EQ(inode_of(self->lfd), s[0].m.idiag_inode);
	}
	/* The accepted pair lives on. */
	EXPECT_EQ(0, wait_state(self->proto, LPORT, estp_local_port(self->cfd),
				ST_ESTABLISHED));
}

/* An acceptor blocked when the listener is destroyed wakes with TCP's errno. */
TEST_F(diag, destroy_listener_wakes_acceptor)
{
	struct inet_diag_sockid id;
	struct blocked b;

	ASSERT_EQ(0, sockid_of(self->proto, LPORT, 0, &id));
	if (!destroy_supported(self->proto, &id))
		SKIP(return, NO_DESTROY);
	ASSERT_EQ(0, blocked_start(&b, self->lfd, 1));
	ASSERT_EQ(0, diag_destroy(self->proto, &id));
	pthread_join(b.th, NULL);
	EXPECT_EQ(-1, b.ret);
	EXPECT_EQ(EINVAL, b.err);
	EXPECT_EQ(-ENOENT, diag_destroy(self->proto, &id));
}

/* A request sock and a time-wait minisock leave the tables; twice: ENOENT. */
TEST_F(diag, destroy_minisocks)
{
	struct inet_diag_sockid rid, tid;

	ASSERT_EQ(0, sockid_of(self->proto, LPORT, RAW_PORT, &rid));
	ASSERT_EQ(0, sockid_of(self->proto, self->tw_port, LPORT, &tid));
	if (!destroy_supported(self->proto, &rid))
		SKIP(return, NO_DESTROY);
	ASSERT_EQ(0, diag_destroy(self->proto, &rid));
	EXPECT_EQ(0, wait_state(self->proto, LPORT, RAW_PORT, -1));
	EXPECT_EQ(-ENOENT, diag_destroy(self->proto, &rid));
	ASSERT_EQ(0, diag_destroy(self->proto, &tid));
	EXPECT_EQ(0, wait_state(self->proto, self->tw_port, LPORT, -1));
	EXPECT_EQ(-ENOENT, diag_destroy(self->proto, &tid));
	/* The listener and the pair are still there. */
	EXPECT_EQ(0, wait_state(self->proto, LPORT, 0, ST_LISTEN));
	EXPECT_EQ(0, wait_state(self->proto, estp_local_port(self->cfd), LPORT,
				ST_ESTABLISHED));
}

/* TCP's orphan count (/proc/net/sockstat, all netns), or -1. */
static int tcp_orphans(void)
{
	char line[256];
	int inuse, n = -1;
	FILE *f = fopen("/proc/net/sockstat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TCP: inuse %d orphan %d", &inuse, &n) == 2)
			break;
	fclose(f);
	return n;
}

/*
 * What holds an orphan: TCP's orphan count, or for ESTP the module's use
 * count (estp_prot.owner: one per sock, none for a minisock).
 */
static int orphan_holds(int proto)
{
	return proto == IPPROTO_TCP ? tcp_orphans() : estp_module_refs();
}

/*
 * Orphans destroyed: one in LAST_ACK (its FIN to the raw peer never
 * acknowledged) and one in FIN_WAIT2 as a full sock (TCP_LINGER2 past
 * TIME_WAIT's 60 s keeps it out of a minisock).  Each leaves the tables and
 * lets go of what it held, the orphan count or estp.ko, at once: not when a
 * timer comes round.
 */
TEST_F(diag, destroy_orphans)
{
	int cport = estp_local_port(self->cfd), lng = 120, rfd, before, now, ms;
	struct inet_diag_sockid lid, fid;
	struct pkt_seg fin;

	ASSERT_EQ(0, sockid_of(self->proto, LPORT, RAW_PORT, &lid));
	if (!destroy_supported(self->proto, &lid))
		SKIP(return, NO_DESTROY);

	/* LAST_ACK: the raw peer's connection, its FIN, then close(). */
	ASSERT_EQ(0, peer_ack(&self->peer, &self->req));
	rfd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, rfd);
	fin = peer_seg(&self->req, PKT_FIN | PKT_ACK);
	ASSERT_EQ(0, peer_send(&self->peer, &fin));
	ASSERT_EQ(0, wait_state(self->proto, LPORT, RAW_PORT, ST_CLOSE_WAIT))
		log_dump(_metadata, self->proto);
	close(rfd);
	ASSERT_EQ(0, wait_state(self->proto, LPORT, RAW_PORT, ST_LAST_ACK))
		log_dump(_metadata, self->proto);

	/* FIN_WAIT2: the client closes first, the accepted side acks. */
	ASSERT_EQ(0, setsockopt(self->cfd, IPPROTO_TCP, TCP_LINGER2, &lng, sizeof(lng)));
	close(self->cfd);
	self->cfd = -1;
	ASSERT_EQ(0, wait_state(self->proto, cport, LPORT, ST_FIN_WAIT2))
		log_dump(_metadata, self->proto);

	before = orphan_holds(self->proto);
	ASSERT_LE(2, before);
	ASSERT_EQ(0, sockid_of(self->proto, LPORT, RAW_PORT, &lid));
	ASSERT_EQ(0, sockid_of(self->proto, cport, LPORT, &fid));
	ASSERT_EQ(0, diag_destroy(self->proto, &lid));
	ASSERT_EQ(0, diag_destroy(self->proto, &fid));
	EXPECT_EQ(0, wait_state(self->proto, LPORT, RAW_PORT, -1));
	EXPECT_EQ(0, wait_state(self->proto, cport, LPORT, -1));
	EXPECT_EQ(-ENOENT, diag_destroy(self->proto, &lid));
	EXPECT_EQ(-ENOENT, diag_destroy(self->proto, &fid));

	/* Freed in the destroy itself: what holds must come back by both. */
	for (ms = 0; ms < DEADLINE_MS; ms += 10) {
		now = orphan_holds(self->proto);
		if (now <= before - 2)
			break;
		usleep(10000);
	}
	EXPECT_GE(before - 2, now)
		TH_LOG("%s still %d (%d before the destroys)",
		       self->proto == IPPROTO_TCP ? "orphans" : "estp.ko use count", now, before);
}

/*
 * A socket bound to a device is found only with its interface, TCP's as
 * ESTP's (the lookup compares the bound device with idiag_if): ss -K names
 * it as the dump does, and so must a test that cleans up after itself.
 */
TEST_F(diag, destroy_bound_to_device)
{
	struct sockaddr_in sin = estp_sin4(PEER_ADDR, LPORT);
	struct inet_diag_sockid id, any;
	int fd, afd, cport;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, self->proto);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3));
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	cport = estp_local_port(fd);
	ASSERT_EQ(0, sockid_of(self->proto, cport, LPORT, &id));
	if (!destroy_supported(self->proto, &id))
		SKIP(goto out, NO_DESTROY);
	EXPECT_EQ(if_nametoindex("lo"), id.idiag_if);
	any = id;
	any.idiag_if = 0;
	EXPECT_EQ(-ENOENT, diag_destroy(self->proto, &any));
	EXPECT_EQ(0, wait_state(self->proto, cport, LPORT, ST_ESTABLISHED));
	EXPECT_EQ(0, diag_destroy(self->proto, &id));
	EXPECT_EQ(0, wait_state(self->proto, cport, LPORT, -1));
out:
	close(afd);
	close(fd);
}

/*
 * From a user namespace of its own, without CAP_NET_ADMIN over the
 * socket's netns: EPERM, and the socket lives on.  A dump still works.
 */
TEST_F(diag, destroy_unprivileged)
{
	int cport = estp_local_port(self->cfd);
	struct inet_diag_sockid id;
	int status;
	pid_t pid;

	ASSERT_EQ(0, sockid_of(self->proto, cport, LPORT, &id));
	if (!destroy_supported(self->proto, &id))
		SKIP(return, NO_DESTROY);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct inet_diag_req_v2 req = diag_req(self->proto, STATES_ALL, 0);
		struct dsock s[MAXSOCKS];

		if (unshare(CLONE_NEWUSER))
			_exit(10);
		if (diag_dump(&req, NULL, 0, s, MAXSOCKS) != 5)
			_exit(11);
		_exit(diag_destroy(self->proto, &id) == -EPERM ? 0 : 12);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 10)
		SKIP(return, "no user namespaces in this kernel");
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, wait_state(self->proto, cport, LPORT, ST_ESTABLISHED));
}

/*
 * IPv6: a dual-stack listener on [::]:LPORT with an IPv6 pair over ::1
 * and a v4-mapped pair (::ffff:127.0.0.1), beside an IPv4 listener on
 * LPORT + 1 with its pair.  An AF_INET6 dump lists the IPv6 and mapped
 * sockets and an AF_INET dump the IPv4 ones, as tcp_diag lists TCP's.
 */
FIXTURE(diag6) {
	int lfd6, lfd4;
	int cfd6, afd6;		/* over ::1 */
	int cfdm, afdm;		/* v4-mapped */
	int cfd4, afd4;		/* IPv4 */
};

FIXTURE_VARIANTS_TCP_ESTP(diag6);

FIXTURE_SETUP(diag6)
{
	int proto = variant->proto;

	memset(self, 0xff, sizeof(*self));	/* every fd -1 */
	ASSERT_EQ(0, estp_netns_private());
	self->lfd6 = estp_listen_fam(proto, ESTP_FAM6, "0.0.0.0", LPORT, 16);
	ASSERT_LE(0, self->lfd6);
	self->lfd4 = estp_listen_fam(proto, ESTP_FAM4, "127.0.0.1", LPORT + 1, 16);
	ASSERT_LE(0, self->lfd4);
	self->cfd6 = estp_connect_fam(proto, ESTP_FAM6, "127.0.0.1", LPORT);
	ASSERT_LE(0, self->cfd6);
	self->afd6 = accept(self->lfd6, NULL, NULL);
	ASSERT_LE(0, self->afd6);
	self->cfdm = estp_connect_fam(proto, ESTP_FAM_MAPPED, "127.0.0.1", LPORT);
	ASSERT_LE(0, self->cfdm);
	self->afdm = accept(self->lfd6, NULL, NULL);
	ASSERT_LE(0, self->afdm);
	self->cfd4 = estp_connect_fam(proto, ESTP_FAM4, "127.0.0.1", LPORT + 1);
	ASSERT_LE(0, self->cfd4);
	self->afd4 = accept(self->lfd4, NULL, NULL);
	ASSERT_LE(0, self->afd4);
}

FIXTURE_TEARDOWN(diag6)
{
	int *fds[] = { &self->lfd6, &self->lfd4, &self->cfd6, &self->afd6,
		       &self->cfdm, &self->afdm, &self->cfd4, &self->afd4 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
}

/* A dump of @proto's sockets of @family. */
static int diag_dump_fam(int family, int proto, struct dsock *out, int max)
{
	struct inet_diag_req_v2 req = diag_req(proto, STATES_ALL, 0);

	req.sdiag_family = family;
	return diag_dump(&req, NULL, 0, out, max);
}

/* Whether @a (4 words, network order) is the IPv6 address @text. */
static int addr6_is(const uint32_t *a, const char *text)
{
	struct in6_addr want;

	return inet_pton(AF_INET6, text, &want) == 1 && !memcmp(a, &want, sizeof(want));
}

/* A dumped IPv6 socket: family, state, inode, and both ends' addresses. */
static void check6(struct __test_metadata *_metadata, const struct dsock *s, int n,
		   int lport, int rport, int state, int fd, const char *src, const char *dst)
{
	const struct dsock *d = find(s, n, lport, rport);

	ASSERT_NE(NULL, d) TH_LOG("no %d -> %d in the AF_INET6 dump", lport, rport);
	EXPECT_EQ(AF_INET6, d->m.idiag_family);
	EXPECT_EQ(state, d->m.idiag_state);
	EXPECT_EQ(inode_of(fd), d->m.idiag_inode);
	EXPECT_EQ(getuid(), d->m.idiag_uid);
	EXPECT_TRUE(addr6_is(d->m.id.idiag_src, src)) TH_LOG("%d -> %d: source", lport, rport);
	EXPECT_TRUE(addr6_is(d->m.id.idiag_dst, dst)) TH_LOG("%d -> %d: destination", lport, rport);
}

/* Each family's dump lists its own sockets, with their addresses. */
TEST_F(diag6, dump_families)
{
	int c6 = estp_local_port(self->cfd6), cm = estp_local_port(self->cfdm);
	int c4 = estp_local_port(self->cfd4);
	struct dsock s[MAXSOCKS];
	const struct dsock *d;
	int n, i;

	n = diag_dump_fam(AF_INET6, variant->proto, s, MAXSOCKS);
	ASSERT_EQ(5, n);
	check6(_metadata, s, n, LPORT, 0, ST_LISTEN, self->lfd6, "::", "::");
	check6(_metadata, s, n, c6, LPORT, ST_ESTABLISHED, self->cfd6, "::1", "::1");
	check6(_metadata, s, n, LPORT, c6, ST_ESTABLISHED, self->afd6, "::1", "::1");
	check6(_metadata, s, n, cm, LPORT, ST_ESTABLISHED, self->cfdm,
	       "::ffff:127.0.0.1", "::ffff:127.0.0.1");
	check6(_metadata, s, n, LPORT, cm, ST_ESTABLISHED, self->afdm,
	       "::ffff:127.0.0.1", "::ffff:127.0.0.1");

	n = diag_dump_fam(AF_INET, variant->proto, s, MAXSOCKS);
	ASSERT_EQ(3, n);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(AF_INET, s[i].m.idiag_family);
		EXPECT_EQ(htonl(INADDR_LOOPBACK), s[i].m.id.idiag_src[0]);
	}
	d = find(s, n, LPORT + 1, 0);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(ST_LISTEN, d->m.idiag_state);
	EXPECT_NE(NULL, find(s, n, c4, LPORT + 1));
	EXPECT_NE(NULL, find(s, n, LPORT + 1, c4));
}

/* An IPv6 socket by its 4-tuple and cookie; a wrong cookie finds none. */
TEST_F(diag6, lookup_by_cookie)
{
	int c6 = estp_local_port(self->cfd6), n;
	struct dsock s[MAXSOCKS], d;
	struct inet_diag_sockid id;

	n = diag_dump_fam(AF_INET6, variant->proto, s, MAXSOCKS);
	ASSERT_LT(0, n);
	ASSERT_NE(NULL, find(s, n, LPORT, c6));
	id = find(s, n, LPORT, c6)->m.id;
	ASSERT_EQ(0, diag_exact_fam(SOCK_DIAG_BY_FAMILY, AF_INET6, variant->proto, &id, 0, &d));
	EXPECT_EQ(AF_INET6, d.m.idiag_family);
	EXPECT_EQ(inode_of(self->afd6), d.m.idiag_inode);
	EXPECT_EQ(ST_ESTABLISHED, d.m.idiag_state);
	EXPECT_EQ(0, memcmp(id.idiag_cookie, d.m.id.idiag_cookie, sizeof(id.idiag_cookie)));

	id.idiag_cookie[0] ^= 1;
	EXPECT_EQ(-ENOENT, diag_exact_fam(SOCK_DIAG_BY_FAMILY, AF_INET6, variant->proto,
					  &id, 0, &d));
}

/*
 * SOCK_DESTROY of an IPv6 socket and of a v4-mapped one: the owner's
 * blocked reader gets ECONNABORTED, the peer ECONNRESET, as on IPv4.
 */
TEST_F(diag6, destroy)
{
	struct { int *cfd, *afd; const char *name; } ends[] = {
		{ &self->cfd6, &self->afd6, "ipv6" },
		{ &self->cfdm, &self->afdm, "v4-mapped" },
	};
	struct dsock s[MAXSOCKS];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ends); i++) {
		int cport = estp_local_port(*ends[i].cfd), n, ms;
		struct inet_diag_sockid id, bad;
		struct blocked b;
		char c;

		n = diag_dump_fam(AF_INET6, variant->proto, s, MAXSOCKS);
		ASSERT_NE(NULL, find(s, n, cport, LPORT)) TH_LOG("%s", ends[i].name);
		id = find(s, n, cport, LPORT)->m.id;
		bad = id;
		bad.idiag_cookie[0] ^= 1;
		if (diag_exact_fam(SOCK_DESTROY, AF_INET6, variant->proto, &bad, 0, NULL) ==
		    -EOPNOTSUPP)
			SKIP(return, NO_DESTROY);
		ASSERT_EQ(0, blocked_start(&b, *ends[i].cfd, 0));
		ASSERT_EQ(0, diag_exact_fam(SOCK_DESTROY, AF_INET6, variant->proto, &id, 0, NULL))
			TH_LOG("%s", ends[i].name);
		pthread_join(b.th, NULL);
		EXPECT_EQ(-1, b.ret) TH_LOG("%s", ends[i].name);
		EXPECT_EQ(ECONNABORTED, b.err) TH_LOG("%s", ends[i].name);
		EXPECT_EQ(-1, recv(*ends[i].afd, &c, 1, 0)) TH_LOG("%s", ends[i].name);
		EXPECT_EQ(ECONNRESET, errno) TH_LOG("%s", ends[i].name);
		for (ms = 0; ms < DEADLINE_MS; ms += 10, usleep(10000)) {
			n = diag_dump_fam(AF_INET6, variant->proto, s, MAXSOCKS);
			if (n >= 0 && !find(s, n, cport, LPORT))
				break;
		}
		EXPECT_GT(DEADLINE_MS, ms) TH_LOG("%s: still listed", ends[i].name);
		EXPECT_EQ(-ENOENT, diag_exact_fam(SOCK_DESTROY, AF_INET6, variant->proto,
						  &id, 0, NULL));
	}
}

/* ESTP only: races held open by the fault point "abort". */
FIXTURE(race) {
	FIXTURE_DATA(diag) d;
};

FIXTURE_SETUP(race)
{
	env_setup(_metadata, &self->d, IPPROTO_ESTP);
}

FIXTURE_TEARDOWN(race)
{
	env_teardown(&self->d);
}

struct destroy_arg {
	int proto;
	struct inet_diag_sockid id;
	int ret;
	pthread_t th;
};

static void *destroy_thread(void *arg)
{
	struct destroy_arg *a = arg;

	a->ret = diag_destroy(a->proto, &a->id);
	return NULL;
}

/* Starts a destroy that the fault point holds: 0 once it is held. */
static int held_destroy(struct destroy_arg *a, int proto, const struct inet_diag_sockid *id)
{
	int ms;

	a->proto = proto;
	a->id = *id;
	a->ret = 1;
	if (estp_fault_arm("abort") || pthread_create(&a->th, NULL, destroy_thread, a))
		return -1;
	for (ms = 0; ms < DEADLINE_MS; ms++) {
		if (!estp_fault_left())
			return 0;
		usleep(1000);
	}
	return -1;
}

/*
 * A close() while the destroy waits for the lock: the destroy then ends
 * the orphan (its FIN unacknowledged: the raw peer is silent) with a RST.
 */
TEST_F(race, close)
{
	FIXTURE_DATA(diag) *d = &self->d;
	struct inet_diag_sockid id;
	struct destroy_arg a;
	struct peer_conn c;
	struct pkt_seg seg;
	int fd;

	ASSERT_EQ(0, peer_connect(&d->peer, &c, RAW_PORT + 1, LPORT, ISN));
	fd = accept(d->lfd, NULL, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sockid_of(IPPROTO_ESTP, LPORT, RAW_PORT + 1, &id));
	ASSERT_EQ(0, held_destroy(&a, IPPROTO_ESTP, &id));
	close(fd);
	pthread_join(a.th, NULL);
	EXPECT_EQ(0, a.ret);
	ASSERT_EQ(1, peer_recv(&d->peer, &c, PEER_ANSWER_MS, &seg));
	EXPECT_EQ(PKT_FIN | PKT_ACK, seg.flags);
	ASSERT_EQ(1, peer_recv(&d->peer, &c, PEER_ANSWER_MS, &seg));
	EXPECT_TRUE(seg.flags & PKT_RST);
	EXPECT_EQ(0, wait_state(IPPROTO_ESTP, LPORT, RAW_PORT + 1, -1));
}

/*
 * A second destroy while the first waits for the lock: one ends it, the
 * other gets ENOENT, as TCP's (6.12 on) for a socket already CLOSE.
 */
TEST_F(race, double_destroy)
{
	FIXTURE_DATA(diag) *d = &self->d;
	int ret;
	int cport = estp_local_port(d->cfd);
	struct inet_diag_sockid id;
	struct destroy_arg a;
	char c;

	ASSERT_EQ(0, sockid_of(IPPROTO_ESTP, cport, LPORT, &id));
	ASSERT_EQ(0, held_destroy(&a, IPPROTO_ESTP, &id));
	ret = diag_destroy(IPPROTO_ESTP, &id);
	pthread_join(a.th, NULL);
	if (estp_kernel_at_least(6, 8) == 1) {
		/* The second one ends it; the first finds it CLOSE. */
		EXPECT_EQ(0, ret);
		EXPECT_EQ(-ENOENT, a.ret);
	} else {
		/*
		 * Before 6.8, inet_diag's mutex serialises the two: the
		 * first, held its 10 s, ends it; the second finds nothing.
		 */
		EXPECT_EQ(-ENOENT, ret);
		EXPECT_EQ(0, a.ret);
	}
	EXPECT_EQ(ECONNABORTED, estp_so_error(d->cfd));
	EXPECT_EQ(-1, recv(d->afd, &c, 1, 0));
	EXPECT_EQ(ECONNRESET, errno);
}

/*
 * The retransmit timer fires while the destroy owns the socket (fault
 * point "abort_locked" holds it until the timer has deferred its work):
 * the RST goes, and the deferred timer, run by release_sock(), finds the
 * socket CLOSE and sends nothing more.
 */
TEST_F(race, timer)
{
	FIXTURE_DATA(diag) *d = &self->d;
	struct inet_diag_sockid id;
	struct peer_conn c;
	struct pkt_seg seg;
	int fd, ret;

	ASSERT_EQ(0, peer_connect(&d->peer, &c, RAW_PORT + 2, LPORT, ISN));
	fd = accept(d->lfd, NULL, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sockid_of(IPPROTO_ESTP, LPORT, RAW_PORT + 2, &id));
	/* Data the raw peer never acknowledges: the retransmit timer runs. */
	ASSERT_EQ(5, send(fd, "hello", 5, 0));
	ASSERT_EQ(1, peer_recv(&d->peer, &c, PEER_ANSWER_MS, &seg));
	ASSERT_EQ(5, seg.seg_len - seg.hdr_len);
	ASSERT_EQ(0, estp_fault_arm("abort_locked"));
	EXPECT_EQ(0, diag_destroy(IPPROTO_ESTP, &id));
	EXPECT_EQ(0, estp_fault_left());
	/* Resends that came before the destroy took the socket, then the RST. */
	do {
		ret = peer_recv(&d->peer, &c, PEER_ANSWER_MS, &seg);
	} while (ret == 1 && !(seg.flags & PKT_RST));
	ASSERT_EQ(1, ret);
	/* Nothing after it: the deferred timer found the socket CLOSE. */
	EXPECT_EQ(0, peer_recv(&d->peer, &c, 1000, &seg));
	EXPECT_EQ(-1, recv(fd, &seg, 1, MSG_DONTWAIT));
	EXPECT_EQ(ECONNABORTED, errno);
	close(fd);
}

TEST_HARNESS_MAIN
