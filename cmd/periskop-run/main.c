/* SPDX-License-Identifier: Apache-2.0 */
/* periskop-run: starts discover | scrape | aggregate and serve, and supervises them. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "supervise.h"
#include "timefmt.h"
#include "xalloc.h"

#define NPIPE		3	/* discover, scrape, aggregate */
#define GRACE_MS	10000	/* from SIGTERM to SIGKILL */
#define BACKOFF_MIN_MS	1000
#define BACKOFF_MAX_MS	60000
#define STABLE_MS	60000	/* a run this long resets the backoff */

/* One supervised unit: the pipeline, or serve. */
struct unit {
	const char	*name;
	char *const	*argvs[NPIPE];
	size_t		 n;
	pid_t		 pids[NPIPE];
	size_t		 alive;
	double		 started;	/* monotonic ms */
	double		 restart_at;	/* 0: not waiting */
	int		 backoff_ms;
};

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: periskop-run [-v] [-d uri] -c file\n");
	exit(code);
}

static char *
bindir(void)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		fatal(EX_OSERR, "/proc/self/exe");
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	return xstrdup(exe);
}

static int
unit_start(struct unit *u)
{
	char err[256];

	if (supervise_spawn(u->argvs, u->n, u->pids, err, sizeof(err)) ==
	    -1) {
		log_warnx("%s: %s", u->name, err);
		return -1;
	}
	u->alive = u->n;
	u->started = time_mono_ms();
	u->restart_at = 0;
	log_debug("%s: started", u->name);
	return 0;
}

static void
unit_signal(struct unit *u, size_t from, int sig)
{
	size_t i;

	for (i = from; i < u->n; i++)
		if (u->pids[i] > 0)
			kill(u->pids[i], sig);
}

