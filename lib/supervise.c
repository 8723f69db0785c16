/* SPDX-License-Identifier: Apache-2.0 */
/* fork/exec of pipelines with close-on-exec pipes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
supervise_spawn(char *const *argvs[], size_t n, pid_t pids[], char *err,
    size_t errlen)
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
			/* The child: default signal state, pipes on 0 and 1. */
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			signal(SIGPIPE, SIG_DFL);
			if ((in != -1 && dup2(in, STDIN_FILENO) == -1) ||
			    (out != -1 && dup2(out, STDOUT_FILENO) == -1))
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
