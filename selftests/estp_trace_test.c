// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP's trace events (module/estp_trace.h), read from tracefs: each test
 * enables the estp: events in a trace instance of its own, drives one path
 * and asserts the event's line and its fields (ports, state, reason, the
 * sock cookie).  estp_done is asserted for each of its exits that a test
 * can reach: abort, reset, last_ack, time_wait, write_err, keepalive,
 * out_of_resources, v4_err and syn_recv_sock in fixture trace; linger2,
 * abort_on_data, fin_wait2 and child_forget in fixture orphan, whose tcp
 * variant shows TCP doing the same on the wire and in its counters.
 * v6_err and v6_syn_recv_sock are estp_ipv6_test's.  estp_fastopen_remove
 * fires once for a Fast Open child.  Where TCP has the event,
 * the same case for TCP shows its tcp: event printing the same.
 *
 * Each test runs in a netns of its own; a peer is made silent with a netem
 * qdisc dropping everything on the netns's lo, an ICMP error comes from a
 * raw socket for a connect that went out a dummy device, and an orphan's
 * peer is a raw socket (estp_peer.h) that answers its FIN as a test says.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_peer.h"

/* Fixed ports below ip_local_port_range, apart from the other tests'. */
#define PORT		22700
#define CPORT		22710	/* a client bound where the test needs its port */
#define LO		"127.0.0.1"

/* How long a path may take to fire its event, under TCG. */
#define WAIT_MS		10000

#define EVENTS_ALL	"estp_retransmit_skb estp_send_reset estp_receive_reset " \
			"estp_destroy_sock estp_probe estp_bad_csum estp_done " \
			"estp_fastopen_remove"

/* The trace instance's directory, "" until made. */
static char inst[128];

static int put_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -1;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -1;
	close(fd);
	return ret;
}

/*
 * tracefs where it is mounted, else mounted at /sys/kernel/tracing: the
 * trace instance "estp_trace_test" there, made afresh.  0 or -1.
 */
static int trace_open(void)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char path[192];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(roots); i++) {
		snprintf(path, sizeof(path), "%s/instances", roots[i]);
		if (!access(path, F_OK))
			break;
	}
	if (i == ARRAY_SIZE(roots)) {
		if (mount("nodev", roots[0], "tracefs", 0, NULL))
			return -1;
		i = 0;
	}
	snprintf(inst, sizeof(inst), "%s/instances/estp_trace_test", roots[i]);
	rmdir(inst);
	if (mkdir(inst, 0700))
		return inst[0] = '\0', -1;
	return 0;
}

static void trace_close(void)
{
	if (inst[0])
		rmdir(inst);
	inst[0] = '\0';
}

/* Enables (1) or disables (0) each event of system @sys named in @events. */
static int trace_enable_sys(const char *sys, const char *events, int on)
{
	char list[256], path[320], *ev, *save = NULL;

	snprintf(list, sizeof(list), "%s", events);
	for (ev = strtok_r(list, " ", &save); ev; ev = strtok_r(NULL, " ", &save)) {
		snprintf(path, sizeof(path), "%s/events/%s/%s/enable", inst, sys, ev);
		if (put_file(path, on ? "1" : "0"))
			return -1;
	}
	return 0;
}

static int trace_enable(const char *events, int on)
{
	return trace_enable_sys("estp", events, on);
}

/* Empties the instance's buffer: the next case sees only its own events. */
static int trace_clear(void)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/trace", inst);
	return put_file(path, "");
}

/* The instance's buffer as text, in @buf of @len. */
static void trace_read(char *buf, size_t len)
{
	char path[192];
	size_t n = 0;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "%s/trace", inst);
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	while (n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += r;
	buf[n] = '\0';
	close(fd);
}

/* Whether @line (up to its newline) holds every string of @want. */
static int line_has(const char *line, const char *const *want)
{
	const char *end = strchr(line, '\n');
	size_t len = end ? (size_t)(end - line) : strlen(line);

	for (; *want; want++) {
		const char *p = memmem(line, len, *want, strlen(*want));

		if (!p)
			return 0;
	}
	return 1;
}

/*
 * Waits up to WAIT_MS for a line of the trace holding every string of the
 * NULL-ended @want: the line, copied into @out (of @len), or NULL.
 */
