/*
 * libhearth_sandbox.so: the sandbox for runtimes that cannot load the N-API addon
 * (Python's zygote loads it with ctypes.PyDLL, so the GIL stays held across calls).
 *
 *   hearth_lib_enter_sandbox(argc, argv)  the enter-sandbox sequence (enter.c) with
 *       planToArgs(plan) and no command: returns 0 in the sandboxed child; the caller
 *       becomes the supervisor and never returns. A plan that does not parse is
 *       reported on its status fd (or stderr) and the process exits with 127, as
 *       every failure of the sequence does: tenant code never runs half-sandboxed.
 *   hearth_clone_instance(), hearth_instance_enter(): instance.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>

#include "enter.h"

static pid_t spawn_with_fork(void *ctx, int cgroup2_fd, int *joined_cgroup2)
{
	(void)ctx;
	(void)cgroup2_fd;
	/* fork(), not clone3: glibc's fork handlers run; the supervisor writes cgroup.procs. */
	*joined_cgroup2 = 0;
	return fork();
}

int hearth_lib_enter_sandbox(int argc, char **argv)
{
	static struct hearth_plan plan; /* large: keep it off the stack */
	struct hearth_enter_hooks hooks = { spawn_with_fork, NULL };
	char err[512];

	if (hearth_plan_parse(&plan, argc, argv, err, sizeof(err)) < 0) {
		hearth_report(plan.status_fd, "plan", EINVAL, err);
		_exit(127);
	}
	if (plan.argv != NULL) {
		hearth_report(plan.status_fd, "plan", EINVAL, "no command: the sandboxed child returns to its caller");
		_exit(127);
	}
	return hearth_enter_sandbox(&plan, &hooks);
}
