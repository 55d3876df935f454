/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels of the matrix (kernels.conf) lives
 * here, so that the rest of the module reads as one kernel's code.  Prefer a
 * feature test over a version test where a distribution may backport.
 */
#ifndef _ESTP_COMPAT_H
#define _ESTP_COMPAT_H

#include <linux/version.h>

#endif /* _ESTP_COMPAT_H */
