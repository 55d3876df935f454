// SPDX-License-Identifier: GPL-2.0
/*
 * net.estp.* sysctls (net/ipv4/sysctl_net_ipv4.c's TCP part).  Defaults
 * equal their net.ipv4.tcp_* namesakes; tw_timeout has no TCP sysctl
 * (TCP_TIMEWAIT_LEN is fixed) and lets tests shorten TIME_WAIT, never
 * lengthen it: a minisock lives 60 s at most, as TCP's (review C5).
 *
 * Most are per netns.  max_orphans and mem, like tcp_max_orphans and
 * tcp_mem (ipv4_table), are global and exist in the init netns only: a
 * netns of an unprivileged user namespace, whose root may write its own
 * sysctls, must not lift limits every netns shares (review C5).  mem backs
 * estp_prot.sysctl_mem, which the socket core reads for every netns.  rmem
 * and wmem are per netns for new sockets' buffers; the core's minimums
 * under memory pressure (sk_get_rmem0()) read the init netns's, as a
 * module cannot give struct net a field for sysctl_rmem_offset.
 */
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/sysctl.h>
#include <net/net_namespace.h>

#include "estp.h"

static int estp_one = 1;
static int estp_two = 2;
/*
 * TCP_SYNCNT's bound.  A request sock counts its timeouts in 7 bits
 * (num_timeout): a larger synack_retries would wrap the count, and the
 * request would never expire.  The backoff is safe for the whole range
 * (estp_reqsk_timeout()).
 */
static int estp_max_syncnt = ESTP_MAX_SYNCNT;
static int estp_max_timeout = 24 * 3600;	/* seconds */
/* TIME_WAIT is TCP_TIMEWAIT_LEN at most: shorter only, for tests. */
static int estp_max_tw_timeout = ESTP_TIMEWAIT_LEN / HZ;
static int estp_max_keepidle = ESTP_MAX_KEEPIDLE;
static int estp_max_keepintvl = ESTP_MAX_KEEPINTVL;
static int estp_max_keepcnt = ESTP_MAX_KEEPCNT;
static int estp_max_retries = 255;		/* tcp_retries2 is a u8 */

/* net.estp.mem, in pages: low, pressure, high (tcp_mem). */
long estp_sysctl_mem[3] __read_mostly;
/* net.estp.max_orphans (tcp_max_orphans): the limit of the global count. */
int estp_sysctl_max_orphans __read_mostly;

/*
 * net.estp.congestion_control (proc_tcp_congestion_control): the netns's
 * default algorithm, for sockets created from now on.  ->data is the netns.
 */
static int estp_proc_congestion_control(ESTP_CTL_TABLE *ctl, int write,
					void *buffer, size_t *lenp, loff_t *ppos)
{
	struct net *net = ctl->data;
	char val[ESTP_CA_NAME_MAX];
	ESTP_CTL_TABLE tbl = {
		.data = val,
		.maxlen = ESTP_CA_NAME_MAX,
	};
	int ret;

	estp_get_default_congestion_control(net, val);
	ret = proc_dostring(&tbl, write, buffer, lenp, ppos);
	if (write && ret == 0)
		ret = estp_set_default_congestion_control(net, val);
	return ret;
}

/* net.estp.available_congestion_control: the registered names, read-only. */
static int estp_proc_available_congestion_control(ESTP_CTL_TABLE *ctl, int write,
						  void *buffer, size_t *lenp,
						  loff_t *ppos)
{
	char val[ESTP_CA_BUF_MAX];
	ESTP_CTL_TABLE tbl = {
		.data = val,
		.maxlen = ESTP_CA_BUF_MAX,
	};

	estp_get_available_congestion_control(val, sizeof(val));
	return proc_dostring(&tbl, write, buffer, lenp, ppos);
}

/*
 * net.estp.fastopen_blackhole_timeout_sec: a new value ends a pause of
 * active Fast Open (proc_tfo_blackhole_detect_timeout).
 */
static int estp_proc_tfo_blackhole_timeout(ESTP_CTL_TABLE *ctl, int write,
					   void *buffer, size_t *lenp, loff_t *ppos)
{
	struct estp_net *en = container_of(ctl->data, struct estp_net,
					   fastopen_blackhole_timeout);
	int ret = proc_dointvec_minmax(ctl, write, buffer, lenp, ppos);

	if (write && !ret)
		atomic_set(&en->tfo_active_disable_times, 0);
	return ret;
}

