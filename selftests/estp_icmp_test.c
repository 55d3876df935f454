// SPDX-License-Identifier: GPL-2.0
/*
 * ICMP errors for connections (tcp_v4_err and its ESTP counterpart):
 * unreachables that end a connect, the window check on the quoted sequence
 * number, path MTU discovery in SYN_SENT, ICMP errors for no socket, and
 * soft errors on an established connection.  TCP is the specification:
 * every TEST_F runs for TCP and ESTP as fixture variants and asserts what
 * TCP does, on IPv4 and on v4-mapped IPv6 (an AF_INET6 socket whose
 * connection IPv4 carries, and whose ICMP errors are ICMPv4 ones).  The
 * fixture icmp6 does the same with ICMPv6 errors (tcp_v6_err) for IPv6
 * connections, in variants tcp6 and estp6.
 *
 * Each test runs in a netns of its own: the connect goes out a dummy device
 * (where the SYN vanishes), an AF_PACKET socket on it learns the SYN's port
 * and sequence number, and a raw socket injects the ICMP error, which the
 * stack delivers locally through icmp_rcv() to the protocol's err_handler.
 * The netns, its devices and the route exceptions PMTU discovery creates
 * all go with the test's process.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_pkt.h"

/* Fixed ports below ip_local_port_range, apart from the other tests'. */
#define PORT_BASE	21300

#define DEV		"estp-d0"
#define LOCAL		"10.198.0.1"
#define REMOTE		"10.198.0.2"	/* on the link, never answers */
#define ROUTER		"10.198.0.254"	/* where "unreachable"s come from */
#define LO		"127.0.0.1"

#define POLL_ALL	(POLLIN | POLLOUT | POLLRDHUP | POLLPRI)

/* ICMP destination unreachable and its codes (RFC 792, RFC 1191). */
#define ICMP_UNREACH	3
#define CODE_NET	0
#define CODE_HOST	1
#define CODE_PORT	3
#define CODE_FRAG	4

/* How long an ICMP error may take to be handled: it is normally at once. */
#define SETTLE_MS	2000

/* Runs @cmd with its output hidden: 0 when it exits 0. */
static int run(const char *cmd)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s >/dev/null 2>&1", cmd);
	return system(buf) == 0 ? 0 : -1;
}

/* connect() to @ip:@port (IPv4, in @fam's form: estp_sockaddr()): 0 or errno. */
static int try_connect(int fd, int fam, const char *ip, int port)
{
	return estp_connect_errno(fd, fam, ip, port);
}

/* ICMP errors whose quoted segment matched a socket but not its window. */
static long oow_icmps(int proto)
{
	return estp_counter(proto, "OutOfWindowIcmps");
}

/* ICMP messages the stack found in error, e.g. for no socket. */
static long icmp_in_errors(void)
{
	return estp_proc_counter("/proc/net/snmp", "Icmp", "InErrors");
}

/* Polls @get() every 10 ms until it differs from @old, up to @ms: its value. */
static long wait_change(long (*get)(int), int arg, long old, int ms)
{
	long end = pkt_now_ms() + ms, val;

	while ((val = get(arg)) == old && pkt_now_ms() < end)
		usleep(10000);
	return val;
}

static long icmp_in_errors_arg(int unused)
{
	(void)unused;
	return icmp_in_errors();
}

/* pkt_parse(), or parse6() for IPv6. */
typedef int (*parse_fn)(const uint8_t *pkt, size_t len, int proto, struct pkt_seg *s);

/*
 * Waits up to @timeout_ms on AF_PACKET socket @cap for a segment of @proto
 * (in a packet @parse reads) from port @sport (0: any) to port @dport
 * whose flags are @flags: 1 and @s filled, 0 on timeout, -1 on error.
 */
static int capture_by(parse_fn parse, int cap, int proto, uint16_t sport, uint16_t dport,
		      uint8_t flags, int timeout_ms, struct pkt_seg *s)
{
	long end = pkt_now_ms() + timeout_ms;
	uint8_t buf[2048];

	for (;;) {
		struct pollfd pfd = { .fd = cap, .events = POLLIN };
		long left = end - pkt_now_ms();
		ssize_t n;
		int r;

		r = poll(&pfd, 1, left < 0 ? 0 : left);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0)
			return 0;
		if (r < 0)
			continue;
		n = recv(cap, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		if (!parse(buf, n, proto, s) && (!sport || s->sport == sport) &&
		    s->dport == dport && s->flags == flags)
			return 1;
	}
}

/* capture_by() for IPv4 segments. */
static int capture(int cap, int proto, uint16_t sport, uint16_t dport, uint8_t flags,
		   int timeout_ms, struct pkt_seg *s)
{
	return capture_by(pkt_parse, cap, proto, sport, dport, flags, timeout_ms, s);
}

/* An AF_PACKET socket that sees every packet @dev sends or receives, or -1. */
static int capture_open(const char *dev)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		/* ETH_P_ALL: a protocol-bound packet socket misses outgoing packets. */
		.sll_protocol = htons(ETH_P_ALL),
	};
	int fd;

	sll.sll_ifindex = if_nametoindex(dev);
	if (!sll.sll_ifindex)
		return -1;
	/* SOCK_DGRAM: packets start at the IP header. */
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* An ICMP error about a segment we sent. */
struct icmp_err {
	uint8_t type, code;
	uint16_t mtu;		/* next-hop MTU of "fragmentation needed" */
	const char *from;	/* who sends the ICMP error */
	const char *to;		/* us: the quoted segment's source */
	const char *peer;	/* the quoted segment's destination */
	uint16_t sport, dport;	/* the quoted segment's ports ... */
	uint32_t seq;		/* ... and sequence number */
};

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = pkt_sum(0, p, len);

	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* An IPv4 header of 20 bytes at @p. */
static void ip_hdr_put(uint8_t *p, int tot_len, int proto, const char *src, const char *dst)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	pkt_put16(p + 2, tot_len);
	pkt_put16(p + 6, IP_DF);
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	pkt_put16(p + 10, ip_csum(p, 20));
}

/*
 * Sends @e on @raw (IPPROTO_RAW: we write the IP header) as a router would:
 * the ICMP header, then the quoted IP header and the first 8 bytes of the
 * segment, for protocol @proto.  0 or -1.
 */
static int icmp_send(int raw, int proto, const struct icmp_err *e)
{
	struct sockaddr_in dst = estp_sin4(e->to, 0);
	uint8_t buf[20 + 8 + 20 + 8];
	uint8_t *icmp = buf + 20, *quoted = icmp + 8, *th = quoted + 20;

	ip_hdr_put(buf, sizeof(buf), IPPROTO_ICMP, e->from, e->to);
	memset(icmp, 0, 8);
	icmp[0] = e->type;
	icmp[1] = e->code;
	/* RFC 1191: the next-hop MTU is the low half of the "unused" word. */
	pkt_put16(icmp + 6, e->mtu);
	/* The quoted segment was a SYN with an MSS option: 44 bytes. */
	ip_hdr_put(quoted, 44, proto, e->to, e->peer);
	pkt_put16(th, e->sport);
	pkt_put16(th + 2, e->dport);
	pkt_put32(th + 4, e->seq);
	pkt_put16(icmp + 2, ip_csum(icmp, sizeof(buf) - 20));
	if (sendto(raw, buf, sizeof(buf), 0, (struct sockaddr *)&dst, sizeof(dst)) !=
	    (ssize_t)sizeof(buf))
		return -1;
	return 0;
}

FIXTURE(icmp)
{
	int fd;			/* the socket the ICMP errors are about */
	int cap;		/* AF_PACKET capture on DEV */
	int raw;		/* sends ICMP errors, IP header included */
	int lfd, afd;		/* the established tests' listener and accepted sock */
	int lport;		/* fd's local port, once it connects */
	uint32_t isn;		/* fd's SYN's sequence number */
	int fam;		/* ESTP_FAM4 or ESTP_FAM_MAPPED */
};

/* IPv4 and v4-mapped IPv6: the ICMP errors are ICMPv4 ones for both. */
FIXTURE_VARIANT(icmp) { int proto; int fam; };
FIXTURE_VARIANT_ADD(icmp, tcp4) { .proto = IPPROTO_TCP, .fam = ESTP_FAM4 };
FIXTURE_VARIANT_ADD(icmp, tcp_mapped) { .proto = IPPROTO_TCP, .fam = ESTP_FAM_MAPPED };
FIXTURE_VARIANT_ADD(icmp, estp4) { .proto = IPPROTO_ESTP, .fam = ESTP_FAM4 };
FIXTURE_VARIANT_ADD(icmp, estp_mapped) { .proto = IPPROTO_ESTP, .fam = ESTP_FAM_MAPPED };

FIXTURE_SETUP(icmp)
{
	cpu_set_t one;

	self->fd = -1;
	self->cap = -1;
	self->raw = -1;
	self->lfd = -1;
	self->afd = -1;
	/* The test's process owns the netns: whatever happens, it goes at exit. */
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	/*
	 * One CPU: the injected ICMP errors queue on its backlog and are
	 * handled in the order sent.
	 */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	/* lo carries what we send to our own addresses, the ICMP errors too. */
	ASSERT_EQ(0, run("ip link set lo up"));
	/* A dummy device: NOARP, and whatever goes out of it is dropped. */
	ASSERT_EQ(0, run("ip link add " DEV " type dummy"));
	ASSERT_EQ(0, run("ip addr add " LOCAL "/24 dev " DEV));
	ASSERT_EQ(0, run("ip link set " DEV " up"));
	self->cap = capture_open(DEV);
	ASSERT_LE(0, self->cap);
	self->raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	ASSERT_LE(0, self->raw);
	self->fam = variant->fam;
	self->fd = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, self->fd) TH_LOG("socket: %s", strerror(errno));
}

