// SPDX-License-Identifier: GPL-2.0
/*
 * Teardown with live state: a netns deleted, and estp.ko unloaded, while
 * listeners hold request socks (SYN_RECV) and SYN-cookie state, connections
 * have data in flight, orphans retransmit to a peer that stopped answering,
 * and time-wait minisocks of both substates (TIME_WAIT, and FIN_WAIT2 of an
 * orphan whose peer never sends its FIN) wait out the default 60 s.
 *
 * - netns: "ip netns del" of a netns with all of that live, then its last
 *   process leaves; the netns must really go (its nsid disappears, the
 *   protocol's socket count, for ESTP also estp.ko's reference count, return
 *   to what they were, and the slabs of its minisocks and request socks hold
 *   no more objects than before) within a deadline well under the 60 s the
 *   minisocks had left: they are purged, not waited for.  TCP specifies
 *   this, so it runs for TCP and ESTP as variants.
 * - unload: module unload is ESTP's alone (TCP is no module), so these have
 *   no TCP variant.  Once the last full sock is gone, rmmod must succeed at
 *   once although minisocks still wait and listeners were closed with
 *   request socks pending, and estp.ko must load and work again; rmmod is
 *   refused while a listener, a connection, an orphan still retransmitting
 *   or an ESTP fd in flight in an SCM_RIGHTS message holds the module.
 *
 * What needs no raw peer runs on IPv4, IPv6 and v4-mapped IPv6 (txq, and
 * unload_fam: unload with a listener, a connection or an fd in flight of
 * each family); netns and unload use the raw peer of estp_peer.h, which
 * speaks IPv4 only, and stay IPv4 (unload's minisocks_do_not_block adds
 * IPv6 and v4-mapped minisocks over loopback).
 *
 * Every test runs in netns of its own, so that what it builds dies with its
 * processes even when the harness kills them (the netns test's name, which
 * would stay, is removed by the next run), and never sleeps to wait: it
 * polls /proc/net/estp, /proc/modules, /sys/kernel/slab and counters up to
 * a deadline.  A test that unloads estp.ko loads it again, and the program
 * does at exit if a killed test could not.
 */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_pkt.h"
#include "estp_peer.h"

/* Listeners' ports: one block a test, above the raw peer's. */
#define LPORT_NETNS	23000
#define LPORT_UNLOAD	23100
#define LPORT_REFUSE	23200
#define LPORT_RACE	23300

#define ISN		0x12345678u
#define BACKLOG		4
/* SYNs to a listener of BACKLOG: BACKLOG + 1 requests, the rest cookies. */
#define NSYNS		12
/* An orphan's ESTP_USER_TIMEOUT (TCP_USER_TIMEOUT): alive for a while, then gone. */
#define ORPHAN_MS	8000

#define FAIL_FILE	"/sys/kernel/debug/estp/fail"

/* A row of /proc/net/{tcp,estp}. */
struct row {
	unsigned int lport, rport, st, txq, retr;
	unsigned long ino;
	int extra;		/* fields after the inode: 7 for a full sock */
};

/* The number of fields, separated by blanks, in @s. */
static int fields(const char *s)
{
	int n = 0;

	for (;;) {
		s += strspn(s, " \t\n");
		if (!*s)
			return n;
		n++;
		s += strcspn(s, " \t\n");
	}
}

/*
 * The rows of @path (a /proc/net/{tcp,estp}, of any process's netns) with
 * local port @lport, remote port @rport and state @st, each -1 for any,
 * into @rows (up to @max): how many match, -1 when the file cannot be read.
 */
static int rows_of(const char *path, int lport, int rport, int st, struct row *rows, int max)
{
	char line[512];
	int n = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		struct row r;
		int used = 0;

		if (sscanf(line, " %*u: %*x:%x %*x:%x %x %x:%*x %*x:%*x %x %*u %*d %lu%n",
			   &r.lport, &r.rport, &r.st, &r.txq, &r.retr, &r.ino, &used) != 6)
			continue;
		if ((lport >= 0 && (int)r.lport != lport) ||
		    (rport >= 0 && (int)r.rport != rport) || (st >= 0 && (int)r.st != st))
			continue;
		r.extra = fields(line + used);
		if (rows && n < max)
			rows[n] = r;
		n++;
	}
	fclose(f);
	return n;
}

/* rows_of() this netns's table of @proto. */
static int rows(int proto, int lport, int rport, int st, struct row *r, int max)
{
	return rows_of(ESTP_PROC_NET(proto), lport, rport, st, r, max);
}

/* Polls rows() of @proto for @ms until there are @want: the last count. */
static int wait_rows(int proto, int lport, int rport, int st, int want, int ms)
{
	long end = pkt_now_ms() + ms;
	int n;

	while ((n = rows(proto, lport, rport, st, NULL, 0)) != want && pkt_now_ms() < end)
		usleep(5000);
	return n;
}

/* Polls estp_module_refs() for @ms until it is @want: the last value. */
static int wait_refs(int want, int ms)
{
	long end = pkt_now_ms() + ms;
	int n;

	while ((n = estp_module_refs()) != want && pkt_now_ms() < end)
		usleep(5000);
	return n;
}

/* The sockets column of @proto's line in /proc/net/protocols, or -1. */
static long proto_sockets(int proto)
{
	long n = -1;

	estp_proto_line(proto == IPPROTO_TCP ? "TCP" : "ESTP", NULL, &n);
	return n;
}

/*
 * Objects in use in the slab cache @name ("tw_sock_ESTP",
 * "request_sock_TCP"...) once its per-CPU slabs are flushed, or -1.  KFENCE
 * may serve an allocation from outside the slab, so a count tells that
 * objects are gone, never that they are there.
 */
