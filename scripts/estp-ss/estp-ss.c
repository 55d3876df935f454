// SPDX-License-Identifier: GPL-2.0
/*
 * estp-ss: what "ss -tanoeim" prints for TCP, for ESTP's sockets.
 *
 * It asks NETLINK_SOCK_DIAG (SOCK_DIAG_BY_FAMILY, AF_INET then AF_INET6) for the sockets
 * of IP protocol 253 (-P or $ESTP_SS_PROTOCOL: another, 6 to check it
 * against ss on TCP), with ss's state words and filter expression compiled
 * to inet_diag bytecode for the kernel to run, and prints them in ss's
 * layout and field format (Documentation/observability.rst, "estp-ss").
 * -K destroys each socket it lists (SOCK_DESTROY, as ss -K), -s prints a
 * summary and the protocol's MIB counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netdb.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "estp-ss.h"

#define IPPROTO_ESTP_DEFAULT 253

/* The TCP states as inet_diag numbers them (ss's SS_*). */
enum {
	SS_UNKNOWN, SS_ESTABLISHED, SS_SYN_SENT, SS_SYN_RECV, SS_FIN_WAIT1,
	SS_FIN_WAIT2, SS_TIME_WAIT, SS_CLOSE, SS_CLOSE_WAIT, SS_LAST_ACK,
	SS_LISTEN, SS_CLOSING, SS_NEW_SYN_RECV, SS_MAX
};
#define SS_ALL ((1u << SS_MAX) - 1)
#define SS_CONN (SS_ALL & ~((1u << SS_LISTEN) | (1u << SS_CLOSE) | \
			    (1u << SS_TIME_WAIT) | (1u << SS_SYN_RECV)))

static const char *const state_name[SS_MAX] = {
	"UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
	"TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING",
	"UNKNOWN",
};

static const char *const state_word[SS_MAX] = {
	"UNKNOWN", "established", "syn-sent", "syn-recv", "fin-wait-1",
	"fin-wait-2", "time-wait", "unconnected", "close-wait", "last-ack",
	"listening", "closing", NULL,
};

static int protocol = IPPROTO_ESTP_DEFAULT;
static int numeric, show_options, show_details, show_mem, show_info;
static int show_header = 1, summary, kill_socks;
static struct mnl_socket *kill_nl;
static unsigned int kill_unsupported;

/* What -s counts in the dump. */
static struct {
	unsigned int full, estab, closed, orphaned, timewait, reqs;
} counts;

static void __attribute__((noreturn)) usage(int rc)
{
	fprintf(rc ? stderr : stdout,
		"Usage: estp-ss [-tanoeimHK] [-P PROTO] [state NAME|exclude NAME]... [FILTER]\n"
		"       estp-ss -s [-P PROTO]\n"
		"  -a all sockets  -l listening  -n numeric  -o timers  -e details\n"
		"  -i TCP information  -m socket memory  -H no header\n"
		"  -K destroy the sockets listed  -s summary and MIB counters\n"
		"  -P N  IP protocol (default 253, ESTP; or $ESTP_SS_PROTOCOL)\n"
		"FILTER: ss's: (src|dst) ADDR[/LEN][:PORT], (sport|dport) [OP] :PORT,\n"
		"        and, or, not, ( ); OP one of = != < <= > >=\n");
	exit(rc);
}

static unsigned int scan_state(const char *s)
{
	int i;

	if (!strcasecmp(s, "close") || !strcasecmp(s, "closed"))
		return 1u << SS_CLOSE;
	if (!strcasecmp(s, "syn-rcv"))
		return 1u << SS_SYN_RECV;
	if (!strcasecmp(s, "all"))
		return SS_ALL;
	if (!strcasecmp(s, "connected"))
		return SS_ALL & ~((1u << SS_CLOSE) | (1u << SS_LISTEN));
	if (!strcasecmp(s, "synchronized"))
		return SS_ALL & ~((1u << SS_CLOSE) | (1u << SS_LISTEN) | (1u << SS_SYN_SENT));
	if (!strcasecmp(s, "bucket"))
		return (1u << SS_SYN_RECV) | (1u << SS_TIME_WAIT);
	if (!strcasecmp(s, "big"))
		return SS_ALL & ~((1u << SS_SYN_RECV) | (1u << SS_TIME_WAIT));
	for (i = 0; i < SS_MAX; i++)
		if (state_word[i] && !strcasecmp(s, state_word[i]))
			return 1u << i;
	fprintf(stderr, "estp-ss: wrong state name: %s\n", s);
	exit(1);
}