static char *trace_wait(char *out, size_t len, const char *const *want)
{
	long end = pkt_now_ms() + WAIT_MS;
	static char buf[1 << 20];

	do {
		const char *line;

		trace_read(buf, sizeof(buf));
		for (line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
			const char *e;
			size_t n;

			if (*line == '#' || !line_has(line, want))
				continue;
			e = strchr(line, '\n');
			n = e ? (size_t)(e - line) : strlen(line);
			if (n >= len)
				n = len - 1;
			memcpy(out, line, n);
			out[n] = '\0';
			return out;
		}
		usleep(20000);
	} while (pkt_now_ms() < end);
	return NULL;
}

/* trace_wait() for the strings that follow: the line or NULL. */
#define WAIT_LINE(out, ...) \
	trace_wait(out, sizeof(out), (const char *const[]){ __VA_ARGS__, NULL })

/* The value after "@key=" in @line, as an unsigned number of @base, or -1. */
static long long field(const char *line, const char *key, int base)
{
	char pat[40];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(line, pat);
	return p ? strtoll(p + strlen(pat), NULL, base) : -1;
}

/* The init netns, where the global net.estp.max_orphans is. */
static int init_ns = -1;

FIXTURE(trace)
{
	int lfd, cfd, afd;
	int lo_silent;
};

FIXTURE_SETUP(trace)
{
	self->lfd = self->cfd = self->afd = -1;
	self->lo_silent = 0;
	init_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, init_ns);
	ASSERT_EQ(0, estp_netns_private());
	ASSERT_EQ(0, trace_open());
	ASSERT_EQ(0, trace_enable(EVENTS_ALL, 1));
	ASSERT_EQ(0, trace_clear());
}

FIXTURE_TEARDOWN(trace)
{
	if (self->lo_silent)
		estp_run("tc qdisc del dev lo root");
	estp_close_abort(&self->afd);
	estp_close_abort(&self->cfd);
	estp_close_abort(&self->lfd);
	trace_enable(EVENTS_ALL, 0);
	trace_close();
	close(init_ns);
}

static void setopt(struct __test_metadata *_metadata, int fd, int level, int opt, int val)
{
	ASSERT_EQ(0, setsockopt(fd, level, opt, &val, sizeof(val)));
}

/* Listener on LO:PORT, a client (bound to CPORT when @bind_c) connected, accepted. */
static void pair(struct __test_metadata *_metadata, FIXTURE_DATA(trace) *self, int bind_c)
{
	struct sockaddr_in sin = estp_sin4(LO, PORT), cin = estp_sin4(LO, CPORT);

	self->lfd = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);
	ASSERT_LE(0, self->lfd);
	setopt(_metadata, self->lfd, SOL_SOCKET, SO_REUSEADDR, 1);
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(self->lfd, 4));
	self->cfd = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);
	ASSERT_LE(0, self->cfd);
	if (bind_c)
		ASSERT_EQ(0, bind(self->cfd, (struct sockaddr *)&cin, sizeof(cin)));
	ASSERT_EQ(0, connect(self->cfd, (struct sockaddr *)&sin, sizeof(sin)));
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
}

/* Everything sent on the netns's lo is lost from now on. */
static void silence_lo(struct __test_metadata *_metadata, FIXTURE_DATA(trace) *self)
{
	ASSERT_EQ(0, estp_run("tc qdisc add dev lo root netem loss 100%"));
	self->lo_silent = 1;
}


/* A data segment lost (fault point "xmit_data") is sent again by the RTO. */
TEST_F(trace, retransmit_skb)
{
	char line[1024], buf[100] = "x";
	int lport;

	pair(_metadata, self, 0);
	lport = estp_local_port(self->cfd);
	ASSERT_EQ(0, estp_fault_arm("xmit_data"));
	ASSERT_EQ((ssize_t)sizeof(buf), send(self->cfd, buf, sizeof(buf), 0));
	ASSERT_EQ((ssize_t)sizeof(buf), recv(self->afd, buf, sizeof(buf), MSG_WAITALL));
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_retransmit_skb:"));
	TH_LOG("%s", line);
	EXPECT_EQ(lport, field(line, "sport", 10));
	EXPECT_EQ(PORT, field(line, "dport", 10));
	EXPECT_NE(NULL, strstr(line, "family=AF_INET "));
	EXPECT_NE(NULL, strstr(line, "saddr=127.0.0.1 daddr=127.0.0.1 "));
	EXPECT_NE(NULL, strstr(line, "daddrv6=::ffff:127.0.0.1 "));
	EXPECT_NE(NULL, strstr(line, "state=TCP_ESTABLISHED"));
}