static long slab_objects(const char *name)
{
	char path[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", name);
	estp_sysctl_set(path, "1");
	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/objects", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/* The slab cache of @proto's @kind ("tw_sock", "request_sock") in @buf. */
static const char *slab_name(char *buf, size_t len, int proto, const char *kind)
{
	snprintf(buf, len, "%s_%s", kind, proto == IPPROTO_TCP ? "TCP" : "ESTP");
	return buf;
}

/* A listener on PEER_ADDR:@port in @fam (::1, ::ffff:PEER_ADDR): its fd, or -1. */
static int listener_fam(int proto, int fam, int port, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len = estp_sockaddr(fam, PEER_ADDR, port, &ss);
	int fd = socket(estp_fam_domain(fam), SOCK_STREAM | SOCK_CLOEXEC, proto);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, backlog)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A listener on PEER_ADDR:@port: its fd, or -1. */
static int listener(int proto, int port, int backlog)
{
	return listener_fam(proto, ESTP_FAM4, port, backlog);
}

/* A socket connected to PEER_ADDR:@port: its fd, or -1. */
static int connect_to(int proto, int port)
{
	return estp_connect_to(proto, PEER_ADDR, port);
}

/* accept() once @lfd is readable within @ms: the new fd, or -1. */
static int accept_in(int lfd, int ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * A connection in @fam to the listener @lfd on @port that works both ways:
 * 0 or -1.
 */
static int works_fam(int proto, int fam, int lfd, int port)
{
	int c = estp_connect_fam(proto, fam, PEER_ADDR, port), s = -1, ret = -1;
	char buf[8];

	if (c < 0)
		return -1;
	s = accept_in(lfd, 3000);
	if (s >= 0 && send(c, "ping", 4, 0) == 4 && recv(s, buf, 4, MSG_WAITALL) == 4 &&
	    send(s, "pong", 4, 0) == 4 && recv(c, buf, 4, MSG_WAITALL) == 4 &&
	    !memcmp(buf, "pong", 4))
		ret = 0;
	estp_close_abort(&c);
	estp_close_abort(&s);
	return ret;
}

/*
 * A listener on @port in @fam, a connection to it that works, the listener
 * closed: 0 or -1.
 */
static int fresh_connection_fam(int proto, int fam, int port)
{
	int lfd = listener_fam(proto, fam, port, BACKLOG), ret;

	if (lfd < 0)
		return -1;
	ret = works_fam(proto, fam, lfd, port);
	close(lfd);
	return ret;
}

static int fresh_connection(int proto, int port)
{
	return fresh_connection_fam(proto, ESTP_FAM4, port);
}

/*
 * TIME_WAIT on the client side of a connection to the listener @lfd on
 * @port in @fam: the client closes first, the server reads the FIN and
 * closes too.  0 once the client's minisock is listed (/proc/net/estp, or
 * estp6 for an AF_INET6 socket), -1 otherwise.
 */
static int time_wait_pair_fam(int proto, int fam, int lfd, int port)
{
	const char *path = estp_proc_net(proto, fam);
	int c = estp_socket(proto, fam), s = -1, ret = -1, lp, ms;
	struct sockaddr_storage ss;
	socklen_t len = estp_loopback(fam, port, &ss);
	char buf[8];

	if (c < 0 || connect(c, (struct sockaddr *)&ss, len))
		goto out;
	s = accept_in(lfd, 3000);
	if (s < 0)
		goto out;
	lp = estp_local_port(c);
	close_fd(&c);
	if (recv(s, buf, sizeof(buf), 0) != 0)
		goto out;
	close_fd(&s);
	for (ms = 0; ms < 3000 && ret; ms += 5) {
		ret = rows_of(path, lp, port, ST_TIME_WAIT, NULL, 0) == 1 ? 0 : -1;
		if (ret)
			usleep(5000);
	}
out:
	close_fd(&c);
	close_fd(&s);
	return ret;
}

static int time_wait_pair(int proto, int lfd, int port)
{
	return time_wait_pair_fam(proto, ESTP_FAM4, lfd, port);
}

/* A listener of @proto on loopback in @fam, and a TIME_WAIT pair on it. */
static int time_wait_listener_pair(int proto, int fam, int port)
{
	int lfd = estp_socket(proto, fam), ret = -1;
	struct sockaddr_storage ss;
	socklen_t len = estp_loopback(fam, port, &ss);

	if (lfd >= 0 && !bind(lfd, (struct sockaddr *)&ss, len) && !listen(lfd, 1))
		ret = time_wait_pair_fam(proto, fam, lfd, port);
	close_fd(&lfd);
	return ret;
}

/*
 * The raw peer connects from @pport to the listener @lfd on @lport: the
 * accepted fd, or -1.  @c keeps the raw peer's side.
 */
static int peer_accepted(struct estp_peer *p, struct peer_conn *c, int lfd, int lport,
			 int pport)
{
	if (peer_connect(p, c, pport, lport, ISN))
		return -1;
	return accept_in(lfd, 3000);
}

/*
 * A FIN_WAIT2 minisock: the raw peer connects from @pport, the accepted
 * socket is closed (an orphan), the raw peer acknowledges its FIN and never
 * sends one of its own.  0 once the minisock is listed, -1 otherwise.
 */
static int fin_wait2_orphan(struct estp_peer *p, int lfd, int lport, int pport)
{
	struct peer_conn c;
	struct pkt_seg r, s;
	long end;
	int fd;

	peer_drain(p);
	fd = peer_accepted(p, &c, lfd, lport, pport);
	if (fd < 0)
		return -1;
	close(fd);
	end = pkt_now_ms() + PEER_ANSWER_MS;
	do {
		if (peer_recv(p, &c, end - pkt_now_ms(), &r) != 1)
			return -1;
	} while (!(r.flags & PKT_FIN));
	s = peer_seg(&c, PKT_ACK);
	s.ack = r.seq + (r.seg_len - r.hdr_len) + 1;
	if (peer_send(p, &s))
		return -1;
	return wait_rows(p->proto, lport, pport, ST_FIN_WAIT2, 1, 3000) == 1 ? 0 : -1;
}

/*
 * An orphan retransmitting to the raw peer, which stopped answering after
 * the handshake: the accepted socket sends 2000 bytes with ESTP_USER_TIMEOUT
 * (TCP_USER_TIMEOUT) @user_ms and is closed.  0 once it is listed in
 * FIN_WAIT1 with a retransmission counted, -1 otherwise.  @c keeps the raw
 * peer's side, for a RST.
 */
static int retransmitting_orphan(struct estp_peer *p, struct peer_conn *c, int lfd,
				 int lport, int pport, int user_ms)
{
	static char data[2000];
	struct row r;
	long end;
	int fd;

	peer_drain(p);
	fd = peer_accepted(p, c, lfd, lport, pport);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, IPPROTO_TCP, ESTP_USER_TIMEOUT, &user_ms, sizeof(user_ms)) ||
	    send(fd, data, sizeof(data), 0) != sizeof(data)) {
		close(fd);
		return -1;
	}
	close(fd);
	end = pkt_now_ms() + 5000;
	while (pkt_now_ms() < end) {
		if (rows(p->proto, lport, pport, ST_FIN_WAIT1, &r, 1) == 1 && r.retr >= 1 &&
		    r.txq > 0)
			return 0;
		usleep(5000);
	}
	return -1;
}

/* The raw peer's exact RST for @c, which ends its orphan: 0 or -1. */
static int peer_rst(struct estp_peer *p, const struct peer_conn *c)
{
	struct pkt_seg s = peer_seg(c, PKT_RST);

	return peer_send(p, &s);
}

/* @n SYNs from the raw peer's ports @first... to @lport, never completed: 0 or -1. */
static int syns(struct estp_peer *p, int lport, int first, int n)
{
	struct peer_conn c = { .lport = lport, .seq = ISN };
	struct pkt_seg s = peer_seg(&c, PKT_SYN);
	int i;

	s.mss = 1460;
	for (i = 0; i < n; i++) {
		s.sport = first + i;
		s.seq = ISN + i;
		if (peer_send(p, &s))
			return -1;
	}
	return 0;
}

/* A counter of @proto in the netns of @pid (0: our own): its value or -1. */
static long counter_of(int proto, pid_t pid, const char *name)
{
	char path[64];

	if (proto != IPPROTO_TCP) {
		snprintf(path, sizeof(path), "/proc/%d/net/estp_stat", pid ? pid : getpid());
		return estp_proc_counter(path, "Estp", name);
	}
	snprintf(path, sizeof(path), "/proc/%d/net/netstat", pid ? pid : getpid());
	return estp_proc_counter(path, "TcpExt", name);
}

/* Loads estp.ko again ($ESTP_KO, defaults): 0 or -errno. */
static int reload(void)
{
	return estp_module_loaded("estp") ? 0 : estp_load("");
}

/*
 * The program must leave estp.ko loaded, as the runner loaded it, even when
 * the harness killed a test between its unload and its load.
 */
static pid_t main_pid;

static void __attribute__((constructor)) note_main(void)
{
	main_pid = getpid();
}

static void __attribute__((destructor)) leave_loaded(void)
{
	if (getpid() == main_pid && getenv("ESTP_KO") && !estp_module_loaded("estp") &&
	    estp_load(""))
		fprintf(stderr, "# could not load estp.ko again\n");
}

/*
 * rtnetlink's netns ids (RTM_NEWNSID, RTM_GETNSID), which name a netns from
 * another without holding it: a netns's id is gone once the netns is.
 */
struct nsid_msg {
	struct nlmsghdr n;
	struct rtgenmsg g;
	char attrs[64];
};

static void nsid_attr(struct nsid_msg *m, int type, int val)
{
	struct rtattr *a = (struct rtattr *)((char *)m + NLMSG_ALIGN(m->n.nlmsg_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(sizeof(val));
	memcpy(RTA_DATA(a), &val, sizeof(val));
	m->n.nlmsg_len = NLMSG_ALIGN(m->n.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* NETNSA_NSID of an RTM_NEWNSID message, or -1. */
static int nsid_of(struct nlmsghdr *h)
{
	int len = h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct rtgenmsg)));
	struct rtattr *a = (struct rtattr *)((char *)NLMSG_DATA(h) +
					     NLMSG_ALIGN(sizeof(struct rtgenmsg)));
	int id;

	if (h->nlmsg_type != RTM_NEWNSID)
		return -1;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == NETNSA_NSID) {
			memcpy(&id, RTA_DATA(a), sizeof(id));
			return id;
		}
	}
	return -1;
}

