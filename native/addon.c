/*
 * hearth_native: the syscalls Node.js lacks, and nothing else. Every failure is
 * thrown as an Error with code = errno name ('EPERM'), errno (negative, as in
 * Node's own errors), syscall and, where there is one, path.
 * The typed interface is src/sandbox/native.ts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include <node_api.h>
#include <uv.h>

#include "enter.h"

#define MAX_SEND_FDS 64

/* ---- errors and arguments ------------------------------------------------------ */

static napi_value throw_errno(napi_env env, int err, const char *syscall_name, const char *path)
{
	const char *code = hearth_errno_name(err) ? hearth_errno_name(err) : "EUNKNOWN";
	const char *desc = strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error";
	char message[1200];
	napi_value e_code, e_message, error, value;

	if (path != NULL)
		snprintf(message, sizeof(message), "%s: %s, %s '%s'", code, desc, syscall_name, path);
	else
		snprintf(message, sizeof(message), "%s: %s, %s", code, desc, syscall_name);
	if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &e_code) != napi_ok ||
	    napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &e_message) != napi_ok ||
	    napi_create_error(env, e_code, e_message, &error) != napi_ok)
		return NULL;
	if (napi_create_int32(env, -err, &value) == napi_ok)
		napi_set_named_property(env, error, "errno", value);
	if (napi_create_string_utf8(env, syscall_name, NAPI_AUTO_LENGTH, &value) == napi_ok)
		napi_set_named_property(env, error, "syscall", value);
	if (path != NULL && napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &value) == napi_ok)
		napi_set_named_property(env, error, "path", value);
	napi_throw(env, error);
	return NULL;
}

static napi_value throw_arg(napi_env env, const char *message)
{
	napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
	return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
	size_t argc = want;
	size_t i;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return -1;
	for (i = argc; i < want; i++)
		napi_get_undefined(env, &argv[i]);
	return 0;
}

static int is_nullish(napi_env env, napi_value v)
{
	napi_valuetype t;

	return napi_typeof(env, v, &t) != napi_ok || t == napi_undefined || t == napi_null;
}

static int get_int(napi_env env, napi_value v, int64_t min, int64_t max, int64_t *out)
{
	napi_valuetype t;
	double d;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok)
		return -1;
	if (d != (double)(int64_t)d || d < (double)min || d > (double)max)
		return -1;
	*out = (int64_t)d;
	return 0;
}

/* A malloc'd copy of a JS string, or NULL (then a JS exception is pending or v was nullish). */
static char *get_string(napi_env env, napi_value v)
{
	size_t len;
	char *s;

	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
		return NULL;
	s = malloc(len + 1);
	if (s == NULL)
		return NULL;
	if (napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) {
		free(s);
		return NULL;
	}
	return s;
}

static void free_argv(char **args)
{
	char **a;

	for (a = args + 1; *a != NULL; a++)
		free(*a);
	free(args);
}

/*
 * A JavaScript array of strings as a NULL-terminated argv whose argv[0] is `name`
 * (getopt skips it), for the C option parsers. NULL, with an error thrown, when it
 * is not one. Free it with free_argv().
 */
static char **get_argv(napi_env env, napi_value array, const char *name, int *argc)
{
	char usage[96], **args;
	uint32_t n, i;
	bool is_array;

	snprintf(usage, sizeof(usage), "%s(args): an array of strings", name);
	if (napi_is_array(env, array, &is_array) != napi_ok || !is_array || napi_get_array_length(env, array, &n) != napi_ok || n > 4096) {
		throw_arg(env, usage);
		return NULL;
	}
	args = calloc((size_t)n + 2, sizeof(char *));
	if (args == NULL) {
		throw_errno(env, ENOMEM, name, NULL);
		return NULL;
	}
	args[0] = (char *)name;
	for (i = 0; i < n; i++) {
		napi_value v;
		if (napi_get_element(env, array, i, &v) != napi_ok || (args[i + 1] = get_string(env, v)) == NULL) {
			free_argv(args);
			throw_arg(env, usage);
			return NULL;
		}
	}
	*argc = (int)n + 1;
	return args;
}

static napi_value undefined(napi_env env)
{
	napi_value u;

	napi_get_undefined(env, &u);
	return u;
}

static napi_value number(napi_env env, double d)
{
	napi_value v;

	napi_create_double(env, d, &v);
	return v;
}

#define ARGS(n)                                          \
	napi_value argv[(n) > 0 ? (n) : 1];              \
	if (get_args(env, info, (n), argv) < 0)          \
		return NULL

#define INT_ARG(i, name, min, max)                                            \
	int64_t name;                                                         \
	if (get_int(env, argv[i], (min), (max), &name) < 0)                   \
		return throw_arg(env, #name " must be an integer in range")

/* ---- fork ------------------------------------------------------------------- */

/*
 * V8 marks parts of its heap MADV_DONTFORK; a child without them crashes on the
 * first GC. Every mapping is marked MADV_DOFORK again. EINVAL (VM_IO/PFNMAP and
 * gate mappings, which cannot change) and ENOMEM (unmapped meanwhile by another
 * thread) are expected; anything else fails the fork.
 */
static int madvise_dofork_all(void)
{
	char buf[8192];
	size_t have = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - have - 1);
		char *line, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		line = buf;
		while ((nl = memchr(line, '\n', (size_t)(buf + have - line))) != NULL) {
			unsigned long start, end;
			*nl = '\0';
			if (sscanf(line, "%lx-%lx", &start, &end) == 2 && end > start &&
			    madvise((void *)start, end - start, MADV_DOFORK) < 0 && errno != EINVAL && errno != ENOMEM) {
				int err = errno;
				close(fd);
				errno = err;
				return -1;
			}
			line = nl + 1;
		}
		have = (size_t)(buf + have - line);
		memmove(buf, line, have);
	}
	return close(fd);
}