FIXTURE_TEARDOWN(icmp)
{
	estp_close_abort(&self->afd);
	estp_close_abort(&self->fd);
	estp_close_abort(&self->lfd);
	if (self->cap >= 0)
		close(self->cap);
	if (self->raw >= 0)
		close(self->raw);
	/* The netns, DEV with it, ends with the test's process. */
}

/*
 * A non-blocking connect of self->fd to REMOTE:@port: in SYN_SENT, with its
 * SYN seen on DEV for self->lport and self->isn.
 */
static void connecting(struct __test_metadata *_metadata, FIXTURE_DATA(icmp) *self,
		       int proto, int port)
{
	struct pkt_seg syn;
	int flags;

	flags = fcntl(self->fd, F_GETFL);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, flags | O_NONBLOCK));
	ASSERT_EQ(EINPROGRESS, try_connect(self->fd, self->fam, REMOTE, port));
	self->lport = estp_local_port(self->fd);
	ASSERT_LT(0, self->lport);
	ASSERT_EQ(1, capture(self->cap, proto, self->lport, port, PKT_SYN, 2000, &syn));
	self->isn = syn.seq;
	ASSERT_EQ(ST_SYN_SENT, estp_proc_state(proto, self->lport, port));
}

/* An ICMP "destination unreachable" for self->fd's SYN, quoting @seq. */
static struct icmp_err unreach(FIXTURE_DATA(icmp) *self, int code, const char *from,
			       int port, uint32_t seq)
{
	return (struct icmp_err){
		.type = ICMP_UNREACH,
		.code = code,
		.from = from,
		.to = LOCAL,
		.peer = REMOTE,
		.sport = self->lport,
		.dport = port,
		.seq = seq,
	};
}

/*
 * An unreachable of @code for the SYN ends the connect with @err, as a
 * hard error: the socket is closed and gone from /proc.
 */
static void connect_fails(struct __test_metadata *_metadata, FIXTURE_DATA(icmp) *self,
			  int proto, int port, int code, const char *from, int err)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLL_ALL };
	struct icmp_err e;

	connecting(_metadata, self, proto, port);
	/* Nothing before the ICMP error. */
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	e = unreach(self, code, from, port, self->isn);
	ASSERT_EQ(0, icmp_send(self->raw, proto, &e));
	ASSERT_EQ(1, poll(&pfd, 1, SETTLE_MS));
	/* Closed as by a RST: readable, writable, hung up, and the error. */
	EXPECT_EQ(POLLIN | POLLOUT | POLLRDHUP | POLLERR | POLLHUP, pfd.revents);
	EXPECT_EQ(err, estp_so_error(self->fd));
	/* Reading SO_ERROR cleared it. */
	EXPECT_EQ(0, estp_so_error(self->fd));
	EXPECT_EQ(ST_GONE, estp_proc_state(proto, self->lport, port));
	/*
	 * The next connect() finds the socket closed with no error left
	 * (SO_ERROR took it) and returns ECONNABORTED, as after a RST; the one
	 * after that starts over.
	 */
	EXPECT_EQ(ECONNABORTED, try_connect(self->fd, self->fam, REMOTE, port));
	EXPECT_EQ(EINPROGRESS, try_connect(self->fd, self->fam, REMOTE, port));
}

TEST_F(icmp, host_unreach_syn_sent)
{
	connect_fails(_metadata, self, variant->proto, PORT_BASE + 1, CODE_HOST, ROUTER,
		      EHOSTUNREACH);
}

TEST_F(icmp, port_unreach_syn_sent)
{
	/* The peer itself says no protocol listens there. */
	connect_fails(_metadata, self, variant->proto, PORT_BASE + 2, CODE_PORT, REMOTE,
		      ECONNREFUSED);
}

TEST_F(icmp, net_unreach_syn_sent)
{
	connect_fails(_metadata, self, variant->proto, PORT_BASE + 3, CODE_NET, ROUTER,
		      ENETUNREACH);
}

/* Waits up to @ms for process @pid to sleep (state S): 0, or -1. */
static int wait_sleeping(pid_t pid, int ms)
{
	long end = pkt_now_ms() + ms;
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	do {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		/* "pid (comm) S ...": comm may hold anything, the state follows its ')'. */
		p = strrchr(buf, ')');
		if (p && !strncmp(p, ") S", 3))
			return 0;
		usleep(1000);
	} while (pkt_now_ms() < end);
	return -1;
}

/* A blocking connect() sleeping in SYN_SENT returns the ICMP error itself. */
TEST_F(icmp, host_unreach_blocking)
{
	const int port = PORT_BASE + 4;
	struct timeval tv = { .tv_sec = 5 };
	struct pkt_seg syn;
	int status, err;
	pid_t pid;

	/* If the ICMP error is lost, connect() gives up within 5 s. */
	ASSERT_EQ(0, setsockopt(self->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct icmp_err e;

		if (capture(self->cap, variant->proto, 0, port, PKT_SYN, 3000, &syn) != 1)
			_exit(1);
		/*
		 * While connect() still holds the socket the error would only
		 * be a soft one (sock_owned_by_user()): wait for it to sleep.
		 */
		if (wait_sleeping(getppid(), 3000))
			_exit(3);
		self->lport = syn.sport;
		e = unreach(self, CODE_HOST, ROUTER, port, syn.seq);
		_exit(icmp_send(self->raw, variant->proto, &e) ? 2 : 0);
	}
	err = try_connect(self->fd, self->fam, REMOTE, port);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(EHOSTUNREACH, err);
	/* Returned, not left pending. */
	EXPECT_EQ(0, estp_so_error(self->fd));
	EXPECT_EQ(ST_GONE, estp_proc_state(variant->proto, estp_local_port(self->fd), port));
}

/*
 * An ICMP error quoting a sequence number outside [snd_una, snd_nxt] is not
 * about anything we sent: counted and ignored.
 */
TEST_F(icmp, out_of_window_syn_sent)
{
	const int port = PORT_BASE + 5;
	struct pollfd pfd = { .fd = self->fd, .events = POLL_ALL };
	struct icmp_err e;
	long oow;

	connecting(_metadata, self, variant->proto, port);
	oow = oow_icmps(variant->proto);
	ASSERT_LE(0, oow) TH_LOG("no OutOfWindowIcmps counter");

	e = unreach(self, CODE_HOST, ROUTER, port, self->isn + 1000);
	ASSERT_EQ(0, icmp_send(self->raw, variant->proto, &e));
	EXPECT_EQ(oow + 1, wait_change(oow_icmps, variant->proto, oow, SETTLE_MS));
	/* Below the window too: snd_una is the ISN. */
	e.seq = self->isn - 1;
	ASSERT_EQ(0, icmp_send(self->raw, variant->proto, &e));
	EXPECT_EQ(oow + 2, wait_change(oow_icmps, variant->proto, oow + 1, SETTLE_MS));

	EXPECT_EQ(ST_SYN_SENT, estp_proc_state(variant->proto, self->lport, port));
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, estp_so_error(self->fd));

	/* snd_nxt (ISN + 1) is in the window: that one ends the connect. */
	e.seq = self->isn + 1;
	ASSERT_EQ(0, icmp_send(self->raw, variant->proto, &e));
	ASSERT_EQ(1, poll(&pfd, 1, SETTLE_MS));
	EXPECT_EQ(EHOSTUNREACH, estp_so_error(self->fd));
	EXPECT_EQ(ST_GONE, estp_proc_state(variant->proto, self->lport, port));
	EXPECT_EQ(oow + 2, oow_icmps(variant->proto));
}

/* The MTU of the socket's route, from IP_MTU. */
static int ip_mtu(int fd)
{
	return estp_getsockopt_int(fd, IPPROTO_IP, IP_MTU);
}

/* net.ipv4.tcp_timestamps or net.estp.timestamps, as this netns has it: 0 or 1. */
static int timestamps_on(int proto)
{
	char buf[16];

	if (estp_sysctl_get(proto == IPPROTO_TCP ? "/proc/sys/net/ipv4/tcp_timestamps" :
			    "/proc/sys/net/estp/timestamps", buf, sizeof(buf)))
		return -1;
	return atoi(buf) != 0;
}

/*
 * TCP_MAXSEG in SYN_SENT on a path of @mtu: the path's MSS, clamped to 536
 * (TCP_MSS_DEFAULT) until the SYN-ACK brings the peer's, less the options
 * every segment will carry: the 12 bytes of timestamps when the SYN offers
 * them (tcp_connect_init()).
 */
static int syn_sent_mss(int mtu, int tstamps)
{
	int mss = mtu - 40 < 536 ? mtu - 40 : 536;

	return tstamps ? mss - 12 : mss;
}

/*
 * "Fragmentation needed" in SYN_SENT: the path MTU is learnt (the route
 * gets an exception with the next-hop MTU) and the connect goes on.
 */