/* ss's names for timers: idiag_timer 0..4. */
static const char *ms_timer(unsigned int ms)
{
	static char buf[64];
	unsigned int secs = ms / 1000, minutes = secs / 60, msecs = ms % 1000;
	size_t n = 0;

	secs %= 60;
	buf[0] = 0;
	if (minutes) {
		msecs = 0;
		n += (size_t)snprintf(buf, sizeof(buf), "%umin", minutes);
		if (minutes > 9)
			secs = 0;
	}
	if (secs) {
		if (secs > 9)
			msecs = 0;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%u%s", secs, msecs ? "." : "sec");
	}
	if (msecs)
		snprintf(buf + n, sizeof(buf) - n, "%03ums", msecs);
	return buf;
}

/* A port not in the local port range by its service name, as ss does. */
static const char *service(unsigned int port)
{
	static char buf[16];
	static unsigned int lo, hi;
	static int read_range;
	struct servent *se;

	if (!port)
		return "*";
	if (!numeric) {
		if (!read_range) {
			FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

			read_range = 1;
			if (f) {
				if (fscanf(f, "%u %u", &lo, &hi) != 2)
					lo = 0, hi = 0;
				fclose(f);
			}
		}
		if (port < lo || port > hi) {
			se = getservbyport((int)htons((uint16_t)port), "tcp");
			if (se)
				return se->s_name;
		}
	}
	snprintf(buf, sizeof(buf), "%u", port);
	return buf;
}

/*
 * As ss prints them: a.b.c.d:port, [v6]:port, and *:port for the IPv6
 * wildcard of a socket that also takes IPv4 (not IPV6_V6ONLY).
 */
static void addr_print(int family, const __be32 *a, uint16_t port, int v6only)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(family, a, buf, sizeof(buf));
	if (family == AF_INET6 && !v6only && !(a[0] | a[1] | a[2] | a[3]))
		out("*:");
	else if (family == AF_INET6)
		out("[%s]:", buf);
	else
		out("%s:", buf);
	field_next();
	out("%s", service(port));
	field_next();
}

/* cgroup v2 id to path, through the cgroup2 mount (ss's cg_id_to_path). */
static char *cg_mnt;
static size_t cg_mntlen;
static uint64_t cg_want;
static char cg_found[4096];

static uint64_t cg_id(const char *path)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h;
	uint64_t id = 0;
	int mnt_id;

	h.fh.handle_bytes = sizeof(uint64_t);
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mnt_id, 0) == 0 &&
	    h.fh.handle_bytes == sizeof(uint64_t))
		memcpy(&id, h.fh.f_handle, sizeof(id));
	return id;
}

static int cg_visit(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type != FTW_D || cg_id(p) != cg_want)
		return 0;
	snprintf(cg_found, sizeof(cg_found), "%s", p[cg_mntlen] ? p + cg_mntlen : "/");
	return 1;
}

static const char *cg_path(uint64_t id)
{
	static char buf[64];
	char path[4096], type[128];
	FILE *f = cg_mnt ? NULL : fopen("/proc/mounts", "r");

	if (f) {
		while (fscanf(f, "%*s %4095s %127s %*s %*d %*d\n", path, type) == 2) {
			if (!strcmp(type, "cgroup2")) {
				cg_mnt = strdup(path);
				cg_mntlen = strlen(path);
				break;
			}
		}
		fclose(f);
	}
	cg_want = id;
	if (cg_mnt && nftw(cg_mnt, cg_visit, 64, FTW_MOUNT | FTW_PHYS) == 1)
		return cg_found;
	snprintf(buf, sizeof(buf), "unreachable:%llx", (unsigned long long)id);
	return buf;
}

static char *bw(char *buf, size_t n, double v)
{
	if (numeric)
		snprintf(buf, n, "%.0f", v);
	else if (v >= 1e12)
		snprintf(buf, n, "%.3gT", v / 1e12);
	else if (v >= 1e9)
		snprintf(buf, n, "%.3gG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, n, "%.3gM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, n, "%.3gk", v / 1e3);
	else
		snprintf(buf, n, "%g", v);
	return buf;
}

