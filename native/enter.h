/*
 * The enter-sandbox sequence: the plan it follows and the entry point.
 *
 * The plan is computed in TypeScript (src/sandbox/enter.ts) and reaches C as an
 * argv-style list (plan.c parses it with getopt_long). All strings point into
 * that argv; nothing here owns memory, so the sequence never allocates.
 */
#ifndef HEARTH_ENTER_H
#define HEARTH_ENTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HEARTH_MAX_FDS 32
#define HEARTH_MAX_CGROUPS 16
#define HEARTH_MAX_BINDS 64
#define HEARTH_MAX_LINKS 32
#define HEARTH_MAX_FILES 32
#define HEARTH_MAX_DEVICES 16
#define HEARTH_MAX_PATHS 32
#define HEARTH_MAX_RLIMITS 16
#define HEARTH_MAX_SECCOMP 160

struct hearth_bind {
	const char *source; /* host path */
	const char *target; /* absolute path inside the sandbox */
};

struct hearth_link {
	const char *target; /* what the link points to */
	const char *path;   /* absolute path of the link inside the sandbox */
};

struct hearth_file {
	const char *path;    /* absolute path inside the sandbox */
	const char *content; /* written verbatim, mode 0644 */
};

struct hearth_rlimit {
	int resource;
	unsigned long long soft, hard; /* RLIM_INFINITY for "unlimited" */
};

/* One deny rule of the seccomp filter. */
struct hearth_seccomp_rule {
	const char *name;
	int nr;       /* syscall number on this architecture; -2: none here (skipped) */
	int kill;     /* 1: SECCOMP_RET_KILL_PROCESS instead of an errno */
	int err;      /* errno returned when !kill */
	int arg;      /* -1: unconditional; else only when (args[arg] & mask) != 0 */
	uint32_t mask;
};

struct hearth_plan {
	int status_fd;  /* one JSON line on failure; O_CLOEXEC, so it closes at exec */
	int timings_fd; /* -1, or one JSON line of step timings right before exec/return */
	int keep_fds[HEARTH_MAX_FDS];
	size_t n_keep_fds;

	const char *hostname;
	const char *netns; /* NULL: a new, empty network namespace */

	const char *cgroup_procs[HEARTH_MAX_CGROUPS]; /* cgroup.procs files (v1 and/or v2) */
	size_t n_cgroup_procs;
	const char *cgroup2_dir; /* NULL, or the v2 leaf for clone3(CLONE_INTO_CGROUP) */

	unsigned long uid_base, gid_base, id_count; /* inside 0..count-1 -> host base.. */
	unsigned long uid, gid;                      /* identity inside the user namespace */

	const char *rootfs; /* empty host directory the new root tmpfs is mounted on */
	unsigned long long root_size;
	struct hearth_bind binds[HEARTH_MAX_BINDS]; /* read-only base */
	size_t n_binds;
	struct hearth_link links[HEARTH_MAX_LINKS];
	size_t n_links;
	struct hearth_file files[HEARTH_MAX_FILES];
	size_t n_files;
	struct hearth_bind code;    /* required: the function's code, read-only */
	struct hearth_bind runtime; /* optional: the runtime bootstrap, read-only */
	const char *tmp_dir;        /* NULL: fresh tmpfs of tmp_size; else bind this host dir rw */
	unsigned long long tmp_size;
	unsigned long long dev_shm_size;
	const char *devices[HEARTH_MAX_DEVICES]; /* names under /dev, bind-mounted from the host */
	size_t n_devices;
	const char *masked[HEARTH_MAX_PATHS]; /* hidden (file: /dev/null over it, dir: empty tmpfs) */
	size_t n_masked;
	const char *readonly[HEARTH_MAX_PATHS]; /* bind-mounted read-only over themselves */
	size_t n_readonly;

	struct hearth_rlimit rlimits[HEARTH_MAX_RLIMITS];
	size_t n_rlimits;
	const char *cwd;
	struct hearth_seccomp_rule seccomp[HEARTH_MAX_SECCOMP];
	size_t n_seccomp;

	/*
	 * Template mode (the fork path): the sandboxed process runs as plan->uid like
	 * any instance but keeps HEARTH_TEMPLATE_CAPS permitted (over namespaces it
	 * creates itself: the sandbox's own were created before the user namespace and
	 * stay the host's), so that each instance it forks can get its own mount and
	 * pid namespace and then drop them all (instance.c).
	 */
	int template_caps;