static void frag_needed(struct __test_metadata *_metadata, FIXTURE_DATA(icmp) *self,
			int proto, int port)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLL_ALL };
	int ts = timestamps_on(proto);
	struct icmp_err e;
	long end, oow;

	ASSERT_LE(0, ts);
	connecting(_metadata, self, proto, port);
	oow = oow_icmps(proto);
	EXPECT_EQ(1500, ip_mtu(self->fd));
	EXPECT_EQ(syn_sent_mss(1500, ts), estp_getsockopt_int(self->fd, SOL_TCP, TCP_MAXSEG));

	e = unreach(self, CODE_FRAG, ROUTER, port, self->isn);
	e.mtu = 1280;
	ASSERT_EQ(0, icmp_send(self->raw, proto, &e));
	for (end = pkt_now_ms() + SETTLE_MS; ip_mtu(self->fd) != 1280 && pkt_now_ms() < end;)
		usleep(10000);
	EXPECT_EQ(1280, ip_mtu(self->fd));
	/* 1280 - 40 is above the clamp: the MSS stays. */
	EXPECT_EQ(syn_sent_mss(1280, ts), estp_getsockopt_int(self->fd, SOL_TCP, TCP_MAXSEG));

	/* 552 (net.ipv4.route.min_pmtu) - 40 is below it: the MSS follows. */
	e.mtu = 552;
	ASSERT_EQ(0, icmp_send(self->raw, proto, &e));
	for (end = pkt_now_ms() + SETTLE_MS; ip_mtu(self->fd) != 552 && pkt_now_ms() < end;)
		usleep(10000);
	EXPECT_EQ(552, ip_mtu(self->fd));
	EXPECT_EQ(syn_sent_mss(552, ts), estp_getsockopt_int(self->fd, SOL_TCP, TCP_MAXSEG));

	/* Not an error: still connecting, nothing to report. */
	EXPECT_EQ(ST_SYN_SENT, estp_proc_state(proto, self->lport, port));
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, estp_so_error(self->fd));
	EXPECT_EQ(oow, oow_icmps(proto));
}

/* With timestamps on (the default), their room is kept from the SYN on: 524, 500. */
TEST_F(icmp, frag_needed_syn_sent)
{
	ASSERT_EQ(1, timestamps_on(variant->proto));
	frag_needed(_metadata, self, variant->proto, PORT_BASE + 6);
}

/* With timestamps off the SYN does not offer them: 536, then 512. */
TEST_F(icmp, frag_needed_syn_sent_no_ts)
{
	ASSERT_EQ(0, estp_sysctl_set(variant->proto == IPPROTO_TCP ?
				     "/proc/sys/net/ipv4/tcp_timestamps" :
				     "/proc/sys/net/estp/timestamps", "0"));
	ASSERT_EQ(0, timestamps_on(variant->proto));
	frag_needed(_metadata, self, variant->proto, PORT_BASE + 12);
}

/* ICMP errors for 4-tuples no socket has: counted as ICMP errors, no more. */
TEST_F(icmp, no_socket)
{
	const int port = PORT_BASE + 7;
	struct pollfd pfd = { .fd = self->fd, .events = POLL_ALL };
	long errs, oow;
	struct icmp_err e;

	connecting(_metadata, self, variant->proto, port);
	oow = oow_icmps(variant->proto);
	errs = icmp_in_errors();
	ASSERT_LE(0, errs);

	/* Each differs from the connecting socket's in one field. */
	e = unreach(self, CODE_HOST, ROUTER, port, self->isn);
	e.sport = self->lport + 1;
	ASSERT_EQ(0, icmp_send(self->raw, variant->proto, &e));
	EXPECT_EQ(errs + 1, wait_change(icmp_in_errors_arg, 0, errs, SETTLE_MS));
	e = unreach(self, CODE_PORT, REMOTE, port + 1, self->isn);
	ASSERT_EQ(0, icmp_send(self->raw, variant->proto, &e));
	EXPECT_EQ(errs + 2, wait_change(icmp_in_errors_arg, 0, errs + 1, SETTLE_MS));
	e = unreach(self, CODE_HOST, ROUTER, port, self->isn);
	e.peer = "10.198.0.3";
	ASSERT_EQ(0, icmp_send(self->raw, variant->proto, &e));
	EXPECT_EQ(errs + 3, wait_change(icmp_in_errors_arg, 0, errs + 2, SETTLE_MS));

	EXPECT_EQ(ST_SYN_SENT, estp_proc_state(variant->proto, self->lport, port));
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, estp_so_error(self->fd));
	/* Not out of any socket's window: there was no socket to ask. */
	EXPECT_EQ(oow, oow_icmps(variant->proto));
}

/*
 * self->fd connected over lo to a listener on 127.0.0.1:@port, accepted;
 * returns the sequence number of the client's final ACK, its snd_nxt (the
 * capture socket is on lo for these tests).
 */
static uint32_t established(struct __test_metadata *_metadata, FIXTURE_DATA(icmp) *self,
			    int proto, int port)
{
	struct sockaddr_storage ss;
	socklen_t sslen = estp_sockaddr(self->fam, LO, port, &ss);
	struct pkt_seg ack;

	close(self->cap);
	self->cap = capture_open("lo");
	if (self->cap < 0)
		goto fail;
	self->lfd = estp_socket(proto, self->fam);
	if (self->lfd < 0 || bind(self->lfd, (struct sockaddr *)&ss, sslen) ||
	    listen(self->lfd, 8) || try_connect(self->fd, self->fam, LO, port))
		goto fail;
	self->afd = accept(self->lfd, NULL, NULL);
	self->lport = estp_local_port(self->fd);
	if (self->afd < 0 || self->lport <= 0 ||
	    capture(self->cap, proto, self->lport, port, PKT_ACK, 2000, &ack) != 1)
		goto fail;
	return ack.seq;
fail:
	ASSERT_TRUE(0) TH_LOG("cannot connect over lo: %s", strerror(errno));
	return 0;
}

/* Polls SO_ERROR (which clears it) every 10 ms, up to @ms: the first error, or 0. */
static int wait_so_error(int fd, int ms)
{
	long end = pkt_now_ms() + ms;
	int err;

	while (!(err = estp_so_error(fd)) && pkt_now_ms() < end)
		usleep(10000);
	return err;
}

/* The ICMP error of the established tests: for the client's next segment. */
static struct icmp_err est_unreach(FIXTURE_DATA(icmp) *self, int port, uint32_t seq)
{
	return (struct icmp_err){
		.type = ICMP_UNREACH,
		.code = CODE_HOST,
		.from = ROUTER,
		.to = LO,
		.peer = LO,
		.sport = self->lport,
		.dport = port,
		.seq = seq,
	};
}

/*
 * In ESTABLISHED an unreachable is a soft error (RFC 1122 4.2.3.9): the
 * connection stays; the error waits in sk_err_soft, which SO_ERROR reports
 * (and clears) when there is no hard error.
 */
TEST_F(icmp, soft_error_established)
{
	const int port = PORT_BASE + 8;
	struct pollfd pfd = { .fd = self->fd, .events = POLL_ALL };
	struct icmp_err e;
	uint32_t nxt;
	long oow;

	nxt = established(_metadata, self, variant->proto, port);
	oow = oow_icmps(variant->proto);
	/* The SYN's sequence number is below snd_una now: out of the window. */
	e = est_unreach(self, port, nxt - 1);
	ASSERT_EQ(0, icmp_send(self->raw, variant->proto, &e));
	EXPECT_EQ(oow + 1, wait_change(oow_icmps, variant->proto, oow, SETTLE_MS));
	EXPECT_EQ(0, estp_so_error(self->fd));

	e = est_unreach(self, port, nxt);
	ASSERT_EQ(0, icmp_send(self->raw, variant->proto, &e));
	/* Nothing to wait for but the soft error itself, which SO_ERROR clears. */
	EXPECT_EQ(EHOSTUNREACH, wait_so_error(self->fd, SETTLE_MS));
	EXPECT_EQ(0, estp_so_error(self->fd));
	EXPECT_EQ(oow + 1, oow_icmps(variant->proto));
	/* No POLLERR: a soft error is reported only if the connection times out. */
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLOUT, pfd.revents);
	EXPECT_EQ(ST_ESTABLISHED, estp_proc_state(variant->proto, self->lport, port));
	EXPECT_EQ(ST_ESTABLISHED, estp_proc_state(variant->proto, port, self->lport));
}

/* With IP_RECVERR the application asked for every error at once: a hard one. */
TEST_F(icmp, recverr_established)
{
	const int port = PORT_BASE + 9;
	struct pollfd pfd = { .fd = self->fd, .events = POLL_ALL };
	struct icmp_err e;
	uint32_t nxt;

	nxt = established(_metadata, self, variant->proto, port);
	ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_IP, IP_RECVERR, &(int){ 1 }, sizeof(int)));
	e = est_unreach(self, port, nxt);
	ASSERT_EQ(0, icmp_send(self->raw, variant->proto, &e));
	pfd.events = POLLIN | POLLPRI | POLLRDHUP;	/* POLLERR comes unasked */
	ASSERT_EQ(1, poll(&pfd, 1, SETTLE_MS));
	EXPECT_EQ(POLLERR, pfd.revents);
	EXPECT_EQ(EHOSTUNREACH, estp_so_error(self->fd));
	EXPECT_EQ(0, estp_so_error(self->fd));
	/* The connection survives. */
	pfd.events = POLL_ALL;
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLOUT, pfd.revents);
	EXPECT_EQ(ST_ESTABLISHED, estp_proc_state(variant->proto, self->lport, port));
	EXPECT_EQ(ST_ESTABLISHED, estp_proc_state(variant->proto, port, self->lport));
}

/*
 * A SYN from REMOTE:@sport to LOCAL:@dport with sequence number @seq, sent
 * to ourselves as if it had come in: 0 or -1.
 */
static int syn_inject(int raw, int proto, uint16_t sport, uint16_t dport, uint32_t seq)
{
	struct pkt_seg s = {
		.sport = sport,
		.dport = dport,
		.seq = seq,
		.flags = PKT_SYN,
		.win = 65535,
		.mss = 1460,
	};
	struct sockaddr_in dst = estp_sin4(LOCAL, 0);
	uint8_t buf[20 + PKT_MAX_LEN];
	uint32_t saddr, daddr;
	int len;

	inet_pton(AF_INET, REMOTE, &saddr);
	inet_pton(AF_INET, LOCAL, &daddr);
	len = pkt_build(buf + 20, &s, proto, saddr, daddr);
	ip_hdr_put(buf, 20 + len, proto, REMOTE, LOCAL);
	if (sendto(raw, buf, 20 + len, 0, (struct sockaddr *)&dst, sizeof(dst)) != 20 + len)
		return -1;
	return 0;
}