/*
 * A connect of @proto to a port nobody listens on: the RST sent for no
 * socket (reversed 4-tuple, state UNKNOWN) and the RST taken by the
 * client, as the events of system @sys ("estp", "tcp") show them; the
 * last line read is left in @line.
 */
static void refused(struct __test_metadata *_metadata, FIXTURE_DATA(trace) *self,
		    int proto, const char *sys, char *line, size_t len)
{
	struct sockaddr_in sin = estp_sin4(LO, PORT + 1), cin = estp_sin4(LO, CPORT);
	char want[64], ev[2][32];

	snprintf(ev[0], sizeof(ev[0]), "%s_send_reset:", sys);
	snprintf(ev[1], sizeof(ev[1]), "%s_receive_reset:", sys);
	self->cfd = socket(AF_INET, SOCK_STREAM, proto);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, bind(self->cfd, (struct sockaddr *)&cin, sizeof(cin)));
	ASSERT_EQ(-1, connect(self->cfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(ECONNREFUSED, errno);

	snprintf(want, sizeof(want), "src=127.0.0.1:%d dest=127.0.0.1:%d state=UNKNOWN",
		 PORT + 1, CPORT);
	ASSERT_NE(NULL, trace_wait(line, len, (const char *const[]){ ev[0], want, NULL }));
	TH_LOG("%s", line);
	ASSERT_NE(NULL, trace_wait(line, len, (const char *const[]){
		ev[1], "family=AF_INET sport=22710 dport=22701 saddr=127.0.0.1 daddr=127.0.0.1 ",
		NULL }));
	TH_LOG("%s", line);
	EXPECT_EQ(peer_sock_cookie(self->cfd), (uint64_t)field(line, "sock_cookie", 16));
}

/* refused(), and the client's estp_done in SYN_SENT with reason reset. */
TEST_F(trace, reset)
{
	char line[1024];

	refused(_metadata, self, IPPROTO_ESTP, "estp", line, sizeof(line));
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_done:", "sport=22710 dport=22701 "));
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "state=TCP_SYN_SENT reason=reset"));
	EXPECT_EQ(peer_sock_cookie(self->cfd), (uint64_t)field(line, "sock_cookie", 16));
}

/* The same case for TCP: its tcp: events print what ESTP's do. */
TEST_F(trace, tcp_reset)
{
	char line[1024];
	int recent = estp_kernel_at_least(6, 10);

	ASSERT_LE(0, recent);
	/* Before 6.10 tcp_send_reset printed no src/dest and skipped no-socket RSTs. */
	if (!recent)
		SKIP(return, "tcp_send_reset has ESTP's format from 6.10 on");
	ASSERT_EQ(0, trace_enable_sys("tcp", "tcp_send_reset tcp_receive_reset", 1));
	refused(_metadata, self, IPPROTO_TCP, "tcp", line, sizeof(line));
	trace_enable_sys("tcp", "tcp_send_reset tcp_receive_reset", 0);
}

/*
 * An orderly close, the client first: its orphan leaves FIN_WAIT2 for a
 * minisock (time_wait), the server's LAST_ACK ends with the last ACK
 * (last_ack); both socks are destroyed.  An active reset is traced with
 * the sock's own 4-tuple.
 */
TEST_F(trace, close_exits)
{
	char line[1024], buf[4];
	uint64_t acookie;
	int rfd;

	pair(_metadata, self, 1);
	acookie = peer_sock_cookie(self->afd);
	ASSERT_NE((uint64_t)0, acookie);
	close(self->cfd);
	self->cfd = -1;
	ASSERT_EQ(0, recv(self->afd, buf, sizeof(buf), 0));
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_done:", "sport=22710 dport=22700 "));
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "state=TCP_FIN_WAIT2 reason=time_wait"));
	close(self->afd);
	self->afd = -1;
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_done:", "sport=22700 dport=22710 "));
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "state=TCP_LAST_ACK reason=last_ack"));
	EXPECT_EQ(acookie, (uint64_t)field(line, "sock_cookie", 16));
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_destroy_sock:", "sport=22700 dport=22710 "));
	EXPECT_EQ(acookie, (uint64_t)field(line, "sock_cookie", 16));
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_destroy_sock:", "sport=22710 dport=22700 "));

	/* An active reset: SO_LINGER 0 on an established sock. */
	ASSERT_EQ(0, trace_clear());
	close(self->lfd);
	self->lfd = -1;
	pair(_metadata, self, 0);
	rfd = self->afd;
	self->afd = -1;
	estp_close_abort(&rfd);
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_send_reset:", "src=127.0.0.1:22700 "));
	TH_LOG("%s", line);
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_receive_reset:", "dport=22700 "));
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_done:", "dport=22700 ",
				  "state=TCP_ESTABLISHED reason=reset"));
}