/* fork() (glibc: runs the fork handlers libuv and OpenSSL registered) + uv_loop_fork. */
static pid_t fork_node(uv_loop_t *loop)
{
	pid_t pid;
	int r;

	if (madvise_dofork_all() < 0)
		return -1;
	pid = fork();
	if (pid != 0)
		return pid;
	r = uv_loop_fork(loop);
	if (r != 0) {
		/* The child's event loop is unusable: no JavaScript may run in it. */
		static const char msg[] = "hearth: uv_loop_fork failed in a forked child\n";
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		_exit(127);
	}
	return 0;
}

static napi_value js_fork_process(napi_env env, napi_callback_info info)
{
	uv_loop_t *loop;
	pid_t pid;

	(void)info;
	if (napi_get_uv_event_loop(env, &loop) != napi_ok)
		return NULL;
	pid = fork_node(loop);
	if (pid < 0)
		return throw_errno(env, errno, "fork", NULL);
	return number(env, pid);
}

/* ---- sandboxed Node templates (fork path; native/instance.c) ------------------- */

/* The template's own pid namespace (nestTemplatePidns), to return to after each instance's fork. */
static int template_pidns_fd = -1;

static void die_in_child(const char *msg)
{
	(void)!write(STDERR_FILENO, msg, strlen(msg));
	_exit(127);
}

/*
 * nestTemplatePidns(): in a sandboxed template (pid 1 of the sandbox's pid namespace,
 * template capabilities permitted). glibc's fork() cannot create a pid namespace, and a
 * raw clone would skip the fork handlers a Node child needs; instead each instance is
 * forked after unshare(CLONE_NEWPID) and the template returns with setns() to its own
 * pid namespace, which must then be owned by its user namespace. So: unshare a pid
 * namespace and fork; this process stays as the sandbox's pid 1 (it reaps, and exits
 * with the template's status); the new namespace's pid 1 forks the template (pid 2).
 */
/*
 * Capabilities effective, unshare(CLONE_NEWPID), fork(): the child is pid 1 of a new
 * pid namespace. Both sides return with the capabilities still effective (the caller
 * lowers or drops them); on failure they are lowered and -1 is returned with errno.
 */
static pid_t fork_into_new_pidns(uv_loop_t *loop)
{
	pid_t pid = -1;
	int err;

	if (hearth_set_effective_caps(1) < 0)
		return -1;
	if (unshare(CLONE_NEWPID) == 0)
		pid = fork_node(loop);
	if (pid < 0) {
		err = errno;
		hearth_set_effective_caps(0);
		errno = err;
	}
	return pid;
}

/* A pid namespace's init that only waits for `child` (no JavaScript, no fds), then exits like it. */
static void wait_as_init(pid_t child) __attribute__((noreturn));
static void wait_as_init(pid_t child)
{
	int status = 0;

	syscall(SYS_close_range, 0U, ~0U, 0U);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	for (;;) {
		pid_t r = waitpid(-1, &status, 0);
		if (r == child)
			break;
		if (r < 0 && errno != EINTR)
			_exit(127);
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static napi_value js_nest_template_pidns(napi_env env, napi_callback_info info)
{
	uv_loop_t *loop;
	pid_t pid;

	(void)info;
	if (template_pidns_fd >= 0)
		return throw_arg(env, "nestTemplatePidns: already nested");
	if (napi_get_uv_event_loop(env, &loop) != napi_ok)
		return NULL;
	pid = fork_into_new_pidns(loop);
	if (pid < 0)
		return throw_errno(env, errno, "unshare(CLONE_NEWPID)+fork", NULL);
	if (pid > 0)
		wait_as_init(pid); /* the sandbox's pid 1 */
	/*
	 * pid 1 of the new namespace forks once more and waits too: the template must not
	 * be pid 1 there, because each instance is pid 1 of its own namespace, and OpenSSL
	 * (Node's crypto) notices a fork only by a change of getpid(). With equal pids every
	 * instance would continue its template's random generator: the same bytes in each.
	 */
	pid = fork_node(loop);
	if (pid < 0)
		die_in_child("hearth: the template could not fork inside its pid namespace\n");
	if (pid > 0)
		wait_as_init(pid);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getpid() == 1 ||
	    (template_pidns_fd = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)) < 0 || hearth_set_effective_caps(0) < 0)
		die_in_child("hearth: the template could not set up its pid namespace\n");
	return undefined(env);
}

/*
 * forkInstance(): in a nested template: fork one instance into a new pid namespace
 * (pid 1 there) and new mount and network namespaces. The template's capabilities are effective
 * only around the fork. Returns the pid (the template's view) in the template, 0 in
 * the instance, which must call instanceEnter(args) before running anything else.
 */