static long listen_drops(int proto)
{
	return estp_counter(proto, "ListenDrops");
}

/*
 * ICMP errors for a SYN-ACK of a request sock (tcp_req_err()): only one
 * quoting the SYN-ACK's own sequence number counts, and only those that
 * say the peer cannot be reached (net or host unreachable, time exceeded,
 * parameter problem) drop the request, silently: accept() never hears of it.
 */
TEST_F(icmp, syn_recv)
{
	const int port = PORT_BASE + 10, rport = PORT_BASE + 11;
	struct sockaddr_storage ss;
	socklen_t sslen = estp_sockaddr(variant->fam, LOCAL, port, &ss);
	struct pollfd pfd = { .events = POLLIN };
	struct pkt_seg synack;
	long oow, drops;
	struct icmp_err e;

	self->lfd = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&ss, sslen));
	ASSERT_EQ(0, listen(self->lfd, 8));
	pfd.fd = self->lfd;
	ASSERT_EQ(0, syn_inject(self->raw, variant->proto, rport, port, 1000));
	ASSERT_EQ(1, capture(self->cap, variant->proto, port, rport, PKT_SYN | PKT_ACK, 2000,
			     &synack));
	EXPECT_EQ(1001U, synack.ack);
	ASSERT_EQ(ST_SYN_RECV, estp_proc_state(variant->proto, port, rport));
	oow = oow_icmps(variant->proto);
	drops = listen_drops(variant->proto);
	ASSERT_LE(0, oow);
	ASSERT_LE(0, drops);

	e = (struct icmp_err){
		.type = ICMP_UNREACH,
		.code = CODE_HOST,
		.from = ROUTER,
		.to = LOCAL,
		.peer = REMOTE,
		.sport = port,
		.dport = rport,
		/* A request has no window: anything but its ISN is out. */
		.seq = synack.seq + 1,
	};
	ASSERT_EQ(0, icmp_send(self->raw, variant->proto, &e));
	EXPECT_EQ(oow + 1, wait_change(oow_icmps, variant->proto, oow, SETTLE_MS));
	EXPECT_EQ(ST_SYN_RECV, estp_proc_state(variant->proto, port, rport));

	/* Port unreachable is no reason to drop a request. */
	e.code = CODE_PORT;
	e.from = REMOTE;
	e.seq = synack.seq;
	ASSERT_EQ(0, icmp_send(self->raw, variant->proto, &e));
	/* An out-of-window one after it tells when it has been handled. */
	e.seq = synack.seq - 1;
	ASSERT_EQ(0, icmp_send(self->raw, variant->proto, &e));
	EXPECT_EQ(oow + 2, wait_change(oow_icmps, variant->proto, oow + 1, SETTLE_MS));
	EXPECT_EQ(ST_SYN_RECV, estp_proc_state(variant->proto, port, rport));
	EXPECT_EQ(drops, listen_drops(variant->proto));

	/* Host unreachable for the SYN-ACK drops the request. */
	e.code = CODE_HOST;
	e.from = ROUTER;
	e.seq = synack.seq;
	ASSERT_EQ(0, icmp_send(self->raw, variant->proto, &e));
	EXPECT_EQ(drops + 1, wait_change(listen_drops, variant->proto, drops, SETTLE_MS));
	EXPECT_EQ(ST_GONE, estp_proc_state(variant->proto, port, rport));
	EXPECT_EQ(oow + 2, oow_icmps(variant->proto));
	/* Nothing to accept, no error on the listener. */
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, estp_so_error(self->lfd));
}

/*
 * The path of the PMTU test: this netns (A), a router netns R and a netns
 * B, joined by veth pairs A-R and R-B.
 */
#define NS_R		"estp-icmp-r"
#define NS_B		"estp-icmp-b"
#define A_IP		"10.199.1.1"
#define R_A_IP		"10.199.1.254"
#define R_B_IP		"10.199.2.254"
#define B_IP		"10.199.2.2"

static void path_down(const void *arg)
{
	(void)arg;
	estp_runf("ip netns del " NS_R);
	estp_runf("ip netns del " NS_B);
}

/* A -- R -- B, MTU 1500 all the way, R forwarding: 0, or -1. */
static int path_up(void)
{
	path_down(NULL);
	if (estp_run("ip netns add " NS_R) || estp_run("ip netns add " NS_B) ||
	    estp_run("ip link add estp-a0 type veth peer name estp-r0 netns " NS_R) ||
	    estp_run("ip -n " NS_R " link add estp-r1 type veth peer name estp-b0 netns " NS_B) ||
	    estp_run("ip addr add " A_IP "/24 dev estp-a0") ||
	    estp_run("ip link set estp-a0 up") ||
	    estp_run("ip route add " B_IP "/32 via " R_A_IP) ||
	    estp_run("ip -n " NS_R " addr add " R_A_IP "/24 dev estp-r0") ||
	    estp_run("ip -n " NS_R " addr add " R_B_IP "/24 dev estp-r1") ||
	    estp_run("ip -n " NS_R " link set estp-r0 up") ||
	    estp_run("ip -n " NS_R " link set estp-r1 up") ||
	    estp_run("ip netns exec " NS_R " sysctl -qw net.ipv4.ip_forward=1") ||
	    /* Every "fragmentation needed" goes out, however many. */
	    estp_run("ip netns exec " NS_R " sysctl -qw net.ipv4.icmp_ratelimit=0") ||
	    estp_run("ip -n " NS_B " addr add " B_IP "/24 dev estp-b0") ||
	    estp_run("ip -n " NS_B " link set estp-b0 up") ||
	    estp_run("ip -n " NS_B " route add " A_IP "/32 via " R_B_IP))
		return -1;
	return 0;
}

/*
 * self->fd connected to a listener (self->lfd, with @rcvbuf as SO_RCVBUF
 * when not 0) on B:@port, and its peer accepted (self->afd); both ends
 * non-blocking.
 */
static void path_connect(struct __test_metadata *_metadata, FIXTURE_DATA(icmp) *self,
			 int proto, int port, int rcvbuf)
{
	struct sockaddr_storage ss;
	socklen_t sslen = estp_sockaddr(self->fam, B_IP, port, &ss);
	int home, nsb;

	home = open("/proc/self/ns/net", O_RDONLY);
	nsb = open("/run/netns/" NS_B, O_RDONLY);
	ASSERT_LE(0, home);
	ASSERT_LE(0, nsb);
	ASSERT_EQ(0, setns(nsb, CLONE_NEWNET));
	self->lfd = estp_socket(proto, self->fam);
	ASSERT_EQ(0, setns(home, CLONE_NEWNET));
	close(nsb);
	close(home);
	ASSERT_LE(0, self->lfd);
	if (rcvbuf)
		ASSERT_EQ(0, setsockopt(self->lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
					sizeof(rcvbuf)));
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&ss, sslen));
	ASSERT_EQ(0, listen(self->lfd, 1));
	ASSERT_EQ(0, connect(self->fd, (struct sockaddr *)&ss, sslen));
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(0, fcntl(self->afd, F_SETFL, O_NONBLOCK));
}

/*
 * @len bytes of @tx from @cfd to @rx through @afd; once B has
 * @lower_at of them (never when 0), R's link to B goes to MTU 1280.  A
 * stall of 20 s without a byte fails it: the connection would otherwise
 * wait for its retries to run out.
 */
static void path_transfer(struct __test_metadata *_metadata, int cfd, int afd,
			  const unsigned char *tx, unsigned char *rx, size_t len,
			  size_t lower_at)
{
	size_t sent = 0, rcvd = 0;
	bool lowered = false;
	ssize_t n;

	while (rcvd < len) {
		struct pollfd pfd[2] = {
			{ .fd = cfd, .events = sent < len ? POLLOUT : 0 },
			{ .fd = afd, .events = POLLIN },
		};

		ASSERT_LT(0, poll(pfd, 2, 20000))
			TH_LOG("stalled: %zu sent, %zu received, MTU %s", sent, rcvd,
			       lowered ? "lowered" : "1500");
		ASSERT_EQ(0, (pfd[0].revents | pfd[1].revents) & (POLLERR | POLLHUP));
		if (pfd[0].revents & POLLOUT) {
			n = send(cfd, tx + sent, len - sent, MSG_NOSIGNAL);
			ASSERT_TRUE(n > 0 || errno == EAGAIN);
			if (n > 0)
				sent += n;
		}
		if (pfd[1].revents & POLLIN) {
			n = recv(afd, rx + rcvd, len - rcvd, 0);
			ASSERT_LT(0, n);
			rcvd += n;
		}
		if (lower_at && !lowered && rcvd >= lower_at) {
			/* Data is in flight and queued at the old size now. */
			ASSERT_EQ(0, estp_run("ip -n " NS_R " link set estp-r1 mtu 1280"));
			lowered = true;
		}
	}
	EXPECT_EQ(!!lower_at, lowered);
}

/* The connection of path_connect() and the path go. */
static void path_end(FIXTURE_DATA(icmp) *self, struct estp_guard *guard)
{
	estp_close_abort(&self->afd);
	estp_close_abort(&self->lfd);
	path_down(NULL);
	estp_guard_stop(guard);
}

/*
 * The path MTU falls under a bulk transfer (review C2): R's link to B
 * goes from 1500 to 1280 once B has 256 KiB, and R answers every larger
 * packet with "fragmentation needed".  What the sender queued and sent at
 * the old size must be cut to the new MSS (tcp_fragment() in
 * __tcp_retransmit_skb() and tcp_write_xmit(), tcp_simple_retransmit()):
 * all 2 MiB arrive, in order.  B's receive buffer is held at 64 KiB: with
 * an autotuned one, the whole transfer could sit in it before R's MTU
 * falls, and nothing would cross the narrowed link (TCP on 7.x did this
 * once).
 */
