// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A bpffs mounted from a private mount namespace (`ip netns exec` makes
 * one) dies with the command, pins and all, while the XDP and tc programs
 * attached meanwhile stay with no owner: refuse to mount one.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static bool same_ns(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* The parent of @pid, from /proc/PID/status; 0 when unknown. */
static int parent_of(int pid)
{
	char path[64], line[128];
	int ppid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "PPid: %d", &ppid) == 1)
			break;
	fclose(f);
	return ppid;
}

/*
 * Whether this process's mount namespace is other than PID 1's, or, where
 * PID 1's cannot be read (no CAP_SYS_PTRACE), other than an ancestor's
 * (the shell that ran `ip netns exec`). Unknown counts as shared:
 * refusing needs proof.
 */
static bool mount_ns_private(void)
{
	struct stat self, other;
	char path[64];
	int pid, depth;

	if (stat("/proc/self/ns/mnt", &self))
		return false;
	if (!stat("/proc/1/ns/mnt", &other))
		return !same_ns(&self, &other);
	pid = getpid();
	for (depth = 0; depth < 64; depth++) {
		pid = parent_of(pid);
		if (pid <= 1)
			break;
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
		if (!stat(path, &other) && !same_ns(&self, &other))
			return true;
	}
	return false;
}

int mzri_bpffs_mount_check(const char *root)
{
	const char *allow = getenv("MIZAR_ALLOW_PRIVATE_BPFFS");

	if (allow && !strcmp(allow, "1"))
		return 0;
	if (!mount_ns_private())
		return 0;
	mzri_warn("pin root %s is on no bpffs, and one mounted now would vanish with this command's private mount namespace (ip netns exec), leaving XDP/tc attached with no pins: run it under 'nsenter --net=/run/netns/NAME' instead, or use a pin root under a bpffs shared with the host (mount -t bpf bpf /sys/fs/bpf in the host first)\n",
		  root);
	return -EPERM;
}