static napi_value js_fork_instance(napi_env env, napi_callback_info info)
{
	uv_loop_t *loop;
	pid_t pid;

	(void)info;
	if (template_pidns_fd < 0)
		return throw_arg(env, "forkInstance: not a sandboxed template (nestTemplatePidns first)");
	if (napi_get_uv_event_loop(env, &loop) != napi_ok)
		return NULL;
	pid = fork_into_new_pidns(loop);
	if (pid < 0)
		return throw_errno(env, errno, "unshare(CLONE_NEWPID)+fork", NULL);
	if (pid == 0) {
		close(template_pidns_fd);
		template_pidns_fd = -1;
		if (unshare(CLONE_NEWNS | CLONE_NEWNET) < 0)
			die_in_child("hearth: the instance could not unshare its mount and network namespaces\n");
		return number(env, 0);
	}
	/* A template must not go on with effective capabilities or a foreign pid namespace for children. */
	if (setns(template_pidns_fd, CLONE_NEWPID) < 0 || hearth_set_effective_caps(0) < 0)
		die_in_child("hearth: the template could not return to its pid namespace\n");
	return number(env, pid);
}

/* instanceEnter(args): native/instance.c, in a forked instance before any of its code runs. */
static napi_value js_instance_enter(napi_env env, napi_callback_info info)
{
	char **args, err[512];
	int argc, r;

	ARGS(1);
	if ((args = get_argv(env, argv[0], "instanceEnter", &argc)) == NULL)
		return NULL;
	r = hearth_instance_enter(argc, args, err, sizeof(err));
	free_argv(args);
	if (r < 0)
		return throw_arg(env, err);
	return undefined(env);
}

static napi_value js_waitpid(napi_env env, napi_callback_info info)
{
	napi_value result, value;
	bool nohang = false;
	int status;
	pid_t r;

	ARGS(2);
	INT_ARG(0, pid, -1, 0x7fffffff);
	if (!is_nullish(env, argv[1]) && napi_get_value_bool(env, argv[1], &nohang) != napi_ok)
		return throw_arg(env, "nohang must be a boolean");
	do
		r = waitpid((pid_t)pid, &status, nohang ? WNOHANG : 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return throw_errno(env, errno, "waitpid", NULL);
	if (r == 0) {
		napi_get_null(env, &result);
		return result;
	}
	napi_create_object(env, &result);
	napi_set_named_property(env, result, "pid", number(env, r));
	if (WIFEXITED(status)) {
		napi_set_named_property(env, result, "code", number(env, WEXITSTATUS(status)));
		napi_get_null(env, &value);
		napi_set_named_property(env, result, "signal", value);
	} else {
		char name[32];
		const char *abbrev = sigabbrev_np(WTERMSIG(status));
		snprintf(name, sizeof(name), "SIG%s", abbrev ? abbrev : "UNKNOWN");
		napi_get_null(env, &value);
		napi_set_named_property(env, result, "code", value);
		napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &value);
		napi_set_named_property(env, result, "signal", value);
	}
	return result;
}

/* Node caches process.pid at startup: after forkProcess() it is the parent's. */
static napi_value js_getpid(napi_env env, napi_callback_info info)
{
	(void)info;
	return number(env, getpid());
}

/* _exit: a forked child must not run the parent's exit handlers (test runners, temp-dir cleanup). */
static napi_value js_exit(napi_env env, napi_callback_info info)
{
	ARGS(1);
	INT_ARG(0, code, 0, 255);
	_exit((int)code);
}

/* ---- namespaces and mounts -------------------------------------------------- */

static napi_value js_unshare(napi_env env, napi_callback_info info)
{
	ARGS(1);
	INT_ARG(0, flags, 0, 0x7fffffff);
	if (unshare((int)flags) < 0)
		return throw_errno(env, errno, "unshare", NULL);
	return undefined(env);
}

static napi_value js_setns(napi_env env, napi_callback_info info)
{
	ARGS(2);
	INT_ARG(0, fd, 0, 0x7fffffff);
	INT_ARG(1, nstype, 0, 0x7fffffff);
	if (setns((int)fd, (int)nstype) < 0)
		return throw_errno(env, errno, "setns", NULL);
	return undefined(env);
}

static napi_value js_mount(napi_env env, napi_callback_info info)
{
	char *source = NULL, *target = NULL, *fstype = NULL, *data = NULL;
	napi_value result = NULL;
	int err = 0;

	ARGS(5);
	INT_ARG(3, flags, 0, 0xffffffffLL);
	if ((!is_nullish(env, argv[0]) && (source = get_string(env, argv[0])) == NULL) ||
	    (target = get_string(env, argv[1])) == NULL ||
	    (!is_nullish(env, argv[2]) && (fstype = get_string(env, argv[2])) == NULL) ||
	    (!is_nullish(env, argv[4]) && (data = get_string(env, argv[4])) == NULL)) {
		throw_arg(env, "mount(source|null, target, fstype|null, flags, data|null): strings expected");
		goto out;
	}
	if (mount(source, target, fstype, (unsigned long)flags, data) < 0) {
		err = errno;
		throw_errno(env, err, "mount", target);
		goto out;
	}
	result = undefined(env);
out:
	free(source);
	free(target);
	free(fstype);
	free(data);
	return result;
}

static napi_value js_umount2(napi_env env, napi_callback_info info)
{
	napi_value result = NULL;
	char *target;

	ARGS(2);
	INT_ARG(1, flags, 0, 0x7fffffff);
	if ((target = get_string(env, argv[0])) == NULL)
		return throw_arg(env, "target must be a string");
	if (umount2(target, (int)flags) < 0)
		throw_errno(env, errno, "umount2", target);
	else
		result = undefined(env);
	free(target);
	return result;
}