TEST_F_TIMEOUT(icmp, pmtu_drop_mid_transfer, 300)
{
	const size_t len = 2 << 20;
	unsigned char *tx = malloc(len), *rx = malloc(len);
	struct estp_guard guard;

	ASSERT_TRUE(tx && rx);
	estp_pattern_fill(tx, len, 0, 0xc2);
	ASSERT_EQ(0, estp_guard_start(&guard, path_down, NULL));
	ASSERT_EQ(0, path_up()) TH_LOG("ip setup of A - R - B failed");
	path_connect(_metadata, self, variant->proto, PORT_BASE + 20, 64 << 10);
	path_transfer(_metadata, self->fd, self->afd, tx, rx, len, 256 << 10);
	EXPECT_EQ(-1, estp_pattern_check(rx, len, 0, 0xc2));
	/* The sender learned the new path MTU. */
	EXPECT_EQ(1280, ip_mtu(self->fd));
	free(tx);
	free(rx);
	path_end(self, &guard);
}

/*
 * IP options set on an established connection shrink its segments at
 * once (ip_setsockopt() has TCP's icsk_sync_mss() run): 40 bytes of them
 * on a 1500-byte path, and no segment is too big for A's own link, so
 * none fails to fragment (Ip FragFails, with DF set) and comes back
 * through the local PMTU path.  Every byte arrives, in order.
 */
TEST_F_TIMEOUT(icmp, ip_options_after_connect, 120)
{
	const size_t len = 256 << 10;
	unsigned char *tx = malloc(len), *rx = malloc(len), opts[40];
	struct estp_guard guard;
	long fragfails;

	ASSERT_TRUE(tx && rx);
	estp_pattern_fill(tx, len, 0, 0x1b0);
	/* 39 NOPs and an end of list. */
	memset(opts, 1, sizeof(opts));
	opts[sizeof(opts) - 1] = 0;
	ASSERT_EQ(0, estp_guard_start(&guard, path_down, NULL));
	ASSERT_EQ(0, path_up()) TH_LOG("ip setup of A - R - B failed");
	path_connect(_metadata, self, variant->proto, PORT_BASE + 21, 0);
	ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_IP, IP_OPTIONS, opts, sizeof(opts)));
	fragfails = estp_proc_counter("/proc/net/snmp", "Ip", "FragFails");
	ASSERT_LE(0, fragfails);
	path_transfer(_metadata, self->fd, self->afd, tx, rx, len, 0);
	EXPECT_EQ(-1, estp_pattern_check(rx, len, 0, 0x1b0));
	EXPECT_EQ(fragfails, estp_proc_counter("/proc/net/snmp", "Ip", "FragFails"));
	/* The path itself never changed. */
	EXPECT_EQ(1500, ip_mtu(self->fd));
	free(tx);
	free(rx);
	path_end(self, &guard);
}

/*
 * ICMPv6 for IPv6 connections (tcp_v6_err, icmpv6_err_convert): the cases
 * above with ICMPv6 errors, in a fixture of their own (tcp6, estp6).  The
 * errors are crafted as the v4 ones: a raw IPv6 socket that writes the
 * IPv6 header (IPPROTO_RAW) sends them to our own address, with the quoted
 * IPv6 header and the first 8 bytes of the segment.
 */
#define LOCAL6		"fd00::10:198:0:1"
#define REMOTE6		"fd00::10:198:0:2"	/* on the link, never answers */
#define ROUTER6		"fd00::10:198:0:254"
#define LO6		"::1"

/*
 * Each case takes seconds, but a guest on a loaded host has taken more
 * than the harness's default of 30 for one (the ip commands of the setup).
 */
#define ICMP6_TIMEOUT	90

/* ICMPv6 error types and destination unreachable codes (RFC 4443). */
#define ICMP6_UNREACH		1
#define ICMP6_TOOBIG		2
#define ICMP6_TIME_EXCEED	3
#define ICMP6_PARAMPROB		4
#define CODE6_NOROUTE		0
#define CODE6_ADMIN		1
#define CODE6_BEYOND_SCOPE	2
#define CODE6_ADDR		3
#define CODE6_PORT		4
#define CODE6_POLICY		5
#define CODE6_REJECT_ROUTE	6

/* One counter of /proc/net/snmp6 ("Name value" lines), or -1. */
static long icmp6_counter(const char *name)
{
	char line[128], key[64];
	long val, ret = -1;
	FILE *f = fopen("/proc/net/snmp6", "r");

	if (!f)
		return -1;
	while (ret < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld", key, &val) == 2 && !strcmp(key, name))
			ret = val;
	fclose(f);
	return ret;
}

static long icmp6_in_errors(int unused)
{
	(void)unused;
	return icmp6_counter("Icmp6InErrors");
}

/* The IPv6 path MTU of the socket's route, from IPV6_MTU. */
static int ip6_mtu(int fd)
{
	return estp_getsockopt_int(fd, IPPROTO_IPV6, IPV6_MTU);
}

/* Internet checksum of @len bytes at @p after an IPv6 pseudo-header. */
static uint16_t csum6(const uint8_t *src, const uint8_t *dst, int nexthdr,
		      const uint8_t *p, size_t len)
{
	uint8_t ph[40];
	uint32_t sum;

	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	pkt_put32(ph + 32, len);
	pkt_put32(ph + 36, nexthdr);
	sum = pkt_sum(pkt_sum(0, ph, sizeof(ph)), p, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* An IPv6 header of 40 bytes at @p, @plen bytes of payload behind it. */
static void ip6_hdr_put(uint8_t *p, int plen, int nexthdr, const char *src, const char *dst)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	pkt_put16(p + 4, plen);
	p[6] = nexthdr;
	p[7] = 64;
	inet_pton(AF_INET6, src, p + 8);
	inet_pton(AF_INET6, dst, p + 24);
}

/* Sends the IPv6 packet @buf of @len bytes on @raw to its destination: 0 or -1. */
static int raw6_send(int raw, const uint8_t *buf, size_t len)
{
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6 };

	memcpy(&dst.sin6_addr, buf + 24, 16);
	return sendto(raw, buf, len, 0, (struct sockaddr *)&dst, sizeof(dst)) ==
	       (ssize_t)len ? 0 : -1;
}

/*
 * Sends @e as ICMPv6 on @raw (IPPROTO_RAW: we write the IPv6 header): the
 * ICMPv6 header (@e->mtu in its 32-bit word: Packet Too Big's MTU), the
 * quoted IPv6 header and the first 8 bytes of the segment, for protocol
 * @proto.  0 or -1.
 */
static int icmp6_send(int raw, int proto, const struct icmp_err *e)
{
	uint8_t buf[40 + 8 + 40 + 8];
	uint8_t *icmp = buf + 40, *quoted = icmp + 8, *th = quoted + 40;

	ip6_hdr_put(buf, sizeof(buf) - 40, IPPROTO_ICMPV6, e->from, e->to);
	memset(icmp, 0, 8);
	icmp[0] = e->type;
	icmp[1] = e->code;
	pkt_put32(icmp + 4, e->mtu);
	/* The quoted segment was a SYN with an MSS option: 24 bytes. */
	ip6_hdr_put(quoted, 24, proto, e->to, e->peer);
	pkt_put16(th, e->sport);
	pkt_put16(th + 2, e->dport);
	pkt_put32(th + 4, e->seq);
	pkt_put16(icmp + 2, csum6(buf + 8, buf + 24, IPPROTO_ICMPV6, icmp, sizeof(buf) - 40));
	return raw6_send(raw, buf, sizeof(buf));
}

/* Parses one IPv6 packet into @s as pkt_parse() an IPv4 one: 0 or -1. */
static int parse6(const uint8_t *pkt, size_t len, int proto, struct pkt_seg *s)
{
	const uint8_t *th = pkt + 40;
	size_t plen;

	if (len < 40 + PKT_HDR_LEN || (pkt[0] >> 4) != 6 || pkt[6] != proto)
		return -1;
	plen = pkt_get16(pkt + 4);
	if (plen > len - 40)
		plen = len - 40;
	if (plen < PKT_HDR_LEN)
		return -1;
	pkt_parse_th(th, plen, s);
	return 0;
}

/* capture() for IPv6 segments. */
static int capture6(int cap, int proto, uint16_t sport, uint16_t dport, uint8_t flags,
		    int timeout_ms, struct pkt_seg *s)
{
	return capture_by(parse6, cap, proto, sport, dport, flags, timeout_ms, s);
}

FIXTURE(icmp6)
{
	int fd;			/* the socket the ICMPv6 errors are about */
	int cap;		/* AF_PACKET capture on DEV, then lo */
	int raw;		/* sends IPv6 packets, header included */
	int lfd, afd;		/* listener and accepted sock */
	int lport;		/* fd's local port, once it connects */
	uint32_t isn;		/* fd's SYN's sequence number */
};

FIXTURE_VARIANT(icmp6) { int proto; };
FIXTURE_VARIANT_ADD(icmp6, tcp6) { .proto = IPPROTO_TCP };
FIXTURE_VARIANT_ADD(icmp6, estp6) { .proto = IPPROTO_ESTP };

FIXTURE_SETUP(icmp6)
{
	cpu_set_t one;

	self->fd = -1;
	self->cap = -1;
	self->raw = -1;
	self->lfd = -1;
	self->afd = -1;
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	/* One CPU: the injected errors are handled in the order sent. */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	ASSERT_EQ(0, run("ip link set lo up"));
	ASSERT_EQ(0, run("ip link add " DEV " type dummy"));
	/* nodad: the address is usable at once. */
	ASSERT_EQ(0, run("ip -6 addr add " LOCAL6 "/64 dev " DEV " nodad"));
	ASSERT_EQ(0, run("ip link set " DEV " up"));
	self->cap = capture_open(DEV);
	ASSERT_LE(0, self->cap);
	self->raw = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	ASSERT_LE(0, self->raw);
	self->fd = socket(AF_INET6, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->fd) TH_LOG("socket: %s", strerror(errno));
}

FIXTURE_TEARDOWN(icmp6)
{
	estp_close_abort(&self->afd);
	estp_close_abort(&self->fd);
	estp_close_abort(&self->lfd);
	if (self->cap >= 0)
		close(self->cap);
	if (self->raw >= 0)
		close(self->raw);
}

/* connect() of an AF_INET6 socket to @ip:@port: 0 or errno. */
static int connect6(int fd, const char *ip, int port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

	inet_pton(AF_INET6, ip, &a.sin6_addr);
	return connect(fd, (struct sockaddr *)&a, sizeof(a)) ? errno : 0;
}

/* connecting() for IPv6: self->fd non-blocking in SYN_SENT to REMOTE6:@port. */
static void connecting6(struct __test_metadata *_metadata, FIXTURE_DATA(icmp6) *self,
			int proto, int port)
{
	struct pkt_seg syn;
	int flags;

	flags = fcntl(self->fd, F_GETFL);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, flags | O_NONBLOCK));
	ASSERT_EQ(EINPROGRESS, connect6(self->fd, REMOTE6, port));
	self->lport = estp_local_port(self->fd);
	ASSERT_LT(0, self->lport);
	ASSERT_EQ(1, capture6(self->cap, proto, self->lport, port, PKT_SYN, 2000, &syn));
	self->isn = syn.seq;
	ASSERT_EQ(ST_SYN_SENT, estp_proc_state(proto, self->lport, port));
}