/*
 * estp_probe on the ACKs for the client's data: tcp_probe's fields, with
 * snd_una reaching snd_nxt, the initial window, an RTT, and the cookie
 * SO_COOKIE gives.
 */
TEST_F(trace, probe)
{
	char line[1024], want[64], buf[1000] = "x";
	long long nxt, una;
	int lport;

	pair(_metadata, self, 0);
	lport = estp_local_port(self->cfd);
	ASSERT_EQ(0, trace_clear());
	ASSERT_EQ((ssize_t)sizeof(buf), send(self->cfd, buf, sizeof(buf), 0));
	ASSERT_EQ((ssize_t)sizeof(buf), recv(self->afd, buf, sizeof(buf), MSG_WAITALL));
	ASSERT_EQ((ssize_t)1, send(self->afd, buf, 1, 0));
	ASSERT_EQ((ssize_t)1, recv(self->cfd, buf, 1, 0));
	snprintf(want, sizeof(want), "src=127.0.0.1:%d dest=127.0.0.1:%d ", lport, PORT);
	/* The server's byte carries the ACK of all 1000. */
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_probe:", want, "data_len=1 "));
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "family=AF_INET "));
	EXPECT_NE(NULL, strstr(line, "mark=0x0 "));
	nxt = field(line, "snd_nxt", 16);
	una = field(line, "snd_una", 16);
	EXPECT_LT(0, nxt);
	/* Before the ACK is processed: at most what is in flight is unacked. */
	EXPECT_LE(0, (long long)(uint32_t)(nxt - una));
	EXPECT_GE(1000, (long long)(uint32_t)(nxt - una));
	EXPECT_EQ(10, field(line, "snd_cwnd", 10));
	EXPECT_LT(0, field(line, "ssthresh", 10));
	EXPECT_LT(0, field(line, "snd_wnd", 10));
	EXPECT_LT(0, field(line, "srtt", 10));
	EXPECT_LT(0, field(line, "rcv_wnd", 10));
	EXPECT_EQ(peer_sock_cookie(self->cfd), (uint64_t)field(line, "sock_cookie", 16));
}