static napi_value js_pivot_root(napi_env env, napi_callback_info info)
{
	napi_value result = NULL;
	char *new_root, *put_old = NULL;

	ARGS(2);
	if ((new_root = get_string(env, argv[0])) == NULL || (put_old = get_string(env, argv[1])) == NULL) {
		free(new_root);
		return throw_arg(env, "pivotRoot(newRoot, putOld): strings expected");
	}
	if (syscall(SYS_pivot_root, new_root, put_old) < 0)
		throw_errno(env, errno, "pivot_root", new_root);
	else
		result = undefined(env);
	free(new_root);
	free(put_old);
	return result;
}

/* ---- privileges --------------------------------------------------------------- */

static napi_value js_set_no_new_privs(napi_env env, napi_callback_info info)
{
	(void)info;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return throw_errno(env, errno, "prctl", NULL);
	return undefined(env);
}

static napi_value js_set_pdeathsig(napi_env env, napi_callback_info info)
{
	ARGS(1);
	INT_ARG(0, sig, 0, 64);
	if (prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0) < 0)
		return throw_errno(env, errno, "prctl", NULL);
	return undefined(env);
}

/*
 * Two phases, as in the sequence: the bounding set can only be emptied while
 * CAP_SETPCAP is held, and set*id needs CAP_SETUID/CAP_SETGID; so: drop the
 * bounding, ambient and inheritable sets, switch ids, then clear the rest.
 */
static napi_value js_drop_bounding_capabilities(napi_env env, napi_callback_info info)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	int cap;

	(void)info;
	for (cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			return throw_errno(env, errno, "prctl", NULL);
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return throw_errno(env, errno, "prctl", NULL);
	if (syscall(SYS_capget, &hdr, data) < 0)
		return throw_errno(env, errno, "capget", NULL);
	data[0].inheritable = data[1].inheritable = 0;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return throw_errno(env, errno, "capset", NULL);
	return undefined(env);
}

static napi_value js_clear_capabilities(napi_env env, napi_callback_info info)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	(void)info;
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return throw_errno(env, errno, "capset", NULL);
	return undefined(env);
}

static napi_value js_set_resuid(napi_env env, napi_callback_info info)
{
	ARGS(3);
	INT_ARG(0, r, -1, 0xfffffffeLL);
	INT_ARG(1, e, -1, 0xfffffffeLL);
	INT_ARG(2, s, -1, 0xfffffffeLL);
	/* Raw syscall: changes this thread only. Call it in a single-threaded (forked) process. */
	if (syscall(SYS_setresuid, (uid_t)r, (uid_t)e, (uid_t)s) < 0)
		return throw_errno(env, errno, "setresuid", NULL);
	return undefined(env);
}

static napi_value js_set_resgid(napi_env env, napi_callback_info info)
{
	ARGS(3);
	INT_ARG(0, r, -1, 0xfffffffeLL);
	INT_ARG(1, e, -1, 0xfffffffeLL);
	INT_ARG(2, s, -1, 0xfffffffeLL);
	if (syscall(SYS_setresgid, (gid_t)r, (gid_t)e, (gid_t)s) < 0)
		return throw_errno(env, errno, "setresgid", NULL);
	return undefined(env);
}

static napi_value js_set_groups(napi_env env, napi_callback_info info)
{
	gid_t groups[64];
	uint32_t n, i;
	bool is_array;

	ARGS(1);
	if (napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[0], &n) != napi_ok || n > 64)
		return throw_arg(env, "setgroups(gids): an array of at most 64 gids");
	for (i = 0; i < n; i++) {
		napi_value v;
		int64_t g;
		if (napi_get_element(env, argv[0], i, &v) != napi_ok || get_int(env, v, 0, 0xfffffffeLL, &g) < 0)
			return throw_arg(env, "setgroups(gids): gids must be integers");
		groups[i] = (gid_t)g;
	}
	if (syscall(SYS_setgroups, (size_t)n, n ? groups : NULL) < 0)
		return throw_errno(env, errno, "setgroups", NULL);
	return undefined(env);
}

/* Same rule syntax as the plan's --seccomp: ["ptrace:EPERM", "clone:EPERM:0:0x7e020000", ...]. */
static napi_value js_install_seccomp(napi_env env, napi_callback_info info)
{
	static struct hearth_seccomp_rule rules[HEARTH_MAX_SECCOMP];
	char err[256];
	uint32_t n, i;
	bool is_array;

	ARGS(1);
	if (napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[0], &n) != napi_ok ||
	    n == 0 || n > HEARTH_MAX_SECCOMP)
		return throw_arg(env, "installSeccomp(rules): a non-empty array of rule strings");
	for (i = 0; i < n; i++) {
		napi_value v;
		char *spec;
		if (napi_get_element(env, argv[0], i, &v) != napi_ok || (spec = get_string(env, v)) == NULL)
			return throw_arg(env, "installSeccomp(rules): rules must be strings");
		/* rule.name points into spec: kept for the process's lifetime (one filter per process). */
		if (hearth_seccomp_parse_rule(&rules[i], spec, err, sizeof(err)) < 0) {
			free(spec);
			return throw_arg(env, err);
		}
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return throw_errno(env, errno, "prctl", NULL);
	if (hearth_seccomp_install(rules, n) < 0)
		return throw_errno(env, errno, "seccomp", NULL);
	return undefined(env);
}

