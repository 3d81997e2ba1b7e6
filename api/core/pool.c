/*
 * pool.c - the master.  It opens the unix socket (mode 0660, never TCP),
 * forks the workers and supervises them: a worker that dies is replaced on
 * the next tick (100 ms) and the master logs its pid, signal and the route it
 * was serving; a worker busy past the request limit is killed and replaced;
 * SIGHUP reloads the keys and replaces every worker gracefully (new ones
 * start first, old ones finish their request and exit); SIGTERM drains.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcgiapp.h>
#include "cursor.h"
#include "pool.h"
#include "ratelimit.h"

int64_t sg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The queue of connections nginx has opened and no worker has accepted yet.
 * A connect() to a full unix socket queue fails at once (EAGAIN) and nginx
 * answers 502, so the queue must hold every request nginx may have in flight
 * (two connections each of its worker_connections), not what the workers
 * can serve at once: a burst of 1,120 requests from one client overflowed
 * the 1,024 this used to ask for while four workers drained it.  The kernel
 * caps the value at net.core.somaxconn (4,096 on Debian 12); the cap in
 * force is read back for the start-up log. */
#define POOL_BACKLOG 65535

static int pool_backlog(void)
{
	FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");
	int max = 0;

	if (f) {
		if (fscanf(f, "%d", &max) != 1)
			max = 0;
		fclose(f);
	}
	return max > 0 && max < POOL_BACKLOG ? max : POOL_BACKLOG;
}

static int pool_listen(void)
{
	int fd, flags;

	unlink(sg_cfg.socket_path);
	fd = FCGX_OpenSocket(sg_cfg.socket_path, POOL_BACKLOG);
	if (fd < 0) {
		log_error("cannot open the socket", "s", "path", sg_cfg.socket_path);
		return -1;
	}
	if (chmod(sg_cfg.socket_path, 0660) != 0) {
		log_error("cannot set the socket mode", "s", "reason", strerror(errno));
		return -1;
	}
	if (geteuid() == 0 && sg_cfg.user && *sg_cfg.user) {
		struct passwd *pw = getpwnam(sg_cfg.user);

		if (!pw || chown(sg_cfg.socket_path, pw->pw_uid, pw->pw_gid) != 0) {
			log_error("cannot hand the socket to the service user", "s", "user", sg_cfg.user);
			return -1;
		}
	}
	/* Workers poll() and then accept: a non-blocking socket lets the loser
	 * of a race return to poll() instead of blocking where SIGTERM cannot
	 * be noticed. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
		return -1;
	return fd;
}

static int free_slot(void)
{
	for (int i = 0; i < 2 * POOL_MAX_WORKERS; i++)
		if (sg_shm->slots[i].pid == 0)
			return i;
	return -1;
}

static void spawn(int listen_fd, sigset_t *oldmask)
{
	int slot = free_slot();
	pid_t pid;

	if (slot < 0)
		return;
	memset((void *)&sg_shm->slots[slot], 0, sizeof sg_shm->slots[slot]);
	pid = fork();
	if (pid < 0) {
		log_error("fork failed", "s", "reason", strerror(errno));
		return;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		worker_main(slot, listen_fd);
	}
	sg_shm->slots[slot].pid = pid;
}

static int live_workers(bool count_retiring)
{
	int n = 0;

	for (int i = 0; i < 2 * POOL_MAX_WORKERS; i++)
		if (sg_shm->slots[i].pid && (count_retiring || !sg_shm->slots[i].retiring))
			n++;
	return n;
}

/* Collects exited workers, logging what each was doing. */
static void reap(bool quiet)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < 2 * POOL_MAX_WORKERS; i++) {
			struct pool_slot *s = &sg_shm->slots[i];

			if (s->pid != pid)
				continue;
			if (WIFSIGNALED(st) && !s->retiring) {
				__atomic_add_fetch(&sg_shm->restarts_crash, 1, __ATOMIC_RELAXED);
				log_error("worker died", "iiss", "worker", (int)pid, "signal", WTERMSIG(st),
					  "signal_name", strsignal(WTERMSIG(st)), "route",
					  s->started_ms ? s->route : "(idle)");
			} else if (WIFEXITED(st) && WEXITSTATUS(st) != 0 && !quiet) {
				__atomic_add_fetch(&sg_shm->restarts_crash, 1, __ATOMIC_RELAXED);
				log_error("worker exited with an error", "iis", "worker", (int)pid, "status",
					  WEXITSTATUS(st), "route", s->started_ms ? s->route : "(idle)");
			} else if (!s->retiring && !quiet) {
				__atomic_add_fetch(&sg_shm->restarts_recycled, 1, __ATOMIC_RELAXED);
			}
			memset((void *)s, 0, sizeof *s);
			break;
		}
	}
}

/* Kills workers whose request has outlived the limit.  nginx has already
 * answered 504 at the limit; the worker goes a second later. */
static void enforce_timeouts(void)
{
	int64_t now = sg_now_ms(), limit = (int64_t)(sg_cfg.request_timeout + 1) * 1000;

	for (int i = 0; i < 2 * POOL_MAX_WORKERS; i++) {
		struct pool_slot *s = &sg_shm->slots[i];
		int64_t started = s->started_ms;

		if (s->pid && started && now - started > limit) {
			log_error("request over the time limit: killing its worker", "isi", "worker", (int)s->pid,
				  "route", s->route, "ms", (int)(now - started));
			__atomic_add_fetch(&sg_shm->restarts_timeout, 1, __ATOMIC_RELAXED);
			s->retiring = 1; /* counted as a timeout, not a crash */
			kill(s->pid, SIGKILL);
		}
	}
}