/* How many lines of the trace hold @what. */
static int trace_count(const char *what)
{
	static char buf[1 << 20];
	const char *p;
	int n = 0;

	trace_read(buf, sizeof(buf));
	for (p = strstr(buf, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

/*
 * A Fast Open child's request sock leaves the fastopen queue once, when
 * the final ACK ends its handshake in SYN_RECV (reqsk_fastopen_remove),
 * and never again, not when the child closes.
 */
TEST_F(trace, fastopen_remove)
{
	struct sockaddr_in sin = estp_sin4(LO, PORT);
	char line[1024], buf[64];
	int i, cport = 0;

	ASSERT_EQ(0, estp_sysctl_set("/proc/sys/net/estp/fastopen", "3"));
	self->lfd = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(self->lfd, 4));
	setopt(_metadata, self->lfd, SOL_TCP, TCP_FASTOPEN, 4);
	/* The first asks for the cookie, the second's SYN carries data. */
	for (i = 0; i < 2; i++) {
		estp_close_abort(&self->cfd);
		estp_close_abort(&self->afd);
		self->cfd = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);
		ASSERT_LE(0, self->cfd);
		ASSERT_EQ(5, sendto(self->cfd, "hello", 5, MSG_FASTOPEN,
				    (struct sockaddr *)&sin, sizeof(sin)));
		self->afd = accept(self->lfd, NULL, NULL);
		ASSERT_LE(0, self->afd);
		ASSERT_EQ(5, recv(self->afd, buf, 5, MSG_WAITALL));
		cport = estp_local_port(self->cfd);
	}
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_fastopen_remove:"));
	TH_LOG("%s", line);
	EXPECT_EQ(PORT, field(line, "sport", 10));
	EXPECT_EQ(cport, field(line, "dport", 10));
	EXPECT_NE(NULL, strstr(line, "state=TCP_SYN_RECV reset=0"));
	EXPECT_EQ(peer_sock_cookie(self->afd), (uint64_t)field(line, "sock_cookie", 16));
	estp_close_abort(&self->afd);
	estp_close_abort(&self->cfd);
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_destroy_sock:", "sport=22700 "));
	EXPECT_EQ(1, trace_count("estp_fastopen_remove:"));
}

/*
 * SOCK_DESTROY of an established sock (estp_abort()): estp_done with
 * reason abort; its owner's calls fail with ECONNABORTED, its peer is
 * reset.
 */
TEST_F(trace, done_abort)
{
	struct pollfd pfd;
	char line[1024], c;
	uint64_t cookie;

	pair(_metadata, self, 1);
	cookie = peer_sock_cookie(self->afd);
	ASSERT_NE((uint64_t)0, cookie);
	ASSERT_EQ(0, peer_sock_destroy(IPPROTO_ESTP, PORT, CPORT, cookie));
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_done:", "sport=22700 dport=22710 "));
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "state=TCP_ESTABLISHED reason=abort"));
	EXPECT_EQ(cookie, (uint64_t)field(line, "sock_cookie", 16));
	EXPECT_EQ(ECONNABORTED, estp_so_error(self->afd));
	pfd = (struct pollfd){ .fd = self->cfd, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, WAIT_MS));
	EXPECT_EQ(-1, recv(self->cfd, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(ECONNRESET, errno);
}

/* A segment of @proto with a bad checksum from a raw socket: event @ev. */
static void bad_csum(struct __test_metadata *_metadata, int proto, const char *ev)
{
	struct pkt_seg s = {
		.sport = 22720, .dport = PORT, .seq = 1, .flags = PKT_SYN,
		.win = 1000, .bad_csum = 1,
	};
	char line[1024];
	int raw = pkt_open(proto, LO);

	ASSERT_LE(0, raw);
	ASSERT_EQ(0, pkt_send(raw, &s, LO));
	close(raw);
	ASSERT_NE(NULL, WAIT_LINE(line, ev, "src=127.0.0.1:22720 dest=127.0.0.1:22700"));
	TH_LOG("%s", line);
}

/* Before any lookup: no socket needed. */
TEST_F(trace, bad_csum)
{
	bad_csum(_metadata, IPPROTO_ESTP, "estp_bad_csum:");
}

TEST_F(trace, tcp_bad_csum)
{
	ASSERT_EQ(0, trace_enable_sys("tcp", "tcp_bad_csum", 1));
	bad_csum(_metadata, IPPROTO_TCP, "tcp_bad_csum:");
	trace_enable_sys("tcp", "tcp_bad_csum", 0);
}

/* A sock whose data the peer never acknowledges: ESTP_USER_TIMEOUT ends it. */
TEST_F(trace, done_write_err)
{
	char line[1024], buf[10] = "x";

	pair(_metadata, self, 1);
	setopt(_metadata, self->cfd, SOL_ESTP, ESTP_USER_TIMEOUT, 500);
	silence_lo(_metadata, self);
	ASSERT_EQ((ssize_t)sizeof(buf), send(self->cfd, buf, sizeof(buf), 0));
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_done:", "sport=22710 dport=22700 "));
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "state=TCP_ESTABLISHED reason=write_err"));
	EXPECT_EQ(ETIMEDOUT, estp_so_error(self->cfd));
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_retransmit_skb:", "sport=22710 dport=22700 "));
}

/* Keepalive probes to a peer made silent: the last unanswered one ends it. */
TEST_F(trace, done_keepalive)
{
	char line[1024];

	pair(_metadata, self, 1);
	setopt(_metadata, self->cfd, SOL_ESTP, ESTP_KEEPIDLE, 1);
	setopt(_metadata, self->cfd, SOL_ESTP, ESTP_KEEPINTVL, 1);
	setopt(_metadata, self->cfd, SOL_ESTP, ESTP_KEEPCNT, 1);
	silence_lo(_metadata, self);
	setopt(_metadata, self->cfd, SOL_SOCKET, SO_KEEPALIVE, 1);
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_done:", "sport=22710 dport=22700 "));
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "state=TCP_ESTABLISHED reason=keepalive"));
	EXPECT_EQ(ETIMEDOUT, estp_so_error(self->cfd));
}

/*
 * An orphan with data in flight to a silent peer, with net.estp.max_orphans
 * 0: its first retransmission timeout kills it.  The sysctl is global,
 * written in the init netns and put back.
 */