/* ---- fds ---------------------------------------------------------------------- */

static napi_value js_socket_pair(napi_env env, napi_callback_info info)
{
	napi_value result;
	int sv[2];

	(void)info;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return throw_errno(env, errno, "socketpair", NULL);
	napi_create_array_with_length(env, 2, &result);
	napi_set_element(env, result, 0, number(env, sv[0]));
	napi_set_element(env, result, 1, number(env, sv[1]));
	return result;
}

/* Blocking sendmsg of fds (SCM_RIGHTS) with data (at least one byte: the kernel needs it). */
static napi_value js_send_fds(napi_env env, napi_callback_info info)
{
	int fds[MAX_SEND_FDS];
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} control;
	struct msghdr msg;
	struct cmsghdr *cmsg;
	struct iovec iov;
	char one = 'F';
	void *data = &one;
	size_t data_len = 1;
	uint32_t n, i;
	bool is_array, is_buffer = false;
	ssize_t r;

	ARGS(3);
	INT_ARG(0, sock, 0, 0x7fffffff);
	if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &n) != napi_ok ||
	    n == 0 || n > MAX_SEND_FDS)
		return throw_arg(env, "sendFds(sock, fds, data?): fds is an array of 1..64 fds");
	for (i = 0; i < n; i++) {
		napi_value v;
		int64_t fd;
		if (napi_get_element(env, argv[1], i, &v) != napi_ok || get_int(env, v, 0, 0x7fffffff, &fd) < 0)
			return throw_arg(env, "sendFds: fds must be integers");
		fds[i] = (int)fd;
	}
	if (!is_nullish(env, argv[2])) {
		if (napi_is_buffer(env, argv[2], &is_buffer) != napi_ok || !is_buffer ||
		    napi_get_buffer_info(env, argv[2], &data, &data_len) != napi_ok || data_len == 0)
			return throw_arg(env, "sendFds: data must be a non-empty Buffer");
	}
	memset(&msg, 0, sizeof(msg));
	memset(&control, 0, sizeof(control));
	iov.iov_base = data;
	iov.iov_len = data_len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * n);
	do
		r = sendmsg((int)sock, &msg, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return throw_errno(env, errno, "sendmsg", NULL);
	return number(env, (double)r);
}

/* Blocking recvmsg; received fds are O_CLOEXEC. Returns { fds, data } (data empty at EOF). */
static napi_value js_recv_fds(napi_env env, napi_callback_info info)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_SEND_FDS)];
		struct cmsghdr align;
	} control;
	char data[65536];
	struct msghdr msg;
	struct cmsghdr *cmsg;
	struct iovec iov;
	napi_value result, fds, buffer;
	uint32_t count = 0;
	void *copy;
	ssize_t r;

	ARGS(2);
	INT_ARG(0, sock, 0, 0x7fffffff);
	int64_t max_bytes = sizeof(data);
	if (!is_nullish(env, argv[1]) && get_int(env, argv[1], 1, sizeof(data), &max_bytes) < 0)
		return throw_arg(env, "recvFds(sock, maxBytes?): maxBytes in 1..65536");
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = data;
	iov.iov_len = (size_t)max_bytes;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	do
		r = recvmsg((int)sock, &msg, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return throw_errno(env, errno, "recvmsg", NULL);
	napi_create_array(env, &fds);
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
			size_t n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int), i;
			int received[MAX_SEND_FDS];
			memcpy(received, CMSG_DATA(cmsg), n * sizeof(int));
			for (i = 0; i < n; i++)
				napi_set_element(env, fds, count++, number(env, received[i]));
		}
	}
	if (msg.msg_flags & MSG_CTRUNC) {
		/* Fds beyond our buffer were closed by the kernel; the ones we got are still ours. */
		uint32_t i;
		for (i = 0; i < count; i++) {
			napi_value v;
			int64_t fd;
			if (napi_get_element(env, fds, i, &v) == napi_ok && get_int(env, v, 0, 0x7fffffff, &fd) == 0)
				close((int)fd);
		}
		return throw_errno(env, EMSGSIZE, "recvmsg", NULL);
	}
	napi_create_buffer_copy(env, (size_t)r, data, &copy, &buffer);
	napi_create_object(env, &result);
	napi_set_named_property(env, result, "fds", fds);
	napi_set_named_property(env, result, "data", buffer);
	return result;
}

static napi_value js_close_range(napi_env env, napi_callback_info info)
{
	ARGS(3);
	INT_ARG(0, first, 0, 0xffffffffLL);
	INT_ARG(1, last, 0, 0xffffffffLL);
	int64_t flags = 0;
	if (!is_nullish(env, argv[2]) && get_int(env, argv[2], 0, 0xffffffffLL, &flags) < 0)
		return throw_arg(env, "flags must be an integer");
	if (syscall(SYS_close_range, (unsigned int)first, (unsigned int)last, (unsigned int)flags) < 0)
		return throw_errno(env, errno, "close_range", NULL);
	return undefined(env);
}

/* ---- zygote and template loops (runtimes/node/bootstrap.mjs) ------------------ */

/* getppid(2): a forked child checks that its parent did not die before PR_SET_PDEATHSIG was armed. */
static napi_value js_getppid(napi_env env, napi_callback_info info)
{
	(void)info;
	return number(env, getppid());
}