/* An ICMPv6 error of @type and @code for self->fd's SYN, quoting @seq. */
static struct icmp_err unreach6(FIXTURE_DATA(icmp6) *self, int type, int code,
				const char *from, int port, uint32_t seq)
{
	return (struct icmp_err){
		.type = type,
		.code = code,
		.from = from,
		.to = LOCAL6,
		.peer = REMOTE6,
		.sport = self->lport,
		.dport = port,
		.seq = seq,
	};
}

/*
 * In SYN_SENT every ICMPv6 error but Packet Too Big (and Redirect) ends the
 * connect with icmpv6_err_convert()'s errno, whether it calls the error
 * fatal or not (tcp_v6_err() reads "fatal" only for request socks), on
 * the IPv4 test's terms: closed as by a RST, SO_ERROR once, gone from
 * /proc, ECONNABORTED on the next connect() and EINPROGRESS on the one
 * after.
 */
TEST_F_TIMEOUT(icmp6, unreach_syn_sent, ICMP6_TIMEOUT)
{
	static const struct {
		const char *name;
		int type, code, err;
		bool from_peer;
	} cases[] = {
		{ "no route", ICMP6_UNREACH, CODE6_NOROUTE, ENETUNREACH, false },
		{ "administratively prohibited", ICMP6_UNREACH, CODE6_ADMIN, EACCES, false },
		{ "beyond scope", ICMP6_UNREACH, CODE6_BEYOND_SCOPE, EHOSTUNREACH, false },
		{ "address unreachable", ICMP6_UNREACH, CODE6_ADDR, EHOSTUNREACH, false },
		{ "port unreachable", ICMP6_UNREACH, CODE6_PORT, ECONNREFUSED, true },
		{ "policy failure", ICMP6_UNREACH, CODE6_POLICY, EACCES, false },
		{ "reject route", ICMP6_UNREACH, CODE6_REJECT_ROUTE, EACCES, false },
		{ "unknown code 7", ICMP6_UNREACH, 7, EPROTO, false },
		{ "time exceeded", ICMP6_TIME_EXCEED, 0, EHOSTUNREACH, false },
		{ "parameter problem", ICMP6_PARAMPROB, 0, EPROTO, false },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pollfd pfd = { .events = POLL_ALL };
		const int port = PORT_BASE + 30 + i;
		const char *name = cases[i].name;
		struct icmp_err e;

		if (i) {
			close(self->fd);
			self->fd = socket(AF_INET6, SOCK_STREAM, variant->proto);
			ASSERT_LE(0, self->fd);
		}
		pfd.fd = self->fd;
		connecting6(_metadata, self, variant->proto, port);
		ASSERT_EQ(0, poll(&pfd, 1, 0)) TH_LOG("%s", name);
		e = unreach6(self, cases[i].type, cases[i].code, ROUTER6, port, self->isn);
		/* The peer itself says no protocol listens there. */
		if (cases[i].from_peer)
			e.from = REMOTE6;
		ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e)) TH_LOG("%s", name);
		ASSERT_EQ(1, poll(&pfd, 1, SETTLE_MS)) TH_LOG("%s", name);
		EXPECT_EQ(POLLIN | POLLOUT | POLLRDHUP | POLLERR | POLLHUP, pfd.revents)
			TH_LOG("%s", name);
		EXPECT_EQ(cases[i].err, estp_so_error(self->fd)) TH_LOG("%s", name);
		EXPECT_EQ(0, estp_so_error(self->fd)) TH_LOG("%s", name);
		EXPECT_EQ(ST_GONE, estp_proc_state(variant->proto, self->lport, port))
			TH_LOG("%s", name);
		EXPECT_EQ(ECONNABORTED, connect6(self->fd, REMOTE6, port)) TH_LOG("%s", name);
		EXPECT_EQ(EINPROGRESS, connect6(self->fd, REMOTE6, port)) TH_LOG("%s", name);
	}
}

/* A blocking connect() sleeping in SYN_SENT returns the ICMPv6 error itself. */
TEST_F_TIMEOUT(icmp6, unreach_blocking, ICMP6_TIMEOUT)
{
	const int port = PORT_BASE + 41;
	struct timeval tv = { .tv_sec = 5 };
	struct pkt_seg syn;
	int status, err;
	pid_t pid;

	ASSERT_EQ(0, setsockopt(self->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct icmp_err e;

		if (capture6(self->cap, variant->proto, 0, port, PKT_SYN, 3000, &syn) != 1)
			_exit(1);
		/* Not while connect() holds the socket: that would be a soft error. */
		if (wait_sleeping(getppid(), 3000))
			_exit(3);
		self->lport = syn.sport;
		e = unreach6(self, ICMP6_UNREACH, CODE6_ADDR, ROUTER6, port, syn.seq);
		_exit(icmp6_send(self->raw, variant->proto, &e) ? 2 : 0);
	}
	err = connect6(self->fd, REMOTE6, port);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(EHOSTUNREACH, err);
	EXPECT_EQ(0, estp_so_error(self->fd));
	EXPECT_EQ(ST_GONE, estp_proc_state(variant->proto, estp_local_port(self->fd), port));
}

/*
 * Quoted sequence numbers outside [snd_una, snd_nxt] are counted
 * (OutOfWindowIcmps) and ignored; ICMPv6 errors for no socket count as
 * Icmp6InErrors and nothing else.  The errors are handled in the order
 * sent (one CPU): each waits for its counter.
 */
TEST_F_TIMEOUT(icmp6, out_of_window_no_socket, ICMP6_TIMEOUT)
{
	const int port = PORT_BASE + 42;
	struct pollfd pfd = { .fd = self->fd, .events = POLL_ALL };
	struct icmp_err e;
	long oow, errs;

	connecting6(_metadata, self, variant->proto, port);
	oow = oow_icmps(variant->proto);
	errs = icmp6_in_errors(0);
	ASSERT_LE(0, oow);
	ASSERT_LE(0, errs);

	e = unreach6(self, ICMP6_UNREACH, CODE6_ADMIN, ROUTER6, port, self->isn + 1000);
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	EXPECT_EQ(oow + 1, wait_change(oow_icmps, variant->proto, oow, SETTLE_MS));
	e.seq = self->isn - 1;
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	EXPECT_EQ(oow + 2, wait_change(oow_icmps, variant->proto, oow + 1, SETTLE_MS));
	/* Packet Too Big out of the window too: the MTU stays. */
	e.type = ICMP6_TOOBIG;
	e.code = 0;
	e.mtu = 1280;
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	EXPECT_EQ(oow + 3, wait_change(oow_icmps, variant->proto, oow + 2, SETTLE_MS));
	EXPECT_EQ(1500, ip6_mtu(self->fd));

	/* Each differs from the connecting socket's 4-tuple in one field. */
	e = unreach6(self, ICMP6_UNREACH, CODE6_ADMIN, ROUTER6, port, self->isn);
	e.sport = self->lport + 1;
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	EXPECT_EQ(errs + 1, wait_change(icmp6_in_errors, 0, errs, SETTLE_MS));
	e = unreach6(self, ICMP6_UNREACH, CODE6_PORT, REMOTE6, port + 1, self->isn);
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	EXPECT_EQ(errs + 2, wait_change(icmp6_in_errors, 0, errs + 1, SETTLE_MS));
	e = unreach6(self, ICMP6_UNREACH, CODE6_ADMIN, ROUTER6, port, self->isn);
	e.peer = "fd00::10:198:0:3";
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	EXPECT_EQ(errs + 3, wait_change(icmp6_in_errors, 0, errs + 2, SETTLE_MS));

	EXPECT_EQ(oow + 3, oow_icmps(variant->proto));
	EXPECT_EQ(ST_SYN_SENT, estp_proc_state(variant->proto, self->lport, port));
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, estp_so_error(self->fd));

	/* snd_nxt (ISN + 1) is in the window: that one ends the connect. */
	e = unreach6(self, ICMP6_UNREACH, CODE6_ADMIN, ROUTER6, port, self->isn + 1);
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	ASSERT_EQ(1, poll(&pfd, 1, SETTLE_MS));
	EXPECT_EQ(EACCES, estp_so_error(self->fd));
	EXPECT_EQ(errs + 3, icmp6_in_errors(0));
}