TEST_F(trace, done_out_of_resources)
{
	char line[1024] = "", buf[10] = "x", saved[32];
	int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	const char *knob = "/proc/sys/net/estp/max_orphans";

	ASSERT_LE(0, own);
	pair(_metadata, self, 1);
	silence_lo(_metadata, self);
	ASSERT_EQ((ssize_t)sizeof(buf), send(self->cfd, buf, sizeof(buf), 0));
	/*
	 * Closed first: with too many orphans already, close() itself would
	 * reset it (tcp_close's tcp_check_oom), with no estp_done.
	 */
	close(self->cfd);
	self->cfd = -1;
	ASSERT_EQ(0, setns(init_ns, CLONE_NEWNET));
	ASSERT_EQ(0, estp_sysctl_get(knob, saved, sizeof(saved)));
	ASSERT_EQ(0, estp_sysctl_set(knob, "0"));
	/* The orphan lives until its next RTO, some seconds at most. */
	WAIT_LINE(line, "estp_done:", "sport=22710 dport=22700 ");
	EXPECT_EQ(0, estp_sysctl_set(knob, saved));
	ASSERT_EQ(0, setns(own, CLONE_NEWNET));
	close(own);
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "state=TCP_FIN_WAIT1 reason=out_of_resources"));
}

/* The handshake's child loses its race for the hash (fault point). */
TEST_F(trace, done_syn_recv_sock)
{
	struct sockaddr_in sin = estp_sin4(LO, PORT);
	char line[1024];

	self->lfd = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(self->lfd, 4));
	self->cfd = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, estp_fault_arm("syn_recv_sock"));
	ASSERT_EQ(0, connect(self->cfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_done:", "sport=22700 ", "reason=syn_recv_sock"));
	TH_LOG("%s", line);
	EXPECT_EQ(estp_local_port(self->cfd), field(line, "dport", 10));
	EXPECT_NE(NULL, strstr(line, "state=TCP_SYN_RECV"));
}

/*
 * An ICMP host unreachable for a SYN that went out a dummy device, quoting
 * its sequence number (learnt from an AF_PACKET socket): estp_v4_err ends
 * the connect (v4_err).
 */
TEST_F(trace, done_v4_err)
{
	struct sockaddr_in dst = estp_sin4("10.198.7.2", PORT), cin = estp_sin4("10.198.7.1", CPORT);
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	uint8_t pkt[2048], icmp[8 + 20 + 8];
	struct sockaddr_in to = estp_sin4("10.198.7.1", 0);
	char line[1024];
	uint32_t isn = 0;
	int cap, raw, i;
	uint32_t sum = 0;

	ASSERT_EQ(0, estp_run("ip link add estp-t0 type dummy"));
	ASSERT_EQ(0, estp_run("ip addr add 10.198.7.1/24 dev estp-t0"));
	ASSERT_EQ(0, estp_run("ip link set estp-t0 up"));
	ll.sll_ifindex = if_nametoindex("estp-t0");
	ASSERT_LT(0, ll.sll_ifindex);
	/* ETH_P_ALL: only taps for every protocol see what a device sends. */
	cap = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
	ASSERT_LE(0, cap);
	ASSERT_EQ(0, bind(cap, (struct sockaddr *)&ll, sizeof(ll)));

	self->cfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_ESTP);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, bind(self->cfd, (struct sockaddr *)&cin, sizeof(cin)));
	ASSERT_EQ(-1, connect(self->cfd, (struct sockaddr *)&dst, sizeof(dst)));
	ASSERT_EQ(EINPROGRESS, errno);
	/* The SYN's sequence number, which the error must quote. */
	for (i = 0; i < 20 && !isn; i++) {
		struct pollfd pfd = { .fd = cap, .events = POLLIN };
		ssize_t n;

		ASSERT_EQ(1, poll(&pfd, 1, 1000));
		n = recv(cap, pkt, sizeof(pkt), 0);
		if (n >= 40 && pkt[9] == IPPROTO_ESTP && pkt_get16(pkt + 20) == CPORT)
			isn = pkt_get32(pkt + 24);
	}
	close(cap);
	ASSERT_NE(0U, isn);

	/* Type 3 code 1, the SYN's IP header and first 8 bytes. */
	memset(icmp, 0, sizeof(icmp));
	icmp[0] = 3;
	icmp[1] = 1;
	memcpy(icmp + 8, pkt, 28);
	for (i = 0; i < (int)sizeof(icmp); i += 2)
		sum += pkt_get16(icmp + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	pkt_put16(icmp + 2, ~sum & 0xffff);
	raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	ASSERT_LE(0, raw);
	ASSERT_EQ((ssize_t)sizeof(icmp), sendto(raw, icmp, sizeof(icmp), 0, (struct sockaddr *)&to,
				       sizeof(to)));
	close(raw);
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_done:", "sport=22710 dport=22700 "));
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "saddr=10.198.7.1 daddr=10.198.7.2 "));
	EXPECT_NE(NULL, strstr(line, "state=TCP_SYN_SENT reason=v4_err"));
	EXPECT_EQ(EHOSTUNREACH, estp_so_error(self->cfd));
}