static void skmem_print(struct nlattr *tb[])
{
	const uint32_t *m;
	size_t n;

	if (!tb[INET_DIAG_SKMEMINFO]) {
		const struct inet_diag_meminfo *mi;

		if (!tb[INET_DIAG_MEMINFO])
			return;
		mi = mnl_attr_get_payload(tb[INET_DIAG_MEMINFO]);
		out(" mem:(r%u,w%u,f%u,t%u)", mi->idiag_rmem, mi->idiag_wmem,
		    mi->idiag_fmem, mi->idiag_tmem);
		return;
	}
	m = mnl_attr_get_payload(tb[INET_DIAG_SKMEMINFO]);
	n = mnl_attr_get_payload_len(tb[INET_DIAG_SKMEMINFO]) / sizeof(uint32_t);
	if (n < SK_MEMINFO_OPTMEM + 1)
		return;
	out(" skmem:(r%u,rb%u,t%u,tb%u,f%u,w%u,o%u", m[SK_MEMINFO_RMEM_ALLOC],
	    m[SK_MEMINFO_RCVBUF], m[SK_MEMINFO_WMEM_ALLOC], m[SK_MEMINFO_SNDBUF],
	    m[SK_MEMINFO_FWD_ALLOC], m[SK_MEMINFO_WMEM_QUEUED], m[SK_MEMINFO_OPTMEM]);
	if (n > SK_MEMINFO_BACKLOG)
		out(",bl%u", m[SK_MEMINFO_BACKLOG]);
	if (n > SK_MEMINFO_DROPS)
		out(",d%u", m[SK_MEMINFO_DROPS]);
	out(")");
}