/*
 * Sends @m on a new rtnetlink socket and reads the answers until the ack,
 * the one answer, or the dump's end.  With @want < 0: the last nsid
 * answered (-1 none); else 1 when some answer carries nsid @want, 0 when
 * none does.  -2 on error.
 */
static int nsid_talk(struct nsid_msg *m, int want)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, found = want < 0 ? -1 : 0, done = 0;
	static char buf[16384];

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -2;
	if (sendto(fd, m, m->n.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -2;
	}
	while (!done) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct nlmsghdr *h;
		ssize_t n;

		n = poll(&pfd, 1, 5000) == 1 ? recv(fd, buf, sizeof(buf), 0) : -1;
		if (n <= 0) {
			found = -2;
			break;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
			} else if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				if (e->error)
					found = -2;
				done = 1;
			} else if (want < 0) {
				found = nsid_of(h);
				if (!(m->n.nlmsg_flags & NLM_F_DUMP))
					done = 1;
			} else if (nsid_of(h) == want) {
				found = 1;
			}
		}
	}
	close(fd);
	return found;
}

static void nsid_init(struct nsid_msg *m, int type, int flags)
{
	memset(m, 0, sizeof(*m));
	m->n.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtgenmsg));
	m->n.nlmsg_type = type;
	m->n.nlmsg_flags = NLM_F_REQUEST | flags;
	m->g.rtgen_family = AF_UNSPEC;
}

/* Gives the netns of @pid an id in ours: the id, or a negative number. */
static int nsid_assign(pid_t pid)
{
	struct nsid_msg m;

	nsid_init(&m, RTM_NEWNSID, NLM_F_ACK);
	nsid_attr(&m, NETNSA_PID, pid);
	nsid_attr(&m, NETNSA_NSID, -1);
	if (nsid_talk(&m, 0) == -2)
		return -2;
	nsid_init(&m, RTM_GETNSID, 0);
	nsid_attr(&m, NETNSA_PID, pid);
	return nsid_talk(&m, -1);
}

/* Whether our netns still has the id @nsid for another: 1, 0, or -2. */
static int nsid_listed(int nsid)
{
	struct nsid_msg m;

	nsid_init(&m, RTM_GETNSID, NLM_F_DUMP);
	return nsid_talk(&m, nsid);
}

/*
 * What a child process builds in a netns of its own for the netns test, on
 * ports LPORT_NETNS + 1...: the fds it keeps open, so that they all go when
 * it does.
 */
struct live {
	struct estp_peer peer;
	int lreq, ldata, lraw, ltw;	/* listeners */
	int client, server;		/* data in flight, the server not reading */
};

/*
 * Builds everything of struct live in the netns named @ns: NULL, or what
 * failed.
 */
