/*
 * The instance half of the fork path (docs/security.md, "Instances forked from a
 * template"). A template is a sandboxed process (enter.c, --template-caps) that
 * kept CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID and CAP_SETPCAP inside its own user
 * namespace only. For each instance it calls hearth_clone_instance(); the child
 * then runs hearth_instance_enter() before anything of the instance's own runs:
 *
 *   clone(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET)   own mount namespace, pid 1 of its
 *                    own pid namespace, its own network namespace (only lo: no sibling's
 *                    listener is reachable; functions with egress start cold instead)
 *   loopback-up      lo up in it
 *   mount-tmp        /tmp: an overlay of the template's /tmp (read) and a fresh tmpfs
 *                    (writes): what init wrote is there, nothing a sibling writes is
 *   mount-proc       its own procfs on /proc (only its own processes), masked like a cold
 *                    sandbox's; the template's visible pid-only procfs hidden
 *   dumpable         PR_SET_DUMPABLE 0 where no private /proc could be mounted
 *   drop-bounding    the bounding set emptied (needs CAP_SETPCAP, still held)
 *   setgroups, setresgid, setresuid   to the plan's uid/gid (not 0)
 *   clear-caps       no capability left, checked
 *   rearm-pdeathsig  a uid change clears it; dies with the template
 *   seccomp          the full deny-list, stacked on the template's
 *
 * Both namespaces are owned by the sandbox's user namespace, so the capabilities
 * used here reach nothing of the host's or of another function's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "enter.h"

int hearth_set_effective_caps(int raise)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -1;
	data[0].effective = raise ? data[0].permitted : 0;
	data[1].effective = raise ? data[1].permitted : 0;
	return (int)syscall(SYS_capset, &hdr, data);
}

/* The template's capabilities are effective only around the clone (and in the child, until it drops them). */
pid_t hearth_clone_instance(void)
{
	pid_t pid;
	int err;

	if (hearth_set_effective_caps(1) < 0)
		return -1;
	pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | SIGCHLD), NULL, NULL, NULL, 0UL);
	if (pid == 0)
		return 0;
	err = errno;
	if (hearth_set_effective_caps(0) < 0)
		_exit(127); /* a template must not go on with effective capabilities */
	errno = err;
	return pid;
}

struct instance_plan {
	unsigned long uid, gid;
	unsigned long long tmp_size;
	const char *masked[HEARTH_MAX_PATHS];
	size_t n_masked;
	const char *readonly[HEARTH_MAX_PATHS];
	size_t n_readonly;
	struct hearth_seccomp_rule seccomp[HEARTH_MAX_SECCOMP];
	size_t n_seccomp;
};

static int fail(char *err, size_t errlen, const char *step, int e, const char *what)
{
	const char *name = hearth_errno_name(e);

	snprintf(err, errlen, "%s: %s%s%s", step, name ? name : "error", what ? ": " : "", what ? what : "");
	errno = e;
	return -1;
}

static int parse(struct instance_plan *p, int argc, char **argv, char *err, size_t errlen)
{
	static const struct option options[] = {
		{ "uid", required_argument, NULL, 'u' },
		{ "gid", required_argument, NULL, 'g' },
		{ "tmp-size", required_argument, NULL, 't' },
		{ "seccomp", required_argument, NULL, 's' },
		{ "mask", required_argument, NULL, 'm' },
		{ "read-only", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	char *end;

	memset(p, 0, sizeof(*p));
	p->uid = p->gid = (unsigned long)-1;
	optind = 0; /* full re-initialisation: a forked template already parsed its plan with getopt */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'u':
		case 'g':
		case 't':
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0')
				return fail(err, errlen, "plan", EINVAL, "--uid/--gid/--tmp-size take a number");
			if (c == 'u')
				p->uid = (unsigned long)v;
			else if (c == 'g')
				p->gid = (unsigned long)v;
			else
				p->tmp_size = v;
			break;
		case 's':
			if (p->n_seccomp == HEARTH_MAX_SECCOMP)
				return fail(err, errlen, "plan", E2BIG, "too many --seccomp rules");
			if (hearth_seccomp_parse_rule(&p->seccomp[p->n_seccomp], optarg, err, errlen) < 0)
				return -1;
			p->n_seccomp++;
			break;
		case 'm':
		case 'r':
			if (optarg[0] != '/' || (c == 'm' ? p->n_masked : p->n_readonly) == HEARTH_MAX_PATHS)
				return fail(err, errlen, "plan", EINVAL, "--mask/--read-only: an absolute path, at most HEARTH_MAX_PATHS");
			if (c == 'm')
				p->masked[p->n_masked++] = optarg;
			else
				p->readonly[p->n_readonly++] = optarg;
			break;
		default:
			return fail(err, errlen, "plan", EINVAL, "unknown or incomplete option");
		}
	}
	if (optind != argc)
		return fail(err, errlen, "plan", EINVAL, "unexpected argument");
	/* An instance never runs as 0 of its user namespace. */
	if (p->uid == 0 || p->gid == 0 || p->uid == (unsigned long)-1 || p->gid == (unsigned long)-1)
		return fail(err, errlen, "plan", EINVAL, "--uid and --gid are required and must not be 0");
	if (p->tmp_size == 0)
		return fail(err, errlen, "plan", EINVAL, "--tmp-size is required");
	if (p->n_seccomp == 0)
		return fail(err, errlen, "plan", EINVAL, "at least one --seccomp rule is required");
	return 0;
}

