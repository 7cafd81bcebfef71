/*
 * Parses the plan (src/sandbox/enter.ts: planToArgs) from an argv-style list.
 * Paired values are "A:B" split at the first ':' (the TypeScript side refuses
 * paths containing ':'). Strings are split in place; nothing is allocated.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "enter.h"

enum {
	OPT_STATUS_FD = 1, OPT_TIMINGS_FD, OPT_KEEP_FD, OPT_HOSTNAME, OPT_NETNS,
	OPT_CGROUP_PROCS, OPT_CGROUP2_DIR, OPT_UID_BASE, OPT_GID_BASE, OPT_ID_COUNT,
	OPT_UID, OPT_GID, OPT_ROOTFS, OPT_ROOT_SIZE, OPT_RO_BIND, OPT_SYMLINK,
	OPT_FILE, OPT_CODE, OPT_RUNTIME, OPT_TMP_DIR, OPT_TMP_SIZE, OPT_DEV_SHM_SIZE,
	OPT_DEVICE, OPT_MASK, OPT_READ_ONLY, OPT_RLIMIT, OPT_CWD, OPT_SECCOMP, OPT_TEMPLATE_CAPS,
};

static const struct option options[] = {
	{ "status-fd", required_argument, NULL, OPT_STATUS_FD },
	{ "timings-fd", required_argument, NULL, OPT_TIMINGS_FD },
	{ "keep-fd", required_argument, NULL, OPT_KEEP_FD },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "cgroup-procs", required_argument, NULL, OPT_CGROUP_PROCS },
	{ "cgroup2-dir", required_argument, NULL, OPT_CGROUP2_DIR },
	{ "uid-base", required_argument, NULL, OPT_UID_BASE },
	{ "gid-base", required_argument, NULL, OPT_GID_BASE },
	{ "id-count", required_argument, NULL, OPT_ID_COUNT },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "gid", required_argument, NULL, OPT_GID },
	{ "rootfs", required_argument, NULL, OPT_ROOTFS },
	{ "root-size", required_argument, NULL, OPT_ROOT_SIZE },
	{ "ro-bind", required_argument, NULL, OPT_RO_BIND },
	{ "symlink", required_argument, NULL, OPT_SYMLINK },
	{ "file", required_argument, NULL, OPT_FILE },
	{ "code", required_argument, NULL, OPT_CODE },
	{ "runtime", required_argument, NULL, OPT_RUNTIME },
	{ "tmp-dir", required_argument, NULL, OPT_TMP_DIR },
	{ "tmp-size", required_argument, NULL, OPT_TMP_SIZE },
	{ "dev-shm-size", required_argument, NULL, OPT_DEV_SHM_SIZE },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "mask", required_argument, NULL, OPT_MASK },
	{ "read-only", required_argument, NULL, OPT_READ_ONLY },
	{ "rlimit", required_argument, NULL, OPT_RLIMIT },
	{ "cwd", required_argument, NULL, OPT_CWD },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "template-caps", no_argument, NULL, OPT_TEMPLATE_CAPS },
	{ NULL, 0, NULL, 0 },
};

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "as", RLIMIT_AS }, { "core", RLIMIT_CORE }, { "cpu", RLIMIT_CPU },
	{ "data", RLIMIT_DATA }, { "fsize", RLIMIT_FSIZE }, { "locks", RLIMIT_LOCKS },
	{ "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
	{ "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC }, { "rss", RLIMIT_RSS },
	{ "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },
	{ "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = EINVAL;
	return -1;
}

static int parse_ull(const char *s, unsigned long long *out)
{
	char *end;

	if (*s == '\0' || *s == '-')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static int parse_ul(const char *s, unsigned long *out)
{
	unsigned long long v;

	if (parse_ull(s, &v) < 0 || v > 0xffffffffULL)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

static int parse_fd(const char *s, int *out)
{
	unsigned long v;

	if (parse_ul(s, &v) < 0 || v > 1048576)
		return -1;
	*out = (int)v;
	return 0;
}

/* An absolute path without "." or ".." components. */
static int sane_path(const char *p)
{
	const char *c = p;

	if (p == NULL || p[0] != '/')
		return 0;
	while (*c) {
		while (*c == '/')
			c++;
		const char *end = strchrnul(c, '/');
		size_t len = (size_t)(end - c);
		if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		c = end;
	}
	return 1;
}