/* struct tcp_info, field by field, in ss's words and order. */
static void info_print(const struct tcp_info *ti, struct nlattr *tb[], int state)
{
	struct nlattr *cong = tb[INET_DIAG_CONG];
	double rtt = ti->tcpi_rtt;
	char b[64];

	/* The congestion control's own attribute, as ss reads it. */
	if (tb[INET_DIAG_VEGASINFO] &&
	    mnl_attr_get_payload_len(tb[INET_DIAG_VEGASINFO]) >= sizeof(struct tcpvegas_info)) {
		const struct tcpvegas_info *v = mnl_attr_get_payload(tb[INET_DIAG_VEGASINFO]);

		if (v->tcpv_enabled && v->tcpv_rtt && v->tcpv_rtt != 0x7fffffff)
			rtt = v->tcpv_rtt;
	}

	if (show_options) {
		if (ti->tcpi_options & TCPI_OPT_TIMESTAMPS)
			out(" ts");
		if (ti->tcpi_options & TCPI_OPT_SACK)
			out(" sack");
		if (ti->tcpi_options & TCPI_OPT_ECN)
			out(" ecn");
		if (ti->tcpi_options & TCPI_OPT_ECN_SEEN)
			out(" ecnseen");
		if (ti->tcpi_options & TCPI_OPT_SYN_DATA)
			out(" fastopen");
	}
	if (cong && mnl_attr_get_payload_len(cong) > 1)
		out(" %.*s", (int)strnlen(mnl_attr_get_str(cong), mnl_attr_get_payload_len(cong)),
		    mnl_attr_get_str(cong));
	if (ti->tcpi_options & TCPI_OPT_WSCALE)
		out(" wscale:%d,%d", ti->tcpi_snd_wscale, ti->tcpi_rcv_wscale);
	if (ti->tcpi_rto && ti->tcpi_rto != 3000000)
		out(" rto:%g", (double)ti->tcpi_rto / 1000);
	if (ti->tcpi_backoff)
		out(" backoff:%u", ti->tcpi_backoff);
	if (ti->tcpi_rtt)
		out(" rtt:%g/%g", (double)ti->tcpi_rtt / 1000, (double)ti->tcpi_rttvar / 1000);
	if (ti->tcpi_ato)
		out(" ato:%g", (double)ti->tcpi_ato / 1000);
	if (ti->tcpi_snd_mss)
		out(" mss:%d", (int)ti->tcpi_snd_mss);
	if (ti->tcpi_pmtu)
		out(" pmtu:%u", ti->tcpi_pmtu);
	if (ti->tcpi_rcv_mss)
		out(" rcvmss:%d", (int)ti->tcpi_rcv_mss);
	if (ti->tcpi_advmss)
		out(" advmss:%d", (int)ti->tcpi_advmss);
	if (ti->tcpi_snd_cwnd)
		out(" cwnd:%u", ti->tcpi_snd_cwnd);
	if (ti->tcpi_snd_ssthresh < 0xFFFF && ti->tcpi_snd_ssthresh)
		out(" ssthresh:%d", (int)ti->tcpi_snd_ssthresh);
	if (ti->tcpi_bytes_sent)
		out(" bytes_sent:%llu", (unsigned long long)ti->tcpi_bytes_sent);
	if (ti->tcpi_bytes_retrans)
		out(" bytes_retrans:%llu", (unsigned long long)ti->tcpi_bytes_retrans);
	if (ti->tcpi_bytes_acked)
		out(" bytes_acked:%llu", (unsigned long long)ti->tcpi_bytes_acked);
	if (ti->tcpi_bytes_received)
		out(" bytes_received:%llu", (unsigned long long)ti->tcpi_bytes_received);
	if (ti->tcpi_segs_out)
		out(" segs_out:%u", ti->tcpi_segs_out);
	if (ti->tcpi_segs_in)
		out(" segs_in:%u", ti->tcpi_segs_in);
	if (ti->tcpi_data_segs_out)
		out(" data_segs_out:%u", ti->tcpi_data_segs_out);
	if (ti->tcpi_data_segs_in)
		out(" data_segs_in:%u", ti->tcpi_data_segs_in);
	if (tb[INET_DIAG_DCTCPINFO] &&
	    mnl_attr_get_payload_len(tb[INET_DIAG_DCTCPINFO]) >= sizeof(struct tcp_dctcp_info)) {
		const struct tcp_dctcp_info *d = mnl_attr_get_payload(tb[INET_DIAG_DCTCPINFO]);

		if (d->dctcp_enabled)
			out(" dctcp:(ce_state:%u,alpha:%u,ab_ecn:%u,ab_tot:%u)", d->dctcp_ce_state,
			    d->dctcp_alpha, d->dctcp_ab_ecn, d->dctcp_ab_tot);
		else
			out(" dctcp:fallback_mode");
	}
	if (tb[INET_DIAG_BBRINFO]) {
		struct tcp_bbr_info bi;
		size_t n = mnl_attr_get_payload_len(tb[INET_DIAG_BBRINFO]);
		unsigned long long bbw;

		memset(&bi, 0, sizeof(bi));
		memcpy(&bi, mnl_attr_get_payload(tb[INET_DIAG_BBRINFO]),
		       n < sizeof(bi) ? n : sizeof(bi));
		bbw = ((unsigned long long)bi.bbr_bw_hi << 32) | bi.bbr_bw_lo;
		out(" bbr:(bw:%sbps,mrtt:%g", bw(b, sizeof(b), (double)bbw * 8.0),
		    (double)bi.bbr_min_rtt / 1000.0);
		if (bi.bbr_pacing_gain)
			out(",pacing_gain:%g", (double)bi.bbr_pacing_gain / 256.0);
		if (bi.bbr_cwnd_gain)
			out(",cwnd_gain:%g", (double)bi.bbr_cwnd_gain / 256.0);
		out(")");
	}
	if (rtt > 0 && ti->tcpi_snd_mss && ti->tcpi_snd_cwnd)
		out(" send %sbps", bw(b, sizeof(b), (double)ti->tcpi_snd_cwnd *
				      (double)ti->tcpi_snd_mss * 8000000. / rtt));
	if (ti->tcpi_last_data_sent)
		out(" lastsnd:%u", ti->tcpi_last_data_sent);
	if (ti->tcpi_last_data_recv)
		out(" lastrcv:%u", ti->tcpi_last_data_recv);
	if (ti->tcpi_last_ack_recv)
		out(" lastack:%u", ti->tcpi_last_ack_recv);
	if (ti->tcpi_pacing_rate && ti->tcpi_pacing_rate != ~0ULL) {
		out(" pacing_rate %sbps", bw(b, sizeof(b), (double)ti->tcpi_pacing_rate * 8.));
		if (ti->tcpi_max_pacing_rate && ti->tcpi_max_pacing_rate != ~0ULL)
			out("/%sbps", bw(b, sizeof(b), (double)ti->tcpi_max_pacing_rate * 8.));
	}
	if (ti->tcpi_delivery_rate)
		out(" delivery_rate %sbps", bw(b, sizeof(b), (double)ti->tcpi_delivery_rate * 8.));
	if (ti->tcpi_delivered)
		out(" delivered:%u", ti->tcpi_delivered);
	if (ti->tcpi_delivered_ce)
		out(" delivered_ce:%u", ti->tcpi_delivered_ce);
	if (ti->tcpi_delivery_rate_app_limited)
		out(" app_limited");
	if (ti->tcpi_busy_time) {
		unsigned long long busy = ti->tcpi_busy_time;

		out(" busy:%llums", busy / 1000);
		if (ti->tcpi_rwnd_limited)
			out(" rwnd_limited:%llums(%.1f%%)",
			    (unsigned long long)ti->tcpi_rwnd_limited / 1000,
			    100.0 * (double)ti->tcpi_rwnd_limited / (double)busy);
		if (ti->tcpi_sndbuf_limited)
			out(" sndbuf_limited:%llums(%.1f%%)",
			    (unsigned long long)ti->tcpi_sndbuf_limited / 1000,
			    100.0 * (double)ti->tcpi_sndbuf_limited / (double)busy);
	}
	if (ti->tcpi_unacked)
		out(" unacked:%u", ti->tcpi_unacked);
	if (ti->tcpi_retrans || ti->tcpi_total_retrans)
		out(" retrans:%u/%u", ti->tcpi_retrans, ti->tcpi_total_retrans);
	if (ti->tcpi_lost)
		out(" lost:%u", ti->tcpi_lost);
	if (ti->tcpi_sacked && state != SS_LISTEN)
		out(" sacked:%u", ti->tcpi_sacked);
	if (ti->tcpi_dsack_dups)
		out(" dsack_dups:%u", ti->tcpi_dsack_dups);
	if (ti->tcpi_fackets)
		out(" fackets:%u", ti->tcpi_fackets);
	if (ti->tcpi_reordering != 3)
		out(" reordering:%d", (int)ti->tcpi_reordering);
	if (ti->tcpi_reord_seen)
		out(" reord_seen:%d", (int)ti->tcpi_reord_seen);
	if (ti->tcpi_rcv_rtt)
		out(" rcv_rtt:%g", (double)ti->tcpi_rcv_rtt / 1000);
	if (ti->tcpi_rcv_space)
		out(" rcv_space:%d", (int)ti->tcpi_rcv_space);
	if (ti->tcpi_rcv_ssthresh)
		out(" rcv_ssthresh:%u", ti->tcpi_rcv_ssthresh);
	if (ti->tcpi_notsent_bytes)
		out(" notsent:%u", ti->tcpi_notsent_bytes);
	if (ti->tcpi_min_rtt && ti->tcpi_min_rtt != ~0U)
		out(" minrtt:%g", (double)ti->tcpi_min_rtt / 1000);
	if (ti->tcpi_rcv_ooopack)
		out(" rcv_ooopack:%u", ti->tcpi_rcv_ooopack);
	if (ti->tcpi_snd_wnd)
		out(" snd_wnd:%u", ti->tcpi_snd_wnd);
}

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= INET_DIAG_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

