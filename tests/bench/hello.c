/*
 * hello.c - the benchmark's baseline: a bare prefork libfcgi worker pool
 * answering a fixed JSON body, with the same pool size, socket and accept
 * loop shape (poll, then FCGX_Accept_r) as the API.  Whatever the API costs
 * above this is ours: routing, tokens, the database, JSON, audit.
 *
 *   hello SOCKET WORKERS
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcgiapp.h>

static void serve(int fd)
{
	static const char reply[] = "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n"
				    "Cache-Control: no-store\r\n\r\n{\"hello\":\"world\"}";
	FCGX_Request f;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	FCGX_InitRequest(&f, fd, FCGI_FAIL_ACCEPT_ON_INTR);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, 1000) <= 0)
			continue;
		if (FCGX_Accept_r(&f) < 0)
			continue;
		FCGX_PutStr(reply, (int)sizeof reply - 1, f.out);
		FCGX_Finish_r(&f);
	}
}

int main(int argc, char **argv)
{
	int fd, n;

	if (argc != 3 || (n = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: hello SOCKET WORKERS\n");
		return 2;
	}
	FCGX_Init();
	unlink(argv[1]);
	fd = FCGX_OpenSocket(argv[1], 1024);
	if (fd < 0 || chmod(argv[1], 0666) != 0)
		return 1;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (int i = 0; i < n; i++)
		if (fork() == 0)
			serve(fd);
	signal(SIGTERM, SIG_DFL);
	while (wait(NULL) > 0)
		;
	return 0;
}