/* "%08x-%08x-%08x-%08x" into a key's 16 bytes, little-endian words. */
static int estp_sscanf_key(const char *buf, __le32 *key)
{
	u32 w[4];
	int i;

	if (sscanf(buf, "%x-%x-%x-%x", &w[0], &w[1], &w[2], &w[3]) != 4)
		return -EINVAL;
	for (i = 0; i < 4; i++)
		key[i] = cpu_to_le32(w[i]);
	return 0;
}

/*
 * net.estp.fastopen_key (proc_tcp_fastopen_key): the netns's keys as
 * TCP shows its own, "primary[,backup]", each four dash-separated 32-bit
 * words in hex; all zeros while the netns has none.  ->data is the netns.
 */
static int estp_proc_fastopen_key(ESTP_CTL_TABLE *ctl, int write, void *buffer,
				  size_t *lenp, loff_t *ppos)
{
	__le32 key[ESTP_FASTOPEN_KEY_MAX * ESTP_FASTOPEN_KEY_LENGTH / sizeof(__le32)];
	struct net *net = ctl->data;
	char *backup, *data = kmalloc(ctl->maxlen, GFP_KERNEL);
	ESTP_CTL_TABLE tbl = { .data = data, .maxlen = ctl->maxlen };
	int ret, i, n, off = 0;

	if (!data)
		return -ENOMEM;
	n = estp_fastopen_get_cipher(net, NULL, (u64 *)key);
	if (!n) {
		memset(key, 0, ESTP_FASTOPEN_KEY_LENGTH);
		n = 1;
	}
	for (i = 0; i < n; i++)
		off += scnprintf(data + off, ctl->maxlen - off, "%s%08x-%08x-%08x-%08x",
				 i ? "," : "", le32_to_cpu(key[i * 4]),
				 le32_to_cpu(key[i * 4 + 1]), le32_to_cpu(key[i * 4 + 2]),
				 le32_to_cpu(key[i * 4 + 3]));
	ret = proc_dostring(&tbl, write, buffer, lenp, ppos);
	if (write && !ret) {
		backup = strchr(data, ',');
		if (backup)
			*backup++ = '\0';
		if (estp_sscanf_key(data, key) ||
		    (backup && estp_sscanf_key(backup, key + 4)))
			ret = -EINVAL;
		else
			ret = estp_fastopen_reset_cipher(net, NULL, key, backup ? key + 4 : NULL);
	}
	memzero_explicit(key, sizeof(key));
	kfree_sensitive(data);
	return ret;
}

static const struct ctl_table estp_sysctl_template[] = {
	{
		.procname	= "syn_retries",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &estp_one,
		.extra2		= &estp_max_syncnt,
	},
	{
		.procname	= "synack_retries",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &estp_one,
		.extra2		= &estp_max_syncnt,
	},
	{
		.procname	= "fin_timeout",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &estp_one,
		.extra2		= &estp_max_timeout,
	},
	{
		.procname	= "tw_timeout",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &estp_one,
		.extra2		= &estp_max_tw_timeout,
	},
	{
		.procname	= "syncookies",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &estp_two,
	},
	{
		.procname	= "max_tw_buckets",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
	},
	{
		.procname	= "tw_reuse",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &estp_two,
	},
	{
		.procname	= "keepalive_time",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &estp_one,
		.extra2		= &estp_max_keepidle,
	},
	{
		.procname	= "keepalive_intvl",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &estp_one,
		.extra2		= &estp_max_keepintvl,
	},
	{
		.procname	= "keepalive_probes",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &estp_one,
		.extra2		= &estp_max_keepcnt,
	},
	{
		.procname	= "invalid_ratelimit",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &estp_max_timeout,
	},
	{
		.procname	= "challenge_ack_limit",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
	},
	{
		.procname	= "retries2",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &estp_max_retries,
	},
	{
		.procname	= "rmem",
		.maxlen		= sizeof(int) * 3,
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &estp_one,
	},
	{
		.procname	= "wmem",
		.maxlen		= sizeof(int) * 3,
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= &estp_one,
	},
	{
		/* 2, as TCP's: on, without a random offset a connection */
		.procname	= "timestamps",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &estp_two,
	},
	{
		.procname	= "sack",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &estp_one,
	},
	{
		.procname	= "window_scaling",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &estp_one,
	},
	{
		.procname	= "syn_linear_timeouts",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &estp_max_syncnt,
	},
	{
		/* tcp_ecn: 0 off, 1 request and accept, 2 accept only */
		.procname	= "ecn",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &estp_two,
	},
	{
		.procname	= "ecn_fallback",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &estp_one,
	},
	{
		/* bytes; an unsigned int, UINT_MAX (off) by default, as TCP's */
		.procname	= "notsent_lowat",
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec,
	},
	{
		/* tcp_dsack: D-SACK blocks sent (RFC 2883); 0/1 */
		.procname	= "dsack",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &estp_one,
	},
	{
		/* tcp_frto: F-RTO after an RTO (RFC 5682); TCP's 0, 1 or 2 */
		.procname	= "frto",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &estp_two,
	},
	{
		/* tcp_reordering: the dupACK threshold a connection starts with */
		.procname	= "reordering",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec,
	},
	{
		/* tcp_max_reordering: the most reordering grows it to */
		.procname	= "max_reordering",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec,
	},
	{
		/* tcp_min_rtt_wlen: seconds the least RTT is kept, 0 to a day */
		.procname	= "min_rtt_wlen",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &estp_max_timeout,
	},
	{
		/* tcp_fastopen: TFO_* bits */
		.procname	= "fastopen",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec,
	},
	{
		/* tcp_fastopen_blackhole_timeout_sec: 0 off */
		.procname	= "fastopen_blackhole_timeout_sec",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= estp_proc_tfo_blackhole_timeout,
		.extra1		= SYSCTL_ZERO,
	},
	/* The number entries above, in estp_sysctl_fill()'s order; then these. */
	{
		.procname	= "congestion_control",
		.maxlen		= ESTP_CA_NAME_MAX,
		.mode		= 0644,
		.proc_handler	= estp_proc_congestion_control,
	},
	{
		.procname	= "available_congestion_control",
		.maxlen		= ESTP_CA_BUF_MAX,
		.mode		= 0444,
		.proc_handler	= estp_proc_available_congestion_control,
	},
	{
		.procname	= "fastopen_key",
		.maxlen		= ESTP_FASTOPEN_KEY_MAX * (ESTP_FASTOPEN_KEY_LENGTH * 2 + 5),
		.mode		= 0600,
		.proc_handler	= estp_proc_fastopen_key,
	},
	/* Global, last: the init netns's alone (estp_sysctl_net_init()). */
	{
		.procname	= "max_orphans",
		.data		= &estp_sysctl_max_orphans,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
	},
	{
		.procname	= "mem",
		.data		= estp_sysctl_mem,
		.maxlen		= sizeof(estp_sysctl_mem),
		.mode		= 0644,
		.proc_handler	= proc_doulongvec_minmax,
	},
	{ }
};

