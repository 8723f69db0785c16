/* SPDX-License-Identifier: Apache-2.0 */
/* periskop-run: starts discover | scrape | aggregate, serve and the push gateway, and supervises them. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "backoff.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "supervise.h"
#include "timefmt.h"
#include "xalloc.h"

#define NPIPE		3	/* discover, scrape, aggregate */
#define NUNITS		4	/* the pipeline, serve, push gateway, notify */
#define GRACE_MS	10000	/* from SIGTERM to SIGKILL */
#define BACKOFF_MIN_MS	1000
#define BACKOFF_MAX_MS	60000
#define STABLE_MS	60000	/* a run this long resets the backoff */

/* One supervised unit: the pipeline, serve, push gateway or notify. */
struct unit {
	const char	*name;
	char *const	*argvs[NPIPE];
	const char	*names[NPIPE];	/* program names, for the relay */
	size_t		 n;		/* 0: not in this configuration */
	int		 in, out;	/* the ends of events, or -1 */
	pid_t		 pids[NPIPE];
	int		 errfd[NPIPE];	/* read ends of their stderr */
	struct relay	 relay[NPIPE];
	size_t		 alive;
	double		 started;	/* monotonic ms */
	double		 restart_at;	/* 0: not waiting */
	struct restart	 policy;
};

static struct unit units[NUNITS];
/*
 * aggregate's events go to notify through a socket pair that we hold, so
 * that what is in it outlives a restart of either; notify only peeks at
 * a line until it is in its spool.  events[1] is closed when the
 * pipeline has stopped: notify reads EOF and ends.
 */
static int events[2] = { -1, -1 };
static int stopping, exitcode;
static double deadline;

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: periskop-run [-nv] [-d uri] [-r fd] -c file\n");
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
	int wfd[NPIPE], p[2];
	char err[256];
	size_t i;

	for (i = 0; i < u->n; i++) {
		wfd[i] = -1;
		if (pipe2(p, O_CLOEXEC) == -1) {
			log_warn("%s: pipe", u->name);
			wfd[i] = -1;
			continue;
		}
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		u->errfd[i] = p[0];
		wfd[i] = p[1];
		relay_init(&u->relay[i], u->names[i]);
	}
	if (supervise_spawn(u->argvs, u->n, u->in, u->out, wfd, u->pids, err,
	    sizeof(err)) == -1) {
		log_warnx("%s: %s", u->name, err);
		for (i = 0; i < u->n; i++) {
			if (wfd[i] != -1)
				close(wfd[i]);
			if (u->errfd[i] != -1)
				close(u->errfd[i]);
			u->errfd[i] = -1;
		}
		return -1;
	}
	for (i = 0; i < u->n; i++)
		if (wfd[i] != -1)
			close(wfd[i]);
	u->alive = u->n;
	u->started = time_mono_ms();
	u->restart_at = 0;
	log_debug("%s: started", u->name);
	return 0;
}

/* Signals the unit's children from..to-1. */
static void
unit_signal(struct unit *u, size_t from, size_t to, int sig)
{
	size_t i;

	for (i = from; i < to && i < u->n; i++)
		if (u->pids[i] > 0)
			kill(u->pids[i], sig);
}

static void
stop_all(int sig)
{
	/*
	 * Only the discoverer is told to stop: the scraper sees EOF, ends
	 * the rounds it is in and exits; the aggregator reads to EOF,
	 * commits those whole rounds, and exits.
	 */
	unit_signal(&units[0], 0, sig == SIGKILL ? NPIPE : 1, sig);
	unit_signal(&units[1], 0, 1, sig);
	unit_signal(&units[2], 0, 1, sig);
	/* notify ends at EOF, after the pipeline's last events. */
	if (sig == SIGKILL)
		unit_signal(&units[3], 0, 1, sig);
}

static size_t
alive(void)
{
	size_t i, n = 0;

	for (i = 0; i < NUNITS; i++)
		n += units[i].alive;
	return n;
}

static void
begin_stop(int code)
{
	if (stopping)
		return;
	stopping = 1;
	exitcode = code;
	deadline = time_mono_ms() + GRACE_MS;
	stop_all(SIGTERM);
}

static void
reload(const char *path)
{
	struct conf *conf;
	char err[1024];

	if ((conf = conf_load(path, err, sizeof(err))) == NULL) {
		log_warnx("%s; keeping the running configuration", err);
		return;
	}
	conf_free(conf);
	log_info("%s: reloading", path);
	if (units[0].pids[0] > 0)
		kill(units[0].pids[0], SIGHUP);
}

static void
reap(void)
{
	struct unit *u;
	size_t i, j;
	int status, code;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < NUNITS; i++)
			for (j = 0; j < units[i].n; j++)
				if (units[i].pids[j] == pid)
					goto found;
		continue;
found:
		u = &units[i];
		u->pids[j] = 0;
		u->alive--;
		code = supervise_code(status);
		if (stopping) {
			log_debug("'%s' exited: %d", u->names[j], code);
			continue;
		}
		if (restart_hopeless(code)) {
			log_warnx("'%s' exited with %d; not restarting",
			    u->names[j], code);
			begin_stop(code);
			continue;
		}
		log_warnx("'%s' exited with %d", u->names[j], code);
		/* One stage gone: the whole unit restarts. */
		unit_signal(u, 0, NPIPE, SIGTERM);
	}
}

