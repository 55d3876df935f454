// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection for the exits that only an allocation failure reaches,
 * so that tests can provoke them: off unless a test arms it through
 * debugfs.
 *
 *   echo "syn_recv_sock 1" > /sys/kernel/debug/estp/fail
 *
 * makes the next estp_fault("syn_recv_sock") return true once.  Reading the
 * file shows the armed point and the failures left.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#include "estp.h"

static DEFINE_SPINLOCK(estp_fault_lock);	/* the point and its count */
static char estp_fault_point[32];
static unsigned int estp_fault_left;
static struct dentry *estp_debugfs_dir;

/**
 * estp_fault - whether the failure point @point should fail now
 * @point: its name
 *
 * Return: true, once for each failure armed for @point.
 */
bool estp_fault(const char *point)
{
	unsigned long flags;
	bool fail = false;

	if (!READ_ONCE(estp_fault_left))
		return false;
	spin_lock_irqsave(&estp_fault_lock, flags);
	if (estp_fault_left && !strcmp(estp_fault_point, point)) {
		estp_fault_left--;
		fail = true;
	}
	spin_unlock_irqrestore(&estp_fault_lock, flags);
	return fail;
}

static int estp_fault_show(struct seq_file *seq, void *v)
{
	spin_lock_irq(&estp_fault_lock);
	seq_printf(seq, "%s %u\n", estp_fault_left ? estp_fault_point : "none",
		   estp_fault_left);
	spin_unlock_irq(&estp_fault_lock);
	return 0;
}

static int estp_fault_open(struct inode *inode, struct file *file)
{
	return single_open(file, estp_fault_show, NULL);
}

static ssize_t estp_fault_write(struct file *file, const char __user *ubuf,
				size_t len, loff_t *ppos)
{
	char buf[48], point[32];
	unsigned int count;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%31s %u", point, &count) != 2)
		return -EINVAL;
	spin_lock_irq(&estp_fault_lock);
	strscpy(estp_fault_point, point, sizeof(estp_fault_point));
	WRITE_ONCE(estp_fault_left, count);
	spin_unlock_irq(&estp_fault_lock);
	return len;
}

static const struct file_operations estp_fault_fops = {
	.owner		= THIS_MODULE,
	.open		= estp_fault_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= single_release,
	.write		= estp_fault_write,
};

/**
 * estp_fault_init - create /sys/kernel/debug/estp/fail
 *
 * Return: 0; without debugfs the points simply never fail.
 */
int estp_fault_init(void)
{
	estp_debugfs_dir = debugfs_create_dir("estp", NULL);
	debugfs_create_file("fail", 0600, estp_debugfs_dir, NULL, &estp_fault_fops);
	return 0;
}

/**
 * estp_fault_exit - remove the debugfs files
 */
void estp_fault_exit(void)
{
	debugfs_remove_recursive(estp_debugfs_dir);
}