#define ESTP_SYSCTLS		(ARRAY_SIZE(estp_sysctl_template) - 1)
#define ESTP_SYSCTL_GLOBALS	2	/* max_orphans and mem */
#define ESTP_SYSCTLS_NET	(ESTP_SYSCTLS - ESTP_SYSCTL_GLOBALS)

/*
 * Point the entries of @table, a writable copy of the template, at this
 * netns's values, and the congestion-control ones at the netns itself.
 * Byte offsets keep the template's type const everywhere.
 *
 * Return: how many entries to register: all in the init netns; elsewhere
 * none of the global ones, which are zeroed, the first of them the
 * terminator kernels before 6.5 look for.
 */
static size_t estp_sysctl_fill(void *table, struct net *net)
{
	struct estp_net *en = estp_pernet(net);
	void *data[] = {
		&en->syn_retries, &en->synack_retries, &en->fin_timeout, &en->tw_timeout,
		&en->syncookies, &en->max_tw_buckets, &en->tw_reuse_mode, &en->keepalive_time,
		&en->keepalive_intvl, &en->keepalive_probes, &en->invalid_ratelimit,
		&en->challenge_ack_limit, &en->retries2, en->rmem, en->wmem,
		&en->timestamps, &en->sack, &en->window_scaling, &en->syn_linear_timeouts,
		&en->ecn, &en->ecn_fallback, &en->notsent_lowat, &en->dsack, &en->frto,
		&en->reordering, &en->max_reordering, &en->min_rtt_wlen, &en->fastopen,
		&en->fastopen_blackhole_timeout,
	};
	const size_t stride = sizeof(estp_sysctl_template[0]);
	const size_t off = offsetof(typeof(estp_sysctl_template[0]), data);
	unsigned int i;

	BUILD_BUG_ON(ARRAY_SIZE(data) + 3 != ESTP_SYSCTLS_NET);
	for (i = 0; i < ARRAY_SIZE(data); i++)
		memcpy(table + i * stride + off, &data[i], sizeof(data[i]));
	for (; i < ESTP_SYSCTLS_NET; i++)
		memcpy(table + i * stride + off, &net, sizeof(net));
	if (net_eq(net, &init_net))
		return ESTP_SYSCTLS;
	memset(table + ESTP_SYSCTLS_NET * stride, 0, ESTP_SYSCTL_GLOBALS * stride);
	return ESTP_SYSCTLS_NET;
}