/* Splits "a:b" at the first ':' into *a and *b. */
static int split_pair(char *s, const char **a, const char **b)
{
	char *colon = strchr(s, ':');

	if (colon == NULL)
		return -1;
	*colon = '\0';
	*a = s;
	*b = colon + 1;
	return 0;
}

static int parse_rlimit(struct hearth_rlimit *r, char *spec)
{
	char *eq = strchr(spec, '='), *colon;
	unsigned long long soft, hard;
	size_t i;

	if (eq == NULL)
		return -1;
	*eq = '\0';
	colon = strchr(eq + 1, ':');
	if (colon == NULL)
		return -1;
	*colon = '\0';
	if (strcmp(eq + 1, "unlimited") == 0)
		soft = RLIM_INFINITY;
	else if (parse_ull(eq + 1, &soft) < 0)
		return -1;
	if (strcmp(colon + 1, "unlimited") == 0)
		hard = RLIM_INFINITY;
	else if (parse_ull(colon + 1, &hard) < 0)
		return -1;
	if (soft > hard)
		return -1;
	for (i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++) {
		if (strcmp(rlimit_names[i].name, spec) == 0) {
			r->resource = rlimit_names[i].resource;
			r->soft = soft;
			r->hard = hard;
			return 0;
		}
	}
	return -1;
}

#define PUSH(array, count, max, value, what)                                             \
	do {                                                                             \
		if ((count) >= (max))                                                    \
			return fail(err, errlen, "too many %s (at most %d)", what, max); \
		(array)[(count)++] = (value);                                            \
	} while (0)