/*
 * The instance's own procfs: only its pid namespace's processes (itself and what it
 * starts), with the same paths masked or read-only as a cold sandbox's /proc. Linux
 * allows it because the template's sandbox has a fully visible (pid-only) procfs at
 * HEARTH_VISIBLE_PROC, which is then hidden. 1: mounted; 0: refused (kernel without
 * that allowance: the sandbox's /proc stays); -1: failed after mounting (fatal).
 */
static int private_proc(const struct instance_plan *p)
{
	size_t i;

	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return errno == EPERM ? 0 : -1;
	for (i = 0; i < p->n_masked; i++)
		if (hearth_mask_path(p->masked[i], 0) < 0)
			return -1;
	for (i = 0; i < p->n_readonly; i++)
		if (hearth_mask_path(p->readonly[i], 1) < 0)
			return -1;
	if (mount("tmpfs", "/.hearth", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=1,mode=0555") < 0 && errno != ENOENT)
		return -1;
	return 1;
}

/*
 * /tmp as the template left it (what F's init wrote there stays readable, as it
 * would in a cold instance), with every write going to the instance's own tmpfs:
 * an overlay whose lower layer is the template's /tmp and whose upper layer is a
 * fresh tmpfs mounted over it. Where the kernel refuses the overlay, the fresh
 * tmpfs alone (empty /tmp) is what the instance gets.
 */
static int private_tmp(const char *tmp_options)
{
	char options[160];
	int lower, ok;

	lower = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (lower < 0)
		return -1;
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, tmp_options) < 0 ||
	    mkdir("/tmp/.upper", 01777) < 0 || chmod("/tmp/.upper", 01777) < 0 || mkdir("/tmp/.work", 0700) < 0) {
		int e = errno;
		close(lower);
		errno = e;
		return -1;
	}
	snprintf(options, sizeof(options), "lowerdir=/proc/self/fd/%d,upperdir=/tmp/.upper,workdir=/tmp/.work,userxattr", lower);
	ok = mount("overlay", "/tmp", "overlay", MS_NOSUID | MS_NODEV, options) == 0;
	close(lower);
	if (ok)
		return 0;
	/* Without the overlay: an empty tmpfs of the instance's own, writable like a /tmp. */
	if (umount2("/tmp", 0) < 0)
		return -1;
	return mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, tmp_options) < 0 ? -1 : chmod("/tmp", 01777);
}

static int clear_all_caps(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -1;
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -1;
	if (data[0].effective | data[0].permitted | data[0].inheritable | data[1].effective | data[1].permitted | data[1].inheritable) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

#define ISTEP(name, call)                                          \
	do {                                                       \
		if ((call) < 0)                                    \
			return fail(err, errlen, (name), errno, NULL); \
	} while (0)

int hearth_instance_enter(int argc, char **argv, char *err, size_t errlen)
{
	static struct instance_plan plan; /* large: keep it off the (runtime's) stack */
	char tmp_options[64];
	int cap;

	if (parse(&plan, argc, argv, err, errlen) < 0)
		return -1;
	snprintf(tmp_options, sizeof(tmp_options), "size=%llu,mode=0755", plan.tmp_size);
	ISTEP("loopback-up", hearth_loopback_up());
	ISTEP("mount-private", mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	/*
	 * The template changed its credentials when it entered the sandbox, which made it
	 * (and so us) non-dumpable: /proc/self/fd is then owned by the host's root, which
	 * this user namespace cannot map, and the overlay could not name its lower layer.
	 * The end of the sequence makes the instance non-dumpable again.
	 */
	ISTEP("dumpable", prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
	ISTEP("mount-tmp", private_tmp(tmp_options));
	/*
	 * Where the kernel refuses a procfs here ("mount too revealing"), the sandbox's
	 * /proc stays: the instance then sees its template's and siblings' pids but cannot
	 * signal them (they are outside its pid namespace), and non-dumpable (below) hides
	 * their /proc files from it.
	 */
	ISTEP("mount-proc", private_proc(&plan));
	for (cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;
			return fail(err, errlen, "drop-bounding-caps", errno, NULL);
		}
	}
	ISTEP("no-new-privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	ISTEP("setgroups", (int)syscall(SYS_setgroups, 0, NULL));
	ISTEP("setresgid", (int)syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid));
	ISTEP("setresuid", (int)syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid));
	ISTEP("clear-caps", clear_all_caps());
	ISTEP("not-dumpable", prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)); /* siblings (same uid) cannot read its memory */
	ISTEP("rearm-pdeathsig", prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0));
	ISTEP("seccomp", hearth_seccomp_install(plan.seccomp, plan.n_seccomp));
	return 0;
}