/*
 * The orphan exits, with a raw peer (estp_peer.h, in a netns of its own)
 * connected to a listener on LO:PORT from RPORT: it holds the accepted
 * sock's FIN and answers it as the test says.  TCP is the reference for
 * the RST on the wire and the counters; ESTP's estp_done names the exit.
 */
#define RPORT		2000	/* the raw peer's, below 16384 (estp_peer.h) */
#define RISN		1000

FIXTURE(orphan)
{
	struct estp_peer peer;
	struct peer_conn c;
	int lfd, afd;
};

FIXTURE_VARIANTS_TCP_ESTP(orphan);

FIXTURE_SETUP(orphan)
{
	struct sockaddr_in sin = estp_sin4(LO, PORT);
	const char *err;

	self->lfd = -1;
	self->afd = -1;
	self->peer.raw = -1;
	self->peer.home = -1;
	err = peer_open(&self->peer, variant->proto);
	ASSERT_EQ(NULL, err) TH_LOG("peer_open: %s", err);
	ASSERT_EQ(0, trace_open());
	ASSERT_EQ(0, trace_enable(EVENTS_ALL, 1));
	ASSERT_EQ(0, trace_clear());
	self->lfd = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(self->lfd, 4));
	ASSERT_EQ(0, peer_connect(&self->peer, &self->c, RPORT, PORT, RISN));
}

FIXTURE_TEARDOWN(orphan)
{
	estp_close_abort(&self->afd);
	estp_close_abort(&self->lfd);
	trace_enable(EVENTS_ALL, 0);
	trace_close();
	peer_close(&self->peer);
}

/*
 * The accepted sock, with TCP_LINGER2 @linger2 unless 0, closed: an orphan
 * in FIN_WAIT1, whose FIN, held by the raw peer, is left in @fin.
 */
static void orphan_fin(struct __test_metadata *_metadata, FIXTURE_DATA(orphan) *self,
		       int linger2, struct pkt_seg *fin)
{
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
	if (linger2)
		setopt(_metadata, self->afd, IPPROTO_TCP, ESTP_LINGER2, linger2);
	close(self->afd);
	self->afd = -1;
	do {
		ASSERT_EQ(1, peer_recv(&self->peer, &self->c, PEER_ANSWER_MS, fin));
	} while (!(fin->flags & PKT_FIN));
	ASSERT_EQ(self->c.ack, fin->seq);
}

/* The raw peer's ACK of @fin, with @data (NUL-ended) from its next byte on. */
static void ack_fin(struct __test_metadata *_metadata, FIXTURE_DATA(orphan) *self,
		    const struct pkt_seg *fin, const char *data)
{
	struct sockaddr_in a = estp_sin4(PEER_ADDR, 0);
	struct pkt_seg s = peer_seg(&self->c, PKT_ACK | (*data ? PKT_PSH : 0));
	uint8_t buf[PKT_MAX_LEN];
	int hlen;

	s.ack = fin->seq + 1;
	hlen = pkt_build(buf, &s, self->peer.proto, a.sin_addr.s_addr, a.sin_addr.s_addr);
	memcpy(buf + hlen, data, strlen(data));
	ASSERT_EQ(0, peer_send_buf(&self->peer, buf, hlen + strlen(data)));
}

/*
 * Waits up to @ms for the next RST from the listener's side: its flags
 * must be @flags, its sequence number @seq (and with ACK its ack the raw
 * peer's next); the sock is gone from /proc/net by then.
 */
static void expect_rst(struct __test_metadata *_metadata, FIXTURE_DATA(orphan) *self,
		       int proto, uint8_t flags, uint32_t seq, int ms)
{
	struct pkt_seg r;

	do {
		ASSERT_EQ(1, peer_recv(&self->peer, &self->c, ms, &r));
	} while (!(r.flags & PKT_RST));
	EXPECT_EQ(flags, r.flags);
	EXPECT_EQ(seq, r.seq);
	if (flags & PKT_ACK)
		EXPECT_EQ(self->c.seq, r.ack);
	EXPECT_EQ(0, peer_wait_rows(proto, PORT, RPORT, -1, 0, WAIT_MS));
}