static const char *build_live(struct live *l, int proto, const char *ns)
{
	const int lreq = LPORT_NETNS + 1, ldata = LPORT_NETNS + 2, lraw = LPORT_NETNS + 3,
		  ltw = LPORT_NETNS + 4;
	static char chunk[65536];
	int flags, tos = PEER_TOS, nsfd;
	struct peer_conn c;
	char path[64];

	/* peer_open(), in a named netns rather than an unshared one. */
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET))
		return "setns";
	close(nsfd);
	l->peer.proto = proto;
	l->peer.home = -1;
	if (peer_lo_up() || peer_filter(proto))
		return "lo up, tc qdisc/filter on lo";
	l->peer.raw = pkt_open(proto, PEER_ADDR);
	if (l->peer.raw < 0 || setsockopt(l->peer.raw, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)))
		return "raw socket";
	/* SYNs nobody completes: BACKLOG + 1 request socks, the rest cookies. */
	l->lreq = listener(proto, lreq, BACKLOG);
	if (l->lreq < 0 || syns(&l->peer, lreq, 2000, NSYNS))
		return "SYN flood";
	if (wait_rows(proto, lreq, -1, ST_SYN_RECV, BACKLOG + 1, 3000) != BACKLOG + 1)
		return "request socks";
	/* A connection whose receiver does not read: windows shut, data queued. */
	l->ldata = listener(proto, ldata, BACKLOG);
	l->client = connect_to(proto, ldata);
	l->server = l->ldata >= 0 ? accept_in(l->ldata, 3000) : -1;
	if (l->client < 0 || l->server < 0)
		return "data connection";
	flags = fcntl(l->client, F_GETFL);
	if (fcntl(l->client, F_SETFL, flags | O_NONBLOCK))
		return "O_NONBLOCK";
	while (send(l->client, chunk, sizeof(chunk), 0) > 0)
		;
	if (errno != EAGAIN)
		return "filling the window";
	/* TIME_WAIT proper, and an orphan's FIN_WAIT2 minisock. */
	l->ltw = listener(proto, ltw, BACKLOG);
	if (l->ltw < 0 || time_wait_pair(proto, l->ltw, ltw))
		return "TIME_WAIT";
	l->lraw = listener(proto, lraw, BACKLOG);
	if (l->lraw < 0 || fin_wait2_orphan(&l->peer, l->lraw, lraw, 3002))
		return "FIN_WAIT2 minisock";
	/* Last, as it times out: an orphan retransmitting. */
	if (retransmitting_orphan(&l->peer, &c, l->lraw, lraw, 3001, ORPHAN_MS))
		return "retransmitting orphan";
	return NULL;
}

/* Loopback connections, tied to no family: TCP and ESTP on IPv4, IPv6, v4-mapped. */
FIXTURE(txq)
{
	int lfd, cfd, afd;
};

FIXTURE_VARIANTS_FAMILIES(txq);

FIXTURE_SETUP(txq)
{
	self->lfd = -1;
	self->cfd = -1;
	self->afd = -1;
}

FIXTURE_TEARDOWN(txq)
{
	close_fd(&self->afd);
	close_fd(&self->cfd);
	close_fd(&self->lfd);
}

/*
 * /proc/net/{tcp,estp}'s tx_queue ({tcp6,estp6} for an AF_INET6 socket)
 * once our FIN is acknowledged (FIN_WAIT2) is 0 for both: TCP's write_seq
 * counts the FIN, ESTP's does not, and ESTP's column read -1 (ffffffff).
 */
TEST_F(txq, proc_tx_queue_after_fin)
{
	const char *path = estp_proc_net(variant->proto, variant->fam);
	int lport, cport, n;
	struct row r;

	self->lfd = estp_listen_fam(variant->proto, variant->fam, "127.0.0.1", 0, 1);
	ASSERT_LE(0, self->lfd);
	lport = estp_local_port(self->lfd);
	self->cfd = estp_connect_fam(variant->proto, variant->fam, "127.0.0.1", lport);
	ASSERT_LE(0, self->cfd);
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
	cport = estp_local_port(self->cfd);
	ASSERT_LT(0, cport);
	ASSERT_EQ(0, shutdown(self->cfd, SHUT_WR));
	for (n = 0; n < 1000; n++) {
		if (rows_of(path, cport, lport, ST_FIN_WAIT2, NULL, 0) == 1)
			break;
		usleep(5000);
	}
	ASSERT_EQ(1, rows_of(path, cport, lport, ST_FIN_WAIT2, &r, 1));
	EXPECT_EQ(0U, r.txq) TH_LOG("%s", path);
}

FIXTURE(netns)
{
	char ns[32];
	pid_t child;
};

FIXTURE_VARIANTS_TCP_ESTP(netns);

FIXTURE_SETUP(netns)
{
	snprintf(self->ns, sizeof(self->ns), "estp_teardown_%d", variant->proto);
	self->child = -1;
	/* What a killed run of this test may have left. */
	estp_runf("ip netns del %s", self->ns);
	ASSERT_EQ(0, estp_runf("ip netns add %s", self->ns));
}

FIXTURE_TEARDOWN(netns)
{
	estp_runf("ip netns del %s", self->ns);
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
}

/*
 * "ip netns del" with request socks, SYN-cookie state, data in flight, a
 * retransmitting orphan and minisocks of both substates at their default
 * 60 s live in the netns; then its last process leaves.  The netns goes once
 * the orphan has timed out (ORPHAN_MS), long before the minisocks would
 * have, and leaves nothing: its minisocks and request socks are freed.
 */
