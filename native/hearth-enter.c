/*
 * hearth-enter: the cold path's helper. The agent runs
 *
 *   hearth-enter --status-fd 4 <plan options> -- /usr/bin/node bootstrap.mjs
 *
 * as root; it runs the enter-sandbox sequence (enter.c), stays as the
 * sandbox's supervisor, and the sandboxed child execs the command. A separate
 * executable because the sequence needs a single-threaded process: the agent
 * is a multi-threaded Node process (libuv's thread pool, V8's workers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "enter.h"

/*
 * With a cgroup v2 leaf: clone3(CLONE_INTO_CGROUP), so the child is created in
 * its cgroup and never runs (or allocates) outside it. The child only runs C
 * code until exec, so a raw clone (no glibc fork handlers) is enough.
 */
static pid_t spawn_child(void *ctx, int cgroup2_fd, int *joined_cgroup2)
{
	(void)ctx;
	*joined_cgroup2 = 0;
	if (cgroup2_fd >= 0) {
		struct clone_args args;
		long pid;

		memset(&args, 0, sizeof(args));
		args.flags = CLONE_INTO_CGROUP;
		args.exit_signal = SIGCHLD;
		args.cgroup = (uint64_t)cgroup2_fd;
		pid = syscall(SYS_clone3, &args, sizeof(args));
		if (pid >= 0) {
			*joined_cgroup2 = 1;
			return (pid_t)pid;
		}
		/* Kernels before 5.7: the supervisor writes cgroup.procs instead. */
		if (errno != ENOSYS && errno != E2BIG)
			return -1;
	}
	return fork();
}

int main(int argc, char **argv)
{
	static struct hearth_plan plan; /* large: keep it off the stack */
	struct hearth_enter_hooks hooks = { spawn_child, NULL };
	char err[512];

	if (hearth_plan_parse(&plan, argc, argv, err, sizeof(err)) < 0) {
		hearth_report(plan.status_fd, "plan", EINVAL, err);
		return 127;
	}
	if (plan.argv == NULL) {
		hearth_report(plan.status_fd, "plan", EINVAL, "no command after --");
		return 127;
	}
	hearth_enter_sandbox(&plan, &hooks);
	return 127; /* not reached: the sequence execs or exits */
}