static void sock_print(const struct inet_diag_msg *r, struct nlattr *tb[])
{
	static const char *const tmr[] = { "off", "on", "keepalive", "timewait", "persist", "unknown" };
	int state = r->idiag_state < SS_MAX ? r->idiag_state : SS_UNKNOWN;
	int v6only;

	field_set(COL_STATE);
	out("%s", state_name[state]);
	field_set(COL_RECVQ);
	out("%-6d", (int)r->idiag_rqueue);
	field_set(COL_SENDQ);
	out("%-6d", (int)r->idiag_wqueue);
	field_set(COL_ADDR);
	/* Only full sockets say; ss takes the others as not v6only. */
	v6only = tb[INET_DIAG_SKV6ONLY] && mnl_attr_get_u8(tb[INET_DIAG_SKV6ONLY]);
	addr_print(r->idiag_family, r->id.idiag_src, ntohs(r->id.idiag_sport), v6only);
	addr_print(r->idiag_family, r->id.idiag_dst, ntohs(r->id.idiag_dport), v6only);

	if (show_options && r->idiag_timer)
		out(" timer:(%s,%s,%d)", tmr[r->idiag_timer > 4 ? 5 : r->idiag_timer],
		    ms_timer(r->idiag_expires), (int)r->idiag_retrans);
	if (show_details) {
		unsigned long long sk = ((unsigned long long)r->id.idiag_cookie[1] << 32) |
					r->id.idiag_cookie[0];

		if (r->idiag_uid)
			out(" uid:%u", r->idiag_uid);
		out(" ino:%u", r->idiag_inode);
		out(" sk:%llx", sk);
		if (tb[INET_DIAG_MARK] && mnl_attr_get_u32(tb[INET_DIAG_MARK]))
			out(" fwmark:0x%x", mnl_attr_get_u32(tb[INET_DIAG_MARK]));
		if (tb[INET_DIAG_CGROUP_ID] && mnl_attr_get_u64(tb[INET_DIAG_CGROUP_ID]))
			out(" cgroup:%s", cg_path(mnl_attr_get_u64(tb[INET_DIAG_CGROUP_ID])));
		if (tb[INET_DIAG_SHUTDOWN]) {
			uint8_t m = mnl_attr_get_u8(tb[INET_DIAG_SHUTDOWN]);

			out(" %c-%c", m & 1 ? '-' : '<', m & 2 ? '-' : '>');
		}
	}
	if (show_mem || show_info) {
		out("\n\t");
		skmem_print(tb);
		if (tb[INET_DIAG_INFO]) {
			struct tcp_info ti;
			size_t len = mnl_attr_get_payload_len(tb[INET_DIAG_INFO]);

			/* A kernel may give fewer fields than this header has, or more. */
			memset(&ti, 0, sizeof(ti));
			memcpy(&ti, mnl_attr_get_payload(tb[INET_DIAG_INFO]),
			       len < sizeof(ti) ? len : sizeof(ti));
			info_print(&ti, tb, state);
		}
	}
}