/* Reads what a child wrote to stderr; closes its pipe at EOF. */
static void
relay_read(struct unit *u, size_t i)
{
	char b[4096];
	ssize_t n;

	while ((n = read(u->errfd[i], b, sizeof(b))) > 0)
		relay_feed(&u->relay[i], b, (size_t)n, STDERR_FILENO);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		relay_flush(&u->relay[i], STDERR_FILENO);
		close(u->errfd[i]);
		u->errfd[i] = -1;
	}
}

/* Schedules or performs the restart of units with no child left. */
static void
restarts(double now)
{
	struct unit *u;
	size_t i, j;
	int64_t wait;
	int open;

	for (i = 0; i < NUNITS; i++) {
		u = &units[i];
		for (j = 0, open = 0; j < u->n; j++)
			open |= u->errfd[j] != -1;
		/* Wait for the last words of the dead, too. */
		if (u->n == 0 || u->alive > 0 || open)
			continue;
		if (u->restart_at == 0) {
			wait = restart_delay(&u->policy, u->started, now);
			u->restart_at = now + (double)wait;
			log_info("%s: restarting in %lld ms", u->name,
			    (long long)wait);
		} else if (now >= u->restart_at)
			unit_start(u);
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct pollfd pfd[1 + NUNITS * NPIPE];
	struct signalfd_siginfo si;
	struct conf *conf;
	sigset_t set;
	const char *path = NULL;
	char *dir, *uri = NULL, *listen, *gwlisten = NULL, *bin[6], *tmpdb = NULL;
	char *spike = NULL, *outbox = NULL, *flag;
	char *p, *shown;
	char err[1024];
	double now, wait_ms;
	int ch, verbose = 0, check = 0, sfd, readyfd = -1, npfd, ready = 0;
	int gateway_on, notify_on;
	size_t i, j, k;

	log_init("periskop-run", 0);
	while ((ch = getopt_long(argc, argv, "c:d:hnr:v", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			uri = xstrdup(optarg);
			break;
		case 'r':
			readyfd = (int)strtol(optarg, &p, 10);
			if (*optarg == '\0' || *p != '\0' || readyfd < 0 ||
			    fcntl(readyfd, F_GETFD) == -1) {
				log_warnx("-r '%s': not an open descriptor",
				    optarg);
				usage(EX_USAGE);
			}
			break;
		case 'n':
			check = 1;
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
	if (check) {
		conf_free(conf);
		return conf_check_ok();
	}
	flag = uri;
	if ((uri = db_uri_choose(flag, conf)) == NULL)
		uri = xasprintf("sqlite:%s/periskop.db", conf->dir);
	free(flag);
	if (strcmp(uri, "memory:") == 0) {
		/* Several processes share it, so it is a file in memory. */
		tmpdb = xasprintf("/dev/shm/periskop-%ld.db", (long)getpid());
		free(uri);
		uri = xasprintf("sqlite:%s", tmpdb);
	}
	listen = xstrdup(conf->server.listen);
	gateway_on = conf->pushgateway.enabled;
	if (conf->notify.enabled)
		outbox = xasprintf("%s.outbox", conf->notify.spool);
	if (conf->notify.spike_count > 0)
		spike = xasprintf("%" PRIu64 "/%" PRId64 "ms",
		    conf->notify.spike_count, conf->notify.spike_window_ms);
	notify_on = conf->notify.enabled;
	if (conf->pushgateway.enabled)
		gwlisten = xstrdup(conf->pushgateway.listen);
	conf_free(conf);

	dir = bindir();
	bin[0] = xasprintf("%s/periskop-discover", dir);
	bin[1] = xasprintf("%s/periskop-scrape", dir);
	bin[2] = xasprintf("%s/periskop-aggregate", dir);
	bin[3] = xasprintf("%s/periskop-serve", dir);
	bin[4] = xasprintf("%s/periskop-pushgateway", dir);
	bin[5] = xasprintf("%s/periskop-notify", dir);
	char *const discover[] = { bin[0], "-c", (char *)path, NULL };
	char *const scrape[] = { bin[1], NULL };
	/* Not --db: a password in it would show in every process list. */
	if (setenv(DB_URI_ENV, uri, 1) == -1)
		fatal(EX_OSERR, "setenv");
	/* Unused slots stay NULL: the vector ends at the first. */
	char *aggregate[6] = { bin[2], NULL };
	j = 1;
	if (spike != NULL) {
		aggregate[j++] = "--spike";
		aggregate[j++] = spike;
	}
	if (outbox != NULL) {
		aggregate[j++] = "--outbox";
		aggregate[j++] = outbox;
	}
	char *const serve[] = { bin[3], "-c", (char *)path, NULL };
	char *const gateway[] = { bin[4], "-c", (char *)path, NULL };
	char *const notify[] = { bin[5], "-c", (char *)path, NULL };

	units[0].name = "pipeline";
	units[0].argvs[0] = discover;
	units[0].argvs[1] = scrape;
	units[0].argvs[2] = aggregate;
	units[0].names[0] = "periskop-discover";
	units[0].names[1] = "periskop-scrape";
	units[0].names[2] = "periskop-aggregate";
	units[0].n = 3;
	units[1].name = "serve";
	units[1].argvs[0] = serve;
	units[1].names[0] = "periskop-serve";
	units[1].n = 1;
	units[2].name = "pushgateway";
	units[2].argvs[0] = gateway;
	units[2].names[0] = "periskop-pushgateway";
	units[2].n = gateway_on;
	units[3].name = "notify";
	units[3].argvs[0] = notify;
	units[3].names[0] = "periskop-notify";
	units[3].n = notify_on;
	for (i = 0; i < NUNITS; i++) {
		units[i].in = units[i].out = -1;
		for (j = 0; j < NPIPE; j++)
			units[i].errfd[j] = -1;
	}
	if (notify_on) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    events) == -1)
			fatal(EX_OSERR, "socketpair");
		units[0].out = events[1];
		units[3].in = events[0];
	}

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		fatal(EX_OSERR, "signalfd");
	if (readyfd != -1)
		fcntl(readyfd, F_SETFD, FD_CLOEXEC);

	for (i = 0; i < NUNITS; i++) {
		units[i].policy.min_ms = BACKOFF_MIN_MS;
		units[i].policy.max_ms = BACKOFF_MAX_MS;
		units[i].policy.stable_ms = STABLE_MS;
		if (units[i].n > 0 && unit_start(&units[i]) == -1)
			return EX_OSERR;
	}
	shown = db_uri_redacted(uri);
	log_info("started; database %s", shown);
	free(shown);

	for (;;) {
		now = time_mono_ms();
		wait_ms = 1000;
		for (i = 0; i < NUNITS; i++)
			if (units[i].restart_at > 0 &&
			    units[i].restart_at - now < wait_ms)
				wait_ms = units[i].restart_at - now;
		if (stopping && deadline - now < wait_ms)
			wait_ms = deadline - now;
		if (readyfd != -1 && !ready && wait_ms > 100)
			wait_ms = 100;
		if (wait_ms < 0)
			wait_ms = 0;

		pfd[0].fd = sfd;
		pfd[0].events = POLLIN;
		npfd = 1;
		for (i = 0; i < NUNITS; i++)
			for (j = 0; j < units[i].n; j++)
				if (units[i].errfd[j] != -1) {
					pfd[npfd].fd = units[i].errfd[j];
					pfd[npfd++].events = POLLIN;
				}
		if (poll(pfd, (nfds_t)npfd, (int)wait_ms + 1) == -1 &&
		    errno != EINTR)
			fatal(EX_OSERR, "poll");

		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
				if (!stopping)
					log_info("stopping");
				begin_stop(0);
			} else if (si.ssi_signo == SIGHUP && !stopping)
				reload(path);
		}
		for (k = 1; k < (size_t)npfd; k++) {
			if (pfd[k].revents == 0)
				continue;
			for (i = 0; i < NUNITS; i++)
				for (j = 0; j < units[i].n; j++)
					if (units[i].errfd[j] == pfd[k].fd)
						relay_read(&units[i], j);
		}
		reap();

		now = time_mono_ms();
		if (readyfd != -1 && !ready && !stopping &&
		    units[1].alive > 0 && supervise_listening(listen) == 1 &&
		    (gwlisten == NULL || (units[2].alive > 0 &&
		    supervise_listening(gwlisten) == 1))) {
			/* s6-style readiness: a newline, then close. */
			ready = 1;
			if (write(readyfd, "\n", 1) != 1)
				log_warn("readiness descriptor");
			close(readyfd);
			readyfd = -1;
		}
		if (stopping) {
			if (units[0].alive == 0 && events[1] != -1) {
				close(events[1]);
				events[1] = -1;
			}
			if (alive() == 0)
				break;
			if (now >= deadline) {
				log_warnx("grace period over; killing");
				stop_all(SIGKILL);
				deadline = now + GRACE_MS;
			}
			continue;
		}
		restarts(now);
	}
	/* Drain what the children said last. */
	for (i = 0; i < NUNITS; i++)
		for (j = 0; j < units[i].n; j++)
			if (units[i].errfd[j] != -1) {
				/* Every writer is gone: read to EOF. */
				fcntl(units[i].errfd[j], F_SETFL, 0);
				relay_read(&units[i], j);
			}
	if (tmpdb != NULL) {
		unlink(tmpdb);
		p = xasprintf("%s-wal", tmpdb);
		unlink(p);
		free(p);
		p = xasprintf("%s-shm", tmpdb);
		unlink(p);
		free(p);
		free(tmpdb);
	}
	free(uri);
	free(listen);
	free(gwlisten);
	free(spike);
	free(outbox);
	for (i = 0; i < 6; i++)
		free(bin[i]);
	if (events[0] != -1)
		close(events[0]);
	free(dir);
	log_info("stopped");
	return exitcode;
}