/* For ESTP, the line of estp_done of the listener's side: @want in it. */
static void expect_done(struct __test_metadata *_metadata, int proto, const char *want)
{
	char line[1024];

	if (proto != IPPROTO_ESTP)
		return;
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_done:", "sport=22700 dport=2000 "));
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, want));
}

/*
 * TCP_LINGER2 < 0, an orphan's FIN acknowledged in FIN_WAIT1: it does not
 * wait for the peer's FIN, the ACK is answered with a RST and counted as
 * TCPAbortOnData (tcp_rcv_state_process(); TCPAbortOnLinger is close()'s,
 * in FIN_WAIT2).
 */
TEST_F(orphan, linger2)
{
	long data = estp_counter(variant->proto, "AbortOnData");
	long linger = estp_counter(variant->proto, "AbortOnLinger");
	struct pkt_seg fin;

	ASSERT_LE(0, data);
	ASSERT_LE(0, linger);
	orphan_fin(_metadata, self, -1, &fin);
	ack_fin(_metadata, self, &fin, "");
	expect_rst(_metadata, self, variant->proto, PKT_RST, fin.seq + 1, WAIT_MS);
	EXPECT_EQ(data + 1, estp_counter(variant->proto, "AbortOnData"));
	EXPECT_EQ(linger, estp_counter(variant->proto, "AbortOnLinger"));
	expect_done(_metadata, variant->proto, "state=TCP_FIN_WAIT2 reason=linger2");
}

/*
 * New data with the ACK of an orphan's FIN: nobody will read it, the
 * segment is answered with a RST (RFC 1122 4.2.2.13), TCPAbortOnData.
 */
TEST_F(orphan, abort_on_data)
{
	long data = estp_counter(variant->proto, "AbortOnData");
	struct pkt_seg fin;

	ASSERT_LE(0, data);
	orphan_fin(_metadata, self, 0, &fin);
	ack_fin(_metadata, self, &fin, "abc");
	expect_rst(_metadata, self, variant->proto, PKT_RST, fin.seq + 1, WAIT_MS);
	EXPECT_EQ(data + 1, estp_counter(variant->proto, "AbortOnData"));
	expect_done(_metadata, variant->proto, "state=TCP_FIN_WAIT2 reason=abort_on_data");
}

/*
 * An orphan waiting in FIN_WAIT2 longer than TIME_WAIT's 60 s stays whole,
 * and its keepalive timer fires 60 s before the end (tcp_keepalive_timer()).
 * With the wait shortened meanwhile (tcp_fin_timeout back to 60 while
 * TCP_LINGER2 is 0) there is nothing left for a minisock: a RST ends it.
 * The timer is 8 s away, time enough to write the sysctl on a slow TCG
 * host; a late write would show as no RST.
 */
TEST_F_TIMEOUT(orphan, fin_wait2, 60)
{
	struct pkt_seg fin;
	char path[64];

	snprintf(path, sizeof(path), "%s", variant->proto == IPPROTO_TCP ?
		 "/proc/sys/net/ipv4/tcp_fin_timeout" : "/proc/sys/net/estp/fin_timeout");
	/* The raw peer's netns is new: nothing to put back. */
	ASSERT_EQ(0, estp_sysctl_set(path, "68"));
	orphan_fin(_metadata, self, 0, &fin);
	ack_fin(_metadata, self, &fin, "");
	ASSERT_EQ(1, peer_wait_rows(variant->proto, PORT, RPORT, 0x05, 1, WAIT_MS));
	ASSERT_EQ(0, estp_sysctl_set(path, "60"));
	expect_rst(_metadata, self, variant->proto, PKT_RST | PKT_ACK, fin.seq + 1, 30000);
	expect_done(_metadata, variant->proto, "state=TCP_FIN_WAIT2 reason=fin_wait2");
}

/*
 * A listener closed with an established child nobody accepted: the child
 * is reset (inet_child_forget()'s tcp_disconnect()) and goes.
 */
TEST_F(orphan, child_forget)
{
	ASSERT_EQ(1, peer_wait_rows(variant->proto, PORT, RPORT, PEER_ST_ESTABLISHED, 1,
				    WAIT_MS));
	close(self->lfd);
	self->lfd = -1;
	expect_rst(_metadata, self, variant->proto, PKT_RST | PKT_ACK, self->c.ack, WAIT_MS);
	expect_done(_metadata, variant->proto, "state=TCP_ESTABLISHED reason=child_forget");
}

TEST_HARNESS_MAIN