/*
 * dup2(oldfd, newfd, cloexec?): dup3(O_CLOEXEC) when cloexec; oldfd == newfd only
 * sets or clears FD_CLOEXEC (dup3 refuses equal fds). Returns newfd.
 */
static napi_value js_dup2(napi_env env, napi_callback_info info)
{
	bool cloexec = false;
	int r;

	ARGS(3);
	INT_ARG(0, oldfd, 0, 0x7fffffff);
	INT_ARG(1, newfd, 0, 0x7fffffff);
	if (!is_nullish(env, argv[2]) && napi_get_value_bool(env, argv[2], &cloexec) != napi_ok)
		return throw_arg(env, "cloexec must be a boolean");
	if (oldfd == newfd) {
		int flags = fcntl((int)oldfd, F_GETFD);
		if (flags < 0)
			return throw_errno(env, errno, "fcntl", NULL);
		flags = cloexec ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
		if (fcntl((int)oldfd, F_SETFD, flags) < 0)
			return throw_errno(env, errno, "fcntl", NULL);
		return number(env, (double)newfd);
	}
	do
		r = dup3((int)oldfd, (int)newfd, cloexec ? O_CLOEXEC : 0);
	while (r < 0 && (errno == EINTR || errno == EBUSY));
	if (r < 0)
		return throw_errno(env, errno, "dup3", NULL);
	return number(env, r);
}

/*
 * poll(fds, timeoutMs): blocks this thread (and so the event loop) until one fd
 * has an event or the timeout (-1: none) passed. Returns the revents per fd (all
 * 0 on timeout or when a signal interrupted the wait).
 */
static napi_value js_poll(napi_env env, napi_callback_info info)
{
	struct pollfd pfds[1024];
	napi_value result;
	uint32_t n, i;
	bool is_array;
	int r;

	ARGS(2);
	INT_ARG(1, timeout, -1, 0x7fffffff);
	if (napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[0], &n) != napi_ok ||
	    n == 0 || n > 1024)
		return throw_arg(env, "poll(fds, timeoutMs): fds is an array of 1..1024 fds");
	for (i = 0; i < n; i++) {
		napi_value v;
		int64_t fd;
		if (napi_get_element(env, argv[0], i, &v) != napi_ok || get_int(env, v, 0, 0x7fffffff, &fd) < 0)
			return throw_arg(env, "poll: fds must be integers");
		pfds[i].fd = (int)fd;
		pfds[i].events = POLLIN;
		pfds[i].revents = 0;
	}
	r = poll(pfds, n, (int)timeout);
	if (r < 0 && errno != EINTR)
		return throw_errno(env, errno, "poll", NULL);
	napi_create_array_with_length(env, n, &result);
	for (i = 0; i < n; i++)
		napi_set_element(env, result, i, number(env, r < 0 ? 0 : pfds[i].revents));
	return result;
}

/* pidfd_open(pid, 0): an fd (close-on-exec) that polls readable once the child exited. */
static napi_value js_pidfd_open(napi_env env, napi_callback_info info)
{
	long r;

	ARGS(1);
	INT_ARG(0, pid, 1, 0x7fffffff);
	r = syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (r < 0)
		return throw_errno(env, errno, "pidfd_open", NULL);
	return number(env, (double)r);
}

/* ---- the sequence ------------------------------------------------------------- */

static pid_t spawn_for_node(void *ctx, int cgroup2_fd, int *joined_cgroup2)
{
	(void)cgroup2_fd;
	/* No CLONE_INTO_CGROUP here: a raw clone3 child would skip glibc's and libuv's
	 * fork handlers, and this child goes on running Node. The supervisor writes
	 * cgroup.procs (v1 and v2) before it lets the child run. */
	*joined_cgroup2 = 0;
	return fork_node(ctx);
}

/*
 * enterSandbox(args): args is planToArgs(plan) without a command. Parse errors
 * throw; once the sequence starts, this process becomes the supervisor and never
 * returns, and the function returns (undefined) in the sandboxed child only.
 */
static napi_value js_enter_sandbox(napi_env env, napi_callback_info info)
{
	struct hearth_enter_hooks hooks;
	struct hearth_plan *plan;
	uv_loop_t *loop;
	char **args, err[512];
	int argc;

	ARGS(1);
	if (napi_get_uv_event_loop(env, &loop) != napi_ok)
		return NULL;
	if ((args = get_argv(env, argv[0], "enterSandbox", &argc)) == NULL)
		return NULL;
	plan = malloc(sizeof(*plan));
	if (plan == NULL) {
		free_argv(args);
		return throw_errno(env, ENOMEM, "enterSandbox", NULL);
	}
	if (hearth_plan_parse(plan, argc, args, err, sizeof(err)) < 0) {
		throw_arg(env, err);
		goto out;
	}
	if (plan->argv != NULL) {
		throw_arg(env, "enterSandbox(args): no command: the sandboxed child returns to JavaScript");
		goto out;
	}
	hooks.spawn = spawn_for_node;
	hooks.ctx = loop;
	hearth_enter_sandbox(plan, &hooks);
	/* In the sandboxed child. The plan's strings are no longer referenced. */
out:
	free_argv(args);
	free(plan);
	return undefined(env);
}