int hearth_plan_parse(struct hearth_plan *plan, int argc, char **argv, char *err, size_t errlen)
{
	int opt;

	memset(plan, 0, sizeof(*plan));
	plan->status_fd = -1;
	plan->timings_fd = -1;
	plan->hostname = "hearth";
	plan->id_count = 65536;
	plan->uid = 1000;
	plan->gid = 1000;
	plan->root_size = 1 << 20;
	plan->tmp_size = 64ULL << 20;
	plan->dev_shm_size = 16ULL << 20;
	plan->cwd = "/";
	plan->uid_base = (unsigned long)-1;
	plan->gid_base = (unsigned long)-1;

	optind = 0; /* full re-initialisation: the addon may parse more than one plan */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+", options, NULL)) != -1) {
		char *v = optarg;
		const char *a, *b;
		int fd;

		switch (opt) {
		case OPT_STATUS_FD:
			if (parse_fd(v, &plan->status_fd) < 0)
				return fail(err, errlen, "--status-fd: not an fd: %s", v);
			break;
		case OPT_TIMINGS_FD:
			if (parse_fd(v, &plan->timings_fd) < 0)
				return fail(err, errlen, "--timings-fd: not an fd: %s", v);
			break;
		case OPT_KEEP_FD:
			if (parse_fd(v, &fd) < 0)
				return fail(err, errlen, "--keep-fd: not an fd: %s", v);
			PUSH(plan->keep_fds, plan->n_keep_fds, HEARTH_MAX_FDS, fd, "--keep-fd");
			break;
		case OPT_HOSTNAME:
			if (strlen(v) == 0 || strlen(v) > 64)
				return fail(err, errlen, "--hostname: 1 to 64 characters");
			plan->hostname = v;
			break;
		case OPT_NETNS:
			if (!sane_path(v))
				return fail(err, errlen, "--netns: not an absolute path: %s", v);
			plan->netns = v;
			break;
		case OPT_CGROUP_PROCS:
			if (!sane_path(v))
				return fail(err, errlen, "--cgroup-procs: not an absolute path: %s", v);
			PUSH(plan->cgroup_procs, plan->n_cgroup_procs, HEARTH_MAX_CGROUPS, v, "--cgroup-procs");
			break;
		case OPT_CGROUP2_DIR:
			if (!sane_path(v))
				return fail(err, errlen, "--cgroup2-dir: not an absolute path: %s", v);
			plan->cgroup2_dir = v;
			break;
		case OPT_UID_BASE:
			if (parse_ul(v, &plan->uid_base) < 0)
				return fail(err, errlen, "--uid-base: not a number: %s", v);
			break;
		case OPT_GID_BASE:
			if (parse_ul(v, &plan->gid_base) < 0)
				return fail(err, errlen, "--gid-base: not a number: %s", v);
			break;
		case OPT_ID_COUNT:
			if (parse_ul(v, &plan->id_count) < 0 || plan->id_count == 0)
				return fail(err, errlen, "--id-count: not a positive number: %s", v);
			break;
		case OPT_UID:
			if (parse_ul(v, &plan->uid) < 0)
				return fail(err, errlen, "--uid: not a number: %s", v);
			break;
		case OPT_GID:
			if (parse_ul(v, &plan->gid) < 0)
				return fail(err, errlen, "--gid: not a number: %s", v);
			break;
		case OPT_ROOTFS:
			if (!sane_path(v) || strcmp(v, "/") == 0)
				return fail(err, errlen, "--rootfs: not an absolute path below /: %s", v);
			plan->rootfs = v;
			break;
		case OPT_ROOT_SIZE:
			if (parse_ull(v, &plan->root_size) < 0 || plan->root_size == 0)
				return fail(err, errlen, "--root-size: not a positive number: %s", v);
			break;
		case OPT_RO_BIND: {
			struct hearth_bind bind;
			if (split_pair(v, &bind.source, &bind.target) < 0 || !sane_path(bind.source) || !sane_path(bind.target))
				return fail(err, errlen, "--ro-bind: expected SOURCE:TARGET, absolute paths");
			PUSH(plan->binds, plan->n_binds, HEARTH_MAX_BINDS, bind, "--ro-bind");
			break;
		}
		case OPT_SYMLINK: {
			struct hearth_link link;
			if (split_pair(v, &link.target, &link.path) < 0 || link.target[0] == '\0' || !sane_path(link.path))
				return fail(err, errlen, "--symlink: expected TARGET:PATH, PATH absolute");
			PUSH(plan->links, plan->n_links, HEARTH_MAX_LINKS, link, "--symlink");
			break;
		}
		case OPT_FILE: {
			struct hearth_file file;
			if (split_pair(v, &file.path, &file.content) < 0 || !sane_path(file.path))
				return fail(err, errlen, "--file: expected PATH:CONTENT, PATH absolute");
			PUSH(plan->files, plan->n_files, HEARTH_MAX_FILES, file, "--file");
			break;
		}
		case OPT_CODE:
			if (split_pair(v, &a, &b) < 0 || !sane_path(a) || !sane_path(b))
				return fail(err, errlen, "--code: expected SOURCE:TARGET, absolute paths");
			plan->code.source = a;
			plan->code.target = b;
			break;
		case OPT_RUNTIME:
			if (split_pair(v, &a, &b) < 0 || !sane_path(a) || !sane_path(b))
				return fail(err, errlen, "--runtime: expected SOURCE:TARGET, absolute paths");
			plan->runtime.source = a;
			plan->runtime.target = b;
			break;
		case OPT_TMP_DIR:
			if (!sane_path(v))
				return fail(err, errlen, "--tmp-dir: not an absolute path: %s", v);
			plan->tmp_dir = v;
			break;
		case OPT_TMP_SIZE:
			if (parse_ull(v, &plan->tmp_size) < 0 || plan->tmp_size == 0)
				return fail(err, errlen, "--tmp-size: not a positive number: %s", v);
			break;
		case OPT_DEV_SHM_SIZE:
			if (parse_ull(v, &plan->dev_shm_size) < 0 || plan->dev_shm_size == 0)
				return fail(err, errlen, "--dev-shm-size: not a positive number: %s", v);
			break;
		case OPT_DEVICE:
			if (v[0] == '\0' || strchr(v, '/') != NULL || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
				return fail(err, errlen, "--device: a name under /dev: %s", v);
			PUSH(plan->devices, plan->n_devices, HEARTH_MAX_DEVICES, v, "--device");
			break;
		case OPT_MASK:
			if (!sane_path(v))
				return fail(err, errlen, "--mask: not an absolute path: %s", v);
			PUSH(plan->masked, plan->n_masked, HEARTH_MAX_PATHS, v, "--mask");
			break;
		case OPT_READ_ONLY:
			if (!sane_path(v))
				return fail(err, errlen, "--read-only: not an absolute path: %s", v);
			PUSH(plan->readonly, plan->n_readonly, HEARTH_MAX_PATHS, v, "--read-only");
			break;
		case OPT_RLIMIT: {
			struct hearth_rlimit r;
			if (parse_rlimit(&r, v) < 0)
				return fail(err, errlen, "--rlimit: expected NAME=SOFT:HARD with a known name and SOFT <= HARD");
			PUSH(plan->rlimits, plan->n_rlimits, HEARTH_MAX_RLIMITS, r, "--rlimit");
			break;
		}
		case OPT_CWD:
			if (!sane_path(v))
				return fail(err, errlen, "--cwd: not an absolute path: %s", v);
			plan->cwd = v;
			break;
		case OPT_SECCOMP: {
			struct hearth_seccomp_rule rule;
			if (hearth_seccomp_parse_rule(&rule, v, err, errlen) < 0)
				return -1;
			PUSH(plan->seccomp, plan->n_seccomp, HEARTH_MAX_SECCOMP, rule, "--seccomp rules");
			break;
		}
		case OPT_TEMPLATE_CAPS:
			plan->template_caps = 1;
			break;
		case '?':
		default:
			return fail(err, errlen, "unknown or incomplete option: %s", argv[optind - 1]);
		}
	}

	if (plan->status_fd < 0)
		return fail(err, errlen, "--status-fd is required");
	if (plan->uid_base == (unsigned long)-1 || plan->gid_base == (unsigned long)-1)
		return fail(err, errlen, "--uid-base and --gid-base are required");
	if (plan->uid_base == 0 || plan->gid_base == 0)
		return fail(err, errlen, "--uid-base/--gid-base 0 would map the host's root into the sandbox");
	if (plan->uid >= plan->id_count || plan->gid >= plan->id_count)
		return fail(err, errlen, "--uid/--gid must lie inside the mapped range (--id-count)");
	if (plan->rootfs == NULL)
		return fail(err, errlen, "--rootfs is required");
	if (plan->code.source == NULL)
		return fail(err, errlen, "--code is required");
	if (plan->n_seccomp == 0)
		return fail(err, errlen, "at least one --seccomp rule is required");

	if (plan->template_caps && (plan->uid == 0 || plan->gid == 0))
		return fail(err, errlen, "--template-caps: the template runs as the function's uid/gid, not 0");

	if (optind < argc) {
		if (plan->template_caps)
			return fail(err, errlen, "--template-caps is for a caller that goes on running, not for a command");
		if (strcmp(argv[optind - 1], "--") != 0)
			return fail(err, errlen, "expected -- before the command: %s", argv[optind]);
		if (argv[optind][0] != '/')
			return fail(err, errlen, "the command must be an absolute path: %s", argv[optind]);
		plan->argv = &argv[optind];
	}
	return 0;
}