TEST_F_TIMEOUT(netns, deleted_with_live_state, 150)
{
	int proto = variant->proto, pipefd[2], nsid, refs = -1, n, listed;
	char path[64], msg[128] = "", tw_slab[32], rq_slab[32];
	long base, sockets, tw0, rq0, t0, t1;
	struct pollfd pfd;
	struct row r[16];
	ssize_t len;

	slab_name(tw_slab, sizeof(tw_slab), proto, "tw_sock");
	slab_name(rq_slab, sizeof(rq_slab), proto, "request_sock");
	base = proto_sockets(proto);
	ASSERT_LE(0, base);
	tw0 = slab_objects(tw_slab);
	rq0 = slab_objects(rq_slab);
	ASSERT_LE(0, tw0) TH_LOG("no /sys/kernel/slab/%s", tw_slab);
	ASSERT_LE(0, rq0) TH_LOG("no /sys/kernel/slab/%s", rq_slab);
	if (proto == IPPROTO_ESTP) {
		refs = estp_module_refs();
		ASSERT_LE(0, refs);
	}
	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		static struct live l;
		const char *err;

		close(pipefd[0]);
		err = build_live(&l, proto, self->ns);
		snprintf(msg, sizeof(msg), "%s", err ? err : "ready");
		if (write(pipefd[1], msg, strlen(msg)) < 0 || err)
			_exit(1);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	pfd = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, 60000));
	len = read(pipefd[0], msg, sizeof(msg) - 1);
	close(pipefd[0]);
	ASSERT_LT(0, len);
	msg[len] = '\0';
	ASSERT_STREQ("ready", msg);

	/* All of it is there, seen from outside through the child's /proc. */
	snprintf(path, sizeof(path), "/proc/%d/net/%s", self->child,
		 proto == IPPROTO_TCP ? "tcp" : "estp");
	EXPECT_EQ(4, rows_of(path, -1, -1, ST_LISTEN, NULL, 0));
	EXPECT_EQ(BACKLOG + 1, rows_of(path, LPORT_NETNS + 1, -1, ST_SYN_RECV, NULL, 0));
	EXPECT_EQ(NSYNS - BACKLOG - 1, counter_of(proto, self->child, "SyncookiesSent"));
	n = rows_of(path, -1, LPORT_NETNS + 2, ST_ESTABLISHED, r, 16);
	EXPECT_EQ(1, n);
	if (n == 1)
		EXPECT_LT(0U, r[0].txq);
	n = rows_of(path, LPORT_NETNS + 3, 3001, ST_FIN_WAIT1, r, 16);
	EXPECT_EQ(1, n) TH_LOG("the orphan must still be retransmitting");
	n = rows_of(path, LPORT_NETNS + 3, 3002, ST_FIN_WAIT2, r, 16);
	EXPECT_EQ(1, n);
	if (n == 1)
		EXPECT_GT(7, r[0].extra) TH_LOG("FIN_WAIT2 must be a minisock");
	n = rows_of(path, -1, LPORT_NETNS + 4, ST_TIME_WAIT, r, 16);
	EXPECT_EQ(1, n);
	if (n == 1)
		EXPECT_GT(7, r[0].extra) TH_LOG("TIME_WAIT must be a minisock");
	if (proto == IPPROTO_ESTP)
		EXPECT_LT(refs, estp_module_refs());

	nsid = nsid_assign(self->child);
	ASSERT_LE(0, nsid);
	ASSERT_EQ(1, nsid_listed(nsid));

	/* The name goes; the netns stays while its process does. */
	t0 = pkt_now_ms();
	ASSERT_EQ(0, estp_runf("ip netns del %s", self->ns));
	EXPECT_EQ(1, nsid_listed(nsid));
	/* The last process leaves: nothing else holds the netns. */
	kill(self->child, SIGKILL);
	ASSERT_EQ(self->child, waitpid(self->child, NULL, 0));
	self->child = -1;
	/*
	 * The orphan holds it until its user timeout; the minisocks have ~60 s
	 * left and must not: 40 s is the deadline.
	 */
	t1 = t0 + 40000;
	while ((listed = nsid_listed(nsid)) == 1 && pkt_now_ms() < t1)
		usleep(20000);
	EXPECT_EQ(0, listed) TH_LOG("the netns did not go");
	while ((sockets = proto_sockets(proto)) != base && pkt_now_ms() < t1)
		usleep(20000);
	EXPECT_EQ(base, sockets);
	if (proto == IPPROTO_ESTP)
		EXPECT_EQ(refs, wait_refs(refs, t1 - pkt_now_ms()));
	/* Its minisocks and request socks were freed, not left for later. */
	while (slab_objects(tw_slab) > tw0 && pkt_now_ms() < t1)
		usleep(20000);
	EXPECT_GE(tw0, slab_objects(tw_slab));
	EXPECT_GE(rq0, slab_objects(rq_slab));
	TH_LOG("netns gone %ld ms after ip netns del", pkt_now_ms() - t0);

	/* A fresh netns starts empty and works. */
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, peer_lo_up());
	EXPECT_EQ(0, rows(proto, -1, -1, -1, NULL, 0));
	EXPECT_EQ(0, fresh_connection(proto, LPORT_NETNS + 5));
}

/*
 * Module unload.  ESTP only: TCP is built into the kernel.  Every test runs
 * in a netns of its own, with the raw peer (estp_peer.h) there.
 */
FIXTURE(unload)
{
	struct estp_peer peer;
	int fds[8];
	int nfds;
	pid_t child;
};

/*
 * The setup of unload and unload_fam: estp.ko loaded, and a netns of the
 * test's own, with the raw peer in it if @raw_peer.
 */
static void unload_begin(struct __test_metadata *_metadata, FIXTURE_DATA(unload) *self,
			 bool raw_peer)
{
	const char *err;

	self->nfds = 0;
	self->child = -1;
	self->peer.raw = -1;
	self->peer.home = -1;
	if (!getenv("ESTP_KO"))
		SKIP(return, "ESTP_KO is not set: run through scripts/vm-run");
	/* A test killed after its unload left estp.ko out. */
	ASSERT_EQ(0, reload());
	if (!raw_peer) {
		ASSERT_EQ(0, estp_netns_private());
		return;
	}
	err = peer_open(&self->peer, IPPROTO_ESTP);
	ASSERT_EQ(NULL, err) TH_LOG("raw peer: %s failed", err);
}

static void unload_end(struct __test_metadata *_metadata, FIXTURE_DATA(unload) *self)
{
	while (self->nfds)
		estp_close_abort(&self->fds[--self->nfds]);
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	EXPECT_EQ(0, reload());
	peer_close(&self->peer);
}

FIXTURE_SETUP(unload)
{
	unload_begin(_metadata, self, true);
}

FIXTURE_TEARDOWN(unload)
{
	unload_end(_metadata, self);
}

/* Keeps @fd for the teardown to abort: @fd. */
static int keep(FIXTURE_DATA(unload) *self, int fd)
{
	if (fd >= 0 && self->nfds < (int)ARRAY_SIZE(self->fds))
		self->fds[self->nfds++] = fd;
	return fd;
}

/* Closes @fd, which keep() kept. */
static void drop(FIXTURE_DATA(unload) *self, int fd)
{
	int i;

	for (i = 0; i < self->nfds; i++) {
		if (self->fds[i] == fd) {
			close(fd);
			self->fds[i] = self->fds[--self->nfds];
			return;
		}
	}
}

/*
 * With no ESTP socket left, rmmod succeeds once the listeners' RCU grace
 * period is over, estp.ko loads again and a connection in @fam works in
 * this netns: asserted by the caller's test.
 */
static void unload_and_reload_fam(struct __test_metadata *_metadata, int fam)
{
	ASSERT_EQ(0, estp_unload_wait(ESTP_RCU_WAIT_MS));
	EXPECT_FALSE(estp_module_loaded("estp"));
	EXPECT_EQ(-1, estp_socket(IPPROTO_ESTP, fam));
	ASSERT_EQ(0, reload());
	/* The netns's table came back with the module, empty. */
	EXPECT_EQ(0, rows_of(estp_proc_net(IPPROTO_ESTP, fam), -1, -1, -1, NULL, 0));
	EXPECT_EQ(0, fresh_connection_fam(IPPROTO_ESTP, fam, LPORT_UNLOAD + 99));
}

static void unload_and_reload(struct __test_metadata *_metadata)
{
	unload_and_reload_fam(_metadata, ESTP_FAM4);
}

/*
 * Minisocks and request socks do not hold estp.ko: once the last full sock
 * is gone, rmmod succeeds at once although time-wait minisocks of both
 * substates still have most of their 60 s, in this netns and in another
 * one, and listeners were closed with request socks and SYN cookies
 * outstanding.  estp.ko's exit purges the minisocks as a netns's exit does.
 */
