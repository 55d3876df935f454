// SPDX-License-Identifier: GPL-2.0
/*
 * CUBIC congestion control for ESTP (RFC 9438), the counterpart of
 * net/ipv4/tcp_cubic.c, written from the RFC.
 *
 * Windows are kept in 1/1024 segments (ESTP_CUBIC_ONE) so that beta and the
 * Reno-friendly estimate keep their fractions at small windows; time is in
 * milliseconds for the cubic curve.  Not done yet: HyStart++ (RFC 9406),
 * so slow start ends at the first loss.
 */
#include <linux/math64.h>
#include <linux/module.h>
#include <net/sock.h>

#include "estp.h"

#define ESTP_CUBIC_SHIFT	10
#define ESTP_CUBIC_ONE		BIT(ESTP_CUBIC_SHIFT)
/* beta_cubic = 0.7 (RFC 9438 4.6), in 1/1024 */
#define ESTP_CUBIC_BETA		717U
/* alpha_cubic = 3 * (1 - beta) / (1 + beta) (RFC 9438 4.3), in 1/1024 */
#define ESTP_CUBIC_ALPHA	(3U * (ESTP_CUBIC_ONE - ESTP_CUBIC_BETA) * ESTP_CUBIC_ONE / \
				 (ESTP_CUBIC_ONE + ESTP_CUBIC_BETA))
/*
 * C = 0.4 segments/s^3.  W(t) - W_max = C * d^3 with d in ms is
 * 4 * d^3 / 10^10 segments, i.e. 4 * d^3 / 9765625 in 1/1024 segments;
 * and K^3 = (W_max - cwnd_epoch) / C is diff * 9765625 / 4 ms^3.
 */
#define ESTP_CUBIC_DIV		9765625ULL
/* |t - K| above this (about 17 minutes) no longer fits the arithmetic. */
#define ESTP_CUBIC_MAX_D_MS	BIT(20)

struct estp_cubic {
	u64	epoch_start;	/* us; 0: no congestion-avoidance epoch */
	u32	w_max;		/* window before the last reduction, 1/1024 */
	u32	w_est;		/* Reno-friendly estimate, 1/1024 */
	u32	k_ms;		/* time from epoch start to reach w_max */
	u32	origin;		/* the curve's plateau, 1/1024 */
	u32	min_rtt_us;	/* 0: no sample yet */
};