static void signal_workers(int sig, bool retire)
{
	for (int i = 0; i < 2 * POOL_MAX_WORKERS; i++) {
		struct pool_slot *s = &sg_shm->slots[i];

		if (s->pid) {
			if (retire)
				s->retiring = 1;
			kill(s->pid, sig);
		}
	}
}

static void write_pid_file(void)
{
	FILE *f;

	if (!sg_cfg.pid_file || !*sg_cfg.pid_file)
		return;
	f = fopen(sg_cfg.pid_file, "w");
	if (f) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
}

/* Whether the keys a reload names load, tried in a child: the loaders
 * replace the master's keys as they go (auth_load drops the running JWT keys
 * before it reads the new ones; the cursor keys are in place before the JWT
 * keys are read), so a reload refused half-way would leave the master with
 * keys nobody is running, and every worker it starts later (to replace one
 * that died or was recycled) would answer 401, or refuse the cursors devices
 * hold.  A refused reload must change nothing. */
static bool reload_loads(char *err, size_t errlen)
{
	int fds[2], st = 0;
	ssize_t n;
	pid_t pid;

	err[0] = '\0';
	if (pipe(fds) != 0) {
		snprintf(err, errlen, "cannot check the keys: %s", strerror(errno));
		return false;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot check the keys: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return false;
	}
	if (pid == 0) {
		char why[512];

		close(fds[0]);
		if (cursor_keys_load(sg_cfg.cursor_key_file, why, sizeof why) &&
		    auth_load(&sg_cfg.auth, why, sizeof why))
			_exit(0);
		if (write(fds[1], why, strlen(why)) < 0)
			_exit(2);
		_exit(1);
	}
	close(fds[1]);
	n = read(fds[0], err, errlen - 1);
	err[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return true;
	if (!err[0])
		snprintf(err, errlen, "the key check failed");
	return false;
}

int pool_run(void)
{
	sigset_t set, oldmask;
	int listen_fd;
	bool draining = false;
	int64_t drain_deadline = 0;

	if (FCGX_Init() != 0)
		return 1;
	metrics_init();
	ratelimit_init((uint32_t)sg_cfg.rate_per_token, (uint32_t)sg_cfg.rate_burst_token);
	listen_fd = pool_listen();
	if (listen_fd < 0)
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &oldmask);
	signal(SIGPIPE, SIG_IGN);
	write_pid_file();
	log_info("pool starting", "isiii", "workers", sg_cfg.workers, "socket", sg_cfg.socket_path, "backlog",
		 pool_backlog(), "max_requests", sg_cfg.max_requests, "request_timeout", sg_cfg.request_timeout);
	for (int i = 0; i < sg_cfg.workers; i++)
		spawn(listen_fd, &oldmask);

	for (;;) {
		struct timespec tick = {0, 100 * 1000 * 1000};
		siginfo_t info;
		int sig = sigtimedwait(&set, &info, &tick);

		if (sig == SIGTERM || sig == SIGINT) {
			if (!draining) {
				log_info("draining", "i", "workers", live_workers(true));
				draining = true;
				drain_deadline = sg_now_ms() + (int64_t)sg_cfg.drain_timeout * 1000;
				signal_workers(SIGTERM, true);
			}
		} else if (sig == SIGHUP && !draining) {
			char err[512];

			if (!reload_loads(err, sizeof err)) {
				log_error("reload refused: keeping the running workers", "s", "reason", err);
			} else if (!cursor_keys_load(sg_cfg.cursor_key_file, err, sizeof err) ||
				   !auth_load(&sg_cfg.auth, err, sizeof err)) {
				/* the files changed since the check: the workers running stay */
				log_error("reload failed after its check: keeping the running workers", "s", "reason",
					  err);
			} else {
				log_info("reloading: replacing the workers", "i", "keys", (int)auth_key_count());
				signal_workers(SIGTERM, true);
				for (int i = 0; i < sg_cfg.workers; i++)
					spawn(listen_fd, &oldmask);
			}
		}
		reap(draining);
		if (draining) {
			if (live_workers(true) == 0)
				break;
			if (sg_now_ms() > drain_deadline) {
				log_warn("drain time is over: killing the rest", "i", "workers", live_workers(true));
				signal_workers(SIGKILL, true);
			}
			continue;
		}
		enforce_timeouts();
		while (live_workers(false) < sg_cfg.workers) {
			int before = live_workers(true);

			spawn(listen_fd, &oldmask);
			if (live_workers(true) == before)
				break;
		}
	}
	unlink(sg_cfg.socket_path);
	if (sg_cfg.pid_file)
		unlink(sg_cfg.pid_file);
	log_info("pool stopped", "");
	return 0;
}

/* In a worker: drop root for the service user, if configured. */

bool pool_drop_privileges(void)
{
	struct passwd *pw;

	if (geteuid() != 0 || !sg_cfg.user || !*sg_cfg.user)
		return true;
	pw = getpwnam(sg_cfg.user);
	if (!pw)
		return false;
	return initgroups(pw->pw_name, pw->pw_gid) == 0 && setgid(pw->pw_gid) == 0 && setuid(pw->pw_uid) == 0 &&
	       setuid(0) != 0;
}