	char *const *argv; /* the command to exec; NULL: return to the caller instead */
};

/*
 * What a template keeps (permitted, not effective): what an instance needs to bring
 * up lo in its own network namespace, mount its private /tmp (an overlay works on its layers with the mounter's credentials:
 * DAC_OVERRIDE, CHOWN, FOWNER for copy-up) and /proc, set its groups, and empty its
 * bounding set. In a user namespace created after every other namespace, they reach
 * only namespaces the template creates and inodes owned by the sandbox's own ids.
 */
#define HEARTH_TEMPLATE_CAPS                                                                          \
	((1ULL << 0) /* CAP_CHOWN */ | (1ULL << 1) /* CAP_DAC_OVERRIDE */ | (1ULL << 3) /* CAP_FOWNER */ | \
	 (1ULL << 6) /* CAP_SETGID */ | (1ULL << 7) /* CAP_SETUID */ | (1ULL << 8) /* CAP_SETPCAP */ |     \
	 (1ULL << 12) /* CAP_NET_ADMIN */ | (1ULL << 21) /* CAP_SYS_ADMIN */)

/*
 * How the caller creates the sandbox's first process. The helper executable uses
 * clone3(CLONE_INTO_CGROUP); the Node addon uses fork() + uv_loop_fork() because
 * the child keeps running the same Node process and needs glibc's and libuv's
 * fork handlers. Returns the pid in the parent, 0 in the child, -1 with errno.
 * *joined_cgroup2 is set to 1 when the child was created inside cgroup2_fd.
 */
struct hearth_enter_hooks {
	pid_t (*spawn)(void *ctx, int cgroup2_fd, int *joined_cgroup2);
	void *ctx;
};

/*
 * Runs the sequence. In the caller: never returns (it becomes the supervisor of
 * the sandboxed child and exits with its status). In the child: execs
 * plan->argv, or returns 0 when plan->argv is NULL. Every failure writes one
 * JSON line to plan->status_fd and exits with status 127.
 */
int hearth_enter_sandbox(const struct hearth_plan *plan, const struct hearth_enter_hooks *hooks);

/* plan.c: parses argv (modifying it in place). Returns 0, or -1 with a message in err. */
int hearth_plan_parse(struct hearth_plan *plan, int argc, char **argv, char *err, size_t errlen);

/*
 * instance.c: the instance half of the fork path, run by a template's child.
 *
 * hearth_clone_instance(): fork() into a new mount and pid namespace (raw clone:
 * the caller runs its runtime's own before/after-fork hooks around it).
 *
 * hearth_instance_enter(): in that child, with argv-style options
 *   --uid N --gid N --tmp-size BYTES --seccomp RULE...
 * mounts a fresh /tmp and a pid-only /proc, drops every capability and the
 * bounding set, switches to uid/gid, re-arms PR_SET_PDEATHSIG and installs the
 * full seccomp filter. Returns 0, or -1 with "step: reason" in err.
 */
pid_t hearth_clone_instance(void);
/* enter.c: where a template's sandbox has its pid-only procfs (see mount_visible_proc). */
#define HEARTH_VISIBLE_PROC "/.hearth/proc"
/* enter.c: hide a path (or make it read-only); missing paths are skipped. */
int hearth_mask_path(const char *path, int read_only);
/* enter.c: lo up in the current network namespace. */
int hearth_loopback_up(void);
/* A template's capabilities made effective (1) or not (0) — they stay permitted. */
int hearth_set_effective_caps(int raise);
int hearth_instance_enter(int argc, char **argv, char *err, size_t errlen);

/* seccomp.c */
int hearth_seccomp_parse_rule(struct hearth_seccomp_rule *rule, char *spec, char *err, size_t errlen);
int hearth_seccomp_install(const struct hearth_seccomp_rule *rules, size_t n);

/* enter.c: one JSON line {"step","errno","message"} on fd (stderr when fd < 0 or the write fails). */
void hearth_report(int fd, const char *step, int err, const char *message);

/* enter.c: the errno name ("EPERM"), or NULL when unknown. */
const char *hearth_errno_name(int err);

#endif