/* SOCK_DESTROY of one listed socket: 0, or the errno the kernel answered. */
static int sock_destroy(const struct inet_diag_msg *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;
	static unsigned int seq;
	ssize_t n;
	int rc;

	nlh->nlmsg_type = SOCK_DESTROY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = r->idiag_family;
	req->sdiag_protocol = (uint8_t)protocol;
	req->id = r->id;
	if (mnl_socket_sendto(kill_nl, nlh, nlh->nlmsg_len) < 0)
		return errno;
	n = mnl_socket_recvfrom(kill_nl, buf, sizeof(buf));
	if (n < 0)
		return errno;
	rc = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(kill_nl), NULL, NULL);
	return rc < 0 ? errno : 0;
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *r = mnl_nlmsg_get_payload(nlh);
	struct nlattr *tb[INET_DIAG_MAX + 1] = { NULL };

	(void)data;
	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*r)) ||
	    (r->idiag_family != AF_INET && r->idiag_family != AF_INET6))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*r), attr_cb, tb);
	if (summary) {
		if (r->idiag_state == SS_TIME_WAIT) {
			counts.timewait++;
		} else if (r->idiag_state == SS_SYN_RECV && !r->idiag_inode) {
			counts.reqs++;
		} else {
			counts.full++;
			if (r->idiag_state == SS_ESTABLISHED || r->idiag_state == SS_CLOSE_WAIT)
				counts.estab++;
			if (r->idiag_state == SS_CLOSE)
				counts.closed++;
			/*
			 * Closed by its owner and still alive.  An inode of 0 is not
			 * enough: a child not yet accepted has none either.
			 */
			if (!r->idiag_inode &&
			    (r->idiag_state == SS_FIN_WAIT1 || r->idiag_state == SS_FIN_WAIT2 ||
			     r->idiag_state == SS_CLOSING || r->idiag_state == SS_LAST_ACK))
				counts.orphaned++;
		}
		return MNL_CB_OK;
	}
	if (kill_socks) {
		int err = sock_destroy(r);

		/* As ss -K: a socket that cannot be destroyed, or is gone, is not listed. */
		if (err == EOPNOTSUPP)
			kill_unsupported++;
		if (err == EOPNOTSUPP || err == ENOENT)
			return MNL_CB_OK;
		if (err) {
			fprintf(stderr, "estp-ss: SOCK_DESTROY answers: %s\n", strerror(err));
			return MNL_CB_ERROR;
		}
	}
	sock_print(r, tb);
	return MNL_CB_OK;
}

