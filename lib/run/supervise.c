/* SPDX-License-Identifier: Apache-2.0 */
/* fork/exec of pipelines with close-on-exec pipes, and stderr relaying. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdio.h"
#include "supervise.h"

int
supervise_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

int
supervise_spawn(char *const *argvs[], size_t n, int in0, int outn,
    const int *errfds, pid_t pids[], char *err, size_t errlen)
{
	int in = -1, p[2], out;
	sigset_t none;
	size_t i, j;

	for (i = 0; i < n; i++) {
		p[0] = p[1] = -1;
		if (i + 1 < n && pipe2(p, O_CLOEXEC) == -1) {
			snprintf(err, errlen, "pipe: %s", strerror(errno));
			goto fail;
		}
		out = p[1];
		if ((pids[i] = fork()) == -1) {
			snprintf(err, errlen, "fork: %s", strerror(errno));
			if (p[0] != -1) {
				close(p[0]);
				close(p[1]);
			}
			goto fail;
		}
		if (pids[i] == 0) {
			/* The child: default signal state, pipes on 0, 1, 2. */
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			signal(SIGPIPE, SIG_DFL);
			if (i == 0 && in0 != -1)
				in = in0;
			if (i + 1 == n && outn != -1)
				out = outn;
			if ((in != -1 && dup2(in, STDIN_FILENO) == -1) ||
			    (out != -1 && dup2(out, STDOUT_FILENO) == -1) ||
			    (errfds != NULL && errfds[i] != -1 &&
			    dup2(errfds[i], STDERR_FILENO) == -1))
				_exit(71);
			execv(argvs[i][0], argvs[i]);
			fprintf(stderr, "periskop-run: '%s': %s\n",
			    argvs[i][0], strerror(errno));
			_exit(errno == ENOENT ? 127 : 126);
		}
		if (in != -1)
			close(in);
		if (out != -1)
			close(out);
		in = p[0];
	}
	return 0;
fail:
	if (in != -1)
		close(in);
	for (j = 0; j < i; j++) {
		kill(pids[j], SIGKILL);
		waitpid(pids[j], NULL, 0);
	}
	return -1;
}

void
relay_init(struct relay *r, const char *name)
{
	r->name = name;
	r->len = 0;
}

/* Writes one line (without its newline) with the prefix it needs. */
static void
emit(struct relay *r, const char *line, size_t n, int out)
{
	char tmp[sizeof(r->buf) + 256];
	size_t nl = strlen(r->name), k = 0;

	if (!(n > nl + 1 && memcmp(line, r->name, nl) == 0 &&
	    line[nl] == ':' && line[nl + 1] == ' ')) {
		memcpy(tmp, r->name, nl);
		memcpy(tmp + nl, ": ", 2);
		k = nl + 2;
	}
	memcpy(tmp + k, line, n);
	tmp[k + n] = '\n';
	/* One write per line keeps lines of several children whole. */
	(void)fd_write_all(out, tmp, k + n + 1);
}

void
relay_feed(struct relay *r, const char *p, size_t n, int out)
{
	const char *nl;
	size_t take;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		take = nl != NULL ? (size_t)(nl - p) : n;
		if (take > sizeof(r->buf) - r->len)
			take = sizeof(r->buf) - r->len;
		memcpy(r->buf + r->len, p, take);
		r->len += take;
		p += take;
		n -= take;
		if (n > 0 && *p == '\n') {
			p++;
			n--;
			emit(r, r->buf, r->len, out);
			r->len = 0;
		} else if (r->len == sizeof(r->buf)) {
			emit(r, r->buf, r->len, out);
			r->len = 0;
		}
	}
}

void
relay_flush(struct relay *r, int out)
{
	if (r->len > 0)
		emit(r, r->buf, r->len, out);
	r->len = 0;
}

int
supervise_listening(const char *listen)
{
	struct addrinfo hints, *res, *ai;
	char host[256];
	const char *port, *h;
	size_t hl;
	int fd, ok = 0;

	if ((port = strrchr(listen, ':')) == NULL || port[1] == '\0')
		return -1;
	h = listen;
	hl = (size_t)(port - listen);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (hl == 0 || strcmp(host, "0.0.0.0") == 0)
		strcpy(host, "127.0.0.1");
	else if (strcmp(host, "::") == 0)
		strcpy(host, "::1");
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port + 1, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL && !ok; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		ok = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
		close(fd);
	}
	freeaddrinfo(res);
	return ok;
}