/* The largest x with x^3 <= a. */
static u32 estp_cubic_root(u64 a)
{
	u32 lo = 0, hi = 2642245;	/* 2642245^3 < 2^64 */

	while (lo < hi) {
		u32 mid = lo + (hi - lo + 1) / 2;

		if ((u64)mid * mid * mid <= a)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static void estp_cubic_reset(struct estp_cubic *ca)
{
	ca->epoch_start = 0;
}

static void estp_cubic_init(struct sock *sk)
{
	struct estp_cubic *ca = estp_ca(sk);

	BUILD_BUG_ON(sizeof(*ca) > sizeof(estp_sk(sk)->ca_priv));
	memset(ca, 0, sizeof(*ca));
}

/* A congestion-avoidance epoch starts (RFC 9438 4.2): the curve's K. */
static void estp_cubic_epoch(struct estp_cubic *ca, u32 cwnd, u64 now)
{
	u32 cwnd_fp = cwnd << ESTP_CUBIC_SHIFT;
	u64 diff;

	ca->epoch_start = now;
	ca->w_est = cwnd_fp;
	if (ca->w_max <= cwnd_fp) {
		/* Past the last maximum (or none yet): grow from here. */
		ca->k_ms = 0;
		ca->origin = cwnd_fp;
		return;
	}
	diff = min_t(u64, ca->w_max - cwnd_fp, U64_MAX / ESTP_CUBIC_DIV);
	ca->k_ms = estp_cubic_root(diff * ESTP_CUBIC_DIV / 4);
	ca->origin = ca->w_max;
}

/* W_cubic(t) in 1/1024 segments, t in ms since the epoch (RFC 9438 (1)). */
static u32 estp_cubic_window(const struct estp_cubic *ca, u32 t_ms)
{
	u32 d = t_ms > ca->k_ms ? t_ms - ca->k_ms : ca->k_ms - t_ms;
	u64 delta;

	d = min_t(u32, d, ESTP_CUBIC_MAX_D_MS);
	delta = div64_u64(4ULL * d * d * d, ESTP_CUBIC_DIV);
	if (t_ms > ca->k_ms)
		return min_t(u64, (u64)ca->origin + delta, U32_MAX);
	return delta < ca->origin ? ca->origin - (u32)delta : 0;
}

static void estp_cubic_cong_avoid(struct sock *sk, u32 ack, u32 acked)
{
	struct estp_sock *esk = estp_sk(sk);
	struct estp_cubic *ca = estp_ca(sk);
	u32 cwnd_fp, target, t_ms, cnt, alpha;
	u64 now;

	if (!estp_is_cwnd_limited(sk))
		return;
	if (estp_in_slow_start(esk)) {
		acked = estp_slow_start(sk, acked);
		if (!acked)
			return;
	}
	now = estp_clock_us();
	if (!ca->epoch_start)
		estp_cubic_epoch(ca, esk->snd_cwnd, now);
	cwnd_fp = esk->snd_cwnd << ESTP_CUBIC_SHIFT;

	/* Where the curve is one RTT from now (RFC 9438 4.2). */
	t_ms = div_u64(now - ca->epoch_start + ca->min_rtt_us, USEC_PER_MSEC);
	target = estp_cubic_window(ca, t_ms);

	/* Reno-friendly region (RFC 9438 4.3): alpha becomes 1 past W_max. */
	alpha = ca->w_est >= ca->w_max ? ESTP_CUBIC_ONE : ESTP_CUBIC_ALPHA;
	ca->w_est += div_u64((u64)alpha * acked, esk->snd_cwnd);
	target = max(target, ca->w_est);

	/* At most 1.5 times the window in one RTT (RFC 9438 4.2). */
	target = min(target, cwnd_fp + cwnd_fp / 2);
	if (target > cwnd_fp)
		/* (target - cwnd) / cwnd more segments per segment acked */
		cnt = max_t(u32, div_u64((u64)esk->snd_cwnd * ESTP_CUBIC_ONE,
					 target - cwnd_fp), 1);
	else
		/* At the plateau: grow very slowly. */
		cnt = 100 * esk->snd_cwnd;
	estp_cong_avoid_ai(sk, cnt, acked);
}

/* Multiplicative decrease with fast convergence (RFC 9438 4.6, 4.7). */
static u32 estp_cubic_ssthresh(struct sock *sk)
{
	struct estp_sock *esk = estp_sk(sk);
	struct estp_cubic *ca = estp_ca(sk);
	u32 cwnd_fp = esk->snd_cwnd << ESTP_CUBIC_SHIFT;

	estp_cubic_reset(ca);
	if (cwnd_fp < ca->w_max)
		/* A second loss below the last maximum: leave room for others. */
		ca->w_max = (u32)div_u64((u64)cwnd_fp * (ESTP_CUBIC_ONE + ESTP_CUBIC_BETA),
					 2 * ESTP_CUBIC_ONE);
	else
		ca->w_max = cwnd_fp;
	return max((esk->snd_cwnd * ESTP_CUBIC_BETA) >> ESTP_CUBIC_SHIFT, 2U);
}

/* A timeout (RFC 9438 4.8): a new epoch once congestion avoidance resumes. */
static void estp_cubic_set_state(struct sock *sk, u8 new_state)
{
	if (new_state == ESTP_CA_LOSS)
		estp_cubic_reset(estp_ca(sk));
}

/*
 * Sending resumes after idle: the curve's clock must not have run while
 * nothing was sent, so a new epoch starts from the current window.
 */
static void estp_cubic_cwnd_event(struct sock *sk, enum estp_ca_event event)
{
	if (event == ESTP_CA_EVENT_TX_START)
		estp_cubic_reset(estp_ca(sk));
}

/* The path's smallest RTT is the RTT the curve looks ahead by. */
static void estp_cubic_pkts_acked(struct sock *sk, const struct estp_ack_sample *sample)
{
	struct estp_cubic *ca = estp_ca(sk);

	if (sample->rtt_us <= 0)
		return;
	if (!ca->min_rtt_us || (u32)sample->rtt_us < ca->min_rtt_us)
		ca->min_rtt_us = sample->rtt_us;
}

static struct estp_congestion_ops estp_cubic = {
	.name		= "cubic",
	.init		= estp_cubic_init,
	.ssthresh	= estp_cubic_ssthresh,
	.cong_avoid	= estp_cubic_cong_avoid,
	.set_state	= estp_cubic_set_state,
	.cwnd_event	= estp_cubic_cwnd_event,
	.pkts_acked	= estp_cubic_pkts_acked,
	.undo_cwnd	= estp_reno_undo_cwnd,
};

/**
 * estp_cubic_register - add CUBIC to the algorithms (estp_cong_init())
 *
 * Return: 0 or the registration's error.
 */
int estp_cubic_register(void)
{
	return estp_register_congestion_control(&estp_cubic);
}

/**
 * estp_cubic_unregister - remove CUBIC (estp_cong_exit())
 */
void estp_cubic_unregister(void)
{
	estp_unregister_congestion_control(&estp_cubic);
}