/* One family's sockets, as ss asks for each family in turn. */
static int dump_family(int family, unsigned int states, const unsigned char *bc,
		       size_t bclen)
{
	static char buf[1 << 16];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct inet_diag_req_v2 *req;
	unsigned int seq = (unsigned int)time(NULL), portid;
	ssize_t n;
	int rc;

	nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("estp-ss: NETLINK_SOCK_DIAG");
		return -1;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)family;
	req->sdiag_protocol = (uint8_t)protocol;
	req->idiag_states = states;
	if (show_mem)
		req->idiag_ext |= (1 << (INET_DIAG_MEMINFO - 1)) | (1 << (INET_DIAG_SKMEMINFO - 1));
	if (show_info)
		req->idiag_ext |= (1 << (INET_DIAG_INFO - 1)) | (1 << (INET_DIAG_VEGASINFO - 1)) |
				  (1 << (INET_DIAG_CONG - 1));
	if (bclen)
		mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, bclen, bc);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		perror("estp-ss: sendto");
		mnl_socket_close(nl);
		return -1;
	}
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			perror("estp-ss: recvfrom");
			rc = -1;
			break;
		}
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, dump_cb, NULL);
	} while (rc > MNL_CB_STOP);
	if (rc < 0 && errno) {
		int err = errno;

		fprintf(stderr, "estp-ss: SOCK_DIAG_BY_FAMILY for protocol %d: %s%s\n",
			protocol, strerror(err),
			err == ENOENT ? " (no inet_diag handler for it: is the module loaded?)" : "");
	}
	mnl_socket_close(nl);
	return rc < 0 ? -1 : 0;
}

/*
 * IPv4's sockets, then IPv6's (v4-mapped ones too), as ss lists them.  A
 * module loaded with IPv6 disabled has none: the kernel then refuses the
 * AF_INET6 request, which is no error here.
 */
static int dump(unsigned int states, const unsigned char *bc, size_t bclen)
{
	if (dump_family(AF_INET, states, bc, bclen) < 0)
		return -1;
	if (access("/proc/net/if_inet6", F_OK))
		return 0;
	return dump_family(AF_INET6, states, bc, bclen);
}

/*
 * A "Prefix: names" / "Prefix: values" file as nstat's names, one a line:
 * the lines of @only (NULL: all).
 */
static void counters_print(const char *path, const char *only)
{
	char names[8192], values[8192];
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "estp-ss: %s: %s\n", path, strerror(errno));
		return;
	}
	while (fgets(names, sizeof(names), f) && fgets(values, sizeof(values), f)) {
		char *sn, *sv, *n, *v, prefix[64];
		size_t plen = strcspn(names, ":");

		if (names[plen] != ':' || plen >= sizeof(prefix) || strncmp(names, values, plen + 1))
			continue;
		memcpy(prefix, names, plen);
		prefix[plen] = 0;
		if (only && strcmp(prefix, only))
			continue;
		n = strtok_r(names + plen + 1, " \n", &sn);
		v = strtok_r(values + plen + 1, " \n", &sv);
		for (; n && v; n = strtok_r(NULL, " \n", &sn), v = strtok_r(NULL, " \n", &sv)) {
			char id[128];

			snprintf(id, sizeof(id), "%s%s", prefix, n);
			printf("%-32s%s\n", id, v);
		}
	}
	fclose(f);
}

