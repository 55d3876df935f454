// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP's trace events (module/estp_trace.h), read from tracefs: each test
 * enables the estp: events in a trace instance of its own, drives one path
 * and asserts the event's line and its fields (ports, state, reason, the
 * sock cookie).  estp_done is asserted for each of its exits that a test
 * can reach deterministically: reset, last_ack, time_wait, write_err,
 * keepalive, out_of_resources, v4_err and syn_recv_sock.  Where TCP has the
 * event, the same case for TCP shows its tcp: event printing the same.
 *
 * Each test runs in a netns of its own; a peer is made silent with a netem
 * qdisc dropping everything on the netns's lo, an ICMP error comes from a
 * raw socket for a connect that went out a dummy device.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_pkt.h"

/* Fixed ports below ip_local_port_range, apart from the other tests'. */
#define PORT		22700
#define CPORT		22710	/* a client bound where the test needs its port */
#define LO		"127.0.0.1"

/* How long a path may take to fire its event, under TCG. */
#define WAIT_MS		10000

#define EVENTS_ALL	"estp_retransmit_skb estp_send_reset estp_receive_reset " \
			"estp_destroy_sock estp_probe estp_bad_csum estp_done"

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

static uint64_t sock_cookie(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len))
		return 0;
	return c;
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
	EXPECT_EQ(sock_cookie(self->cfd), (uint64_t)field(line, "sock_cookie", 16));
}

/* refused(), and the client's estp_done in SYN_SENT with reason reset. */
TEST_F(trace, reset)
{
	char line[1024];

	refused(_metadata, self, IPPROTO_ESTP, "estp", line, sizeof(line));
	ASSERT_NE(NULL, WAIT_LINE(line, "estp_done:", "sport=22710 dport=22701 "));
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "state=TCP_SYN_SENT reason=reset"));
	EXPECT_EQ(sock_cookie(self->cfd), (uint64_t)field(line, "sock_cookie", 16));
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
	acookie = sock_cookie(self->afd);
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
	EXPECT_EQ(sock_cookie(self->cfd), (uint64_t)field(line, "sock_cookie", 16));
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

TEST_HARNESS_MAIN