TEST_F_TIMEOUT(unload, minisocks_do_not_block, 120)
{
	const int lreq = LPORT_UNLOAD + 1, lck = LPORT_UNLOAD + 2, ltw = LPORT_UNLOAD + 3,
		  lraw = LPORT_UNLOAD + 4;
	char val[32], path[64], msg[16] = "";
	int lfd, i, pipefd[2], n;
	long sent, rq0 = slab_objects("request_sock_ESTP");
	struct peer_conn c;
	struct pollfd pfd;
	struct row r[16];

	ASSERT_LE(0, rq0);
	/* The defaults: minisocks here last 60 s. */
	ASSERT_EQ(0, estp_sysctl_get("/proc/sys/net/estp/tw_timeout", val, sizeof(val)));
	ASSERT_STREQ("60", val);
	ASSERT_EQ(0, estp_sysctl_get("/proc/sys/net/estp/fin_timeout", val, sizeof(val)));
	ASSERT_STREQ("60", val);

	/* Another netns with a TIME_WAIT minisock and no ESTP socket. */
	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		int ok;

		close(pipefd[0]);
		ok = !unshare(CLONE_NEWNET) && !peer_lo_up();
		lfd = ok ? listener(IPPROTO_ESTP, ltw, BACKLOG) : -1;
		ok = lfd >= 0 && !time_wait_pair(IPPROTO_ESTP, lfd, ltw);
		close(lfd);
		if (write(pipefd[1], ok ? "ready" : "failed", ok ? 5 : 6) < 0 || !ok)
			_exit(1);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	pfd = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, 20000));
	ASSERT_EQ(5, read(pipefd[0], msg, sizeof(msg) - 1));
	close(pipefd[0]);
	snprintf(path, sizeof(path), "/proc/%d/net/estp", self->child);

	/* Request socks, and SYN cookies past the backlog. */
	lfd = keep(self, listener(IPPROTO_ESTP, lreq, BACKLOG));
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, syns(&self->peer, lreq, 2000, NSYNS));
	ASSERT_EQ(BACKLOG + 1, wait_rows(IPPROTO_ESTP, lreq, -1, ST_SYN_RECV, BACKLOG + 1,
					 3000));
	/* The SYNs past the backlog may still be on their way in. */
	for (n = 0; n < 400 && counter_of(IPPROTO_ESTP, 0, "SyncookiesSent") <
			       NSYNS - BACKLOG - 1; n++)
		usleep(5000);
	EXPECT_EQ(NSYNS - BACKLOG - 1, counter_of(IPPROTO_ESTP, 0, "SyncookiesSent"));
	/* With syncookies = 2, cookies only. */
	ASSERT_EQ(0, estp_sysctl_set("/proc/sys/net/estp/syncookies", "2"));
	i = keep(self, listener(IPPROTO_ESTP, lck, BACKLOG));
	ASSERT_LE(0, i);
	sent = counter_of(IPPROTO_ESTP, 0, "SyncookiesSent");
	ASSERT_EQ(0, syns(&self->peer, lck, 2100, NSYNS));
	for (n = 0; n < 400 && counter_of(IPPROTO_ESTP, 0, "SyncookiesSent") < sent + NSYNS; n++)
		usleep(5000);
	EXPECT_EQ(sent + NSYNS, counter_of(IPPROTO_ESTP, 0, "SyncookiesSent"));
	EXPECT_EQ(0, rows(IPPROTO_ESTP, lck, -1, ST_SYN_RECV, NULL, 0));
	ASSERT_EQ(0, estp_sysctl_set("/proc/sys/net/estp/syncookies", "1"));

	/* TIME_WAIT proper, three times. */
	lfd = keep(self, listener(IPPROTO_ESTP, ltw, BACKLOG));
	ASSERT_LE(0, lfd);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, time_wait_pair(IPPROTO_ESTP, lfd, ltw));
	/* IPv6 minisocks, in their own slab (tw_sock_ESTPv6), a mapped one too. */
	ASSERT_EQ(0, time_wait_listener_pair(IPPROTO_ESTP, ESTP_FAM6, ltw));
	ASSERT_EQ(0, time_wait_listener_pair(IPPROTO_ESTP, ESTP_FAM_MAPPED, ltw + 100));
	EXPECT_LE(2, slab_objects("tw_sock_ESTPv6"));
	/* FIN_WAIT2 minisocks of orphans, twice; an orphan that a RST ends. */
	lfd = keep(self, listener(IPPROTO_ESTP, lraw, BACKLOG));
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, fin_wait2_orphan(&self->peer, lfd, lraw, 3001));
	ASSERT_EQ(0, fin_wait2_orphan(&self->peer, lfd, lraw, 3002));
	ASSERT_EQ(0, retransmitting_orphan(&self->peer, &c, lfd, lraw, 3003, 60000));
	ASSERT_EQ(0, peer_rst(&self->peer, &c));
	EXPECT_EQ(0, wait_rows(IPPROTO_ESTP, lraw, 3003, -1, 0, 3000));

	/*
	 * Closing the listeners takes their request socks along at once
	 * (estp_csk_listen_stop()): TCP's wait for their timer, but ESTP's
	 * must not keep estp.ko, nor the netns, for it.
	 */
	while (self->nfds)
		estp_close_abort(&self->fds[--self->nfds]);
	EXPECT_EQ(0, rows(IPPROTO_ESTP, -1, -1, ST_SYN_RECV, NULL, 0));
	EXPECT_GE(rq0, slab_objects("request_sock_ESTP"));
	EXPECT_EQ(0, rows(IPPROTO_ESTP, -1, -1, ST_LISTEN, NULL, 0));
	EXPECT_EQ(0, wait_refs(0, ESTP_RCU_WAIT_MS));

	/* The minisocks are all there, and they are minisocks. */
	n = rows(IPPROTO_ESTP, -1, ltw, ST_TIME_WAIT, r, 16);
	EXPECT_EQ(3, n);
	for (i = 0; i < n && i < 16; i++)
		EXPECT_GT(7, r[i].extra);
	n = rows(IPPROTO_ESTP, lraw, -1, ST_FIN_WAIT2, r, 16);
	EXPECT_EQ(2, n);
	for (i = 0; i < n && i < 16; i++)
		EXPECT_GT(7, r[i].extra);
	EXPECT_EQ(5, rows(IPPROTO_ESTP, -1, -1, -1, NULL, 0));
	EXPECT_EQ(1, rows_of(path, -1, ltw, ST_TIME_WAIT, NULL, 0));
	EXPECT_EQ(2, rows_of(ESTP_PROC_NET6(IPPROTO_ESTP), -1, -1, ST_TIME_WAIT, NULL, 0));

	/* estpv6_prot, with its slab, goes only after the purge: no splat. */
	unload_and_reload(_metadata);
	/* The other netns's table is back too, empty: its minisock was purged. */
	EXPECT_EQ(0, rows_of(path, -1, -1, -1, NULL, 0));
}

