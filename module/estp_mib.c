// SPDX-License-Identifier: GPL-2.0
/*
 * ESTP MIB counters: per-netns, per-cpu, shown in /proc/net/estp_stat in
 * the two-line "Prefix: names / Prefix: values" form that nstat reads.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "estp.h"

static const char * const estp_mib_names[__ESTP_MIB_MAX] = {
	[ESTP_MIB_INSEGS]	= "InSegs",
	[ESTP_MIB_INHDRERRORS]	= "InHdrErrors",
	[ESTP_MIB_INCSUMERRORS]	= "InCsumErrors",
	[ESTP_MIB_INBADFLAGS]	= "InBadFlags",
	[ESTP_MIB_INNOSOCKET]	= "InNoSocket",
	[ESTP_MIB_LISTENOVERFLOWS] = "ListenOverflows",
	[ESTP_MIB_LISTENDROPS]	= "ListenDrops",
	[ESTP_MIB_BACKLOGDROPS]	= "BacklogDrops",
	[ESTP_MIB_OUTSEGS]	= "OutSegs",
	[ESTP_MIB_OUTRSTS]	= "OutRsts",
	[ESTP_MIB_SYNCOOKIESSENT] = "SyncookiesSent",
	[ESTP_MIB_SYNCOOKIESRECV] = "SyncookiesRecv",
	[ESTP_MIB_SYNCOOKIESFAILED] = "SyncookiesFailed",
	[ESTP_MIB_CHALLENGEACK]	= "ChallengeACK",
	[ESTP_MIB_ABORTONMEMORY] = "AbortOnMemory",
	[ESTP_MIB_ABORTONTIMEOUT] = "AbortOnTimeout",
	[ESTP_MIB_ABORTONLINGER] = "AbortOnLinger",
	[ESTP_MIB_OUTOFWINDOWICMPS] = "OutOfWindowIcmps",
	[ESTP_MIB_ABORTONCLOSE]	= "AbortOnClose",
	[ESTP_MIB_ABORTONDATA]	= "AbortOnData",
	[ESTP_MIB_RETRANSSEGS]	= "RetransSegs",
	[ESTP_MIB_RCVQDROP]	= "RcvQDrop",
	[ESTP_MIB_OFODROP]	= "OfoDrop",
	[ESTP_MIB_OFOQUEUE]	= "OfoQueue",
	[ESTP_MIB_FASTRETRANS]	= "FastRetrans",
	[ESTP_MIB_MEMORYPRESSURES] = "MemoryPressures",
	[ESTP_MIB_SACKRECOVERY]	= "SackRecovery",
	[ESTP_MIB_PAWSESTAB]	= "PAWSEstab",
	[ESTP_MIB_DELAYEDACKS]	= "DelayedACKs",
	[ESTP_MIB_TIMEOUTS]	= "Timeouts",
	[ESTP_MIB_LOSSPROBES]	= "LossProbes",
	[ESTP_MIB_FULLUNDO]	= "FullUndo",
	[ESTP_MIB_OFOPRUNED]	= "OfoPruned",
	[ESTP_MIB_SACKRENEGING]	= "SackReneging",
	[ESTP_MIB_FILTERDROP]	= "FilterDrop",
	[ESTP_MIB_MINTTLDROP]	= "MinTTLDrop",
	[ESTP_MIB_TIMEWAITOVERFLOW] = "TimeWaitOverflow",
	[ESTP_MIB_ACKSKIPPEDSYNRECV] = "ACKSkippedSynRecv",
	[ESTP_MIB_ATTEMPTFAILS]	= "AttemptFails",
	[ESTP_MIB_EMBRYONICRSTS] = "EmbryonicRsts",
	[ESTP_MIB_PAWSOLDACK]	= "PAWSOldAck",
	[ESTP_MIB_SYNRETRANS]	= "SynRetrans",
	[ESTP_MIB_PRUNECALLED]	= "PruneCalled",
	[ESTP_MIB_RCVPRUNED]	= "RcvPruned",
	[ESTP_MIB_RCVCOLLAPSED]	= "RcvCollapsed",
	[ESTP_MIB_DEFERACCEPTDROP] = "DeferAcceptDrop",
	[ESTP_MIB_PARTIALUNDO]	= "PartialUndo",
	[ESTP_MIB_LOSSUNDO]	= "LossUndo",
	[ESTP_MIB_DSACKUNDO]	= "DSACKUndo",
	[ESTP_MIB_SPURIOUSRTOS]	= "SpuriousRTOs",
	[ESTP_MIB_DSACKOLDSENT]	= "DSACKOldSent",
	[ESTP_MIB_DSACKOFOSENT]	= "DSACKOfoSent",
	[ESTP_MIB_DSACKRECV]	= "DSACKRecv",
	[ESTP_MIB_DSACKOFORECV]	= "DSACKOfoRecv",
	[ESTP_MIB_DSACKIGNOREDOLD] = "DSACKIgnoredOld",
	[ESTP_MIB_DSACKIGNOREDNOUNDO] = "DSACKIgnoredNoUndo",
	[ESTP_MIB_DSACKIGNOREDDUBIOUS] = "DSACKIgnoredDubious",
	[ESTP_MIB_DELAYEDACKLOST] = "DelayedACKLost",
	[ESTP_MIB_SACKREORDER]	= "SACKReorder",
	[ESTP_MIB_TSREORDER]	= "TSReorder",
	[ESTP_MIB_LOSSPROBERECOVERY] = "LossProbeRecovery",
	[ESTP_MIB_SLOWSTARTRETRANS] = "SlowStartRetrans",
	[ESTP_MIB_RENORECOVERY]	= "RenoRecovery",
	[ESTP_MIB_FASTOPENACTIVE] = "FastOpenActive",
	[ESTP_MIB_FASTOPENACTIVEFAIL] = "FastOpenActiveFail",
	[ESTP_MIB_FASTOPENPASSIVE] = "FastOpenPassive",
	[ESTP_MIB_FASTOPENPASSIVEFAIL] = "FastOpenPassiveFail",
	[ESTP_MIB_FASTOPENLISTENOVERFLOW] = "FastOpenListenOverflow",
	[ESTP_MIB_FASTOPENCOOKIEREQD] = "FastOpenCookieReqd",
	[ESTP_MIB_FASTOPENBLACKHOLE] = "FastOpenBlackhole",
	[ESTP_MIB_FASTOPENPASSIVEALTKEY] = "FastOpenPassiveAltKey",
	[ESTP_MIB_MD5UNEXPECTED] = "MD5Unexpected",
	[ESTP_MIB_AOBAD]	= "AOBad",
	[ESTP_MIB_AOKEYNOTFOUND] = "AOKeyNotFound",
};

static int estp_stat_show(struct seq_file *seq, void *v)
{
	struct net *net = seq->private;
	struct estp_mib __percpu *mib = estp_pernet(net)->mib;
	int i, cpu;

	seq_puts(seq, "Estp:");
	for (i = 0; i < __ESTP_MIB_MAX; i++)
		seq_printf(seq, " %s", estp_mib_names[i]);
	seq_puts(seq, "\nEstp:");
	for (i = 0; i < __ESTP_MIB_MAX; i++) {
		unsigned long sum = 0;

		for_each_possible_cpu(cpu)
			sum += per_cpu_ptr(mib, cpu)->mibs[i];
		seq_printf(seq, " %lu", sum);
	}
	seq_putc(seq, '\n');
	return 0;
}

/**
 * estp_mib_net_init - allocate the counters of a netns and their proc file
 * @net: the new netns
 *
 * Return: 0 or -ENOMEM.
 */
int estp_mib_net_init(struct net *net)
{
	struct estp_net *en = estp_pernet(net);

	en->mib = alloc_percpu(struct estp_mib);
	if (!en->mib)
		return -ENOMEM;
	if (!proc_create_net_single("estp_stat", 0444, net->proc_net,
				    estp_stat_show, NULL)) {
		free_percpu(en->mib);
		en->mib = NULL;
		return -ENOMEM;
	}
	return 0;
}

/**
 * estp_mib_net_exit - free what estp_mib_net_init() allocated
 * @net: the netns going away
 */
void estp_mib_net_exit(struct net *net)
{
	struct estp_net *en = estp_pernet(net);

	remove_proc_entry("estp_stat", net->proc_net);
	free_percpu(en->mib);
}