/*
 * Packet Too Big in SYN_SENT.  An IPv6 connect clamps the MSS to what
 * 1280 bytes carry (tcp_v6_connect()): 1220, 1208 with timestamps.  A
 * Packet Too Big whose MTU would not lower that MSS is dropped before the
 * route learns it (tcp_v6_mtu_reduced()): IPV6_MTU stays 1500; one below
 * IPv6's minimum of 1280 is ignored too.  Not an error either way.
 */
TEST_F_TIMEOUT(icmp6, pkt_too_big_syn_sent, ICMP6_TIMEOUT)
{
	const int port = PORT_BASE + 43;
	struct pollfd pfd = { .fd = self->fd, .events = POLL_ALL };
	struct icmp_err e;
	long oow, errs;

	connecting6(_metadata, self, variant->proto, port);
	oow = oow_icmps(variant->proto);
	errs = icmp6_in_errors(0);
	EXPECT_EQ(1500, ip6_mtu(self->fd));
	EXPECT_EQ(1208, estp_getsockopt_int(self->fd, SOL_TCP, TCP_MAXSEG));

	e = unreach6(self, ICMP6_TOOBIG, 0, ROUTER6, port, self->isn);
	e.mtu = 1400;
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	e.mtu = 1000;
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	/* A third for no socket tells when the two have been handled. */
	e.sport = self->lport + 1;
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	EXPECT_EQ(errs + 1, wait_change(icmp6_in_errors, 0, errs, SETTLE_MS));

	EXPECT_EQ(1500, ip6_mtu(self->fd));
	EXPECT_EQ(1208, estp_getsockopt_int(self->fd, SOL_TCP, TCP_MAXSEG));
	EXPECT_EQ(ST_SYN_SENT, estp_proc_state(variant->proto, self->lport, port));
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, estp_so_error(self->fd));
	EXPECT_EQ(oow, oow_icmps(variant->proto));
}

/*
 * self->fd connected over ::1 to a listener on port @port, accepted:
 * returns the client's snd_nxt, the sequence number of its final ACK.
 */
static uint32_t established6(struct __test_metadata *_metadata, FIXTURE_DATA(icmp6) *self,
			     int proto, int port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct pkt_seg ack;

	a.sin6_addr = in6addr_loopback;
	close(self->cap);
	self->cap = capture_open("lo");
	if (self->cap < 0)
		goto fail;
	self->lfd = socket(AF_INET6, SOCK_STREAM, proto);
	if (self->lfd < 0 || bind(self->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(self->lfd, 8) || connect6(self->fd, LO6, port))
		goto fail;
	self->afd = accept(self->lfd, NULL, NULL);
	self->lport = estp_local_port(self->fd);
	if (self->afd < 0 || self->lport <= 0 ||
	    capture6(self->cap, proto, self->lport, port, PKT_ACK, 2000, &ack) != 1)
		goto fail;
	return ack.seq;
fail:
	ASSERT_TRUE(0) TH_LOG("cannot connect over ::1: %s", strerror(errno));
	return 0;
}

static struct icmp_err est_unreach6(FIXTURE_DATA(icmp6) *self, int code, int port,
				    uint32_t seq)
{
	return (struct icmp_err){
		.type = ICMP6_UNREACH,
		.code = code,
		.from = ROUTER6,
		.to = LO6,
		.peer = LO6,
		.sport = self->lport,
		.dport = port,
		.seq = seq,
	};
}

/*
 * In ESTABLISHED an ICMPv6 error is a soft one: the connection stays, the
 * errno waits in sk_err_soft for SO_ERROR; out-of-window ones are counted.
 */
TEST_F_TIMEOUT(icmp6, soft_error_established, ICMP6_TIMEOUT)
{
	const int port = PORT_BASE + 44;
	struct pollfd pfd = { .fd = self->fd, .events = POLL_ALL };
	struct icmp_err e;
	uint32_t nxt;
	long oow;

	nxt = established6(_metadata, self, variant->proto, port);
	oow = oow_icmps(variant->proto);
	e = est_unreach6(self, CODE6_ADDR, port, nxt - 1);
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	EXPECT_EQ(oow + 1, wait_change(oow_icmps, variant->proto, oow, SETTLE_MS));
	EXPECT_EQ(0, estp_so_error(self->fd));

	e = est_unreach6(self, CODE6_ADDR, port, nxt);
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	EXPECT_EQ(EHOSTUNREACH, wait_so_error(self->fd, SETTLE_MS));
	EXPECT_EQ(0, estp_so_error(self->fd));
	/* Even a "fatal" one (port unreachable): soft once synchronized. */
	e = est_unreach6(self, CODE6_PORT, port, nxt);
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	EXPECT_EQ(ECONNREFUSED, wait_so_error(self->fd, SETTLE_MS));
	EXPECT_EQ(oow + 1, oow_icmps(variant->proto));
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLOUT, pfd.revents);
	EXPECT_EQ(ST_ESTABLISHED, estp_proc_state(variant->proto, self->lport, port));
	EXPECT_EQ(ST_ESTABLISHED, estp_proc_state(variant->proto, port, self->lport));
}

/* With IPV6_RECVERR every error is reported at once: a hard one, POLLERR. */
TEST_F_TIMEOUT(icmp6, recverr_established, ICMP6_TIMEOUT)
{
	const int port = PORT_BASE + 45;
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN | POLLPRI | POLLRDHUP };
	struct icmp_err e;
	uint32_t nxt;

	nxt = established6(_metadata, self, variant->proto, port);
	ASSERT_EQ(0, setsockopt(self->fd, IPPROTO_IPV6, IPV6_RECVERR, &(int){ 1 }, sizeof(int)));
	e = est_unreach6(self, CODE6_ADMIN, port, nxt);
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	ASSERT_EQ(1, poll(&pfd, 1, SETTLE_MS));
	EXPECT_EQ(POLLERR, pfd.revents);
	EXPECT_EQ(EACCES, estp_so_error(self->fd));
	EXPECT_EQ(0, estp_so_error(self->fd));
	pfd.events = POLL_ALL;
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLOUT, pfd.revents);
	EXPECT_EQ(ST_ESTABLISHED, estp_proc_state(variant->proto, self->lport, port));
}

/*
 * A TIME_WAIT minisock takes no ICMPv6 error: not counted as one for no
 * socket, not out of its window, and it stays.
 */
TEST_F_TIMEOUT(icmp6, time_wait, ICMP6_TIMEOUT)
{
	const int port = PORT_BASE + 46;
	struct icmp_err e;
	long oow, errs;
	uint32_t nxt;
	char c;

	nxt = established6(_metadata, self, variant->proto, port);
	/* The client closes first: its end waits in TIME_WAIT. */
	ASSERT_EQ(0, shutdown(self->fd, SHUT_WR));
	ASSERT_EQ(0, recv(self->afd, &c, 1, 0));
	close(self->afd);
	self->afd = -1;
	ASSERT_EQ(0, recv(self->fd, &c, 1, 0));
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(ST_TIME_WAIT, estp_proc_state(variant->proto, self->lport, port));
	oow = oow_icmps(variant->proto);
	errs = icmp6_in_errors(0);

	/* In and out of what was the window: neither is looked at. */
	e = est_unreach6(self, CODE6_ADMIN, port, nxt + 1);
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	e.seq = nxt + 100000;
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	/* One for no socket tells when both have been handled. */
	e.sport = self->lport + 1;
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	EXPECT_EQ(errs + 1, wait_change(icmp6_in_errors, 0, errs, SETTLE_MS));
	EXPECT_EQ(oow, oow_icmps(variant->proto));
	EXPECT_EQ(ST_TIME_WAIT, estp_proc_state(variant->proto, self->lport, port));
}

/* A SYN from REMOTE6:@sport to LOCAL6:@dport, as if it had come in: 0 or -1. */
static int syn_inject6(int raw, int proto, uint16_t sport, uint16_t dport, uint32_t seq)
{
	struct pkt_seg s = {
		.sport = sport,
		.dport = dport,
		.seq = seq,
		.flags = PKT_SYN,
		.win = 65535,
		.mss = 1440,
	};
	uint8_t buf[40 + PKT_MAX_LEN];
	int len;

	len = pkt_build(buf + 40, &s, proto, 0, 0);
	ip6_hdr_put(buf, len, proto, REMOTE6, LOCAL6);
	pkt_put16(buf + 40 + 16, 0);
	pkt_put16(buf + 40 + 16, csum6(buf + 8, buf + 24, proto, buf + 40, len));
	return raw6_send(raw, buf, 40 + len);
}

/*
 * ICMPv6 errors for a request sock's SYN-ACK (tcp_req_err() with
 * icmpv6_err_convert()'s "fatal"): one not quoting the SYN-ACK's sequence
 * number is out of the window; address unreachable, no route and time
 * exceeded are not fatal and leave the request; port unreachable (unlike
 * ICMPv4's) is, and drops it silently, as a ListenDrop.
 */