/**
 * estp_sysctl_global_init - the global sysctls' defaults, at module load,
 *	after the hash tables exist
 *
 * net.estp.mem as tcp_init_mem() sets tcp_mem: about 4.7%, 6.25% and 9.4%
 * of the buffer pages.  TCP computes it at boot, ESTP when the module
 * loads, when fewer pages may be free.  net.estp.max_orphans as tcp_init()
 * sets tcp_max_orphans: half the established hash's buckets.
 */
void estp_sysctl_global_init(void)
{
	unsigned long limit = max(nr_free_buffer_pages() / 16, 128UL);

	estp_sysctl_mem[0] = limit / 4 * 3;
	estp_sysctl_mem[1] = limit;
	estp_sysctl_mem[2] = estp_sysctl_mem[0] * 2;
	estp_sysctl_max_orphans = estp_max_orphans_default();
}

/**
 * estp_sysctl_net_init - defaults and /proc/sys/net/estp for a netns
 * @net: the netns, whose default congestion control is already set
 *
 * Return: 0 or -ENOMEM.
 */
int estp_sysctl_net_init(struct net *net)
{
	struct estp_net *en = estp_pernet(net);
	void *table;
	size_t n;
	int i;

	en->syn_retries = ESTP_SYN_RETRIES;
	en->synack_retries = ESTP_SYNACK_RETRIES;
	en->fin_timeout = 60;
	en->tw_timeout = 60;
	en->syncookies = 1;
	en->keepalive_time = ESTP_KEEPALIVE_TIME;
	en->keepalive_intvl = ESTP_KEEPALIVE_INTVL;
	en->keepalive_probes = ESTP_KEEPALIVE_PROBES;
	en->invalid_ratelimit = 500;
	/* Since 6.0 TCP's default: the per-netns limit is off (INT_MAX). */
	en->challenge_ack_limit = INT_MAX;
	/* TCP's defaults: accept ECN when asked, and fall back on SYN loss. */
	en->ecn = 2;
	en->ecn_fallback = 1;
	/*
	 * TCP's values in this netns: set already, as TCP's pernet init ran
	 * first, and for a new netns as TCP sets them (rmem and wmem copied
	 * from the init netns, the rest TCP's defaults).
	 */
	en->retries2 = READ_ONCE(net->ipv4.sysctl_tcp_retries2);
	en->max_tw_buckets = READ_ONCE(net->ipv4.tcp_death_row.sysctl_max_tw_buckets);
	en->tw_reuse_mode = READ_ONCE(net->ipv4.sysctl_tcp_tw_reuse);
	for (i = 0; i < 3; i++) {
		en->rmem[i] = READ_ONCE(net->ipv4.sysctl_tcp_rmem[i]);
		en->wmem[i] = READ_ONCE(net->ipv4.sysctl_tcp_wmem[i]);
	}
	en->timestamps = min_t(int, READ_ONCE(net->ipv4.sysctl_tcp_timestamps), 2);
	en->sack = !!READ_ONCE(net->ipv4.sysctl_tcp_sack);
	en->window_scaling = !!READ_ONCE(net->ipv4.sysctl_tcp_window_scaling);
	en->syn_linear_timeouts = estp_tcp_syn_linear_timeouts(net);
	en->notsent_lowat = READ_ONCE(net->ipv4.sysctl_tcp_notsent_lowat);
	en->dsack = !!READ_ONCE(net->ipv4.sysctl_tcp_dsack);
	en->frto = min_t(int, READ_ONCE(net->ipv4.sysctl_tcp_frto), 2);
	en->reordering = READ_ONCE(net->ipv4.sysctl_tcp_reordering);
	en->max_reordering = READ_ONCE(net->ipv4.sysctl_tcp_max_reordering);
	en->min_rtt_wlen = READ_ONCE(net->ipv4.sysctl_tcp_min_rtt_wlen);

	table = kmemdup(estp_sysctl_template, sizeof(estp_sysctl_template), GFP_KERNEL);
	if (!table)
		return -ENOMEM;
	n = estp_sysctl_fill(table, net);
	en->sysctl_hdr = estp_register_net_sysctl(net, "net/estp", table, n);
	if (!en->sysctl_hdr) {
		kfree(table);
		return -ENOMEM;
	}
	return 0;
}

/**
 * estp_sysctl_net_exit - remove the netns's sysctls
 * @net: the netns
 */
void estp_sysctl_net_exit(struct net *net)
{
	struct estp_net *en = estp_pernet(net);
	const struct ctl_table *table = en->sysctl_hdr->ctl_table_arg;

	unregister_net_sysctl_table(en->sysctl_hdr);
	kfree(table);
}