/*
 * rmmod is refused while an orphan retransmits to a peer that stopped
 * answering: no application socket is left, but the orphan is a full sock.
 * The peer's RST ends it, and then rmmod succeeds.
 */
TEST_F_TIMEOUT(unload, refused_while_orphan_retransmits, 60)
{
	const int lport = LPORT_REFUSE + 2;
	int lfd = keep(self, listener(IPPROTO_ESTP, lport, BACKLOG));
	struct peer_conn c;
	struct row r;
	unsigned int retr;

	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, retransmitting_orphan(&self->peer, &c, lfd, lport, 3001, 60000));
	drop(self, lfd);
	EXPECT_EQ(1, wait_refs(1, ESTP_RCU_WAIT_MS)) TH_LOG("only the orphan holds estp.ko");
	ASSERT_EQ(1, rows(IPPROTO_ESTP, lport, 3001, ST_FIN_WAIT1, &r, 1));
	retr = r.retr;
	EXPECT_EQ(-EWOULDBLOCK, estp_unload());
	EXPECT_TRUE(estp_module_loaded("estp"));
	/* It goes on retransmitting. */
	EXPECT_EQ(1, rows(IPPROTO_ESTP, lport, 3001, ST_FIN_WAIT1, &r, 1));
	for (int i = 0; i < 600 && r.retr <= retr; i++) {
		usleep(5000);
		if (rows(IPPROTO_ESTP, lport, 3001, ST_FIN_WAIT1, &r, 1) != 1)
			break;
	}
	EXPECT_LT(retr, r.retr);
	EXPECT_EQ(-EWOULDBLOCK, estp_unload());
	ASSERT_EQ(0, peer_rst(&self->peer, &c));
	EXPECT_EQ(0, wait_rows(IPPROTO_ESTP, lport, 3001, -1, 0, 3000));
	unload_and_reload(_metadata);
}

/* Sends @fd over the unix socket @us in an SCM_RIGHTS message: 0 or -1. */
static int send_fd(int us, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(us, &msg, 0) == 1 ? 0 : -1;
}

/* Receives an fd sent by send_fd() on @us: the fd, or -1. */
static int recv_fd(int us)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(us, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * Module unload with sockets of each family: ESTP on IPv4, IPv6 and
 * v4-mapped IPv6, in a netns of its own, without the raw peer (which
 * speaks IPv4 only: the unload tests that need it stay in that fixture).
 * Its data is unload's, so keep() and drop() serve it.
 */
#define _test_data_unload_fam _test_data_unload
FIXTURE(unload_fam);

FIXTURE_VARIANT(unload_fam) { int fam; };
FIXTURE_VARIANT_ADD(unload_fam, estp4) { .fam = ESTP_FAM4 };
FIXTURE_VARIANT_ADD(unload_fam, estp6) { .fam = ESTP_FAM6 };
FIXTURE_VARIANT_ADD(unload_fam, estp_mapped) { .fam = ESTP_FAM_MAPPED };

FIXTURE_SETUP(unload_fam)
{
	unload_begin(_metadata, self, false);
}

FIXTURE_TEARDOWN(unload_fam)
{
	unload_end(_metadata, self);
}

/*
 * rmmod is refused while a listener holds estp.ko, which keeps working;
 * once the listener is closed, rmmod succeeds.
 */
TEST_F_TIMEOUT(unload_fam, refused_while_listening, 60)
{
	int lfd = keep(self, listener_fam(IPPROTO_ESTP, variant->fam, LPORT_REFUSE + 1, BACKLOG));
	const char *path = estp_proc_net(IPPROTO_ESTP, variant->fam);

	ASSERT_LE(0, lfd);
	EXPECT_LT(0, estp_module_refs());
	EXPECT_EQ(-EWOULDBLOCK, estp_unload());
	EXPECT_TRUE(estp_module_loaded("estp"));
	EXPECT_EQ(1, rows_of(path, LPORT_REFUSE + 1, -1, ST_LISTEN, NULL, 0));
	EXPECT_EQ(0, works_fam(IPPROTO_ESTP, variant->fam, lfd, LPORT_REFUSE + 1));
	EXPECT_EQ(-EWOULDBLOCK, estp_unload());
	drop(self, lfd);
	unload_and_reload_fam(_metadata, variant->fam);
}

/*
 * rmmod is refused while a connection of the family is established; once
 * both ends are closed, the client's TIME_WAIT minisock does not hold
 * estp.ko: rmmod succeeds at once and the module works again.
 */
TEST_F_TIMEOUT(unload_fam, refused_while_connected, 60)
{
	const char *path = estp_proc_net(IPPROTO_ESTP, variant->fam);
	const int lport = LPORT_REFUSE + 3;
	int lfd, c, s, cport, n;
	char buf[8];

	lfd = keep(self, listener_fam(IPPROTO_ESTP, variant->fam, lport, BACKLOG));
	ASSERT_LE(0, lfd);
	c = keep(self, estp_connect_fam(IPPROTO_ESTP, variant->fam, PEER_ADDR, lport));
	ASSERT_LE(0, c);
	s = keep(self, accept_in(lfd, 3000));
	ASSERT_LE(0, s);
	drop(self, lfd);
	cport = estp_local_port(c);
	ASSERT_LT(0, cport);
	EXPECT_EQ(1, rows_of(path, cport, lport, ST_ESTABLISHED, NULL, 0));
	EXPECT_EQ(-EWOULDBLOCK, estp_unload());
	EXPECT_TRUE(estp_module_loaded("estp"));
	/* Still works after the refusal. */
	ASSERT_EQ(4, send(c, "ping", 4, 0));
	ASSERT_EQ(4, recv(s, buf, 4, MSG_WAITALL));
	drop(self, c);
	EXPECT_EQ(0, recv(s, buf, sizeof(buf), 0));
	EXPECT_EQ(-EWOULDBLOCK, estp_unload());
	drop(self, s);
	for (n = 0; n < 600 && rows_of(path, cport, lport, ST_TIME_WAIT, NULL, 0) != 1; n++)
		usleep(5000);
	EXPECT_EQ(1, rows_of(path, cport, lport, ST_TIME_WAIT, NULL, 0));
	unload_and_reload_fam(_metadata, variant->fam);
}

/*
 * rmmod is refused while an ESTP socket's only reference is an SCM_RIGHTS
 * message not yet received: the file, and so the socket, is alive.  Once
 * the message is received and the fd closed, or the unix socket holding it
 * is closed unread, rmmod succeeds.
 */
TEST_F_TIMEOUT(unload_fam, refused_while_fd_in_flight, 60)
{
	int sv[2], fd, got, proto = 0;
	socklen_t len = sizeof(proto);

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	keep(self, sv[0]);
	keep(self, sv[1]);

	/* Received, then closed. */
	fd = estp_socket(IPPROTO_ESTP, variant->fam);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, send_fd(sv[0], fd));
	close(fd);
	EXPECT_LT(0, estp_module_refs());
	EXPECT_EQ(-EWOULDBLOCK, estp_unload());
	EXPECT_TRUE(estp_module_loaded("estp"));
	got = recv_fd(sv[1]);
	ASSERT_LE(0, got);
	EXPECT_EQ(0, getsockopt(got, SOL_SOCKET, SO_PROTOCOL, &proto, &len));
	EXPECT_EQ(IPPROTO_ESTP, proto);
	EXPECT_EQ(-EWOULDBLOCK, estp_unload());
	close(got);
	EXPECT_EQ(0, wait_refs(0, 5000));

	/* Never received: the unix socket takes it along when it is closed. */
	fd = estp_socket(IPPROTO_ESTP, variant->fam);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, send_fd(sv[0], fd));
	close(fd);
	EXPECT_EQ(-EWOULDBLOCK, estp_unload());
	drop(self, sv[0]);
	EXPECT_EQ(-EWOULDBLOCK, estp_unload());
	drop(self, sv[1]);
	unload_and_reload_fam(_metadata, variant->fam);
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/*
 * A listener closes while its request sock's SYN-ACK timer runs on another
 * CPU (fault point "reqsk_timer" holds the handler after its look at the
 * listener, before it re-arms): close() must not leave the request behind
 * with its timer re-armed, holding the listener, and so estp.ko, for its
 * next backoff (4 s here).  rmmod succeeds at once after close().
 */