TEST_F_TIMEOUT(icmp6, syn_recv, ICMP6_TIMEOUT)
{
	const int port = PORT_BASE + 47, rport = PORT_BASE + 48;
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct pollfd pfd = { .events = POLLIN };
	struct pkt_seg synack;
	struct icmp_err e;
	long oow, drops;

	inet_pton(AF_INET6, LOCAL6, &a.sin6_addr);
	self->lfd = socket(AF_INET6, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, listen(self->lfd, 8));
	pfd.fd = self->lfd;
	ASSERT_EQ(0, syn_inject6(self->raw, variant->proto, rport, port, 1000));
	ASSERT_EQ(1, capture6(self->cap, variant->proto, port, rport, PKT_SYN | PKT_ACK, 2000,
			      &synack));
	EXPECT_EQ(1001U, synack.ack);
	ASSERT_EQ(ST_SYN_RECV, estp_proc_state(variant->proto, port, rport));
	oow = oow_icmps(variant->proto);
	drops = listen_drops(variant->proto);
	ASSERT_LE(0, oow);
	ASSERT_LE(0, drops);

	e = (struct icmp_err){
		.type = ICMP6_UNREACH,
		.code = CODE6_PORT,
		.from = REMOTE6,
		.to = LOCAL6,
		.peer = REMOTE6,
		.sport = port,
		.dport = rport,
		.seq = synack.seq + 1,
	};
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	EXPECT_EQ(oow + 1, wait_change(oow_icmps, variant->proto, oow, SETTLE_MS));
	EXPECT_EQ(ST_SYN_RECV, estp_proc_state(variant->proto, port, rport));

	/* Not fatal: the request stays. */
	e.seq = synack.seq;
	e.from = ROUTER6;
	e.code = CODE6_ADDR;
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	e.code = CODE6_NOROUTE;
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	e.type = ICMP6_TIME_EXCEED;
	e.code = 0;
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	/* An out-of-window one after them tells when they have been handled. */
	e.seq = synack.seq - 1;
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	EXPECT_EQ(oow + 2, wait_change(oow_icmps, variant->proto, oow + 1, SETTLE_MS));
	EXPECT_EQ(ST_SYN_RECV, estp_proc_state(variant->proto, port, rport));
	EXPECT_EQ(drops, listen_drops(variant->proto));

	/* Port unreachable for the SYN-ACK drops the request. */
	e.type = ICMP6_UNREACH;
	e.code = CODE6_PORT;
	e.from = REMOTE6;
	e.seq = synack.seq;
	ASSERT_EQ(0, icmp6_send(self->raw, variant->proto, &e));
	EXPECT_EQ(drops + 1, wait_change(listen_drops, variant->proto, drops, SETTLE_MS));
	EXPECT_EQ(ST_GONE, estp_proc_state(variant->proto, port, rport));
	EXPECT_EQ(oow + 2, oow_icmps(variant->proto));
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, estp_so_error(self->lfd));
}

/* The A -- R -- B path over IPv6 (path_up()'s names, estp_ip6_of() addresses). */
#define A_IP6		"fd00::10:199:1:1"
#define R_A_IP6		"fd00::10:199:1:254"
#define R_B_IP6		"fd00::10:199:2:254"
#define B_IP6		"fd00::10:199:2:2"

static int path6_up(void)
{
	path_down(NULL);
	if (estp_run("ip netns add " NS_R) || estp_run("ip netns add " NS_B) ||
	    estp_run("ip link add estp-a0 type veth peer name estp-r0 netns " NS_R) ||
	    estp_run("ip -n " NS_R " link add estp-r1 type veth peer name estp-b0 netns " NS_B) ||
	    estp_run("ip -6 addr add " A_IP6 "/112 dev estp-a0 nodad") ||
	    estp_run("ip link set estp-a0 up") ||
	    estp_run("ip -6 route add " B_IP6 "/128 via " R_A_IP6) ||
	    estp_run("ip -n " NS_R " -6 addr add " R_A_IP6 "/112 dev estp-r0 nodad") ||
	    estp_run("ip -n " NS_R " -6 addr add " R_B_IP6 "/112 dev estp-r1 nodad") ||
	    estp_run("ip -n " NS_R " link set estp-r0 up") ||
	    estp_run("ip -n " NS_R " link set estp-r1 up") ||
	    estp_run("ip netns exec " NS_R " sysctl -qw net.ipv6.conf.all.forwarding=1") ||
	    /* Every Packet Too Big goes out, however many. */
	    estp_run("ip netns exec " NS_R " sysctl -qw net.ipv6.icmp.ratelimit=0") ||
	    estp_run("ip -n " NS_B " -6 addr add " B_IP6 "/112 dev estp-b0 nodad") ||
	    estp_run("ip -n " NS_B " link set estp-b0 up") ||
	    estp_run("ip -n " NS_B " -6 route add " A_IP6 "/128 via " R_B_IP6))
		return -1;
	return 0;
}

/*
 * An AF_PACKET socket on @dev that sees each packet with its
 * virtio_net_hdr: the segment size of a GSO packet (TCP's, which veth
 * carries unsegmented) is its gso_size.  An fd or -1.
 */
static int capture_gso_open(const char *dev)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
	};
	int fd, one = 1, size = 8 << 20;

	sll.sll_ifindex = if_nametoindex(dev);
	if (!sll.sll_ifindex)
		return -1;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Reads what @cap (capture_gso_open()) holds: the largest segment payload
 * of @proto from port @sport, 0 when there was none, -1 on error.
 */
static int largest_segment(int cap, int proto, int sport)
{
	static uint8_t buf[sizeof(struct virtio_net_hdr) + 14 + 65600];
	const struct virtio_net_hdr *vh = (const void *)buf;
	const size_t off = sizeof(*vh) + 14;
	int largest = 0, size;
	struct pkt_seg s;
	ssize_t n;

	while ((n = recv(cap, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		if ((size_t)n < off || pkt_get16(buf + off - 2) != ETH_P_IPV6 ||
		    parse6(buf + off, n - off, proto, &s) || s.sport != sport)
			continue;
		size = vh->gso_type != VIRTIO_NET_HDR_GSO_NONE ? vh->gso_size :
		       s.seg_len - s.hdr_len;
		if (size > largest)
			largest = size;
	}
	return errno == EAGAIN ? largest : -1;
}

/*
 * Packet Too Big for an established IPv6 connection with data in flight
 * (tcp_v6_mtu_reduced()): R's link to B goes from 1500 to 1280 once B has
 * 128 KiB of 512, and R answers each larger packet with Packet Too Big.
 * What was sent at the old size goes again at the new one; every byte
 * arrives in order.  On the wire (A's link) the segments carried 1428
 * bytes (1500 - 40 - 20 - 12 of timestamps) before, and at most 1208
 * (1280 - 72) once the route has learnt the MTU.
 */
TEST_F_TIMEOUT(icmp6, pmtu_drop_mid_transfer, 300)
{
	const size_t len = 512 << 10, tail = 64 << 10;
	unsigned char *tx = malloc(len), *rx = malloc(len);
	struct sockaddr_in6 b = { .sin6_family = AF_INET6, .sin6_port = htons(PORT_BASE + 49) };
	int home, nsb, rcvbuf = 64 << 10, cap;
	struct estp_guard guard;
	long toobig;

	ASSERT_TRUE(tx && rx);
	inet_pton(AF_INET6, B_IP6, &b.sin6_addr);
	estp_pattern_fill(tx, len, 0, 0x1c6);
	ASSERT_EQ(0, estp_guard_start(&guard, path_down, NULL));
	ASSERT_EQ(0, path6_up()) TH_LOG("ip setup of A - R - B failed");
	home = open("/proc/self/ns/net", O_RDONLY);
	nsb = open("/run/netns/" NS_B, O_RDONLY);
	ASSERT_LE(0, home);
	ASSERT_LE(0, nsb);
	ASSERT_EQ(0, setns(nsb, CLONE_NEWNET));
	self->lfd = socket(AF_INET6, SOCK_STREAM, variant->proto);
	ASSERT_EQ(0, setns(home, CLONE_NEWNET));
	close(nsb);
	close(home);
	ASSERT_LE(0, self->lfd);
	/* B's window stays small: data is still to cross R when its MTU falls. */
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)));
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&b, sizeof(b)));
	ASSERT_EQ(0, listen(self->lfd, 1));
	cap = capture_gso_open("estp-a0");
	ASSERT_LE(0, cap);
	ASSERT_EQ(0, connect(self->fd, (struct sockaddr *)&b, sizeof(b)));
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(0, fcntl(self->afd, F_SETFL, O_NONBLOCK));
	self->lport = estp_local_port(self->fd);
	toobig = icmp6_counter("Icmp6InPktTooBigs");
	ASSERT_LE(0, toobig);

	path_transfer(_metadata, self->fd, self->afd, tx, rx, len - tail, 128 << 10);
	EXPECT_EQ(-1, estp_pattern_check(rx, len - tail, 0, 0x1c6));
	EXPECT_EQ(1280, ip6_mtu(self->fd));
	EXPECT_LT(toobig, icmp6_counter("Icmp6InPktTooBigs"));
	EXPECT_EQ(1428, largest_segment(cap, variant->proto, self->lport));
	/* What goes now is cut to the new MSS. */
	path_transfer(_metadata, self->fd, self->afd, tx + len - tail, rx, tail, 0);
	EXPECT_EQ(-1, estp_pattern_check(rx, tail, len - tail, 0x1c6));
	EXPECT_EQ(1208, largest_segment(cap, variant->proto, self->lport));
	close(cap);
	free(tx);
	free(rx);
	estp_close_abort(&self->afd);
	estp_close_abort(&self->lfd);
	path_down(NULL);
	estp_guard_stop(&guard);
}

/*
 * Elsewhere than on the matrix's first kernel, the v4-mapped variants run
 * these four, the IPv6 ones these: soft_error_established, syn_recv and
 * two of their own.
 */
ESTP_HARNESS_MAIN("host_unreach_syn_sent", "frag_needed_syn_sent", "soft_error_established",
		  "syn_recv", "unreach_syn_sent", "pkt_too_big_syn_sent")
