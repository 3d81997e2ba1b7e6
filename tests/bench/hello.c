/*
 * hello.c - the benchmark's baseline: a bare prefork libfcgi worker pool
 * answering a fixed JSON body, with the same pool size, socket and accept
 * loop shape (poll, then FCGX_Accept_r) as the API.  Whatever the API costs
 * above this is ours: routing, tokens, the database, JSON, audit.
 *
 *   hello SOCKET WORKERS
 *
 * SIGTERM ends it: libfcgi installs its own handler for SIGTERM that only
 * sets a flag of its own, so each worker installs ours and checks it, and
 * the parent passes the signal on to its workers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcgiapp.h>

static volatile sig_atomic_t hello_stop;

static void hello_on_term(int sig)
{
	(void)sig;
	hello_stop = 1;
}

static void hello_catch_term(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = hello_on_term; /* no SA_RESTART: poll and wait return */
	sigaction(SIGTERM, &sa, NULL);
}

static void serve(int fd)
{
	static const char reply[] = "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n"
				    "Cache-Control: no-store\r\n\r\n{\"hello\":\"world\"}";
	FCGX_Request f;

	hello_catch_term();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	FCGX_InitRequest(&f, fd, FCGI_FAIL_ACCEPT_ON_INTR);
	while (!hello_stop) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, 1000) <= 0)
			continue;
		if (FCGX_Accept_r(&f) < 0)
			continue;
		FCGX_PutStr(reply, (int)sizeof reply - 1, f.out);
		FCGX_Finish_r(&f);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	int fd, n;
	pid_t pids[256];

	if (argc != 3 || (n = atoi(argv[2])) < 1 || n > 256) {
		fprintf(stderr, "usage: hello SOCKET WORKERS\n");
		return 2;
	}
	FCGX_Init();
	unlink(argv[1]);
	fd = FCGX_OpenSocket(argv[1], 1024);
	if (fd < 0 || chmod(argv[1], 0666) != 0)
		return 1;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	hello_catch_term();
	for (int i = 0; i < n; i++)
		if ((pids[i] = fork()) == 0)
			serve(fd);
	/* until every worker is gone; a SIGTERM interrupts wait and is passed on */
	for (bool passed = false;;) {
		if (wait(NULL) < 0 && errno == ECHILD)
			break;
		if (hello_stop && !passed) {
			for (int i = 0; i < n; i++)
				kill(pids[i], SIGTERM);
			passed = true;
		}
	}
	unlink(argv[1]);
	return 0;
}