/* Marks pid dead; returns the unit and index it belonged to. */
static struct unit *
unit_reap(struct unit *units, size_t nunits, pid_t pid, size_t *idx)
{
	size_t i, j;

	for (i = 0; i < nunits; i++)
		for (j = 0; j < units[i].n; j++)
			if (units[i].pids[j] == pid) {
				units[i].pids[j] = 0;
				units[i].alive--;
				*idx = j;
				return &units[i];
			}
	return NULL;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct unit units[2], *u;
	struct conf *conf;
	struct timespec ts;
	siginfo_t si;
	sigset_t set;
	const char *path = NULL;
	char *dir, *uri = NULL, *bin[4], *tmpdb = NULL, err[1024];
	double now, wait_ms, deadline = 0;
	int ch, verbose = 0, sig, status, code, stopping = 0, exitcode = 0;
	pid_t pid;
	size_t i, idx;

	log_init("periskop-run", 0);
	while ((ch = getopt_long(argc, argv, "c:d:hv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			uri = xstrdup(optarg);
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(0);
		default:
			usage(EX_USAGE);
		}
	}
	if (optind != argc || path == NULL)
		usage(EX_USAGE);
	log_init("periskop-run", verbose);

	errno = 0;
	if ((conf = conf_load(path, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return errno ? EX_NOINPUT : EX_CONFIG;
	}
	if (uri == NULL && (uri = conf_db_uri(conf)) == NULL)
		uri = xasprintf("sqlite:%s/periskop.db", conf->dir);
	if (strcmp(uri, "memory:") == 0) {
		/* Several processes share it, so it is a file in memory. */
		tmpdb = xasprintf("/dev/shm/periskop-%ld.db", (long)getpid());
		free(uri);
		uri = xasprintf("sqlite:%s", tmpdb);
	}
	conf_free(conf);

	dir = bindir();
	bin[0] = xasprintf("%s/periskop-discover", dir);
	bin[1] = xasprintf("%s/periskop-scrape", dir);
	bin[2] = xasprintf("%s/periskop-aggregate", dir);
	bin[3] = xasprintf("%s/periskop-serve", dir);
	{
		char *const discover[] = { bin[0], "-c", (char *)path, NULL };
		char *const scrape[] = { bin[1], NULL };
		char *const aggregate[] = { bin[2], "--db", uri, NULL };
		char *const serve[] = { bin[3], "-c", (char *)path, "--db",
		    uri, NULL };

		memset(units, 0, sizeof(units));
		units[0].name = "pipeline";
		units[0].argvs[0] = discover;
		units[0].argvs[1] = scrape;
		units[0].argvs[2] = aggregate;
		units[0].n = 3;
		units[1].name = "serve";
		units[1].argvs[0] = serve;
		units[1].n = 1;

		sigemptyset(&set);
		sigaddset(&set, SIGCHLD);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGHUP);
		sigprocmask(SIG_BLOCK, &set, NULL);
		signal(SIGPIPE, SIG_IGN);

		for (i = 0; i < 2; i++) {
			units[i].backoff_ms = BACKOFF_MIN_MS;
			if (unit_start(&units[i]) == -1)
				return EX_OSERR;
		}
		log_info("started; database %s", uri);

		for (;;) {
			now = time_mono_ms();
			wait_ms = 1000;
			for (i = 0; i < 2; i++)
				if (units[i].restart_at > 0 &&
				    units[i].restart_at - now < wait_ms)
					wait_ms = units[i].restart_at - now;
			if (stopping && deadline - now < wait_ms)
				wait_ms = deadline - now;
			if (wait_ms < 0)
				wait_ms = 0;
			ts.tv_sec = (time_t)(wait_ms / 1000);
			ts.tv_nsec = (long)((wait_ms - ts.tv_sec * 1000.0) *
			    1e6);
			sig = sigtimedwait(&set, &si, &ts);

			if (sig == SIGTERM || sig == SIGINT) {
				if (!stopping) {
					log_info("stopping");
					stopping = 1;
					deadline = time_mono_ms() + GRACE_MS;
					/*
					 * Stop discover and scrape only: the
					 * aggregator reads to EOF, commits
					 * what it was given, and exits.
					 */
					for (i = 0; i < 2; i++)
						if (units[0].pids[i] > 0)
							kill(units[0].pids[i],
							    SIGTERM);
					unit_signal(&units[1], 0, SIGTERM);
				}
			} else if (sig == SIGHUP && !stopping) {
				errno = 0;
				if ((conf = conf_load(path, err,
				    sizeof(err))) == NULL)
					log_warnx("%s; keeping the running "
					    "configuration", err);
				else {
					conf_free(conf);
					log_info("%s: reloading", path);
					if (units[0].pids[0] > 0)
						kill(units[0].pids[0], SIGHUP);
				}
			}

			while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
				if ((u = unit_reap(units, 2, pid, &idx)) ==
				    NULL)
					continue;
				code = supervise_code(status);
				if (stopping) {
					log_debug("%s exited: %d",
					    u->argvs[idx][0], code);
					continue;
				}
				if (code == EX_USAGE || code == EX_CONFIG) {
					log_warnx("'%s' exited with %d; not "
					    "restarting", u->argvs[idx][0],
					    code);
					exitcode = code;
					stopping = 1;
					deadline = time_mono_ms() + GRACE_MS;
					unit_signal(&units[0], 0, SIGTERM);
					unit_signal(&units[1], 0, SIGTERM);
					continue;
				}
				log_warnx("'%s' exited with %d",
				    u->argvs[idx][0], code);
				/* One stage gone: the whole pipeline restarts. */
				unit_signal(u, 0, SIGTERM);
			}

			now = time_mono_ms();
			if (stopping) {
				if (units[0].alive == 0 && units[1].alive == 0)
					break;
				if (now >= deadline) {
					log_warnx("grace period over; killing");
					unit_signal(&units[0], 0, SIGKILL);
					unit_signal(&units[1], 0, SIGKILL);
					deadline = now + GRACE_MS;
				}
				continue;
			}
			for (i = 0; i < 2; i++) {
				u = &units[i];
				if (u->alive > 0)
					continue;
				if (u->restart_at == 0) {
					if (now - u->started >= STABLE_MS)
						u->backoff_ms = BACKOFF_MIN_MS;
					u->restart_at = now + u->backoff_ms;
					log_info("%s: restarting in %d ms",
					    u->name, u->backoff_ms);
					u->backoff_ms = u->backoff_ms * 2 >
					    BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
					    u->backoff_ms * 2;
				} else if (now >= u->restart_at)
					unit_start(u);
			}
		}
	}
	if (tmpdb != NULL) {
		unlink(tmpdb);
		free(uri);
		uri = xasprintf("%s-wal", tmpdb);
		unlink(uri);
		free(uri);
		uri = xasprintf("%s-shm", tmpdb);
		unlink(uri);
		free(tmpdb);
	}
	free(uri);
	for (i = 0; i < 4; i++)
		free(bin[i]);
	free(dir);
	log_info("stopped");
	return exitcode;
}