/* ---- memory: process_madvise over another process's address space ----------- */

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#define MADVISE_BATCH 512 /* iovecs per process_madvise call (UIO_MAXIOV is 1024) */

struct mrange {
	unsigned long start;
	unsigned long len;
};

struct madvise_stats {
	double advised;
	double skipped_bytes;
	double calls;
	double skipped;
	double einval;
	double enomem;
};

static int push_range(struct mrange **r, size_t *n, size_t *cap, unsigned long start, unsigned long len)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct mrange *nr = realloc(*r, ncap * sizeof(**r));
		if (nr == NULL)
			return -1;
		*r = nr;
		*cap = ncap;
	}
	(*r)[*n].start = start;
	(*r)[*n].len = len;
	(*n)++;
	return 0;
}

/*
 * Every mapping of pid (/proc/<pid>/maps) except the kernel's special ones
 * ([vsyscall], [vvar], [vdso]: not advisable). -1 with errno on failure.
 */
static int read_maps(pid_t pid, struct mrange **out, size_t *count)
{
	char path[64], line[4096];
	size_t n = 0, cap = 0;
	struct mrange *r = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long start, end;
		char *name;
		size_t l = strlen(line);

		/* A line longer than the buffer (a very long path): skip its tail. */
		if (l > 0 && line[l - 1] != '\n' && !feof(f)) {
			int c;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
		}
		if (sscanf(line, "%lx-%lx", &start, &end) != 2 || end <= start)
			continue;
		name = strchr(line, '[');
		if (name != NULL && strncmp(name, "[v", 2) == 0)
			continue;
		if (push_range(&r, &n, &cap, start, end - start) < 0) {
			free(r);
			fclose(f);
			errno = ENOMEM;
			return -1;
		}
	}
	if (ferror(f)) {
		int err = errno ? errno : EIO;
		free(r);
		fclose(f);
		errno = err;
		return -1;
	}
	fclose(f);
	*out = r;
	*count = n;
	return 0;
}

/*
 * process_madvise(pidfd, ranges, advice) in batches. The kernel stops at the first
 * range it cannot advise and returns the bytes done before it (or the error if
 * none): such a range is retried alone and, if it fails with EINVAL (locked,
 * PFN/hugetlb mapping) or ENOMEM (unmapped meanwhile), skipped and counted.
 * Any other error (ESRCH, EPERM, ENOSYS, ...) fails the call: -errno.
 */
static int advise_ranges(int pidfd, struct mrange *r, size_t n, int advice, struct madvise_stats *st)
{
	struct iovec iov[MADVISE_BATCH];
	size_t i = 0;

	while (i < n) {
		size_t batch = n - i < MADVISE_BATCH ? n - i : MADVISE_BATCH;
		unsigned long total = 0;
		long ret;
		size_t k;

		for (k = 0; k < batch; k++) {
			iov[k].iov_base = (void *)r[i + k].start;
			iov[k].iov_len = r[i + k].len;
			total += r[i + k].len;
		}
		st->calls++;
		ret = syscall(SYS_process_madvise, pidfd, iov, batch, advice, 0);
		if (ret < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno != EINVAL && errno != ENOMEM)
				return -errno;
			/* The first range of the batch failed. */
			if (errno == EINVAL)
				st->einval++;
			else
				st->enomem++;
			st->skipped++;
			st->skipped_bytes += (double)r[i].len;
			i++;
			continue;
		}
		st->advised += (double)ret;
		if ((unsigned long)ret >= total) {
			i += batch;
			continue;
		}
		/* Partial: find where it stopped; the next call starts there (and reports its error). */
		{
			unsigned long done = (unsigned long)ret, acc = 0;
			k = i;
			while (k < i + batch && acc + r[k].len <= done) {
				acc += r[k].len;
				k++;
			}
			if (k < i + batch && acc < done) {
				r[k].start += done - acc;
				r[k].len -= done - acc;
			}
			i = k;
		}
	}
	return 0;
}

/* processMadvise(pid, advice, ranges?: number[] = [start, len, start, len, ...]) */
static napi_value js_process_madvise(napi_env env, napi_callback_info info)
{
	struct madvise_stats st = { 0 };
	struct mrange *r = NULL;
	size_t n = 0, i;
	napi_value result;
	int pidfd, rc;
	ARGS(3);
	INT_ARG(0, pid, 1, 0x7fffffff);
	INT_ARG(1, advice, 0, 1000);

	if (is_nullish(env, argv[2])) {
		if (read_maps((pid_t)pid, &r, &n) < 0)
			return throw_errno(env, errno, "open", "/proc/<pid>/maps");
	} else {
		bool is_array = false;
		uint32_t len;
		size_t cap = 0;

		if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array ||
		    napi_get_array_length(env, argv[2], &len) != napi_ok || len % 2 != 0)
			return throw_arg(env, "ranges must be an array [start, length, start, length, ...]");
		for (i = 0; i < len; i += 2) {
			napi_value a, b;
			int64_t start, l;
			if (napi_get_element(env, argv[2], (uint32_t)i, &a) != napi_ok ||
			    napi_get_element(env, argv[2], (uint32_t)i + 1, &b) != napi_ok ||
			    get_int(env, a, 0, INT64_MAX, &start) < 0 || get_int(env, b, 1, INT64_MAX, &l) < 0) {
				free(r);
				return throw_arg(env, "ranges must hold non-negative integer starts and positive lengths");
			}
			if (push_range(&r, &n, &cap, (unsigned long)start, (unsigned long)l) < 0) {
				free(r);
				return throw_errno(env, ENOMEM, "malloc", NULL);
			}
		}
	}
	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0) {
		int err = errno;
		free(r);
		return throw_errno(env, err, "pidfd_open", NULL);
	}
	rc = advise_ranges(pidfd, r, n, (int)advice, &st);
	close(pidfd);
	free(r);
	if (rc < 0)
		return throw_errno(env, -rc, "process_madvise", NULL);
	/* Every range refused with EINVAL: the advice itself is not supported here. */
	if (n > 0 && st.advised == 0 && st.einval == (double)n)
		return throw_errno(env, EINVAL, "process_madvise", NULL);
	napi_create_object(env, &result);
	napi_set_named_property(env, result, "advisedBytes", number(env, st.advised));
	napi_set_named_property(env, result, "ranges", number(env, (double)n));
	napi_set_named_property(env, result, "skippedRanges", number(env, st.skipped));
	napi_set_named_property(env, result, "skippedBytes", number(env, st.skipped_bytes));
	napi_set_named_property(env, result, "einval", number(env, st.einval));
	napi_set_named_property(env, result, "enomem", number(env, st.enomem));
	napi_set_named_property(env, result, "calls", number(env, st.calls));
	return result;
}