TEST_F_TIMEOUT(unload, listener_close_races_synack_timer, 60)
{
	long rq0 = slab_objects("request_sock_ESTP");
	const int lport = LPORT_RACE + 1;
	struct peer_conn c;
	struct pkt_seg r;
	int lfd;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	if (estp_fault_left() < 0)
		SKIP(return, "no %s", FAIL_FILE);
	ASSERT_LE(0, rq0);
	/* The SYN, its request sock and its timer on CPU 0. */
	ASSERT_EQ(0, pin_cpu(0));
	lfd = keep(self, listener(IPPROTO_ESTP, lport, BACKLOG));
	ASSERT_LE(0, lfd);
	ASSERT_EQ(1, peer_syn(&self->peer, &c, 3001, lport, ISN, 1460));
	ASSERT_EQ(PKT_SYN | PKT_ACK, c.synack.flags);
	/* The first resend (1 s); the fault holds the second (2 s later). */
	ASSERT_EQ(1, peer_recv(&self->peer, &c, 3000, &r));
	ASSERT_EQ(PKT_SYN | PKT_ACK, r.flags);
	ASSERT_EQ(0, estp_fault_arm("reqsk_timer"));
	ASSERT_EQ(0, pin_cpu(1));
	for (int i = 0; i < 1000 && estp_fault_left() != 0; i++)
		usleep(5000);
	ASSERT_EQ(0, estp_fault_left()) TH_LOG("the SYN-ACK timer did not run");
	/* The handler waits on CPU 0 for the listener to go. */
	drop(self, lfd);
	EXPECT_EQ(0, rows(IPPROTO_ESTP, -1, -1, -1, NULL, 0));
	EXPECT_GE(rq0, slab_objects("request_sock_ESTP")) TH_LOG("the request sock is alive");
	/* Only the listener's RCU grace period is left. */
	EXPECT_EQ(0, wait_refs(0, ESTP_RCU_WAIT_MS)) TH_LOG("a request sock outlived its listener");
	unload_and_reload(_metadata);
}

/*
 * The final ACK of a handshake carries data, and the listener stops
 * between its state check and the accept queue (the fault point
 * "reqsk_queue_add" takes that branch): the child is reset and destroyed
 * at once while the softirq still holds the ACK, whose data the child's
 * receive queue took and charged to it.  The child must outlive that skb
 * (review A1): before, freeing it wrote to the freed child (sock_rfree),
 * after inet_sock_destruct() warned about its receive memory.  Nothing may
 * warn, no connection may be accepted, the raw peer gets the child's RST,
 * and estp.ko unloads.
 */
TEST_F_TIMEOUT(unload, final_ack_data_to_stopped_listener, 60)
{
	long taint = estp_tainted();
	const int lport = LPORT_RACE + 2;
	struct peer_conn c;
	struct pkt_seg r, s;
	int lfd, fd;

	if (estp_fault_left() < 0)
		SKIP(return, "no %s", FAIL_FILE);
	ASSERT_LE(0, taint);
	lfd = keep(self, listener(IPPROTO_ESTP, lport, BACKLOG));
	ASSERT_LE(0, lfd);
	peer_drain(&self->peer);
	ASSERT_EQ(1, peer_syn(&self->peer, &c, 3002, lport, ISN, 1460));
	ASSERT_EQ(PKT_SYN | PKT_ACK, c.synack.flags);
	ASSERT_EQ(0, estp_fault_arm("reqsk_queue_add"));
	s = peer_seg(&c, PKT_ACK | PKT_PSH);
	s.len = PKT_MAX_LEN;	/* 60 bytes of data */
	ASSERT_EQ(0, peer_send(&self->peer, &s));
	/* The child acknowledges the data, then is reset. */
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(1, peer_recv(&self->peer, &c, PEER_ANSWER_MS, &r))
			TH_LOG("no RST from the child");
		if (r.flags & PKT_RST)
			break;
	}
	EXPECT_TRUE(r.flags & PKT_RST) TH_LOG("flags 0x%x", r.flags);
	EXPECT_EQ(0, estp_fault_left()) TH_LOG("the ACK did not reach the accept queue");
	ASSERT_EQ(0, fcntl(lfd, F_SETFL, O_NONBLOCK));
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EAGAIN, errno);
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(0, estp_tainted() & ~taint & ESTP_TAINT_WARN)
		TH_LOG("a WARN tainted the kernel: see dmesg");
	drop(self, lfd);
	unload_and_reload(_metadata);
}

ESTP_HARNESS_MAIN("proc_tx_queue_after_fin", "estp6.refused_while_connected",
		  "estp_mapped.refused_while_listening")