static int print_summary(void)
{
	const char *name = protocol == IPPROTO_TCP ? "TCP" : protocol == 253 ? "ESTP" : "PROTO";
	char line[256];
	unsigned int total = 0;
	FILE *f;

	if (dump(SS_ALL, NULL, 0) < 0)
		return 1;
	f = fopen("/proc/net/sockstat", "r");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "sockets: used %u", &total) == 1)
				break;
		fclose(f);
	}
	printf("Total: %u\n", total);
	snprintf(line, sizeof(line), "%s:", name);
	printf("%-7s%u (estab %u, closed %u, orphaned %u, timewait %u)\n", line,
	       counts.full + counts.timewait, counts.estab, counts.closed,
	       counts.orphaned, counts.timewait);
	printf("\n");
	printf("Transport Total     IP        IPv6\n");
	printf("%s\t  %-9u %-9u %-9u\n", name, counts.full, counts.full, 0u);
	printf("\n");
	if (protocol == IPPROTO_TCP) {
		counters_print("/proc/net/snmp", "Tcp");
		counters_print("/proc/net/netstat", "TcpExt");
	} else {
		counters_print("/proc/net/estp_stat", NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int states = 0;
	int saw_states = 0, opt, rc;
	struct ss_filter *filter;
	unsigned char *bc = NULL;
	size_t bclen = 0;
	const char *env = getenv("ESTP_SS_PROTOCOL");
	char *end;

	if (env && *env)
		protocol = (int)strtol(env, NULL, 0);
	while ((opt = getopt(argc, argv, "+4taulnoeimHsKP:h")) != -1) {
		switch (opt) {
		case '4':
		case 't':
			break;
		case 'a':
			states = SS_ALL;
			break;
		case 'l':
			states = (1u << SS_LISTEN) | (1u << SS_CLOSE);
			break;
		case 'n':
			numeric = 1;
			break;
		case 'o':
			show_options = 1;
			break;
		case 'e':
			show_details = 1;
			break;
		case 'i':
			show_info = 1;
			break;
		case 'm':
			show_mem = 1;
			break;
		case 'H':
			show_header = 0;
			break;
		case 's':
			summary = 1;
			break;
		case 'K':
			kill_socks = 1;
			break;
		case 'P':
			protocol = (int)strtol(optarg, &end, 0);
			if (*end || protocol <= 0 || protocol > 255)
				usage(1);
			break;
		case 'h':
			usage(0);
		default:
			usage(1);
		}
	}
	if (protocol <= 0 || protocol > 255)
		usage(1);
	argc -= optind;
	argv += optind;
	if (summary)
		return print_summary();

	while (argc > 0 && (!strcmp(*argv, "state") || !strcmp(*argv, "exclude") ||
			    !strcmp(*argv, "excl"))) {
		int excl = strcmp(*argv, "state") != 0;

		if (argc < 2)
			usage(1);
		if (!saw_states)
			states = excl ? SS_ALL : 0;
		if (excl)
			states &= ~scan_state(argv[1]);
		else
			states |= scan_state(argv[1]);
		saw_states = 1;
		argc -= 2;
		argv += 2;
	}
	if (!states && !saw_states)
		states = SS_CONN;
	if (!states) {
		fprintf(stderr, "estp-ss: no socket states to show with such filter.\n");
		return 0;
	}
	filter = ss_filter_parse(argc, argv);
	if (filter)
		bclen = ss_filter_compile(filter, &bc);

	/* A single state needs no column, as in ss. */
	if (!(states & (states - 1)))
		render_disable(COL_STATE);
	if (kill_socks) {
		kill_nl = mnl_socket_open(NETLINK_SOCK_DIAG);
		if (!kill_nl || mnl_socket_bind(kill_nl, 0, MNL_SOCKET_AUTOPID) < 0) {
			perror("estp-ss: NETLINK_SOCK_DIAG");
			return 1;
		}
	}
	if (show_header)
		render_header();
	fflush(stdout);
	rc = dump(states, bc, bclen);
	render();
	/* ss is silent about these; a note on stderr keeps stdout as ss's. */
	if (kill_unsupported)
		fprintf(stderr, "estp-ss: SOCK_DESTROY: %s for %u socket(s)%s\n",
			strerror(EOPNOTSUPP), kill_unsupported,
			protocol == IPPROTO_TCP ? " (a kernel without CONFIG_INET_DIAG_DESTROY)" : "");
	free(bc);
	return rc < 0 ? 1 : 0;
}