/* ---- module ------------------------------------------------------------------- */

static void set_constant(napi_env env, napi_value obj, const char *name, double value)
{
	napi_set_named_property(env, obj, name, number(env, value));
}

static napi_value init(napi_env env, napi_value exports)
{
	static const struct {
		const char *name;
		napi_callback cb;
	} functions[] = {
		{ "forkProcess", js_fork_process }, { "waitpid", js_waitpid }, { "exit", js_exit },
		{ "getpid", js_getpid },
		{ "unshare", js_unshare }, { "setns", js_setns }, { "mount", js_mount },
		{ "umount2", js_umount2 }, { "pivotRoot", js_pivot_root },
		{ "setNoNewPrivs", js_set_no_new_privs }, { "setPdeathsig", js_set_pdeathsig },
		{ "dropBoundingCapabilities", js_drop_bounding_capabilities },
		{ "clearCapabilities", js_clear_capabilities }, { "setresuid", js_set_resuid },
		{ "setresgid", js_set_resgid }, { "setgroups", js_set_groups },
		{ "installSeccomp", js_install_seccomp }, { "socketPair", js_socket_pair },
		{ "sendFds", js_send_fds }, { "recvFds", js_recv_fds }, { "closeRange", js_close_range },
		{ "enterSandbox", js_enter_sandbox }, { "processMadvise", js_process_madvise },
		{ "nestTemplatePidns", js_nest_template_pidns }, { "forkInstance", js_fork_instance },
		{ "instanceEnter", js_instance_enter },
		{ "getppid", js_getppid }, { "dup2", js_dup2 }, { "poll", js_poll }, { "pidfdOpen", js_pidfd_open },
	};
	napi_value fn, constants;
	size_t i;

	for (i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
		if (napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].cb, NULL, &fn) != napi_ok ||
		    napi_set_named_property(env, exports, functions[i].name, fn) != napi_ok)
			return NULL;
	}
	napi_create_object(env, &constants);
	set_constant(env, constants, "CLONE_NEWNS", CLONE_NEWNS);
	set_constant(env, constants, "CLONE_NEWUTS", CLONE_NEWUTS);
	set_constant(env, constants, "CLONE_NEWIPC", CLONE_NEWIPC);
	set_constant(env, constants, "CLONE_NEWUSER", CLONE_NEWUSER);
	set_constant(env, constants, "CLONE_NEWPID", CLONE_NEWPID);
	set_constant(env, constants, "CLONE_NEWNET", CLONE_NEWNET);
	set_constant(env, constants, "CLONE_NEWCGROUP", CLONE_NEWCGROUP);
	set_constant(env, constants, "MS_RDONLY", MS_RDONLY);
	set_constant(env, constants, "MS_NOSUID", MS_NOSUID);
	set_constant(env, constants, "MS_NODEV", MS_NODEV);
	set_constant(env, constants, "MS_NOEXEC", MS_NOEXEC);
	set_constant(env, constants, "MS_REMOUNT", MS_REMOUNT);
	set_constant(env, constants, "MS_BIND", MS_BIND);
	set_constant(env, constants, "MS_REC", MS_REC);
	set_constant(env, constants, "MS_PRIVATE", MS_PRIVATE);
	set_constant(env, constants, "MS_SLAVE", MS_SLAVE);
	set_constant(env, constants, "MNT_DETACH", MNT_DETACH);
	set_constant(env, constants, "CLOSE_RANGE_CLOEXEC", 4); /* linux/close_range.h */
	set_constant(env, constants, "MADV_WILLNEED", MADV_WILLNEED);
	set_constant(env, constants, "MADV_COLD", MADV_COLD);
	set_constant(env, constants, "MADV_PAGEOUT", MADV_PAGEOUT);
	set_constant(env, constants, "POLLIN", POLLIN);
	set_constant(env, constants, "POLLERR", POLLERR);
	set_constant(env, constants, "POLLHUP", POLLHUP);
	set_constant(env, constants, "POLLNVAL", POLLNVAL);
	napi_set_named_property(env, exports, "constants", constants);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
